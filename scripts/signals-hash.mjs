// Exactness check of what the daemon tells of its episodes (src/daemon/signals.ts SignalBook), for changes that must
// not move any explanation nor any checkpoint of it (memory work: `memopen`, an open episode's readings as columns):
//   node scripts/signals-hash.mjs ROOT [STREAMS=60 READINGS=3000]
// ROOT is a checkout with a built dist/ (this one, or a copy of the build before a change). Drives the shipped
// detector (ROOT/config/default.yaml, the GRU model on this thread) and a SignalBook by the daemon's rules
// (src/daemon.ts onReading, touchOpenEpisodes; as src/replay/tell.ts does): each reading recorded, each event
// explained (explainAlert) and a resolve's end settled (resolvedEnd, settleEpisode), a reading far beyond its episode
// (farther), and every 7 steps each open episode told again (retell, else retellStuck, else retellDrift). The
// readings: detector-hash.mjs's generator (cycles with noise, spikes, level shifts, a value stuck at 85, noise-level
// changes, jitter, missing readings, duplicate times, long gaps; every tenth stream two channels, every tenth
// readings of 8-9 significant digits, every tenth a second channel for readings 1,000-1,099 and 2,000-2,099), with its rates of
// faults raised so that most streams hold an episode open for long stretches. Every 150 steps each stream's checkpoint
// (detectorCheckpointSubject with the book: the detector's state, the open episode's state, its side part) is hashed as
// JSON; at the midpoint a fresh detector and book are restored from them (JSON-parsed) and go on.
// Prints the sha256 of every explanation told (`told`) and of every checkpoint (`checkpoints`): two builds that give
// the same two hashes told the same and wrote the same, bit for bit.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';
import { hashStreams } from './lib/hash-streams.mjs';

const root = process.argv[2];
if (root === undefined) {
  console.error('usage: node scripts/signals-hash.mjs ROOT [STREAMS=60 READINGS=3000]');
  process.exit(2);
}
const nums = process.argv.slice(3).filter((a) => /^\d+$/.test(a)).map(Number);
const S = nums[0] ?? 60, N = nums[1] ?? 3000;
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
const { detectorCheckpointSubject } = await import(at('dist/daemon/checkpoints.js'));
const { pino } = await import('pino');
const model = await loadModel(join(root, 'models/gru.json'));
let idn = 0;
const mkDet = () => new Detector(detectorOptions(cfg), {
  parser: new MessageParser(parseOptionsOf(cfg)),
  modelFor: () => ({ model, own: false }),
  priorsFor: () => priorsOf(model.sidecar),
  newId: () => `id-${idn++}`,
});
const mkBook = () => new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }), now: () => 1_700_000_000_000 });

// detector-hash.mjs's streams (scripts/lib/hash-streams.mjs) with their fault rates raised, and the extras.
const { state, payload } = hashStreams(S, { level: 0.003, stuck: 0.003, noise: 0.003, spike: 0.006, extras: true });

const ht = createHash('sha256');
const hc = createHash('sha256');
const tell = (what, x) => ht.update(`${what}|${JSON.stringify(x)}\n`);
let told = 0, openMax = 0;

function onReading(det, book, reading, events) {
  book.record(reading);
  for (const ev of events) {
    const t = book.explainAlert(ev);
    tell('event', { ev, t });
    told++;
    if (ev.kind === 'resolve') {
      tell('end', book.resolvedEnd(ev));
      book.settleEpisode(reading.stream, ev.endTs, reading.ts);
    }
  }
  if (reading.anomalyId === null) return;
  const peak = det.openPeak(reading.stream);
  if (peak !== null) book.settleEpisode(reading.stream, peak.lastAboveTs);
  const far = book.farther(reading, peak);
  if (far !== null) { tell('far', far); told++; }
}

function touch(det, book) {
  let open = 0;
  for (const ep of det.openEpisodes()) {
    open++;
    const t = book.retell(ep.id, ep.lastAboveTs, ep.readings, ep.held, ep.excursion);
    if (t !== null) { tell('retell', t); told++; continue; }
    const kept = book.retellStuck(ep.id, ep.lastAboveTs, ep.readings) ?? book.retellDrift(ep.id, ep.lastAboveTs, ep.readings);
    if (kept !== null) { tell('kept', kept); told++; }
  }
  openMax = Math.max(openMax, open);
}

function checkpoint(det, book) {
  const subject = detectorCheckpointSubject(det, () => 'open', book);
  const states = new Map();
  const sides = new Map();
  for (const s of [...subject.sensors()].sort()) {
    const j = JSON.stringify(subject.snapshot(s));
    const side = subject.side(s);
    const k = side === null ? 'null' : JSON.stringify(side);
    hc.update(`${s}|${j}|${k}\n`);
    states.set(s, JSON.parse(j));
    if (side !== null) sides.set(s, JSON.parse(JSON.stringify(side.state)));
  }
  return { states, sides };
}

async function runPhase(det, book, k0, k1) {
  const input = new Subject();
  const done = new Promise((resolve, reject) => input.pipe(det.operator()).subscribe({
    next: (o) => { if (o.type === 'reading') onReading(det, book, o.reading, o.events); },
    error: reject,
    complete: resolve,
  }));
  let seq = k0 * S;
  for (let k = k0; k < k1; k++) {
    for (let s = 0; s < S; s++) input.next({ topic: `sensors/s${String(s).padStart(4, '0')}`, payload: Buffer.from(payload(s, k)), receivedAt: state[s].ts + 5, seq: seq++ });
    while (det.pending > 0) await new Promise((r) => setImmediate(r));
    if (k % 7 === 6) touch(det, book);
    if (k % 150 === 149) checkpoint(det, book);
  }
  input.complete();
  await done;
}

const t = performance.now();
const cpu0 = process.cpuUsage();
let det = mkDet();
let book = mkBook();
await runPhase(det, book, 0, N >> 1);
const mid = checkpoint(det, book);
det = mkDet();
book = mkBook();
const skipped = detectorCheckpointSubject(det, () => 'open', book).restore(mid.states, mid.sides);
for (const s of skipped) ht.update(`skip|${s}\n`);
await runPhase(det, book, N >> 1, N);
checkpoint(det, book);
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ root, S, N, told, openMax, skipped: skipped.length, told_hash: ht.digest('hex'), checkpoints: hc.digest('hex'), ms: Math.round(performance.now() - t), cpuMs: Math.round((cpu.user + cpu.system) / 1000) }));
await model.release();

// Exactness check of the detector core, for changes that must not move any result (performance work):
//   node scripts/detector-hash.mjs ROOT [STREAMS=100 READINGS=1500] [gru|lstm] [nohash] [nomodel] [codec]
// ROOT is a checkout with a built dist/ and models/ (this one, or a copy of the build before a change).
// Builds the Detector as src/bench/stages.ts does (default config, window 64, hop 16, shipped model on this
// thread), feeds `streams` x `readings` deterministic readings (cycles with noise, spikes, level shifts, a value
// stuck at 85, noise-level changes, jitter, missing readings, duplicate times, long gaps; every tenth message
// carries two streams), and prints the sha256 of every output field (score, surprise, deviation, evidence,
// channel deviation, expected, spread, status, events...) and of every stream's checkpoint JSON at the
// midpoint and the end. At the midpoint the detector is replaced by a fresh one restored from the checkpoints.
// Two builds that give the same two hashes gave the same results bit for bit. `nohash` skips hashing (to time
// the detector: cpuUsPerReading); `nomodel` runs the streams without a model (model-free evidence only); `codec`
// restores the midpoint through the daemon's checkpoint rows instead of JSON (see below).
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hashStreams } from './lib/hash-streams.mjs';
import { Subject } from 'rxjs';
const root = process.argv[2];
if (root === undefined || root === '-h' || root === '--help') {
  console.error('usage: node scripts/detector-hash.mjs ROOT [STREAMS=100 READINGS=1500] [gru|lstm] [nohash] [nomodel] [codec]  (ROOT: a built checkout, e.g. .)');
  process.exit(root === undefined ? 2 : 0);
}
const at = (path) => pathToFileURL(resolve(root, path)).href;
const flags = process.argv.slice(3).filter((a) => !/^\d/.test(a) && a !== 'gru' && a !== 'lstm');
const nums = process.argv.slice(3).filter((a) => /^\d+$/.test(a)).map(Number);
const S = nums[0] ?? 100, N = nums[1] ?? 1500, cell = process.argv.includes('lstm') ? 'lstm' : 'gru';
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { defaultConfig } = await import(at('dist/config/schema.js'));
const { Detector, detectorOptions, priorsOf } = await import(at('dist/pipeline/detector.js'));
const { MessageParser } = await import(at('dist/pipeline/parse.js'));
const { parseOptionsOf } = await import(at('dist/pipeline/ingest-options.js'));
const model = await loadModel(resolve(root, `models/${cell}.json`));
const base = defaultConfig();
const cfg = { ...base, window: { ...base.window, length: 64, hop: 16 } };
let idn = 0;
const mk = () => new Detector(detectorOptions(cfg), {
  parser: new MessageParser(parseOptionsOf(cfg)),
  modelFor: () => (flags.includes('nomodel') ? null : { model, own: false }),
  priorsFor: () => priorsOf(model.sidecar),
  newId: () => `id-${idn++}`,
});
const h = createHash('sha256');
const f = (x) => (x === null || x === undefined ? 'n' : typeof x === 'number' ? (Object.is(x, -0) ? '-0' : String(x)) : Array.isArray(x) || ArrayBuffer.isView(x) ? '[' + Array.from(x, f).join(',') + ']' : typeof x === 'object' ? JSON.stringify(x) : String(x));
let outs = 0, events = 0;
const nohash = flags.includes('nohash');
const onOut = (o) => {
  if (nohash) { if (o.type === 'reading') { outs++; events += o.events.length; } return; }
  if (o.type === 'parsed') { h.update(`p${o.seq}:${o.result.kind}\n`); return; }
  if (o.type === 'error') { h.update(`e${JSON.stringify(o)}\n`); return; }
  outs++; events += o.events.length;
  const r = o.reading;
  h.update([r.stream, r.ts, f(r.channels), f(r.values), f(r.expected), f(r.spread), f(r.score), f(r.surprise), r.threshold, r.status, r.anomalyId, r.modelId,
    f(o.events), f(o.evidence), f(o.deviation), f(o.deviationEvidence), f(o.channelDeviation), o.filled, o.duplicate, o.reset, o.origin.seq, o.origin.index].join('|') + '\n');
};
// The readings: scripts/lib/hash-streams.mjs, at this check's fault rates (signals-hash.mjs raises them).
const { state, payload } = hashStreams(S, { level: 0.001, stuck: 0.0015, noise: 0.001, spike: 0.003 });
async function runPhase(det, k0, k1) {
  const input = new Subject();
  const done = new Promise((resolve, reject) => input.pipe(det.operator()).subscribe({ next: onOut, error: reject, complete: resolve }));
  for (let k = k0; k < k1; k++) {
    for (let s = 0; s < S; s++) input.next({ topic: `sensors/s${String(s).padStart(4, '0')}`, payload: Buffer.from(payload(s, k)), receivedAt: state[s].ts + 5 });
    while (det.pending > 0) await new Promise((r) => setImmediate(r));
  }
  input.complete();
  await done;
}
const hc = createHash('sha256');
const snap = (det) => { const all = {}; for (const s of det.streams().sort()) all[s] = det.snapshot(s); const j = JSON.stringify(all); hc.update(j); return all; };
const t = performance.now(); const cpu0 = process.cpuUsage();
let det = mk();
// `codec`: the midpoint's states go through the daemon's checkpoint rows (format 2, src/daemon/checkpoint-codec.ts)
// instead of JSON: the rest packed, each stream's rings written against a base they moved on from by 60 readings
// (the base: 60 readings that are not the ring's, then its readings but its newest 60), as the readings appended
// since. `outputs` is then the same as without it when the rows restore what JSON did, bit for bit.
const codec = flags.includes('codec') ? await import(at('dist/daemon/checkpoint-codec.js')) : null;
let deltas = 0;
await runPhase(det, 0, N >> 1);
const mid = snap(det);
const det2 = mk();
const restored = codec === null ? JSON.parse(JSON.stringify(mid)) : Object.fromEntries(Object.entries(mid).map(([s, st]) => {
  const whole = codec.encodeCheckpoint(st, null, `b1-${s}`);
  if (whole.rings === null) return [s, codec.decodeCheckpoint(whole.blob)];
  const base = { id: `b0-${s}`, rings: new Map([...whole.rings].map(([path, ring]) => [path, Float64Array.from([...Array.from({ length: 60 }, (_, i) => -1e9 - i), ...ring.subarray(0, ring.length - 60)])])) };
  const e = codec.encodeCheckpoint(st, base, `b2-${s}`);
  if (e.rings === null) deltas++;
  return [s, codec.decodeCheckpoint(e.blob, e.rings === null ? base : { id: e.baseId, rings: e.rings })];
}));
for (const [s, st] of Object.entries(restored)) { const sk = det2.restore(s, st); if (sk.length) h.update('skip' + sk.join(';')); }
await runPhase(det2, N >> 1, N);
snap(det2);
const ms = performance.now() - t; const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ root, cell, S, N, ...(codec === null ? {} : { ringDeltas: deltas }), outs, events, outputs: h.digest('hex'), checkpoints: hc.digest('hex'), ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), cpuUsPerReading: +((cpu.user + cpu.system) / outs).toFixed(2) }));
await model.release();

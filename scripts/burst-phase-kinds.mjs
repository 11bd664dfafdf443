// A noise burst on a cycling room sensor, at every phase of its daily cycle: the reading its noise change is first
// told at, as the daemon tells it (the burstlate finding: test/e2e/backfill-kind.test.ts's rooms, told a noise change
// at the burst's 4th reading at most phases, at its 19th-20th at a few, after a spike and kind-less retellings).
// The room of that test (its generator, tryout 31's gen.py): 20 + 2 sin(2π · time of day − 1) °C, ± 0.05 °C of noise,
// two decimals, BEFORE readings, then ± 1.0 °C of noise added for BURST readings, then AFTER quiet ones; seeds 1-4 (the
// test's room1..room4), its first reading at each of the phases (minutes after midnight, UTC), read every --interval s.
// Through the shipped detector (config/default.yaml, the GRU model) and the daemon's SignalBook, with the daemon's
// rules of src/daemon.ts onReading: each event explained and sent unless it repeats or only tells the same fault longer
// (a resolve whose kind no alert told first sent as an update), a reading far beyond what was told (farther), and the
// open episode retold either in data time as a backfill is (--schedule backfill: at 4 of its readings, then at each
// doubling, Daemon.retellByReadings) or after every reading (--schedule live: a sensor read every 10 s or slower).
// Prints one line per run (`<event><R: retold, F: farther>@<reading of the burst, 0 its first>:<kind>`), then a JSON
// summary: noiseAt (the burst's reading the first alert telling noise_change came at: min, median, max, and how many
// runs at NOISE_READINGS or later or never), runs whose alerts went from a kind to none, that told a lasting kind
// (level_shift, drift, stuck), or more than one episode from the burst's readings.
// usage: node scripts/burst-phase-kinds.mjs ROOT [--interval 60] [--schedule backfill|live] [--phases 0:1440:30] [--seeds 1,2,3,4]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { interval: { type: 'string', default: '60' }, schedule: { type: 'string', default: 'backfill' }, phases: { type: 'string', default: '0:1440:30' }, seeds: { type: 'string', default: '1,2,3,4' }, quiet: { type: 'boolean', default: false } },
});
const root = positionals[0];
if (root === undefined) throw new Error('usage: node scripts/burst-phase-kinds.mjs ROOT [--interval 60] [--schedule backfill|live] [--phases 0:1440:30] [--seeds 1,2,3,4]');
const step = Number(opt.interval) * 1000;
const [from, to, by] = opt.phases.split(':').map(Number);
const phases = [];
for (let p = from; p < to; p += by) phases.push(p);
const seeds = opt.seeds.split(',').map(Number);
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
// The daemon's data-time retelling schedule (Daemon.retellByReadings) of the checkout measured; a checkout older than
// nextRetelling retold at 4 readings, then at each doubling.
const { nextRetelling = (after) => (after === null ? 4 : 2 * after) } = await import(at('dist/daemon.js'));
const { payloadOf } = await import(at('dist/replay/drive.js'));
const { NOISE_READINGS } = await import(at('dist/explain/explain.js'));
const { pino } = await import('pino');
const model = await loadModel(join(root, 'models/gru.json'));

const MINUTE = 60_000;
const DAY = 86_400_000;
const BEFORE = 2880;
const BURST = 40;
const AFTER = 120;

/** test/helpers/lcg.ts */
function lcg(seed) {
  let s = seed;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 4294967296);
}

/** test/e2e/backfill-kind.test.ts's room, its readings `step` ms apart from t0. */
function room(seed, t0) {
  const rnd = lcg(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  return Array.from({ length: BEFORE + BURST + AFTER }, (_, i) => {
    const ts = t0 + i * step;
    const burst = i >= BEFORE && i < BEFORE + BURST ? gauss() : 0;
    return { ts, value: Math.round((20 + 2 * Math.sin(2 * Math.PI * ((ts % DAY) / DAY) - 1) + 0.05 * gauss() + burst) * 100) / 100 };
  });
}

async function run(seed, tod) {
  const t0 = Date.UTC(2026, 11, 1) + tod * MINUTE;
  let ids = 0;
  const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => ({ model, own: false }), priorsFor: () => priorsOf(model.sidecar), newId: () => `e${++ids}` });
  const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
  const sent = [];
  const due = new Map();
  const input = new Subject();
  const done = new Promise((resolve, reject) => {
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type === 'error') reject(new Error(o.detail));
        if (o.type !== 'reading') return;
        const r = o.reading;
        book.record(r);
        for (const ev of o.events) {
          const told = book.explainAlert(ev);
          if (told.repeats || told.onlyLonger) continue;
          if (told.untold) sent.push({ ev: { ...ev, kind: 'update' }, by: '', e: told.explanation });
          sent.push({ ev, by: '', e: told.explanation });
        }
        if (r.anomalyId === null) {
          due.delete(r.stream);
          return;
        }
        const peak = det.openPeak(r.stream);
        const far = book.farther(r, peak);
        if (far !== null) {
          sent.push({ ev: far.event, by: 'F', e: far.explanation });
          if (opt.schedule === 'backfill') return;
        }
        if (peak === null) return;
        if (opt.schedule === 'backfill') {
          let d = due.get(r.stream);
          if (d === undefined || d.id !== peak.id) due.set(r.stream, (d = { id: peak.id, next: nextRetelling(null), drift: false }));
          const drift = peak.excursion !== undefined && !d.drift;
          if (peak.readings < d.next && !drift) return;
          if (drift) d.drift = true;
          else d.next = nextRetelling(peak.readings);
        }
        const told = book.retell(peak.id, peak.lastAboveTs, peak.readings, undefined, peak.excursion);
        if (told !== null) sent.push({ ev: told.event, by: 'R', e: told.explanation });
      },
      error: reject,
      complete: resolve,
    });
  });
  room(seed, t0).forEach((p, k) => input.next({ topic: `sensors/room${seed}`, payload: payloadOf({ sensor: `room${seed}`, ts: p.ts, channels: ['value'], values: [p.value] }), receivedAt: p.ts, seq: k }));
  input.complete();
  await done;
  const burstTs = t0 + BEFORE * step;
  const mine = sent.filter((x) => x.ev.endTs >= burstTs);
  const reading = (x) => Math.round((x.ev.endTs - burstTs) / step);
  const story = mine.map((x) => `${x.ev.kind}${x.by}@${reading(x)}:${x.e?.kind ?? '-'}`).join(' ');
  const first = mine.find((x) => x.ev.kind !== 'resolve' && x.e?.kind === 'noise_change');
  const kinds = mine.map((x) => x.e?.kind ?? null);
  const backToNone = kinds.some((k, i) => k === null && kinds.slice(0, i).some((p) => p !== null));
  const lasting = kinds.some((k) => k === 'level_shift' || k === 'drift' || k === 'stuck');
  const episodes = new Set(mine.map((x) => x.ev.anomalyId)).size;
  return { story, noiseAt: first === undefined ? null : reading(first), backToNone, lasting, episodes };
}

const noiseAt = [];
let late = 0;
let never = 0;
let backToNone = 0;
let lasting = 0;
let split = 0;
const t = Date.now();
for (const tod of phases) {
  for (const seed of seeds) {
    const r = await run(seed, tod);
    if (r.noiseAt === null) never++;
    else {
      noiseAt.push(r.noiseAt);
      if (r.noiseAt >= NOISE_READINGS) late++;
    }
    if (r.backToNone) backToNone++;
    if (r.lasting) lasting++;
    if (r.episodes !== 1) split++;
    if (!opt.quiet || r.noiseAt === null || r.noiseAt >= NOISE_READINGS || r.backToNone || r.lasting || r.episodes !== 1) console.log(`tod=${tod} room${seed}: ${r.story}`);
  }
}
const sorted = [...noiseAt].sort((a, b) => a - b);
const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
console.log(
  JSON.stringify({
    interval_s: step / 1000,
    schedule: opt.schedule,
    runs: phases.length * seeds.length,
    noiseAt: sorted.length === 0 ? null : { min: sorted[0], median: q(0.5), p90: q(0.9), max: sorted.at(-1), mean: +(sorted.reduce((a, b) => a + b, 0) / sorted.length).toFixed(2) },
    atOrAfterNoiseReadings: late,
    never,
    backToNone,
    lasting,
    notOneEpisode: split,
    seconds: Math.round((Date.now() - t) / 1000),
  }),
);

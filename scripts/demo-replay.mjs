#!/usr/bin/env node
// Replays one sensor of a finished demo run, deterministically and in a second or two: the demo's simulator (seed 7)
// is rebuilt from the run's summary (`--summary F`: its `from` and `injectionFrom`) and the sensor's readings go
// through the detector as the daemon builds it (shipped config/default.yaml) with the model MODEL (e.g. the own
// model the run trained, in DATA_DIR/models/, used here from the first reading: an approximation, the run swapped
// it in after learning). For each anomaly injected into the sensor: the first episode that opened in it (up to
// alerts.closeAfter readings after it) and the largest deviation (what opens an episode: surprise against the
// reference histories, threshold 5) over it. With FROM and TO (ISO times) also every reading's value, status,
// surprise and deviation between them.
//
// With --kinds, each episode's events are also explained as the daemon explains them (its SignalBook), without the
// retellings the daemon makes between events on its wall clock (which a demo sent at 400x lands anywhere in an
// episode): after each injected anomaly's line, the kind its episode's open and resolve were told.
//
//   node scripts/demo-replay.mjs ROOT SUMMARY.json MODEL.json [SENSOR] [FROM TO] [--kinds] [--shared-until MS]
//   e.g. node scripts/demo-replay.mjs . run.json DATA/models/motor_current-20261201T190828.json motor_current
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';

const args = process.argv.slice(2);
const kinds = args.includes('--kinds');
// --shared-until MS: the shipped model (ROOT/models/gru.json, as a shared one) for the readings before MS (epoch ms of
// simulated time), MODEL from then on: the run's swap, e.g. the `at` of the sensor's `trained` row in DATA_DIR's
// model_assignments table (the demo's clock is simulated time).
const sharedAt = args.indexOf('--shared-until');
const sharedUntil = sharedAt >= 0 ? Number(args[sharedAt + 1]) : -Infinity;
if (sharedAt >= 0 && !Number.isFinite(sharedUntil)) {
  console.error('--shared-until: expected epoch ms');
  process.exit(2);
}
const [root, summaryPath, modelPath, sensor = 'motor_current', from, to] = args.filter((a, i) => a !== '--kinds' && (sharedAt < 0 || (i !== sharedAt && i !== sharedAt + 1)));
if (root === undefined || summaryPath === undefined || modelPath === undefined) {
  console.error('usage: node scripts/demo-replay.mjs ROOT SUMMARY.json MODEL.json [SENSOR] [FROM TO]');
  process.exit(2);
}
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
const { pino } = await import('pino');
const book = kinds ? new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) }) : null;
/** Per episode id, the kind each of its events was told, in order (--kinds). */
const told = new Map();
const { Simulator } = await import(at('dist/sim/simulator.js'));
const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
const model = await loadModel(resolve(modelPath));
const shared = sharedAt >= 0 ? await loadModel(join(root, 'models/gru.json')) : null;
/** The time of the reading being fed (epoch ms): which model the detector takes at a chunk's start. */
let feeding = -Infinity;
const current = () => (shared !== null && feeding < sharedUntil ? { model: shared, own: false } : { model, own: true });
let ids = 0;
const det = new Detector(detectorOptions(cfg), {
  parser: new MessageParser(parseOptionsOf(cfg)),
  modelFor: () => current(),
  priorsFor: () => priorsOf(current().model.sidecar),
  newId: () => `e${++ids}`,
});
const sim = new Simulator({ seed: 7, startTs: summary.from, intervalMs: 1000, anomalies: 'demo', anomaliesFrom: summary.injectionFrom });
const f0 = from === undefined ? Infinity : Date.parse(from);
const f1 = to === undefined ? -Infinity : Date.parse(to);
const r2 = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);
const hh = (t) => new Date(t).toISOString().slice(11, 19);
const rows = [];
const input = new Subject();
const done = new Promise((res, rej) =>
  input.pipe(det.operator()).subscribe({
    next: (o) => {
      if (o.type !== 'reading') return;
      const r = o.reading;
      const opened = o.events.find((e) => e.kind === 'open');
      rows.push({ ts: r.ts, d: o.deviation, opened: opened !== undefined, id: opened?.anomalyId });
      if (book !== null) {
        book.record(r);
        for (const e of o.events) told.set(e.anomalyId, [...(told.get(e.anomalyId) ?? []), `${e.kind} ${book.explain(e)?.kind ?? 'none'}`]);
      }
      if (r.ts >= f0 && r.ts <= f1) console.log(`${hh(r.ts)} v=${r.values[0]} st=${r.status} s=${r2(r.surprise)} d=${r2(o.deviation)} ${o.events.map((e) => e.kind).join(',')}`);
    },
    error: rej,
    complete: res,
  }),
);
for (let k = 0; ; k++) {
  const m = sim.next().find((x) => x.sensor === sensor);
  if (m === undefined) throw new Error(`no simulated sensor ${sensor}`);
  if (m.ts > summary.to) break;
  feeding = m.ts;
  input.next({ topic: m.topic, payload: Buffer.from(m.payload), receivedAt: m.ts, seq: k });
  while (det.pending > 0) await new Promise((r) => setImmediate(r));
}
input.complete();
await done;
await model.release();
await shared?.release();
const after = cfg.alerts.closeAfter * 1000;
let caught = 0;
const injected = sim.injected().filter((a) => a.sensor === sensor);
for (const a of injected) {
  const span = rows.filter((x) => x.ts >= a.startTs && x.ts <= a.endTs + after);
  const open = span.find((x) => x.opened);
  if (open) caught++;
  const peak = Math.max(...span.map((x) => x.d ?? 0));
  console.log(`${a.kind.padEnd(12)} ${hh(a.startTs)}–${hh(a.endTs)}  ${open ? `opened after ${(open.ts - a.startTs) / 1000} s` : 'no episode'}  peak deviation ${r2(peak)}`);
  if (kinds && open) console.log(`             told: ${(told.get(open.id) ?? []).join(', ')}`);
}
console.log(`${sensor}: ${caught} of ${injected.length} injected anomalies opened an episode in the replay`);

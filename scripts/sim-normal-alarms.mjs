#!/usr/bin/env node
// False alarms on the demo simulator's NORMAL signal (no injection), without the demo's wall clock: one
// simulated sensor's stream (src/sim/simulator.ts) for HOURS at 1 Hz, a model learnt on its first hour
// (as the demo's device learner does after learning.minReadings = 3600 readings), the first hour replayed
// as known-normal readings, then every reading through the daemon's detector (src/pipeline/detector.ts,
// shipped defaults). Prints, per kind of evidence, the share of scored readings whose surprise (against the
// reference | the adaptive history) reaches 2 … 6, and every episode opened, with the evidence behind it.
// Uses the built JS in dist/ (npm run build first). BENCHMARKS.md "Demo: caught and false alarms".
//
//   node scripts/sim-normal-alarms.mjs --sensor vibration --hours 24 --seed 7
//   node scripts/sim-normal-alarms.mjs --sensor vibration --hours 24 --seed 7 --kinds level,change,shift
//                                           (only these kinds of evidence count)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Subject } from 'rxjs';

const dist = new URL('../dist/', import.meta.url);
const { Simulator } = await import(new URL('sim/simulator.js', dist));
const { Detector, detectorOptions, priorsOf } = await import(new URL('pipeline/detector.js', dist));
const { MessageParser } = await import(new URL('pipeline/parse.js', dist));
const { replayParseOptionsOf } = await import(new URL('pipeline/ingest-options.js', dist));
const { defaultConfig } = await import(new URL('config/schema.js', dist));
const { loadModel } = await import(new URL('adapters/onnx-runner.js', dist));
const { trainModel, sidecarOf } = await import(new URL('train/trainer.js', dist));
const { writeModel } = await import(new URL('model/onnx-export.js', dist));
const { trainOptionsOf } = await import(new URL('replay/run.js', dist));

const { values } = parseArgs({
  options: { sensor: { type: 'string', default: 'vibration' }, hours: { type: 'string', default: '24' }, seed: { type: 'string', default: '7' }, kinds: { type: 'string' } },
});
const sensor = values.sensor;
const n = Math.round(Number(values.hours) * 3600);
const seed = Number(values.seed);
const LEARN = 3600;
if (!(n > LEARN)) throw new Error(`--hours must be more than 1 (the learning hour), got ${values.hours}`);

const sim = new Simulator({ seed, startTs: Date.UTC(2026, 0, 1), intervalMs: 1000, anomalies: [] });
const rows = [];
for (let k = 0; k < n; k++) {
  const m = sim.next().find((x) => x.sensor === sensor);
  if (m === undefined) throw new Error(`unknown simulated sensor ${JSON.stringify(sensor)}`);
  rows.push(m);
}
const config = defaultConfig();
const dir = mkdtempSync(join(tmpdir(), 'sim-normal-alarms-'));
let model = null;
try {
  const trained = trainModel({ channels: ['value'], values: Float64Array.from(rows.slice(0, LEARN), (m) => m.value) }, { ...trainOptionsOf(config), source: `${sensor} seed ${seed}, first hour` });
  model = await loadModel((await writeModel(dir, sidecarOf(`sim-${sensor}-${seed}`, trained), trained.params)).sidecarPath);
  const opts = detectorOptions(config);
  const detector = new Detector(values.kinds === undefined ? opts : { ...opts, scorer: { ...opts.scorer, evidence: values.kinds.split(',') } }, {
    parser: new MessageParser(replayParseOptionsOf(config)),
    modelFor: () => ({ model, own: true }),
    priorsFor: () => priorsOf(model.sidecar),
    newId: (() => {
      let i = 0;
      return () => `episode-${++i}`;
    })(),
    learning: (_stream, origin) => origin.seq < LEARN,
  });
  const kinds = ['prediction', 'bias', 'reconstruction', 'level', 'change', 'shift', 'spread', 'stuck'];
  const reached = Object.fromEntries(kinds.map((k) => [k, { reference: [0, 0, 0, 0, 0], adaptive: [0, 0, 0, 0, 0] }]));
  const opened = [];
  let scored = 0;
  const strong = (ev) =>
    Object.entries(ev)
      .filter(([, v]) => v >= 3)
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ') || '-';
  const input = new Subject();
  const done = new Promise((resolve, reject) =>
    input.pipe(detector.operator()).subscribe({
      next: (o) => {
        if (o.type !== 'reading' || o.reading.status === 'learning') return;
        scored++;
        for (const k of kinds) {
          for (let s = 2; s <= 6; s++) {
            if (o.deviationEvidence[k] >= s) reached[k].reference[s - 2]++;
            if (o.evidence[k] >= s) reached[k].adaptive[s - 2]++;
          }
        }
        for (const e of o.events) if (e.kind === 'open') opened.push(`${new Date(o.reading.ts).toISOString()}  value ${o.reading.values[0]}  reference: ${strong(o.deviationEvidence)}  adaptive: ${strong(o.evidence)}`);
      },
      error: reject,
      complete: resolve,
    }),
  );
  for (let k = 0; k < rows.length; k++) {
    input.next({ topic: sensor, payload: Buffer.from(JSON.stringify({ ts: rows[k].ts, value: rows[k].value })), receivedAt: rows[k].ts, seq: k });
    if ((k + 1) % 2048 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  input.complete();
  await done;
  console.log(`${sensor}, seed ${seed}, ${values.hours} h at 1 Hz, nothing injected: ${scored} readings scored after the learning hour`);
  console.log('share of readings whose surprise reaches 2 / 3 / 4 / 5 / 6, against the reference | the adaptive history');
  for (const k of kinds) console.log(`  ${k.padEnd(15)} ${reached[k].reference.map((c) => (c / scored).toExponential(1)).join(' ')}  |  ${reached[k].adaptive.map((c) => (c / scored).toExponential(1)).join(' ')}`);
  console.log(`episodes opened (all false alarms): ${opened.length}`);
  for (const line of opened) console.log(`  ${line}`);
} finally {
  await model?.release();
  rmSync(dir, { recursive: true, force: true });
}

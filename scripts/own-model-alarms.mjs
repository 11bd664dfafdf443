#!/usr/bin/env node
// False alarms of a sensor's OWN model on normal data, through the daemon's learner (src/learn/learner.ts)
// without the daemon's wall clock: slow-cycle sensors (a sine of PERIOD readings at 1 Hz plus small noise,
// nothing injected) go through the daemon's detector (src/pipeline/detector.ts, shipped defaults, the shared
// model as fallback) and their normal readings into the learner, with a real SQLite file and onnxruntime; once
// a sensor has learning.minReadings the learner trains (in this thread), exports and (when its gate lets it)
// swaps in the sensor's own model, and the readings wait for it (in the daemon they are scored by the shared
// model meanwhile). Prints the episodes opened (all false alarms) per hour, before and after the own model,
// with the shared model all along (learning off) as the reference, and what the learner decided.
// Uses the built JS in dist/ (npm run build first). BENCHMARKS.md "A gate before a sensor's own model".
//
//   node scripts/own-model-alarms.mjs --min-readings 300 --hours 3 --periods 300,600
//   node scripts/own-model-alarms.mjs --shared-only            (learning off: the shared model all along)
//   node scripts/own-model-alarms.mjs --walks 2 --duties 2     (also random walks, step sd 0.1, and duty cycles:
//                                                               8 ± 0.08 on, 0.05 ± 0.01 off, phases of 60 to 200 readings)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Subject } from 'rxjs';

const dist = new URL('../dist/', import.meta.url);
const { Detector, detectorOptions, priorsOf } = await import(new URL('pipeline/detector.js', dist));
const { MessageParser } = await import(new URL('pipeline/parse.js', dist));
const { replayParseOptionsOf } = await import(new URL('pipeline/ingest-options.js', dist));
const { defaultConfig } = await import(new URL('config/schema.js', dist));
const { loadModel } = await import(new URL('adapters/onnx-runner.js', dist));
const { SqliteStore } = await import(new URL('adapters/sqlite-store.js', dist));
const { trainModel } = await import(new URL('train/trainer.js', dist));
const { writeModel } = await import(new URL('model/onnx-export.js', dist));
const { Learner, learningOptionsOf } = await import(new URL('learn/learner.js', dist));
const { ModelRegistry } = await import(new URL('learn/registry.js', dist));
// The daemon's own models start from the shared model's weights (fine-tuning); a version without it has no reader.
const onnxParams = await import(new URL('model/onnx-params.js', dist)).catch(() => null);

const { values: args } = parseArgs({
  options: {
    'min-readings': { type: 'string', default: '300' },
    hours: { type: 'string', default: '3' },
    periods: { type: 'string', default: '300,600' },
    walks: { type: 'string', default: '0' },
    duties: { type: 'string', default: '0' },
    noise: { type: 'string', default: '0.02' },
    seed: { type: 'string', default: '7' },
    'shared-only': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});
const minReadings = Number(args['min-readings']);
const n = Math.round(Number(args.hours) * 3600);
const periods = args.periods.split(',').map(Number);
const noise = Number(args.noise);
let seed = Number(args.seed);
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const sine = (s, k) => s.level + s.amp * Math.sin((2 * Math.PI * k) / s.period + s.phase) + noise * s.amp * gauss();
const walk = (s) => (s.x += 0.1 * gauss());
const duty = (s) => {
  if (--s.left <= 0) {
    s.on = !s.on;
    s.left = 60 + Math.floor(140 * rand());
  }
  return s.on ? 8 + 0.08 * gauss() : 0.05 + 0.01 * gauss();
};
const sensors = [
  ...periods.map((p, i) => ({ name: `cycle${p}`, period: p, level: 20 + 5 * i, amp: 3, phase: rand() * 2 * Math.PI, next: sine })),
  ...Array.from({ length: Number(args.walks) }, (_, i) => ({ name: `walk${i + 1}`, x: 50 + 10 * i, next: walk })),
  ...Array.from({ length: Number(args.duties) }, (_, i) => ({ name: `duty${i + 1}`, on: true, left: 30 + Math.floor(100 * rand()), next: duty })),
];

const config = defaultConfig();
const dir = mkdtempSync(join(tmpdir(), 'own-model-alarms-'));
const logger = pino({ level: args.verbose ? 'info' : 'warn' }, pino.destination(2));
const store = SqliteStore.open(join(dir, 'anomalyd.db'), { commitIntervalMs: 0, outboxMax: 1000, logger: pino({ level: 'silent' }) });
const shared = await loadModel(new URL(`../models/${config.model.cell}.json`, import.meta.url).pathname);
const registry = new ModelRegistry(shared, (s) => s, logger);
let clock = Date.UTC(2026, 0, 1);
const installed = new Map();
const learner = new Learner(
  { ...learningOptionsOf(config, !args['shared-only']), minReadings },
  {
    store,
    registry,
    scopeOf: (s) => s,
    train: (series, opts, onProgress) => Promise.resolve(trainModel(series, opts, onProgress)),
    writeModel,
    loadModel,
    modelsDir: join(dir, 'models'),
    logger,
    now: () => clock,
    startFrom: () => onnxParams?.readModelParams(new URL(`../models/${config.model.cell}.json`, import.meta.url).pathname) ?? null,
    onInstalled: (names, model) => {
      for (const s of names) installed.set(s, { model: model.id, at: clock });
    },
  },
);
const detector = new Detector(detectorOptions(config), {
  parser: new MessageParser(replayParseOptionsOf(config)),
  modelFor: (stream) => {
    const model = registry.modelFor(stream);
    return model === null ? null : { model, own: registry.learntOnAlone?.(stream) ?? registry.hasOwnModel(stream) };
  },
  priorsFor: (modelId) => {
    const model = registry.get(modelId);
    return model && model !== registry.fallbackModel ? priorsOf(model.sidecar) : null;
  },
  newId: (() => {
    let i = 0;
    return () => `episode-${++i}`;
  })(),
  learning: () => false,
});
const strong = (ev) =>
  Object.entries(ev)
    .filter(([, v]) => v >= 3)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ') || '-';
const opened = new Map(sensors.map((s) => [s.name, []]));
let outputs = 0;
const input = new Subject();
const done = new Promise((resolve, reject) =>
  input.pipe(detector.operator()).subscribe({
    next: (o) => {
      if (o.type !== 'reading') return;
      outputs++;
      const r = o.reading;
      if (!o.duplicate) learner.observe(r.stream, r.ts, r.values, r.status === 'anomalous');
      for (const e of o.events) if (e.kind === 'open') opened.get(r.stream).push({ ts: r.ts, model: r.modelId, evidence: `${strong(o.evidence)} | reference: ${strong(o.deviationEvidence)}` });
    },
    error: reject,
    complete: resolve,
  }),
);
const t0 = clock;
let inputs = 0;
const settle = async () => {
  while (outputs < inputs) await new Promise((resolve) => setImmediate(resolve));
};
for (let k = 0; k < n; k++) {
  clock = t0 + k * 1000;
  for (const s of sensors) {
    const value = s.next(s, k);
    input.next({ topic: s.name, payload: Buffer.from(JSON.stringify({ ts: clock, value: Math.round(value * 1000) / 1000 })), receivedAt: clock, seq: inputs++ });
  }
  if ((k + 1) % 10 === 0) {
    // The daemon's housekeeping (every few seconds): store the readings, start a training when one is due.
    await settle();
    learner.flush();
    learner.maybeTrain();
    while (learner.busy !== null) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
input.complete();
await done;
const hours = n / 3600;
console.log(`${sensors.length} sensors (periods ${periods.join(', ')} readings, noise ${noise} of the amplitude; ${args.walks} random walks, ${args.duties} duty cycles) at 1 Hz for ${hours} h, nothing injected; learning.minReadings ${minReadings}${args['shared-only'] ? ' (learning off: shared model only)' : ''}`);
for (const s of sensors) {
  const own = installed.get(s.name);
  const eps = opened.get(s.name);
  const swapAt = own ? own.at : Infinity;
  const before = eps.filter((e) => e.ts < swapAt).length;
  const after = eps.filter((e) => e.ts >= swapAt).length;
  const beforeH = (Math.min(swapAt, t0 + n * 1000) - t0) / 3_600_000;
  const afterH = own ? (t0 + n * 1000 - swapAt) / 3_600_000 : 0;
  const rate = (c, h) => (h > 0 ? (c / h).toFixed(1) : '-');
  console.log(
    `  ${s.name}: ${own ? `own model ${own.model} in at reading ${(own.at - t0) / 1000}` : 'no own model'}; false alarms ${before} before (${rate(before, beforeH)}/h), ${after} after (${rate(after, afterH)}/h)`,
  );
  if (args.verbose) for (const e of eps) console.log(`    episode at reading ${(e.ts - t0) / 1000} (${e.model}): ${e.evidence}`);
  for (const m of store.models().filter((x) => x.scope === s.name)) console.log(`    model ${m.id}: ${m.rows} readings, validation loss ${m.valLoss.toPrecision(3)}`);
  // The gate's decisions, oldest first (a version without the gate has none to show).
  if (typeof store.modelChecks === 'function') {
    for (const c of store.modelChecks(s.name).reverse()) console.log(`    gate: ${c.accepted ? 'accepted' : 'rejected'} ${c.reason}`);
  }
}
await learner.stop();
await registry.releaseAll();
store.close();
rmSync(dir, { recursive: true, force: true });

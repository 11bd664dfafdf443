#!/usr/bin/env node
// One stream's own-model decision on the device's path (src/learn/own-model.ts decideOwnModel, as `npm run evaluate`
// runs it since evalpath), told in numbers (budgetdev, 2026-12-05): the training's epochs (train and validation
// loss), steps, best epoch and validation ratio to persistence; the gate's reason on the held-out readings; and then
// both models (the candidate and the shipped one) stepped the gate's way (heldOutErrors) over the candidate's training
// rows (in-sample), the trainer's validation tail, the gate's held-out rows (these figures equal the gate's) and six
// blocks of the stream's SCORED rows, all standardised by the gate's training part (fixed: the detector's running
// normalisation is not modelled): does the held-out verdict hold on the readings that follow?
// (evidence-dump.mjs and train-vs-persistence.mjs train from random weights, evaluate's protocol before evalpath.)
//
//   node scripts/own-model-diagnose.mjs ROOT dev:PART [DATA]   EXTRA='{json}' spread over the training options
//   e.g. EXTRA='{"minSteps":0,"minStepsBeforeStop":0,"patienceSteps":0}' for the step budget off
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, which] = process.argv.slice(2);
if (root === undefined || which === undefined || !which.startsWith('dev:')) {
  console.error('usage: node scripts/own-model-diagnose.mjs ROOT dev:PART  (EXTRA=json training options)');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { loadEvalConfig } = await import(at('dist/eval/evaluate.js'));
const { devSources } = await import(at('dist/eval/datasets.js'));
const { trainOptionsOf } = await import(at('dist/replay/run.js'));
const { trainModel, sidecarOf } = await import(at('dist/train/trainer.js'));
const { decideOwnModel } = await import(at('dist/learn/own-model.js'));
const { heldOutErrors, splitHeldOut } = await import(at('dist/learn/gate.js'));
const { driftGuardOf } = await import(at('dist/learn/drift-guard.js'));
const { sharedWeightsOf } = await import(at('dist/learn/shared-weights.js'));
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { writeModel } = await import(at('dist/model/onnx-export.js'));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const extra = JSON.parse(process.env.EXTRA ?? '{}');
const config = loadEvalConfig(undefined, resolve(root));
const src = devSources(1).find((s) => s.file.includes(which.slice(4)));
const s = await src.load();
const rows = s.rows.slice(0, s.learnRows).filter((r) => r.values.every(Number.isFinite));
const history = Float64Array.from(rows, (r) => r.values[0]);
const dir = mkdtempSync(join(tmpdir(), 'own-model-diagnose-'));
const shippedPath = modelSidecarPath(config);
const shipped = await loadModel(shippedPath);
const f = (x, d = 4) => (Number.isFinite(x) ? x.toPrecision(d) : String(x));
let candidate = null;
const t0 = performance.now();
const outcome = await decideOwnModel(
  { histories: [history], channels: 1, options: { ...trainOptionsOf(config), ...extra }, shared: sharedWeightsOf(shippedPath, () => {}), drift: driftGuardOf(config), source: () => 'diagnose' },
  {
    train: (series, o) => Promise.resolve(trainModel(series, o)),
    inUse: () => ({ model: shipped, shared: true }),
    materialise: async (result) => {
      const { sidecarPath } = await writeModel(dir, sidecarOf('learn-0', result), result.params);
      const model = await loadModel(sidecarPath);
      candidate = model;
      // SAVE=DIR: also written where scripts/evidence-dump.mjs's MODELS cache looks (DIR/dev_<group>_<file>/), so
      // its per-row dump scores the stream with this candidate (whatever the gate decided: read the outcome).
      if (process.env.SAVE) await writeModel(join(process.env.SAVE, `dev_${src.file.replace(/\.csv$/, '').replaceAll('/', '_')}`), sidecarOf('learn-0', result), result.params);
      return { model, discard: async () => {} };
    },
  },
);
const secs = (performance.now() - t0) / 1000;
console.log(`${src.file}: ${s.learnRows} learning rows, ${s.rows.length - s.learnRows} scored; outcome ${outcome.kind} (${secs.toFixed(1)} s)`);
if (outcome.result) {
  const r = outcome.result;
  console.log(`steps ${r.steps}, epochs ${r.losses.length}, bestEpoch ${r.bestEpoch}, initial val loss ${f(r.training.initialValLoss)}, predVsPersistence ${f(r.predVsPersistence)}`);
  console.log('epoch\ttrain\tval');
  for (const l of r.losses) console.log(`${l.epoch}\t${f(l.train)}\t${f(l.val)}`);
  console.log(`calibration: ${JSON.stringify(r.calibration, (k, v) => (typeof v === 'number' ? Number(v.toPrecision(4)) : v))}`);
}
if (outcome.decision) console.log(`gate: ${outcome.decision.reason}`);
if (candidate !== null) {
  // The whole stream standardised by the gate's training part; "held-out" = the scored rows, in blocks.
  const whole = Float64Array.from(s.rows, (r) => (Number.isFinite(r.values[0]) ? r.values[0] : 0));
  const { held } = splitHeldOut(history, 1);
  const trainPart = history.subarray(0, held.from);
  const mean = trainPart.reduce((a, b) => a + b, 0) / trainPart.length;
  const std = Math.sqrt(trainPart.reduce((a, b) => a + (b - mean) ** 2, 0) / trainPart.length) || 1;
  const values = whole.map((v) => Math.max(-10, Math.min(10, (v - mean) / std)));
  const at2 = (from, to) => ({ values: values.subarray(0, to), channels: 1, from });
  const valFrom = Math.floor(held.from * 0.8);
  const spans = [['training rows (in-sample)', 64, valFrom], ['trainer validation tail', valFrom, held.from], ['gate held-out', held.from, s.learnRows]];
  const step = Math.ceil((s.rows.length - s.learnRows) / 6);
  for (let a = s.learnRows; a < s.rows.length; a += step) spans.push([`scored ${a - s.learnRows}..${Math.min(s.rows.length, a + step) - s.learnRows - 1}`, a, Math.min(s.rows.length, a + step)]);
  console.log('span\tcandidate loss (pred, recon)\tshipped loss (pred, recon)\tratio');
  for (const [name, a, b] of spans) {
    const c = await heldOutErrors(candidate, [at2(a, b)]);
    const u = await heldOutErrors(shipped, [at2(a, b)]);
    console.log(`${name}\t${f(c.loss)} (${f(c.predMse)}, ${f(c.reconMse)})\t${f(u.loss)} (${f(u.predMse)}, ${f(u.reconMse)})\t${f(c.loss / u.loss, 3)}`);
  }
  await candidate.release();
}
await shipped.release();
rmSync(dir, { recursive: true, force: true });

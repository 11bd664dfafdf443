#!/usr/bin/env node
// The per-file model's next-reading error against persistence's (x[t] predicted as x[t-1]), offline (trainbudget,
// after modelq 2026-12-05). Each file's model is trained as `npm run evaluate` trains it (trainOptionsOf(config),
// seed 1, on the file's learning rows), plus EXTRA='{json}' spread into the training options (e.g.
// '{"minSteps":0}' for the old budget in epochs). It is then run over the whole file from a zero state with its
// training normalisation (evaluateStream; modelq measured this within 0.4 % of the detector's running
// normalisation) and its prediction errors are compared with persistence's over the NORMAL scored rows: rows at
// or after the scoring start with no labelled row among them and the 24 before. One line per file:
//   file  windows  steps  epochs  seconds  valRatio (the trainer's validation MSE ratio)  rmse  persistRmse  ratio (RMSE)
//
//   node scripts/train-vs-persistence.mjs ROOT FILES [DATA]   FILES: comma-separated parts of dev paths
//        (dev:daily_cycle_frequency_1h,random_walk), MSL channels (msl:T-4,M-1) or SKAB paths (skab:valve1/1)
//   node scripts/train-vs-persistence.mjs ROOT device         device-sized trainings (learning.minReadings
//        readings of one sensor of each synthetic kind, fine-tuned from models/gru.json as the learner does):
//        one line per kind with steps, epochs, seconds and the validation ratio
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, which, dataArg] = process.argv.slice(2);
if (root === undefined || which === undefined) {
  console.error('usage: node scripts/train-vs-persistence.mjs ROOT dev:PARTS|msl:CHANNELS|skab:PARTS|device [DATA]  (EXTRA=json training options)');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { loadEvalConfig } = await import(at('dist/eval/evaluate.js'));
const { loadMsl, loadSkab, devSources, skabFiles } = await import(at('dist/eval/datasets.js'));
const { trainOptionsOf } = await import(at('dist/replay/run.js'));
const { trainModel } = await import(at('dist/train/trainer.js'));
const { scoreSeries } = await import(at('dist/train/evaluate.js'));
const extra = JSON.parse(process.env.EXTRA ?? '{}');
const config = loadEvalConfig(undefined, resolve(root));
const data = resolve(dataArg ?? '../shared/datasets');
const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

if (which === 'device') {
  const { readModelParams } = await import(at('dist/model/onnx-params.js'));
  const { normalFamily, SIGNAL_KINDS } = await import(at('dist/train/synthetic.js'));
  const { standardisedSegments } = await import(at('dist/train/dataset.js'));
  const init = readModelParams(resolve(root, 'models/gru.json'));
  const n = config.learning.minReadings;
  const family = normalFamily({ seed: 5, perKind: 1, minRows: n, maxRows: n });
  console.log(['kind', 'windows', 'steps', 'epochs', 'seconds', 'valRatio'].join('\t'));
  for (const kind of SIGNAL_KINDS) {
    const seg = family.find((s) => s.kind === kind);
    // Standardised as the learner standardises a sensor's history.
    const { values } = standardisedSegments([seg.values]);
    const t0 = performance.now();
    const r = trainModel(
      { channels: ['value'], values },
      { cell: 'gru', hidden: config.learning.hidden, window: config.window.length, hop: config.window.hop, epochs: config.learning.epochs, seed: 1, init, ...extra },
    );
    console.log([kind, r.training.trainWindows, r.steps, r.losses.length, f((performance.now() - t0) / 1000, 2), f(r.predVsPersistence)].join('\t'));
  }
  process.exit(0);
}

const [set, partsText] = which.split(':');
const parts = partsText.split(',');
let streams;
if (set === 'dev') {
  streams = devSources(1).filter((s) => parts.some((p) => s.file.includes(p)));
  streams = await Promise.all(streams.map((s) => s.load()));
} else if (set === 'msl') {
  streams = await Promise.all(parts.map((c) => loadMsl(data, c)));
} else if (set === 'skab') {
  const files = skabFiles(join(data, 'skab')).filter((p) => parts.some((q) => p.includes(q)));
  streams = await Promise.all(files.map((p) => loadSkab(p)));
} else {
  throw new Error(`unknown set ${set}`);
}
console.log(['file', 'windows', 'steps', 'epochs', 'seconds', 'valRatio', 'rmse', 'persistRmse', 'ratio'].join('\t'));
for (const s of streams) {
  const learn = s.rows.slice(0, s.learnRows).filter((r) => Number.isFinite(r.values[0]));
  const t0 = performance.now();
  const r = trainModel({ channels: ['value'], values: Float64Array.from(learn, (row) => row.values[0]) }, { ...trainOptionsOf(config), ...extra, source: s.file });
  const seconds = (performance.now() - t0) / 1000;
  const all = s.rows.map((row) => row.values[0]);
  const ok = all.map(Number.isFinite);
  const values = Float64Array.from(all, (v) => (Number.isFinite(v) ? v : 0));
  const ev = scoreSeries(r.params, r.normalisation, values, { window: r.window, hop: r.hop });
  const std = r.normalisation.std[0];
  const scoreFrom = s.scoreFrom ?? s.learnRows;
  let model = 0;
  let naive = 0;
  let n = 0;
  for (let t = Math.max(1, scoreFrom); t < values.length; t++) {
    let labelled = false;
    for (let k = Math.max(0, t - 24); k <= t; k++) labelled ||= s.labels[k] !== 0;
    if (labelled || !ok[t] || !ok[t - 1]) continue;
    model += ev.predErrors[t - 1] * std * std; // predErrors[t-1]: the prediction of row t, in normalised units
    naive += (values[t] - values[t - 1]) ** 2;
    n++;
  }
  const rmse = Math.sqrt(model / n);
  const prmse = Math.sqrt(naive / n);
  console.log([s.file, r.training.trainWindows, r.steps, r.losses.length, f(seconds, 2), f(r.predVsPersistence), f(rmse, 4), f(prmse, 4), f(rmse / prmse, 2)].join('\t'));
}

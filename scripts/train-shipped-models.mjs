#!/usr/bin/env node
// Reproduces the models shipped in models/ (gru.* and lstm.*: the window, step and decode graphs and the JSON
// sidecar) with the project's own trainer: `npm run train:models` (builds first; a few minutes per cell on one
// core). Deterministic: same code + seed = the same graphs, byte for byte, and the same sidecar but for
// `createdAt` and `training.seconds`; `--check` trains into a temporary directory and compares with models/.
//
// Data: the synthetic family of NORMAL signals of src/train/synthetic.ts (docs/MODEL.md, "The shipped models"):
// cycles at many periods with harmonics and phase noise, plateaus and duty cycles, random walks, counters,
// on/off signals, slow drifts and noise, at many noise levels, a share quantised to a sensor's resolution.
// Each segment is standardised on its own (the detector normalises every stream by its own running
// statistics) and is one independent segment of the series: no training window or carried state crosses
// from one signal to the next, and each segment's last 20 % is its validation split.
// `--report` also scores each model, as written (its step and decode graphs in onnxruntime), on a held-out family
// (another seed) kind by kind (src/train/family-report.ts); `--report-only` does that for the models in --out-dir
// without training.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sidecarOf, trainModel } from '../dist/train/trainer.js';
import { writeModel } from '../dist/model/onnx-export.js';
import { createProgressReporter } from '../dist/train/progress.js';
import { familySeries, SIGNAL_KINDS } from '../dist/train/synthetic.js';
import { familyReport, familyReportTable, runnerScorer } from '../dist/train/family-report.js';
import { loadModel } from '../dist/adapters/onnx-runner.js';

const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: 'gru,lstm' },
    'per-kind': { type: 'string', default: '8' },
    'min-rows': { type: 'string', default: '1200' },
    'max-rows': { type: 'string', default: '2400' },
    epochs: { type: 'string', default: '40' },
    seed: { type: 'string', default: '20261130' },
    'out-dir': { type: 'string', default: 'models' },
    check: { type: 'boolean', default: false },
    report: { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const family = { seed, perKind: Number(values['per-kind']), minRows: Number(values['min-rows']), maxRows: Number(values['max-rows']) };
const { series } = familySeries(family);
const rows = series.values.length;
const source =
  `synthetic normal family (src/train/synthetic.ts, seed ${seed}): ${SIGNAL_KINDS.length} kinds (${SIGNAL_KINDS.join(', ')}) x ${family.perKind} segments ` +
  `of ${family.minRows}..${family.maxRows} rows, ${rows} rows in all, each standardised on its own and one segment each`;
const outDir = values.check ? await mkdtemp(join(tmpdir(), 'anomalyd-train-models-')) : values['out-dir'];
let mismatches = 0;

/** The written model, loaded through the model port, scored on a held-out family; printed as a table. */
async function report(sidecarPath) {
  const model = await loadModel(sidecarPath);
  try {
    const { window, hop, normalisation, calibration, cell } = model.sidecar;
    const opts = { seed: seed + 1, perKind: 12, rows: 1500, window, hop };
    const rows = await familyReport(runnerScorer(model, window, hop), normalisation, calibration, opts);
    console.log(`\n${cell} (${model.id}) on a held-out family (seed ${opts.seed}, ${opts.perKind} segments of ${opts.rows} rows per kind):\n\n${familyReportTable(rows)}\n`);
  } finally {
    await model.release();
  }
}

const cells = values.cells.split(',');
if (values['report-only']) {
  for (const cell of cells) await report(join(values['out-dir'], `${cell}.json`));
}

for (const cell of values['report-only'] ? [] : cells) {
  const progress = createProgressReporter({ write: (s) => process.stderr.write(s), isTTY: process.stderr.isTTY === true, columns: process.stderr.columns });
  const t0 = Date.now();
  const result = trainModel(series, { cell, hidden: 32, window: 64, hop: 16, epochs: Number(values.epochs), seed, source }, (p) => progress.update(p));
  progress.finish();
  const { sidecarPath, graphPaths } = await writeModel(outDir, sidecarOf(cell, result), result.params);
  const c = result.calibration;
  console.log(
    `${cell}: ${result.losses.length} epochs (best ${result.bestEpoch}) in ${((Date.now() - t0) / 1000).toFixed(1)} s on ${rows} rows, ` +
      `val loss ${result.training.initialValLoss.toFixed(4)} -> ${result.training.finalValLoss.toFixed(4)}; ` +
      `calibration ln(err) reconstruction ${c.recon.logErrMean.toFixed(3)} ± ${c.recon.logErrStd.toFixed(3)}, prediction ${c.pred.logErrMean.toFixed(3)} ± ${c.pred.logErrStd.toFixed(3)}; wrote ${sidecarPath}`,
  );
  if (values.report) await report(sidecarPath);
  if (values.check) {
    const shipped = join(values['out-dir'], `${cell}.json`);
    for (const role of ['window', 'step', 'decode']) {
      const name = graphPaths[role].split('/').pop();
      const same = Buffer.compare(await readFile(graphPaths[role]), await readFile(join(values['out-dir'], name))) === 0;
      console.log(`${cell}: ${name} ${same ? 'identical' : 'DIFFERS'}`);
      if (!same) mismatches++;
    }
    const strip = (s) => ({ ...s, createdAt: undefined, training: { ...s.training, seconds: undefined } });
    const a = strip(JSON.parse(await readFile(sidecarPath, 'utf8')));
    const b = strip(JSON.parse(await readFile(shipped, 'utf8')));
    const same = JSON.stringify(a) === JSON.stringify(b);
    console.log(`${cell}: ${cell}.json ${same ? 'identical but for createdAt and training.seconds' : 'DIFFERS'}`);
    if (!same) mismatches++;
  }
}
if (values.check) {
  await rm(outDir, { recursive: true, force: true });
  if (mismatches > 0) process.exitCode = 1;
}

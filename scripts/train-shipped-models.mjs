#!/usr/bin/env node
// Reproduces the models shipped in models/ (gru.onnx/json and lstm.onnx/json) with the project's own
// trainer: `npm run train:models` (builds first). Deterministic: same code + seed = same weights.
//
// Data: the built-in simulator's NORMAL behaviour (no anomalies) for its three sensor kinds
// (temperature with a daily cycle, vibration RMS, motor current with a duty cycle), 1 Hz. Each sensor's
// history is standardised on its own (the detector normalises every sensor by its own running statistics
// too) and is one independent segment of the series: no training window or carried state crosses from
// one sensor to the next, and each sensor's last 20 % is its validation split.
// The result is a generic one-channel model for standardised sensor signals, shared by every sensor.
import { parseArgs } from 'node:util';
import { Simulator } from '../dist/sim/simulator.js';
import { sidecarOf, trainModel } from '../dist/train/trainer.js';
import { writeModel } from '../dist/model/onnx-export.js';
import { createProgressReporter } from '../dist/train/progress.js';
import { standardisedSegments } from '../dist/train/dataset.js';

const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: 'gru,lstm' },
    rows: { type: 'string', default: '12000' },
    epochs: { type: 'string', default: '25' },
    seed: { type: 'string', default: '20261125' },
    'out-dir': { type: 'string', default: 'models' },
  },
});
const rows = Number(values.rows);
const seed = Number(values.seed);
const START = Date.UTC(2026, 0, 1);

const sim = new Simulator({ seed, startTs: START, intervalMs: 1000, anomalies: 'none' });
const sensors = ['temperature', 'vibration', 'motor_current'];
const { values: values64, segments } = standardisedSegments(sensors.map((name) => sim.series(name, rows)));

for (const cell of values.cells.split(',')) {
  const progress = createProgressReporter({ write: (s) => process.stderr.write(s), isTTY: process.stderr.isTTY === true, columns: process.stderr.columns });
  const t0 = Date.now();
  const result = trainModel(
    { channels: ['value'], values: values64, segments },
    { cell, hidden: 32, window: 64, hop: 16, epochs: Number(values.epochs), seed, source: `simulator normal data (seed ${seed}, ${sensors.join(', ')}; ${rows} rows each at 1 Hz, standardised per sensor, one segment each)` },
    (p) => progress.update(p),
  );
  progress.finish();
  const { onnxPath, sidecarPath } = await writeModel(values['out-dir'], sidecarOf(cell, result), result.params);
  const first = result.losses[0];
  console.log(
    `${cell}: ${result.losses.length} epochs in ${((Date.now() - t0) / 1000).toFixed(1)} s, val loss ${first?.val.toFixed(4)} -> ${result.training.finalValLoss.toFixed(4)} (initial ${result.training.initialValLoss.toFixed(4)}), calibration logErr ${result.calibration.logErrMean.toFixed(3)} ± ${result.calibration.logErrStd.toFixed(3)}; wrote ${onnxPath}, ${sidecarPath}`,
  );
}

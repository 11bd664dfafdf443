import { describe, expect, it } from 'vitest';
import type { CellKind } from '../../src/model/spec.js';
import { scoreSeries } from '../../src/train/evaluate.js';
import { mulberry32 } from '../../src/train/rng.js';
import { trainModel } from '../../src/train/trainer.js';

const T = 16;
const HOP = 4;

/** Two channels: a sine and a phase-shifted, scaled copy, plus noise; period 25 rows. */
function sineSeries(rows: number, seed: number): Float64Array {
  const rng = mulberry32(seed);
  const v = new Float64Array(rows * 2);
  for (let t = 0; t < rows; t++) {
    v[2 * t] = 20 + 5 * Math.sin((2 * Math.PI * t) / 25) + 0.3 * (rng() - 0.5);
    v[2 * t + 1] = -3 + 2 * Math.cos((2 * Math.PI * t) / 25) + 0.1 * (rng() - 0.5);
  }
  return v;
}

describe.each<CellKind>(['gru', 'lstm'])('learning a sine (%s)', (cell) => {
  const series = { channels: ['a', 'b'], values: sineSeries(1600, 1) };
  const result = trainModel(series, { cell, hidden: 12, window: T, hop: HOP, epochs: 12, batchSize: 16, lr: 1e-2, seed: 3, patience: 3 });

  it('cuts the validation loss by at least 10x', () => {
    expect(result.training.finalValLoss).toBeLessThan(result.training.initialValLoss / 10);
    expect(result.losses.length).toBeGreaterThan(0);
    expect(result.calibration.logErrStd).toBeGreaterThan(0);
    expect(result.calibration.quantiles.max).toBeGreaterThanOrEqual(result.calibration.quantiles.p50);
  });

  it('puts a spike and a level shift far above every normal window', () => {
    const clean = sineSeries(400, 2);
    const normal = scoreSeries(result.params, result.normalisation, clean, { window: T, hop: HOP });
    const worstNormal = Math.max(...normal.reconErrors);

    const spiked = clean.slice();
    const spikeRow = 201;
    spiked[2 * spikeRow] += 15;
    const spikeScores = scoreSeries(result.params, result.normalisation, spiked, { window: T, hop: HOP });
    const spikeWindows = Array.from(spikeScores.starts.keys()).filter((k) => spikeScores.starts[k] <= spikeRow && spikeRow < spikeScores.starts[k] + T);
    expect(spikeWindows.length).toBe(T / HOP);
    for (const k of spikeWindows) expect(spikeScores.reconErrors[k]).toBeGreaterThan(10 * worstNormal);

    const shifted = clean.slice();
    const shiftRow = 203;
    for (let t = shiftRow; t < 400; t++) shifted[2 * t + 1] += 6;
    const shiftScores = scoreSeries(result.params, result.normalisation, shifted, { window: T, hop: HOP });
    const straddling = Array.from(shiftScores.starts.keys()).find((k) => shiftScores.starts[k] < shiftRow && shiftRow < shiftScores.starts[k] + T)!;
    expect(shiftScores.reconErrors[straddling]).toBeGreaterThan(10 * worstNormal);
  });
});

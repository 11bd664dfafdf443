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
    for (const prior of [result.calibration.recon, result.calibration.pred]) {
      expect(prior.logErrStd).toBeGreaterThan(0);
      expect(prior.quantiles.max).toBeGreaterThanOrEqual(prior.quantiles.p50);
    }
  });

  // Scored the step detector's way: a prediction per reading, a reconstruction of the last T steps every HOP.
  const clean = sineSeries(400, 2);
  const normal = scoreSeries(result.params, result.normalisation, clean, { window: T, hop: HOP });
  // The first steps after the reset (zero state) are not what a running detector sees.
  const settled = (a: Float64Array, from: number): number => Math.max(...a.subarray(from));
  const worstRecon = settled(normal.reconErrors, T / HOP);
  const worstPred = settled(normal.predErrors, T);
  /** Reconstructions covering row r. */
  const covering = (e: ReturnType<typeof scoreSeries>, r: number): number[] =>
    Array.from(e.decodeEnds.keys()).filter((k) => e.decodeEnds[k] - e.decodeLengths[k] <= r && r < e.decodeEnds[k]);

  it('puts a spike far above every normal reconstruction and prediction', () => {
    const spiked = clean.slice();
    const spikeRow = 201;
    spiked[2 * spikeRow] += 15;
    const s = scoreSeries(result.params, result.normalisation, spiked, { window: T, hop: HOP });
    const windows = covering(s, spikeRow);
    expect(windows.length).toBe(T / HOP);
    for (const k of windows) expect(s.reconErrors[k]).toBeGreaterThan(10 * worstRecon);
    // predErrors[t] compares the prediction made after row t with row t+1.
    expect(s.predErrors[spikeRow - 1]).toBeGreaterThan(10 * worstPred);
  });

  it('puts a level shift far above every normal reconstruction and prediction', () => {
    const shifted = clean.slice();
    const shiftRow = 203;
    for (let t = shiftRow; t < 400; t++) shifted[2 * t + 1] += 6;
    const s = scoreSeries(result.params, result.normalisation, shifted, { window: T, hop: HOP });
    const straddling = covering(s, shiftRow).find((k) => s.decodeEnds[k] - s.decodeLengths[k] < shiftRow)!;
    expect(s.reconErrors[straddling]).toBeGreaterThan(10 * worstRecon);
    expect(s.predErrors[shiftRow - 1]).toBeGreaterThan(10 * worstPred);
  });
});

import { describe, expect, it } from 'vitest';
import { evaluateCarried, normalise, scoreSeries, windowStarts } from '../../src/train/evaluate.js';
import { mulberry32 } from '../../src/train/rng.js';
import { fromSeq2SeqParams } from '../../src/train/seq2seq.js';
import { calibrate, resolveTrainOptions, trainModel, type TrainProgress } from '../../src/train/trainer.js';

function noisyWave(rows: number, seed: number, level = 0): Float64Array {
  const rng = mulberry32(seed);
  return Float64Array.from({ length: rows }, (_, t) => level + Math.sin(t / 3) + 0.2 * rng());
}

const small = { hidden: 4, window: 8, hop: 2, epochs: 3, batchSize: 8, seed: 9 } as const;

describe('trainModel', () => {
  it('is bit-for-bit reproducible for a seed, and the seed matters', () => {
    const series = { channels: ['v'], values: noisyWave(300, 1) };
    const a = trainModel(series, small);
    const b = trainModel(series, small);
    const c = trainModel(series, { ...small, seed: 10 });
    expect(Buffer.from(a.params.encR.buffer).equals(Buffer.from(b.params.encR.buffer))).toBe(true);
    expect(Buffer.from(a.params.outW.buffer).equals(Buffer.from(b.params.outW.buffer))).toBe(true);
    expect(a.losses.map((l) => l.val)).toEqual(b.losses.map((l) => l.val));
    expect(Buffer.from(a.params.encR.buffer).equals(Buffer.from(c.params.encR.buffer))).toBe(false);
  });

  it('normalises with the training split only and holds out the END of the series', () => {
    const rows = 400;
    const values = noisyWave(rows, 2);
    for (let t = 320; t < rows; t++) values[t] += 50; // only in the validation part
    const r = trainModel({ channels: ['v'], values }, { ...small, valFraction: 0.2, epochs: 1 });
    const train = values.subarray(0, 320);
    const mean = train.reduce((s, v) => s + v, 0) / 320;
    const std = Math.sqrt(train.reduce((s, v) => s + (v - mean) ** 2, 0) / 320);
    expect(r.normalisation.mean[0]).toBeCloseTo(mean, 10);
    expect(r.normalisation.std[0]).toBeCloseTo(std, 10);
    expect(r.training.valWindows).toBe(windowStarts(320, 400, 8, 2).length);
    expect(r.training.rows).toBe(rows);
  });

  it('returns the best epoch: its val loss is the minimum seen, initial model included', () => {
    const r = trainModel({ channels: ['v'], values: noisyWave(300, 3) }, { ...small, epochs: 4 });
    const best = Math.min(r.training.initialValLoss, ...r.losses.map((l) => l.val));
    expect(r.training.finalValLoss).toBe(best);
    expect(r.stoppedEarly).toBe(r.losses.length < 4);
    // Re-evaluating the returned float32 model gives (to float32 precision) the recorded validation loss.
    const z = normalise(noisyWave(300, 3), 1, r.normalisation);
    const again = evaluateCarried(fromSeq2SeqParams(r.params), z, 240, 300, 8, 2, 0.5);
    expect(again.loss).toBeCloseTo(r.training.finalValLoss, 4);
  });

  it('stops after `patience` epochs without improvement', () => {
    // lr so large that training diverges after the first steps: validation stops improving.
    const r = trainModel({ channels: ['v'], values: noisyWave(300, 4) }, { ...small, epochs: 30, lr: 1, clip: 100, patience: 2 });
    expect(r.losses.length).toBeLessThan(30);
    expect(r.stoppedEarly).toBe(true);
    expect(r.losses.length - r.bestEpoch).toBe(2);
  });

  it('reports progress per batch and once per finished epoch', () => {
    const events: TrainProgress[] = [];
    let clock = 0;
    const r = trainModel({ channels: ['v'], values: noisyWave(300, 5) }, { ...small, now: () => (clock += 10) }, (p) => events.push(p));
    const done = events.filter((e) => e.epochDone);
    expect(done.map((e) => e.epoch)).toEqual(r.losses.map((l) => l.epoch));
    expect(done.map((e) => e.valLoss)).toEqual(r.losses.map((l) => l.val));
    const batches = events[0].batches;
    expect(events.filter((e) => !e.epochDone)).toHaveLength(batches * r.losses.length);
    expect(events.every((e) => e.etaMs >= 0 && e.elapsedMs > 0)).toBe(true);
    expect(events[events.length - 1].etaMs).toBe(0);
    expect(r.training.seconds).toBeGreaterThan(0);
  });

  it('rejects bad options, reporting every problem at once', () => {
    expect(() => resolveTrainOptions({ hidden: 0, lr: -1, hop: 100, window: 64 })).toThrow(/hidden[\s\S]*hop[\s\S]*lr/);
    expect(resolveTrainOptions({ window: 32 }).hop).toBe(8);
    expect(resolveTrainOptions({ window: 32, hop: 4 }).stride).toBe(4);
  });

  it('rejects a series too short for the window, and non-finite values', () => {
    expect(() => trainModel({ channels: ['v'], values: noisyWave(30, 1) }, small)).toThrow(/too short/);
    const bad = noisyWave(300, 1);
    bad[17] = Number.NaN;
    expect(() => trainModel({ channels: ['v'], values: bad }, small)).toThrow(/row 17/);
  });

  it('caps training windows at maxTrainWindows', () => {
    const r = trainModel({ channels: ['v'], values: noisyWave(300, 6) }, { ...small, epochs: 1, maxTrainWindows: 10 });
    expect(r.training.trainWindows).toBe(10);
  });
});

describe('calibrate', () => {
  it('summarises the log of the errors and floors the std', () => {
    const errors = Float64Array.from([1, Math.E, Math.E ** 2, Math.E ** 3, Math.E ** 4]);
    const c = calibrate(errors, 0.1, 0.99);
    expect(c.logErrMean).toBeCloseTo(2, 12);
    expect(c.logErrStd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(c.quantiles.p50).toBeCloseTo(2, 12);
    expect(c.quantiles.max).toBeCloseTo(4, 12);
    expect(c.threshold).toBe(0.99);
    expect(calibrate(Float64Array.from([0.5, 0.5, 0.5]), 0.1, 0.99).logErrStd).toBe(0.1);
  });
});

describe('scoreSeries', () => {
  it('scores every full window every hop rows', () => {
    const r = trainModel({ channels: ['v'], values: noisyWave(300, 7) }, { ...small, epochs: 1 });
    const s = scoreSeries(r.params, r.normalisation, noisyWave(100, 8), { window: 8, hop: 2 });
    expect(Array.from(s.starts)).toEqual(Array.from({ length: 47 }, (_, k) => 2 * k));
    expect(s.reconErrors.every((e) => e > 0 && Number.isFinite(e))).toBe(true);
    expect(scoreSeries(r.params, r.normalisation, new Float64Array(3), { window: 8, hop: 2 }).starts).toHaveLength(0);
  });
});

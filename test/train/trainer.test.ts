import { describe, expect, it } from 'vitest';
import { evaluateStream, normalise, scoreSeries, shortMeanErrors } from '../../src/train/evaluate.js';
import { mulberry32 } from '../../src/train/rng.js';
import { fromSeq2SeqParams } from '../../src/train/seq2seq.js';
import {
  calibrate,
  fitWindow,
  minTrainRows,
  planTrainWindows,
  resolveTrainOptions,
  splitSegments,
  trainModel,
  type SegmentSplit,
  type TrainProgress,
} from '../../src/train/trainer.js';

function noisyWave(rows: number, seed: number, level = 0): Float64Array {
  const rng = mulberry32(seed);
  return Float64Array.from({ length: rows }, (_, t) => level + Math.sin(t / 3) + 0.2 * rng());
}

const small = { hidden: 4, window: 8, hop: 2, epochs: 3, batchSize: 8, seed: 9 } as const;
/** Early stopping by `patience` epochs alone, as before the budget in steps (trainingBudget). */
const epochPatienceOnly = { minStepsBeforeStop: 0, patienceSteps: 0 } as const;

/** Reconstructions in a validation tail [from, to): one every hop steps. */
function decodesIn(from: number, to: number, hop: number): number {
  return Math.floor((to - from) / hop);
}

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
    expect(r.training.valWindows).toBe(decodesIn(320, 400, 2));
    expect(r.training.rows).toBe(rows);
  });

  it('returns the best epoch: its val loss is the minimum seen, initial model included', () => {
    const r = trainModel({ channels: ['v'], values: noisyWave(300, 3) }, { ...small, epochs: 4 });
    const best = Math.min(r.training.initialValLoss, ...r.losses.map((l) => l.val));
    expect(r.training.finalValLoss).toBe(best);
    expect(r.stoppedEarly).toBe(r.losses.length < 4);
    // Re-evaluating the returned float32 model gives (to float32 precision) the recorded validation loss.
    const z = normalise(noisyWave(300, 3), 1, r.normalisation);
    const again = evaluateStream(fromSeq2SeqParams(r.params), z, [{ burnFrom: 240 - 8, from: 240, to: 300 }], 8, 2, 0.5);
    expect(again.loss).toBeCloseTo(r.training.finalValLoss, 4);
  });

  it('stops after `patience` epochs without improvement', () => {
    // lr so large that training diverges after the first steps: validation stops improving. Patience in epochs
    // alone: no step floor before stopping, no patience in steps.
    const r = trainModel({ channels: ['v'], values: noisyWave(300, 4) }, { ...small, ...epochPatienceOnly, epochs: 30, lr: 1, clip: 100, patience: 2 });
    expect(r.losses.length).toBeLessThan(30);
    expect(r.stoppedEarly).toBe(true);
    expect(r.losses.length - r.bestEpoch).toBe(2);
  });

  it('counts only significant improvements towards early stopping, yet returns the best weights seen', () => {
    const series = { channels: ['v'], values: noisyWave(300, 4) };
    // Nothing is a significant improvement at minImprovement 1: training stops after `patience` epochs.
    const strict = trainModel(series, { ...small, ...epochPatienceOnly, epochs: 30, patience: 2, minImprovement: 1 });
    expect(strict.losses).toHaveLength(2);
    expect(strict.training.finalValLoss).toBe(Math.min(strict.training.initialValLoss, ...strict.losses.map((l) => l.val)));
    expect(strict.bestEpoch).toBeGreaterThan(0);
    // At 0 every improvement counts, so training goes on while the loss falls.
    const loose = trainModel(series, { ...small, epochs: 6, patience: 2, minImprovement: 0 });
    expect(loose.losses.length).toBeGreaterThan(2);
    expect(() => resolveTrainOptions({ minImprovement: 1.5 })).toThrow(/minImprovement/);
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

/** Three sensors at wildly different raw levels, concatenated: the old block concatenation's worst case. */
function threeLevels(): { values: Float64Array; segments: Int32Array; bounds: number[] } {
  const parts = [noisyWave(250, 11, 0), noisyWave(180, 12, 40), noisyWave(300, 13, -25)];
  const values = new Float64Array(730);
  const bounds = [0];
  for (const part of parts) {
    values.set(part, bounds[bounds.length - 1]);
    bounds.push(bounds[bounds.length - 1] + part.length);
  }
  return { values, segments: Int32Array.from(bounds.slice(0, -1)), bounds };
}

/** The segment holding row r. */
function segmentOf(splits: readonly SegmentSplit[], r: number): SegmentSplit {
  const s = splits.find((x) => r >= x.start && r < x.end);
  if (!s) throw new Error(`row ${r} is in no segment`);
  return s;
}

describe('splitSegments', () => {
  it('splits every segment in time on its own: each has its own validation tail', () => {
    const splits = splitSegments(730, Int32Array.of(0, 250, 430), 0.2);
    expect(splits.map((s) => [s.start, s.end])).toEqual([[0, 250], [250, 430], [430, 730]]);
    for (const s of splits) {
      expect(s.end - s.trainEnd).toBe(Math.round((s.end - s.start) * 0.2));
      expect(s.trainEnd).toBeGreaterThan(s.start);
    }
    expect(splitSegments(100, undefined, 0.25)).toEqual([{ start: 0, trainEnd: 75, end: 100 }]);
  });

  it('rejects segment starts that are not increasing rows from 0 below the row count', () => {
    expect(() => splitSegments(100, Int32Array.of(5, 50), 0.2)).toThrow(/row 0/);
    expect(() => splitSegments(100, new Int32Array(0), 0.2)).toThrow(/row 0/);
    expect(() => splitSegments(100, Int32Array.of(0, 50, 50), 0.2)).toThrow(/strictly increasing/);
    expect(() => splitSegments(100, Int32Array.of(0, 100), 0.2)).toThrow(/strictly increasing/);
  });
});

describe('planTrainWindows', () => {
  const T = 16;
  const splits = splitSegments(730, Int32Array.of(0, 250, 430), 0.2);

  it('keeps every window, its next reading and its burn-in inside one segment’s training rows', () => {
    const { starts, burnIn } = planTrainWindows(splits, T, 3, 10_000);
    expect(starts.length).toBeGreaterThan(0);
    for (let k = 0; k < starts.length; k++) {
      const seg = segmentOf(splits, starts[k]);
      expect(starts[k] + T).toBeLessThan(seg.trainEnd); // rows start..start+T, the last one being the target
      expect(burnIn[k]).toBeGreaterThanOrEqual(0);
      expect(burnIn[k]).toBeLessThanOrEqual(T);
      expect(starts[k] - burnIn[k]).toBeGreaterThanOrEqual(seg.start);
      // Burn-in is only cut short by the segment's start.
      if (starts[k] - seg.start >= T) expect(burnIn[k]).toBe(T);
      else expect(burnIn[k]).toBe(starts[k] - seg.start);
    }
    // Every segment trains, each from its own first row, and no window is planned twice.
    for (const seg of splits) expect(Array.from(starts)).toContain(seg.start);
    expect(new Set(starts).size).toBe(starts.length);
  });

  it('uses as many windows per segment as fit, every stride rows', () => {
    const { starts } = planTrainWindows(splits, T, 3, 10_000);
    for (const seg of splits) {
      const own = Array.from(starts).filter((s) => s >= seg.start && s < seg.end);
      const last = own[own.length - 1];
      expect(own.every((s, i) => s === seg.start + 3 * i)).toBe(true);
      expect(last + 3 + T).toBeGreaterThanOrEqual(seg.trainEnd - 1); // one more would not fit
    }
  });

  it('for one segment plans what the whole series allowed (the no-segments case is unchanged)', () => {
    const one = splitSegments(730, undefined, 0.2);
    const { starts, burnIn } = planTrainWindows(one, T, 4, 10_000);
    expect(starts[0]).toBe(0);
    expect(starts[starts.length - 1] + T).toBeLessThan(one[0].trainEnd);
    expect(starts[starts.length - 1] + 4 + T).toBeGreaterThanOrEqual(one[0].trainEnd);
    expect(Array.from(burnIn)).toEqual(Array.from(starts, (s) => Math.min(T, s)));
  });

  it('thins evenly over all segments to at most `max`', () => {
    const all = planTrainWindows(splits, T, 1, 10_000).starts;
    const { starts, burnIn } = planTrainWindows(splits, T, 1, 60);
    expect(starts).toHaveLength(60);
    expect(burnIn).toHaveLength(60);
    for (const s of starts) expect(Array.from(all)).toContain(s);
    // Each segment keeps a share close to its share of the candidates.
    for (const seg of splits) {
      const share = (xs: Int32Array): number => xs.filter((s) => s >= seg.start && s < seg.end).length / xs.length;
      expect(Math.abs(share(starts) - share(all))).toBeLessThan(0.05);
    }
  });
});

describe('trainModel with segments', () => {
  const opts = { ...small, epochs: 2 };

  it('normalises over every segment’s training rows and validates on every segment’s tail, from a zero state each', () => {
    const { values, segments, bounds } = threeLevels();
    const r = trainModel({ channels: ['v'], values, segments }, opts);
    const splits = splitSegments(730, segments, 0.2);
    const trainRows = splits.flatMap((s) => Array.from(values.subarray(s.start, s.trainEnd)));
    const mean = trainRows.reduce((a, b) => a + b, 0) / trainRows.length;
    const std = Math.sqrt(trainRows.reduce((a, b) => a + (b - mean) ** 2, 0) / trainRows.length);
    expect(r.normalisation.mean[0]).toBeCloseTo(mean, 10);
    expect(r.normalisation.std[0]).toBeCloseTo(std, 10);
    expect(r.training.rows).toBe(bounds[3]);
    expect(r.training.valWindows).toBe(splits.reduce((n, s) => n + decodesIn(s.trainEnd, s.end, 2), 0));
    expect(r.training.trainWindows).toBe(planTrainWindows(splits, 8, 2, 8192).starts.length);
    // The recorded validation loss is each segment's tail run on its own, its state burnt in over the W
    // training rows before it, pooled per reconstruction and per prediction.
    const p = fromSeq2SeqParams(r.params);
    const z = normalise(values, 1, r.normalisation);
    const parts = splits.map((s) => evaluateStream(p, z, [{ burnFrom: s.trainEnd - 8, from: s.trainEnd, to: s.end }], 8, 2, 0.5));
    const steps = parts.reduce((n, e) => n + e.decodeLengths.reduce((a, b) => a + b, 0), 0);
    const predictions = parts.reduce((n, e) => n + e.predErrors.length, 0);
    const recon = parts.reduce((a, e) => a + e.reconLoss * e.decodeLengths.reduce((x, y) => x + y, 0), 0) / steps;
    const pred = parts.reduce((a, e) => a + e.predLoss * e.predErrors.length, 0) / predictions;
    expect(recon + 0.5 * pred).toBeCloseTo(r.training.finalValLoss, 4);
  });

  it('is bit-for-bit reproducible for a seed, and the segmentation matters', () => {
    const { values, segments } = threeLevels();
    const a = trainModel({ channels: ['v'], values, segments }, opts);
    const b = trainModel({ channels: ['v'], values: values.slice(), segments: segments.slice() }, opts);
    const joined = trainModel({ channels: ['v'], values }, opts);
    expect(Array.from(a.params.encR)).toEqual(Array.from(b.params.encR));
    expect(a.calibration).toEqual(b.calibration);
    expect(Array.from(a.params.encR)).not.toEqual(Array.from(joined.params.encR));
  });

  it('needs enough readings in some segment, however many rows there are in all', () => {
    // 300 rows, enough as one series, but no segment of 30 rows holds the 64 a model needs.
    const values = noisyWave(300, 14);
    const segments = Int32Array.from({ length: 10 }, (_, k) => 30 * k);
    expect(() => trainModel({ channels: ['v'], values }, small)).not.toThrow();
    expect(() => trainModel({ channels: ['v'], values, segments }, small)).toThrow(/too short: 30 readings in its longest segment; a model needs at least 64/);
    expect(() => trainModel({ channels: ['v'], values, segments: Int32Array.of(0, 400) }, small)).toThrow(/strictly increasing/);
  });

  it('uses a short segment for what it can give: training windows and its validation tail', () => {
    const long = noisyWave(300, 15);
    const values = new Float64Array(320);
    values.set(long);
    values.set(noisyWave(20, 16, 3), 300);
    const r = trainModel({ channels: ['v'], values, segments: Int32Array.of(0, 300) }, { ...small, epochs: 1 });
    const splits = splitSegments(320, Int32Array.of(0, 300), 0.2);
    expect(r.training.valWindows).toBe(decodesIn(splits[0].trainEnd, 300, 2) + decodesIn(splits[1].trainEnd, 320, 2));
    const longOnly = planTrainWindows(splits.slice(0, 1), 8, 2, 8192).starts.length;
    expect(r.training.trainWindows).toBe(longOnly + Math.floor((splits[1].trainEnd - 1 - 300 - 8) / 2) + 1);
  });
});

describe('calibrate', () => {
  it('summarises the log of each kind of error and floors the std', () => {
    const errors = Float64Array.from([1, Math.E, Math.E ** 2, Math.E ** 3, Math.E ** 4]);
    const c = calibrate(errors, Float64Array.from([0.5, 0.5, 0.5]), 0.1, 0.99);
    expect(c.recon.logErrMean).toBeCloseTo(2, 12);
    expect(c.recon.logErrStd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(c.recon.quantiles.p50).toBeCloseTo(2, 12);
    expect(c.recon.quantiles.max).toBeCloseTo(4, 12);
    expect(c.recon.count).toBe(5);
    expect(c.threshold).toBe(0.99);
    expect(c.pred.logErrMean).toBeCloseTo(Math.log(0.5), 12);
    expect(c.pred.logErrStd).toBe(0.1);
    expect(c.pred.count).toBe(3);
    expect(() => calibrate(errors, new Float64Array(0), 0.1, 0.99)).toThrow(/no errors/);
  });

  it('is measured on the validation split the detector’s way: the recorded priors are those of its errors', () => {
    const values = noisyWave(400, 21);
    const r = trainModel({ channels: ['v'], values }, { ...small, epochs: 2 });
    const z = normalise(values, 1, r.normalisation);
    const val = evaluateStream(fromSeq2SeqParams(r.params), z, [{ burnFrom: 320 - 8, from: 320, to: 400 }], 8, 2, 0.5);
    const logs = (a: Float64Array): number[] => Array.from(a, (e) => Math.log(e));
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(r.calibration.recon.count).toBe(val.reconErrors.length);
    expect(r.calibration.pred.count).toBe(79);
    expect(r.calibration.recon.logErrMean).toBeCloseTo(mean(logs(val.reconErrors)), 3);
    expect(r.calibration.pred.logErrMean).toBeCloseTo(mean(logs(val.predErrors)), 3);
  });

  // Finding `biasprior` (thirty-fourth session): the detector's `bias` kind had no validation prior.
  it('records bias’s prior: the squared short means of the validation tail’s signed residuals, over biasSpan readings', () => {
    const values = noisyWave(400, 21);
    const r = trainModel({ channels: ['v'], values }, { ...small, epochs: 2, biasSpan: 8 });
    const z = normalise(values, 1, r.normalisation);
    const val = evaluateStream(fromSeq2SeqParams(r.params), z, [{ burnFrom: 320 - 8, from: 320, to: 400 }], 8, 2, 0.5);
    // The residuals are the signed errors behind predErrors.
    expect(Array.from(val.residuals, (e) => e * e)).toEqual(Array.from(val.predErrors));
    const bias = r.calibration.bias!;
    expect(bias.span).toBe(8);
    expect(bias.count).toBe(79 - 8 + 1);
    const logs = Array.from(shortMeanErrors(val, 1, 8), (e) => Math.log(e));
    expect(bias.logErrMean).toBeCloseTo(logs.reduce((s, v) => s + v, 0) / logs.length, 3);
    // A mean of 8 residuals is smaller than one residual, typically.
    expect(bias.logErrMean).toBeLessThan(r.calibration.pred.logErrMean);
  });
});

describe('shortMeanErrors', () => {
  it('squares the mean of every run of `span` residuals inside one range, channel by channel, never across two ranges', () => {
    // Two ranges of 4 and 3 predictions, two channels: [k * C + c].
    const residuals = Float64Array.from([1, 10, 3, 10, 5, 10, 7, 10, /* second range */ 2, -1, 2, 1, 2, -1]);
    const out = Array.from(shortMeanErrors({ residuals, rangeEnds: Int32Array.of(4, 7) }, 2, 2));
    // Range 1, channel 0: means of (1,3) (3,5) (5,7); channel 1: 10 three times; range 2: (2,2) twice, (−1,1) (1,−1).
    expect(out).toEqual([4, 16, 36, 100, 100, 100, 4, 4, 0, 0]);
    expect(shortMeanErrors({ residuals, rangeEnds: Int32Array.of(4, 7) }, 2, 5).length).toBe(0);
    expect(() => shortMeanErrors({ residuals, rangeEnds: Int32Array.of(7) }, 2, 0)).toThrow(RangeError);
  });
});

describe('learning from little: fitWindow', () => {
  it('keeps the asked window when the series is long enough, and shortens window and hop in proportion otherwise', () => {
    expect(fitWindow(86_400, 64, 16)).toEqual({ window: 64, hop: 16 });
    expect(fitWindow(512, 64, 16)).toEqual({ window: 64, hop: 16 });
    expect(fitWindow(511, 64, 16)).toEqual({ window: 63, hop: 15 });
    expect(fitWindow(150, 64, 16)).toEqual({ window: 18, hop: 4 });
    expect(fitWindow(64, 64, 16)).toEqual({ window: 8, hop: 2 });
    expect(fitWindow(70, 8, 8)).toEqual({ window: 8, hop: 8 });
    expect(fitWindow(40, 4, 1)).toEqual({ window: 4, hop: 1 });
  });

  it('refuses fewer readings than make sense, saying how many are needed', () => {
    expect(minTrainRows(64)).toBe(64);
    expect(minTrainRows(4)).toBe(32);
    expect(() => fitWindow(63, 64, 16)).toThrow(/too short: 63 readings in its longest segment; a model needs at least 64 \(window 8/);
    expect(() => fitWindow(0, 64, 16)).toThrow(/too short: 0 readings; a model needs at least 64/);
  });

  it.each(['gru', 'lstm'] as const)('learns a %s model from 150 readings with a shorter window, recorded in the result', (cell) => {
    const r = trainModel({ channels: ['v'], values: noisyWave(150, 22) }, { cell, hidden: 8, epochs: 2, seed: 3 });
    expect(r.window).toBe(18);
    expect(r.hop).toBe(4);
    expect(r.requestedWindow).toBe(64);
    expect(r.training.trainWindows).toBeGreaterThanOrEqual(20);
    expect(r.training.valWindows).toBeGreaterThanOrEqual(5);
    expect(Number.isFinite(r.calibration.recon.logErrMean) && Number.isFinite(r.calibration.pred.logErrMean)).toBe(true);
    expect(() => trainModel({ channels: ['v'], values: noisyWave(60, 22) }, { cell, hidden: 8, epochs: 1 })).toThrow(/needs at least 64/);
  });
});

describe('scoreSeries', () => {
  it('predicts every reading and reconstructs every hop rows, from a zero state', () => {
    const r = trainModel({ channels: ['v'], values: noisyWave(300, 7) }, { ...small, epochs: 1 });
    const s = scoreSeries(r.params, r.normalisation, noisyWave(100, 8), { window: 8, hop: 2 });
    expect(Array.from(s.decodeEnds)).toEqual(Array.from({ length: 50 }, (_, k) => 2 * (k + 1)));
    expect(Array.from(s.decodeLengths.subarray(0, 5))).toEqual([2, 4, 6, 8, 8]);
    expect(s.predErrors).toHaveLength(99);
    expect(s.reconErrors.every((e) => e > 0 && Number.isFinite(e))).toBe(true);
    expect(scoreSeries(r.params, r.normalisation, new Float64Array(1), { window: 8, hop: 2 }).reconErrors).toHaveLength(0);
  });
});

describe('trainModel from given weights (init: fine-tuning)', () => {
  it('starts from them: epoch 0’s validation loss is theirs, and the result is never worse on the validation tail', () => {
    const series = { channels: ['v'], values: noisyWave(400, 5) };
    const first = trainModel(series, { ...small, epochs: 4 });
    const tuned = trainModel(series, { ...small, epochs: 2, init: first.params });
    // The first model's best weights, measured the same way (float32 weights: equal to rounding).
    expect(tuned.training.initialValLoss).toBeCloseTo(first.training.finalValLoss, 4);
    expect(tuned.training.finalValLoss).toBeLessThanOrEqual(tuned.training.initialValLoss);
    // A fresh initialisation (the same seed) starts elsewhere.
    const fresh = trainModel(series, { ...small, epochs: 2 });
    expect(fresh.training.initialValLoss).not.toBeCloseTo(first.training.finalValLoss, 2);
  });

  it('refuses weights of another shape', () => {
    const series = { channels: ['v'], values: noisyWave(300, 6) };
    const first = trainModel(series, { ...small, epochs: 1 });
    expect(() => trainModel(series, { ...small, hidden: 5, init: first.params })).toThrow(/init: a gru of hidden 4, 1 channel\(s\) cannot start a gru of hidden 5/);
  });
});

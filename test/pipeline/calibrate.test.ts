import { describe, expect, it } from 'vitest';
import type { WindowResult } from '../../src/contract/types.js';
import {
  ScoreCalibrator,
  combineIndependent,
  normalCdf,
  type LogErrorPrior,
  type ScoreOptions,
} from '../../src/pipeline/calibrate.js';

// ---- synthetic error streams ----

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(seed: number): () => number {
  const u = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Log-normal window errors: ln err ~ N(mean, std), independent. */
function lognormalErrors(n: number, seed: number, mean = -3, std = 0.4): number[] {
  const g = gaussian(seed);
  return Array.from({ length: n }, () => Math.exp(mean + std * g()));
}

/** Log-normal errors whose logs follow a stationary AR(1): what overlapping windows produce. */
function correlatedErrors(n: number, seed: number, phi: number, mean = -3, std = 0.4): number[] {
  const g = gaussian(seed);
  let u = g();
  const innovation = Math.sqrt(1 - phi * phi);
  return Array.from({ length: n }, () => {
    u = phi * u + innovation * g();
    return Math.exp(mean + std * u);
  });
}

let seq = 0;
function result(reconError: number, predError: number | null = null): WindowResult {
  seq++;
  return {
    window: {
      sensor: 's1',
      channels: ['value'],
      startTs: seq * 1000,
      endTs: seq * 1000 + 999,
      maxLen: 4,
      validLength: 4,
      data: new Float32Array(4),
      paddedFraction: 0,
      advance: 4,
      resetState: false,
      filledSteps: 0,
      seq,
    },
    modelId: 'm1',
    reconError,
    channelErrors: [reconError],
    predError,
  };
}

const PRIOR: LogErrorPrior = { logErrMean: -3, logErrStd: 0.4 };
const OPTIONS: ScoreOptions = { mode: 'reconstruction', shortWindow: 3, longWindow: 300, priorWeight: 50 };

function run(cal: ScoreCalibrator, errors: readonly number[], excludeAtScore = Number.POSITIVE_INFINITY): number[] {
  return errors.map((e) => cal.update(result(e), false, excludeAtScore));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function rateAbove(xs: readonly number[], t: number): number {
  return xs.filter((x) => x >= t).length / xs.length;
}

describe('normalCdf', () => {
  it('matches textbook values of the standard normal', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-3)).toBeCloseTo(0.0013499, 6);
    expect(1 - normalCdf(4.753424)).toBeCloseTo(1e-6, 8);
  });
});

describe('ScoreCalibrator on normal windows', () => {
  it('centres scores near 0.5 with false alarms near the nominal tail', () => {
    const cal = new ScoreCalibrator(PRIOR, OPTIONS);
    const scores = run(cal, lognormalErrors(20_000, 1)).slice(500);
    expect(median(scores)).toBeGreaterThan(0.45);
    expect(median(scores)).toBeLessThan(0.55);
    expect(rateAbove(scores, 0.9)).toBeGreaterThan(0.07);
    expect(rateAbove(scores, 0.9)).toBeLessThan(0.13);
    expect(rateAbove(scores, 0.99)).toBeGreaterThan(0.004);
    expect(rateAbove(scores, 0.99)).toBeLessThan(0.02);
  });

  it('is calibrated for a sensor whose errors are 1000x the prior, even when above-threshold windows are excluded', () => {
    const cal = new ScoreCalibrator(PRIOR, OPTIONS);
    const errors = lognormalErrors(20_000, 2).map((e) => e * 1000);
    const scores = run(cal, errors, 0.99).slice(2000);
    expect(median(scores)).toBeGreaterThan(0.45);
    expect(median(scores)).toBeLessThan(0.55);
    expect(rateAbove(scores, 0.99)).toBeGreaterThan(0.004);
    expect(rateAbove(scores, 0.99)).toBeLessThan(0.02);
  });

  it('keeps the nominal false-alarm rate when consecutive windows are correlated (overlapping windows)', () => {
    const cal = new ScoreCalibrator(PRIOR, { ...OPTIONS, shortWindow: 5 });
    const scores = run(cal, correlatedErrors(30_000, 3, 0.8)).slice(1000);
    // Treating the 5 windows as independent would flag about 11 % of them at 0.99.
    expect(rateAbove(scores, 0.99)).toBeGreaterThan(0.003);
    expect(rateAbove(scores, 0.99)).toBeLessThan(0.025);
    expect(median(scores)).toBeGreaterThan(0.4);
    expect(median(scores)).toBeLessThan(0.6);
  });

  it('gives the same scores after warm-up when every error of a stream is multiplied by 1000', () => {
    const errors = lognormalErrors(1500, 4);
    const a = run(new ScoreCalibrator(PRIOR, OPTIONS), errors);
    const b = run(new ScoreCalibrator(PRIOR, OPTIONS), errors.map((e) => e * 1000));
    const warmUp = OPTIONS.longWindow + OPTIONS.shortWindow;
    for (let i = warmUp; i < errors.length; i++) expect(b[i]).toBeCloseTo(a[i], 9);
    // Before warm-up the prior still speaks, and it is wrong for the scaled stream.
    expect(b[0]).toBeGreaterThan(0.999);
    expect(a[0]).toBeLessThan(0.999);
  });

  it('reports learning until the sensor has priorWeight windows of its own', () => {
    const cal = new ScoreCalibrator(PRIOR, { ...OPTIONS, priorWeight: 40 });
    const errors = lognormalErrors(45, 5);
    const learning = errors.map((e) => {
      cal.update(result(e), false);
      return cal.learning;
    });
    expect(learning.slice(0, 39).every(Boolean)).toBe(true);
    expect(learning.slice(39).some(Boolean)).toBe(false);
  });
});

describe('ScoreCalibrator on anomalies', () => {
  const normal = lognormalErrors(1000, 6);
  const jump = lognormalErrors(400, 7).map((e) => e * Math.exp(6 * PRIOR.logErrStd));

  it('scores a sustained jump near 1 and does not learn it as normal while it is excluded', () => {
    const cal = new ScoreCalibrator(PRIOR, OPTIONS);
    run(cal, normal, 0.999);
    const scores = jump.map((e) => cal.update(result(e), true, 0.999));
    expect(Math.min(...scores.slice(OPTIONS.shortWindow))).toBeGreaterThan(0.999);
  });

  it('does learn a sustained jump that is never excluded', () => {
    const cal = new ScoreCalibrator(PRIOR, OPTIONS);
    run(cal, normal);
    const scores = run(cal, [...jump, ...jump]);
    expect(scores[OPTIONS.shortWindow]).toBeGreaterThan(0.999);
    expect(median(scores.slice(-100))).toBeLessThan(0.9);
  });

  it('scores a single spike high for at most shortWindow windows', () => {
    const cal = new ScoreCalibrator(PRIOR, OPTIONS);
    run(cal, normal);
    const spike = cal.update(result(Math.exp(PRIOR.logErrMean + 8 * PRIOR.logErrStd)), false, 0.999);
    expect(spike).toBeGreaterThan(0.99);
    const after = run(cal, lognormalErrors(OPTIONS.shortWindow + 5, 8));
    expect(after[after.length - 1]).toBeLessThan(0.99);
  });
});

describe('ScoreCalibrator robustness', () => {
  it('keeps scores finite and in [0, 1] for zero, flat, NaN and infinite errors', () => {
    const cal = new ScoreCalibrator(PRIOR, OPTIONS);
    const weird = [0, 0, 1e-300, ...Array<number>(400).fill(0.05), Number.NaN, Number.POSITIVE_INFINITY, 0.05, 1e300];
    for (const score of run(cal, weird)) {
      expect(Number.isFinite(score)).toBe(true);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
    expect(JSON.parse(JSON.stringify(cal))).toEqual(cal.toJSON());
  });

  it('scores a non-finite error as anomalous and keeps it out of the history', () => {
    const errors = lognormalErrors(600, 9);
    const a = new ScoreCalibrator(PRIOR, OPTIONS);
    const b = new ScoreCalibrator(PRIOR, OPTIONS);
    run(a, errors);
    run(b, errors);
    expect(a.update(result(Number.NaN), false)).toBeGreaterThan(0.99);
    b.update(result(0.05), true); // excluded: the history sees nothing, the short average sees it
    const tail = lognormalErrors(10, 10);
    const sa = run(a, tail);
    const sb = run(b, tail);
    for (let i = OPTIONS.shortWindow; i < tail.length; i++) expect(sa[i]).toBeCloseTo(sb[i], 12);
  });

  it('rejects options that cannot work', () => {
    expect(() => new ScoreCalibrator(PRIOR, { ...OPTIONS, shortWindow: 600 })).toThrow(/shortWindow/);
    expect(() => new ScoreCalibrator(PRIOR, { ...OPTIONS, shortWindow: 0 })).toThrow(/shortWindow/);
    expect(() => new ScoreCalibrator({ logErrMean: 0, logErrStd: 0 }, OPTIONS)).toThrow(/logErrStd/);
  });
});

describe('ScoreCalibrator state', () => {
  it('round-trips through JSON and continues identically', () => {
    const options: ScoreOptions = { mode: 'both', shortWindow: 4, longWindow: 200, priorWeight: 30 };
    const g = gaussian(11);
    const stream = correlatedErrors(1500, 12, 0.5).map((e, i) => result(e, i % 7 === 0 ? null : Math.exp(-2 + 0.3 * g())));
    const original = new ScoreCalibrator(PRIOR, options);
    // 730 windows: the long window has wrapped and been re-summed more than once.
    for (const r of stream.slice(0, 730)) original.update(r, r.window.seq % 50 === 0, 0.999);
    const restored = ScoreCalibrator.fromJSON(JSON.parse(JSON.stringify(original)));
    expect(restored.toJSON()).toEqual(original.toJSON());
    for (const r of stream.slice(730)) {
      expect(restored.update(r, false, 0.999)).toBe(original.update(r, false, 0.999));
    }
  });

  it('refuses malformed state', () => {
    const good = new ScoreCalibrator(PRIOR, OPTIONS);
    run(good, lognormalErrors(20, 13));
    const json = JSON.parse(JSON.stringify(good));
    expect(() => ScoreCalibrator.fromJSON({})).toThrow(/calibrator state/);
    expect(() => ScoreCalibrator.fromJSON({ ...json, version: 2 })).toThrow(/version/);
    const withNull = { ...json, reconstruction: { ...json.reconstruction, hist: [1, null] } };
    expect(() => ScoreCalibrator.fromJSON(withNull)).toThrow(/hist/);
    const tooLong = { ...json, reconstruction: { ...json.reconstruction, recent: [0, 0, 0, 0, 0] } };
    expect(() => ScoreCalibrator.fromJSON(tooLong)).toThrow(/more entries/);
  });
});

describe('ScoreCalibrator modes', () => {
  it("'prediction' without a prior is neutral until it has history, then calibrated", () => {
    const cal = new ScoreCalibrator(PRIOR, { ...OPTIONS, mode: 'prediction' });
    const pred = lognormalErrors(10_000, 14, 1.5, 0.7);
    const recon = lognormalErrors(10_000, 15);
    const scores = pred.map((p, i) => cal.update(result(recon[i], p), false));
    for (const s of scores.slice(0, 30)) expect(s).toBeCloseTo(0.5, 6);
    expect(Math.abs(scores[40] - 0.5)).toBeGreaterThan(1e-3);
    const settled = scores.slice(1000);
    expect(median(settled)).toBeGreaterThan(0.45);
    expect(median(settled)).toBeLessThan(0.55);
    expect(rateAbove(settled, 0.99)).toBeLessThan(0.02);
  });

  it("'prediction' scores a window without a prediction from the average it already has", () => {
    const cal = new ScoreCalibrator(PRIOR, { ...OPTIONS, mode: 'prediction' });
    expect(cal.update(result(0.05, null), false)).toBe(0.5);
    const pred = lognormalErrors(500, 16);
    let last = 0;
    for (const p of pred) last = cal.update(result(0.05, p), false);
    expect(cal.update(result(0.05, null), false)).toBe(last);
  });

  it("'both' follows reconstruction when there is no prediction and flags a prediction-only anomaly", () => {
    const both = new ScoreCalibrator(PRIOR, { ...OPTIONS, mode: 'both' });
    const reconOnly = new ScoreCalibrator(PRIOR, OPTIONS);
    const recon = lognormalErrors(3000, 17);
    const pred = lognormalErrors(3000, 18, -1, 0.5);
    for (let i = 0; i < 200; i++) {
      expect(both.update(result(recon[i], null), false)).toBe(reconOnly.update(result(recon[i]), false));
    }
    const scores = recon.slice(200).map((r, i) => both.update(result(r, pred[i]), false));
    const settled = scores.slice(500);
    expect(median(settled)).toBeGreaterThan(0.45);
    expect(median(settled)).toBeLessThan(0.55);
    expect(rateAbove(settled, 0.99)).toBeGreaterThan(0.004);
    expect(rateAbove(settled, 0.99)).toBeLessThan(0.025);
    const predJump = lognormalErrors(20, 19).map(() => both.update(result(Math.exp(-3), Math.exp(-1 + 5)), false, 0.999));
    expect(predJump[predJump.length - 1]).toBeGreaterThan(0.999);
  });

  it('combineIndependent keeps a uniform score uniform', () => {
    const u = rng(20);
    const combined = Array.from({ length: 20_000 }, () => combineIndependent(u(), u()));
    expect(median(combined)).toBeGreaterThan(0.48);
    expect(median(combined)).toBeLessThan(0.52);
    expect(rateAbove(combined, 0.99)).toBeGreaterThan(0.007);
    expect(rateAbove(combined, 0.99)).toBeLessThan(0.013);
  });
});

describe('a bad start while learning', () => {
  it('does not inflate the spread once learning ends: a later sustained jump still scores near 1', () => {
    const prior: LogErrorPrior = { logErrMean: -3, logErrStd: 0.4 };
    const opts: ScoreOptions = { mode: 'reconstruction', shortWindow: 3, longWindow: 500, priorWeight: 0 };
    const run = (firstErrors: number[]): number[] => {
      const c = new ScoreCalibrator(prior, opts);
      for (const e of firstErrors) c.update(result(e), false);
      for (const e of lognormalErrors(40, 5)) c.update(result(e), false);
      // A sustained 50x error jump.
      return lognormalErrors(4, 6).map((e) => c.update(result(e * 50), true));
    };
    // The first 8 windows of a sensor measured against a half-learnt normalisation: errors 100x too big.
    const dirty = run([...lognormalErrors(8, 1).map((e) => e * 100), ...lognormalErrors(22, 2)]);
    const clean = run(lognormalErrors(30, 3));
    expect(Math.min(...clean.slice(1))).toBeGreaterThan(0.999);
    expect(Math.min(...dirty.slice(1))).toBeGreaterThan(0.999);
  });
});

import { describe, expect, it } from 'vitest';
import { MAX_SURPRISE, TailCalibrator } from '../../src/pipeline/tail.js';
import { mulberry32 } from '../../src/train/rng.js';

/** Standard normal draws (Box-Muller on a seeded uniform source). */
function normal(seed: number): () => number {
  const u = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** -log10 P(|Z| >= k) for a standard normal Z (complementary error function, Abramowitz-Stegun 7.1.26 is too coarse far out: series). */
function twoSidedSurprise(k: number): number {
  // P(|Z| >= k) = erfc(k / sqrt 2); continued fraction for erfc, accurate in the far tail.
  const x = k / Math.SQRT2;
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (x + f);
  const erfc = Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
  return -Math.log10(erfc);
}

function filled(horizon: number, n: number, draw: () => number): TailCalibrator {
  const t = new TailCalibrator({ horizon, minCount: 8 });
  for (let i = 0; i < n; i++) t.add(draw());
  return t;
}

describe('TailCalibrator', () => {
  it('gives the tail of a squared normal error, also beyond the largest error it has seen', () => {
    // 4 sd is about 1 in 16,000 (seen a few times in a history of 5000), 6 sd about 1 in 500 million (never
    // seen): the extrapolated tail must still put it there. One history's fit varies (its largest errors are
    // few), so the median over nine histories is checked: within a factor of 3.
    const per = [3, 4, 5, 6].map(() => [] as number[]);
    for (let seed = 1; seed <= 9; seed++) {
      const z = normal(seed);
      const t = filled(5000, 15000, () => z() ** 2);
      [3, 4, 5, 6].forEach((k, i) => per[i].push(t.surprise(k * k)));
    }
    [3, 4, 5, 6].forEach((k, i) => {
      const median = per[i].sort((a, b) => a - b)[4];
      expect(Math.abs(median - twoSidedSurprise(k))).toBeLessThan(0.5);
    });
  });

  it('fits an exponential tail and a heavy (Pareto) tail', () => {
    const u = mulberry32(2);
    const exp = filled(5000, 15000, () => -Math.log(1 - u()));
    // P(E >= e) = e^-e: surprise e * log10(e).
    for (const e of [8, 12, 16]) expect(Math.abs(exp.surprise(e) - e * Math.LOG10E)).toBeLessThan(0.6);
    const pareto = filled(5000, 15000, () => Math.pow(1 - u(), -1 / 3));
    // P(E >= e) = e^-3: 1e3 at e = 10, 1e6 at e = 100. A heavy tail is not mistaken for a light one.
    expect(pareto.surprise(10)).toBeGreaterThan(2.4);
    expect(pareto.surprise(10)).toBeLessThan(3.6);
    expect(pareto.surprise(100)).toBeGreaterThan(4.5);
    expect(pareto.surprise(100)).toBeLessThan(7.5);
  });

  it('alarms a stationary stream at about the nominal rate', () => {
    const z = normal(3);
    const t = new TailCalibrator({ horizon: 2000, minCount: 8 });
    for (let i = 0; i < 4000; i++) t.add(z() ** 2);
    let over3 = 0;
    let over2 = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const e = z() ** 2;
      const s = t.surprise(e);
      if (s >= 3) over3++;
      if (s >= 2) over2++;
      t.add(e);
    }
    // Nominal 1e-2 and 1e-3; a factor of two either way.
    expect(over2 / n).toBeGreaterThan(0.005);
    expect(over2 / n).toBeLessThan(0.02);
    expect(over3 / n).toBeGreaterThan(0.0005);
    expect(over3 / n).toBeLessThan(0.002);
  });

  it('forgets: after a lasting change of scale the new errors become ordinary within a few horizons', () => {
    const z = normal(4);
    const t = filled(500, 2000, () => z() ** 2);
    expect(t.surprise(100)).toBeGreaterThan(8);
    for (let i = 0; i < 2000; i++) t.add(100 * z() ** 2);
    expect(t.surprise(100)).toBeLessThan(1);
  });

  it('the predictive tail: a short history extrapolates with its uncertainty, a long one as the fit', () => {
    // Squared normal errors. With 30 errors (3 above the tail threshold) the fitted tail calls a 6 sd error
    // far rarer than 30 errors can know; the predictive tail (shape + 1 / excesses) much less so, and it
    // still ranks errors in the same order. With 20,000 errors the two agree within a few per cent.
    const predictive = (t: TailCalibrator, e: number): number => {
      const out = { surprise: Number.NaN };
      t.surprise(e, out);
      return out.surprise;
    };
    const d = normal(11);
    const short = new TailCalibrator({ horizon: 500, minCount: 8 });
    for (let i = 0; i < 30; i++) short.add(d() ** 2);
    expect(predictive(short, 36)).toBeLessThan(short.surprise(36) - 1);
    expect(predictive(short, 36)).toBeGreaterThan(predictive(short, 16));
    expect(predictive(short, 16)).toBeGreaterThan(predictive(short, 9));
    // Below the tail threshold the histogram answers alike; asking for the predictive one changes nothing.
    expect(predictive(short, 0.5)).toBe(short.surprise(0.5));
    const fitted = short.surprise(36);
    predictive(short, 36);
    expect(short.surprise(36)).toBe(fitted);
    const long = new TailCalibrator({ horizon: 50_000, minCount: 8 });
    const draw = normal(12);
    for (let i = 0; i < 20_000; i++) long.add(draw() ** 2);
    expect(predictive(long, 36)).toBeLessThanOrEqual(long.surprise(36));
    expect(predictive(long, 36)).toBeGreaterThan(0.95 * long.surprise(36));
  });

  it('an error below its lowest bin (an exact 0) is as ordinary as can be, never "more than certain"', () => {
    // Zero changes of a binary channel (most of its history): the mass at or above 0 is the whole history,
    // surprise 0; before, the lowest bin was counted 21 times over and the surprise came out at -1.3.
    const t = new TailCalibrator({ horizon: 1000, minCount: 8 });
    for (let i = 0; i < 500; i++) t.add(i % 5 === 0 ? 1 : 0);
    expect(t.surprise(0)).toBeGreaterThanOrEqual(0);
    expect(t.surprise(0)).toBeLessThan(0.01);
    expect(t.surprise(1)).toBeGreaterThan(0.5);
  });

  it('a history of one value gives a larger error a finite surprise, about one in the history', () => {
    const t = filled(1000, 3000, () => 1);
    const s = t.surprise(2);
    expect(s).toBeGreaterThan(3);
    expect(s).toBeLessThan(MAX_SURPRISE);
    expect(t.surprise(1)).toBeLessThan(1);
  });

  it('says nothing before minCount errors, and scores a non-finite error as the largest surprise', () => {
    const t = new TailCalibrator({ horizon: 100, minCount: 10 });
    for (let i = 0; i < 9; i++) t.add(1);
    expect(t.ready).toBe(false);
    expect(t.surprise(1e6)).toBeCloseTo(Math.log10(2), 6);
    t.add(1);
    expect(t.ready).toBe(true);
    expect(t.surprise(Number.NaN)).toBe(MAX_SURPRISE);
    expect(t.surprise(Number.POSITIVE_INFINITY)).toBe(MAX_SURPRISE);
  });

  it('drops the errors of its guard band on request: they never enter the history', () => {
    const make = (): TailCalibrator => {
      const t = new TailCalibrator({ horizon: 1000, minCount: 8, lag: 4 });
      for (let i = 0; i < 500; i++) t.add(1);
      for (let i = 0; i < 4; i++) t.add(100);
      return t;
    };
    const kept = make();
    const dropped = make();
    dropped.discardPending();
    // Still in the guard band: neither history knows the large errors yet.
    expect(dropped.surprise(100)).toBeCloseTo(kept.surprise(100), 9);
    for (let i = 0; i < 4; i++) {
      kept.add(1);
      dropped.add(1);
    }
    // Four readings later the kept ones are in the history, the dropped ones are not.
    expect(kept.surprise(100)).toBeLessThan(3);
    expect(dropped.surprise(100)).toBeGreaterThan(kept.surprise(100) + 2);
  });

  it('settle: at the end of a learning period a history with at least the floor is ready on what it holds; one below the floor is not; both through JSON', () => {
    const opts = { horizon: 800, minCount: 64, lag: 4 };
    const z = normal(9);
    const make = (n: number): TailCalibrator => {
      const t = new TailCalibrator(opts);
      for (let i = 0; i < n; i++) t.add(z() ** 2);
      return t;
    };
    // 20 errors: 16 in the history, 4 in the guard band; not ready on minCount 64.
    const t = make(20);
    expect(t.held).toBe(20);
    expect(t.size).toBe(16);
    expect(t.ready).toBe(false);
    t.commitPending();
    t.settle(8);
    expect(t.ready).toBe(true);
    expect(t.surprise(100)).toBeGreaterThan(3);
    const back = TailCalibrator.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), opts);
    expect(back.ready).toBe(true);
    expect(back.surprise(100)).toBe(t.surprise(100));
    // Below the floor: minCount still holds, and nothing extra is written.
    const few = make(5);
    few.commitPending();
    few.settle(8);
    expect(few.ready).toBe(false);
    expect('need' in few.toJSON()).toBe(false);
    // It needs minCount in the history: 59 more, after the 4 that fill the guard band (63 adds).
    for (let i = 0; i < 62; i++) few.add(1);
    expect(few.ready).toBe(false);
    few.add(1);
    expect(few.ready).toBe(true);
    // A history that already holds minCount is untouched by settle.
    const full = make(100);
    full.settle(8);
    expect('need' in full.toJSON()).toBe(false);
    expect(() => TailCalibrator.fromJSON({ ...t.toJSON(), need: -1 }, opts)).toThrow(/bad need/);
  });

  it('round-trips through JSON with the same answers', () => {
    const z = normal(5);
    const t = filled(800, 3000, () => z() ** 2);
    const back = TailCalibrator.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), { horizon: 800, minCount: 8 });
    for (const e of [0.1, 1, 4, 9, 30, 100]) expect(back.surprise(e)).toBeCloseTo(t.surprise(e), 6);
    expect(() => TailCalibrator.fromJSON({ format: 'anomalyd-tail/2', bins: [[999, 1]], count: 1, w: 1, total: 1, top: 5 }, { horizon: 800, minCount: 8 })).toThrow(/bad bin/);
  });

  it('answers bit for bit as a fresh copy of its history: what it keeps between errors changes no answer', () => {
    // The tail threshold and fit are kept until the history changes, the threshold's search goes on from the
    // last one after a commit below it, and walks stop at the lowest bin that held mass; a copy restored from its
    // JSON has none of that kept, so every answer must be identical (Object.is).
    const u = mulberry32(11);
    let compared = 0;
    for (const opts of [
      { horizon: 2, minCount: 1 },
      { horizon: 500, minCount: 8, thin: 16 },
      { horizon: 10_000, minCount: 16, lag: 3 },
      { horizon: 50, minCount: 4, lag: 1, thin: 3 },
    ]) {
      const t = new TailCalibrator(opts, opts.horizon === 500 ? { mean: -1, std: 0.5, weight: 32 } : null);
      for (let i = 0; i < 800; i++) {
        const r = u();
        const e = r < 0.02 ? 10 ** (12 * u() - 4) : r < 0.03 ? 0 : -Math.log(1 - u()) * (u() < 0.5 ? 1 : 1e-3);
        if (u() < 0.7) t.add(e, u() < 0.9 ? 1 : 3 * u());
        const fresh = TailCalibrator.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), opts);
        for (const x of [e, e * 10 * u(), 1e-9, 1e9]) {
          expect(Object.is(t.surprise(x), fresh.surprise(x))).toBe(true);
          compared++;
        }
        expect(Object.is(t.quantile(0.5), fresh.quantile(0.5))).toBe(true);
      }
    }
    expect(compared).toBe(4 * 800 * 4);
  });

  it('the mass above a value, kept between walks (sumK), is the walk from the top bit for bit: asked many times between errors', () => {
    // A short mean's history changes once in `thin` errors and is asked about nearly the same value at every
    // reading: the mass above a bin is kept from the last walk and gone on from. Random runs of questions between
    // errors, at the same bin again, a bin or two lower or higher, below the threshold and above it, with commits
    // below and above the kept bin and rescales (horizon 2); each answer against a copy restored from the JSON
    // (which keeps nothing), fitted and predictive, with Object.is.
    const u = mulberry32(23);
    let compared = 0;
    for (const opts of [
      { horizon: 2, minCount: 1 },
      // Rescaled once every ~1,000 errors (horizon 5) and every ~570 kept ones (horizon 3, one in 2 kept).
      { horizon: 5, minCount: 4 },
      { horizon: 3, minCount: 2, thin: 2 },
      { horizon: 300, minCount: 8, thin: 16 },
      { horizon: 300, minCount: 8, lag: 16 },
      { horizon: 40, minCount: 8, thin: 4, lag: 1 },
    ]) {
      const t = new TailCalibrator(opts, opts.lag === 16 ? { mean: 0, std: 0.5, weight: 32 } : null);
      let x = 1;
      for (let i = 0; i < 1500; i++) {
        const r = u();
        const e = r < 0.03 ? 10 ** (10 * u() - 4) : -Math.log(1 - u());
        t.add(e);
        const fresh = TailCalibrator.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), opts);
        const asks = 1 + Math.floor(6 * u());
        for (let a = 0; a < asks; a++) {
          const m = u();
          x = m < 0.3 ? x : m < 0.6 ? x * 10 ** (0.3 * (u() - 0.5)) : m < 0.9 ? -Math.log(1 - u()) : 10 ** (8 * u() - 4);
          const mine = { surprise: 0 };
          const theirs = { surprise: 0 };
          expect(Object.is(t.surprise(x, mine), fresh.surprise(x, theirs))).toBe(true);
          expect(Object.is(mine.surprise, theirs.surprise)).toBe(true);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(6 * 1500 * 3);
  });
});

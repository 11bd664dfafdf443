import { describe, expect, it } from 'vitest';
import { MAX_SURPRISE, TailCalibrator } from '../../src/pipeline/tail.js';

/** Seeded standard normal (Box-Muller over an LCG). */
function gauss(seed: number): () => number {
  let s = seed;
  const u = (): number => ((s = (s * 1664525 + 1013904223) % 2 ** 32) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

describe('TailCalibrator', () => {
  it('says nothing (surprise log10 2) until it holds minCount errors', () => {
    const t = new TailCalibrator({ horizon: 1000, minCount: 10 });
    for (let i = 0; i < 9; i++) t.add(1);
    expect(t.ready).toBe(false);
    expect(t.surprise(1e6)).toBeCloseTo(Math.log10(2), 10);
    t.add(1);
    expect(t.ready).toBe(true);
  });

  it('is calibrated on squared normal errors: a fraction of about 10^-s of new errors reaches surprise s', () => {
    const t = new TailCalibrator({ horizon: 20_000, minCount: 100 });
    const g = gauss(1);
    for (let i = 0; i < 20_000; i++) t.add(g() ** 2);
    const fresh = Array.from({ length: 20_000 }, () => t.surprise(g() ** 2));
    for (const s of [1, 2]) {
      const rate = fresh.filter((x) => x >= s).length / fresh.length;
      expect(rate).toBeGreaterThan(0.5 * 10 ** -s);
      expect(rate).toBeLessThan(2 * 10 ** -s);
    }
  });

  it('ranks beyond the largest error it has seen instead of saturating: larger errors, larger surprise', () => {
    const t = new TailCalibrator({ horizon: 5000, minCount: 100 });
    const g = gauss(2);
    for (let i = 0; i < 5000; i++) t.add(g() ** 2);
    const s = [30, 100, 1000, 1e5].map((e) => t.surprise(e));
    for (let i = 1; i < s.length; i++) expect(s[i]).toBeGreaterThan(s[i - 1]);
    expect(s[0]).toBeGreaterThan(3);
    expect(s[3]).toBeLessThanOrEqual(MAX_SURPRISE);
  });

  it('rare but normal events seen in the history are as rare as they were, not an exponential tail away', () => {
    const t = new TailCalibrator({ horizon: 100_000, minCount: 100 });
    // A quiet stream with a spike to 1e4 once every 100 readings.
    for (let i = 0; i < 5000; i++) t.add(i % 100 === 0 ? 1e4 : 1e-4 * (1 + (i % 7)));
    expect(t.surprise(1e4)).toBeGreaterThan(1.8);
    expect(t.surprise(1e4)).toBeLessThan(2.3);
  });

  it('a history of identical errors still leaves a larger one finite and very surprising', () => {
    const t = new TailCalibrator({ horizon: 1000, minCount: 10 });
    for (let i = 0; i < 1000; i++) t.add(1);
    expect(t.surprise(1)).toBeLessThan(1);
    expect(t.surprise(10)).toBeGreaterThan(4);
    expect(Number.isFinite(t.surprise(10))).toBe(true);
  });

  it('forgets: with a short horizon a new level of error becomes ordinary', () => {
    const t = new TailCalibrator({ horizon: 200, minCount: 10 });
    for (let i = 0; i < 2000; i++) t.add(0.01);
    const before = t.surprise(1);
    for (let i = 0; i < 1000; i++) t.add(1);
    expect(before).toBeGreaterThan(3);
    expect(t.surprise(1)).toBeLessThan(0.5);
  });

  it('scores a non-finite error as the largest surprise and ignores it in the history', () => {
    const t = new TailCalibrator({ horizon: 100, minCount: 5 });
    for (let i = 0; i < 10; i++) t.add(1);
    expect(t.surprise(Number.NaN)).toBe(MAX_SURPRISE);
    expect(t.surprise(Number.POSITIVE_INFINITY)).toBe(MAX_SURPRISE);
    t.add(Number.NaN);
    expect(t.size).toBe(10);
  });

  it('round-trips through JSON', () => {
    const a = new TailCalibrator({ horizon: 300, minCount: 10 });
    const g = gauss(3);
    for (let i = 0; i < 1000; i++) a.add(Math.exp(g()));
    const b = TailCalibrator.fromJSON(JSON.parse(JSON.stringify(a.toJSON())), { horizon: 300, minCount: 10 });
    for (const e of [0.01, 0.5, 1, 3, 10, 100]) expect(b.surprise(e)).toBe(a.surprise(e));
    a.add(2);
    b.add(2);
    expect(b.surprise(7)).toBe(a.surprise(7));
    expect(() => TailCalibrator.fromJSON({ format: 'anomalyd-tail/2', bins: [[99999, 1]], count: 1, w: 1, total: 1, top: 5 }, { horizon: 300, minCount: 10 })).toThrow(/bin/);
    expect(() => TailCalibrator.fromJSON({ format: 'anomalyd-tail/2', bins: [], count: 1, w: -1, total: 1, top: 5 }, { horizon: 300, minCount: 10 })).toThrow(/weights/);
  });

  it('a prior counts as history from the start', () => {
    const t = new TailCalibrator({ horizon: 1000, minCount: 20 }, { mean: -1, std: 0.5, weight: 32 });
    expect(t.ready).toBe(true);
    expect(t.surprise(0.1)).toBeLessThan(0.5);
    expect(t.surprise(100)).toBeGreaterThan(4);
  });
});

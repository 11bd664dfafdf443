/**
 * A tail history's numbers that are not whole (its weights, its tail fit) are held in its array of doubles, before
 * its window of bins, not in fields of the object: V8 holds a double field as a pointer (8 bytes) to a heap number
 * of its own (16 bytes), where an array of doubles holds it in 8.
 *
 * Finding (memheap, BENCHMARKS.md): a heap snapshot of the daemon after 1,000 sensors × 128 readings held 16 tail
 * histories a stream at 780 bytes each, 232 of them the object's own 26 fields, eleven of them doubles (the next
 * error's weight, the total, the growth, the walks' sums, the tail fit), each with its boxed number beside it.
 *
 * What could fail: a calibrator that has had a prior, errors, a guard band, a tail fit, a light tail and rescales holds
 * a number that is not a small integer in a field of its own (main: w, total, growth, fitQu, ...), or has more than
 * 14 fields (main: 26); or, its doubles now moved with its bins whenever the window grows, a calibrator whose window
 * grew answers differently than one restored from its checkpoint (whose window is made once).
 */
import { describe, expect, it } from 'vitest';
import { TailCalibrator, type TailOptions } from '../../src/pipeline/tail.js';
import { mulberry32 } from '../../src/train/rng.js';

/** V8's small integers (31 bits on every platform Node runs on): a field holding one holds it in its slot, unboxed. */
const SMALL = 2 ** 30;

/** The calibrator's own fields that hold a number other than a small integer (each a boxed double in V8). */
function boxedFields(c: TailCalibrator): string[] {
  return Object.entries(c).filter(([, v]) => typeof v === 'number' && !(Number.isInteger(v) && Math.abs(v) < SMALL)).map(([k]) => k);
}

const CONFIGS: { opts: TailOptions; prior: { mean: number; std: number; weight: number } | null }[] = [
  // A short horizon rescales its weights (every ~2,200 errors); a prior and a guard band.
  { opts: { horizon: 10, minCount: 8, lag: 5 }, prior: { mean: -2, std: 0.3, weight: 32 } },
  { opts: { horizon: 200, minCount: 16, thin: 3 }, prior: null },
  { opts: { horizon: 1000, minCount: 32, lag: 16 }, prior: { mean: 0.5, std: 1, weight: 32 } },
];

describe('tail history: its doubles held in its array, not in boxed fields', () => {
  it('has no field holding a number that is not a small integer, and at most 14 fields, after everything a history does', () => {
    for (const { opts, prior } of CONFIGS) {
      const c = new TailCalibrator(opts, prior);
      const rng = mulberry32(7);
      const out = { surprise: 0 };
      for (let i = 0; i < 3000; i++) {
        // Errors over six decades, so the window grows both ways, and the tail is fitted and asked each time.
        const e = Math.pow(10, -3 + 6 * rng() * rng());
        c.surprise(e, out);
        c.lightSurprise(e * 3);
        c.add(e, 1 + rng());
        if (i === 400) c.commitPending();
      }
      c.settle(1);
      expect(c.ready).toBe(true);
      expect(c.windowBins).toBeGreaterThan(20);
      expect(boxedFields(c)).toEqual([]);
      expect(Object.keys(c).length).toBeLessThanOrEqual(14);
    }
  });

  it('answers, at every error, as the same history restored from its checkpoint (its window made once)', () => {
    for (const { opts, prior } of CONFIGS) {
      const a = new TailCalibrator(opts, prior);
      const rng = mulberry32(11);
      const pa = { surprise: 0 };
      const pb = { surprise: 0 };
      let grew = 0;
      for (let i = 0; i < 2500; i++) {
        // Mostly around 0.01, now and then an error further out each time: the window grows again and again.
        const e = i % 97 === 0 ? 0.01 * Math.pow(10, (i / 97) * 0.2 * (i % 2 === 0 ? 1 : -1)) : 0.01 * Math.exp(rng() - 0.5);
        const before = a.windowBins;
        a.add(e);
        if (a.windowBins !== before) grew++;
        if (i % 7 !== 0) continue;
        const b = TailCalibrator.fromJSON(JSON.parse(JSON.stringify(a.toJSON())), opts);
        for (const x of [e, e * 10, e * 1000, e / 10]) {
          expect(b.surprise(x, pb)).toBe(a.surprise(x, pa));
          expect(pb.surprise).toBe(pa.surprise);
          expect(b.lightSurprise(x)).toBe(a.lightSurprise(x));
        }
        expect(b.quantile(0.5)).toBe(a.quantile(0.5));
      }
      expect(grew).toBeGreaterThan(5);
    }
  });
});

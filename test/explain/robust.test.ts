import { describe, expect, it } from 'vitest';
import { median, robustSigma } from '../../src/explain/robust.js';

/** The median as it was computed before its Float64Array sort: a copy sorted by (a, b) => a - b. */
function byComparator(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

describe('median', () => {
  it('is, bit for bit, the median of a copy sorted by (a, b) => a - b: odd and even lengths, ties, infinities', () => {
    let seed = 11;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    for (let n = 1; n < 60; n++) {
      for (let trial = 0; trial < 20; trial++) {
        const xs = Array.from({ length: n }, () => {
          const u = rnd();
          return u < 0.3 ? Math.round(rnd() * 6) - 3 : u < 0.32 ? (rnd() < 0.5 ? Infinity : -Infinity) : (rnd() - 0.5) * 10 ** Math.round(rnd() * 12 - 6);
        });
        expect(Object.is(median(xs), byComparator(xs))).toBe(true);
        expect(Object.is(robustSigma(xs), n < 2 ? 0 : 1.4826 * byComparator(xs.map((x) => Math.abs(x - byComparator(xs)))))).toBe(true);
      }
    }
  });

  it('is the sorted median on the lengths the explanations use, whatever the order of the values (selection in place)', () => {
    // The selection partitions many times on arrays of hundreds of values: sorted, reversed, organ-pipe, constant,
    // two values, few distinct values, random; every length parity; and NaN in an array of deviations (robustSigma).
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    const shapes: ((n: number) => number[])[] = [
      (n) => Array.from({ length: n }, (_, i) => i * 0.1),
      (n) => Array.from({ length: n }, (_, i) => n - i),
      (n) => Array.from({ length: n }, (_, i) => Math.min(i, n - i)),
      (n) => Array.from({ length: n }, () => 21.5),
      (n) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 2)),
      (n) => Array.from({ length: n }, () => Math.floor(rnd() * 4) * 0.25),
      (n) => Array.from({ length: n }, () => (rnd() - 0.5) * 1e3),
      (n) => Array.from({ length: n }, (_, i) => (i < n / 2 ? 5 : rnd())),
    ];
    for (const n of [2, 3, 4, 5, 16, 17, 63, 64, 65, 127, 128, 300, 301, 1000, 1001, 3000]) {
      for (const shape of shapes) {
        const xs = shape(n);
        expect(Object.is(median(xs), byComparator(xs))).toBe(true);
        const m = byComparator(xs);
        expect(Object.is(robustSigma(xs), 1.4826 * byComparator(xs.map((x) => Math.abs(x - m))))).toBe(true);
      }
    }
    for (const xs of [[1, NaN, 3, 4], [Infinity, -Infinity, 1], [Infinity, -Infinity], [-0, 2, 5, 1]]) {
      const m = byComparator(xs);
      expect(Object.is(robustSigma(xs), 1.4826 * byComparator(xs.map((x) => Math.abs(x - m))))).toBe(true);
    }
  });

  it('takes an array holding -0 or NaN as the comparator sort does (its order of equal and unordered values kept)', () => {
    for (const xs of [[0, -0], [-0, 0], [-0, -0, 0, 1], [1, -0, 0, -0], [NaN, 1, 2], [3, NaN, 1, 2], [-0]]) {
      expect(Object.is(median(xs), byComparator(xs))).toBe(true);
    }
    expect(Object.is(median([0, -0]), 0)).toBe(true);
    expect(Object.is(median([-0, -0]), -0)).toBe(true);
    expect(median([])).toBeNaN();
  });

  it('does not change its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

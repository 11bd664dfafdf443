import { describe, expect, it } from 'vitest';
import { lagProducts } from '../../src/pipeline/autocorrelation.js';
import { normal } from './detector-helpers.js';

/** The direct sums the FFT replaces: Σ_{i=0}^{n−1−k} d[i] · d[i + k], k = 0 … maxLag. */
function direct(d: Float64Array, n: number, maxLag: number): Float64Array {
  const out = new Float64Array(maxLag + 1);
  for (let k = 0; k <= maxLag; k++) {
    let s = 0;
    for (let i = 0; i + k < n; i++) s += d[i] * d[i + k];
    out[k] = s;
  }
  return out;
}

/** n values of one kind, centred as the cycle finder centres them (its rounding is relative to Σ d²). */
function series(kind: 'noise' | 'sine' | 'square' | 'quantised' | 'offset', n: number, seed: number): Float64Array {
  const z = normal(seed);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (kind === 'noise') d[i] = z();
    else if (kind === 'sine') d[i] = 3 * Math.sin((2 * Math.PI * i) / 37.3) + 0.1 * z();
    else if (kind === 'square') d[i] = i % 24 < 7 ? 8 : 0.05;
    else if (kind === 'quantised') d[i] = Math.round(10 * (Math.sin((2 * Math.PI * i) / 300) + 0.2 * z())) / 10;
    // Not centred: a large level on a small cycle (the rounding then is relative to the level's squares).
    else d[i] = 1e4 + Math.sin((2 * Math.PI * i) / 50) + 0.01 * z();
  }
  if (kind !== 'offset') {
    const m = d.reduce((s, x) => s + x, 0) / n;
    for (let i = 0; i < n; i++) d[i] -= m;
  }
  return d;
}

describe('lagProducts: the autocorrelation by the FFT (Wiener–Khinchin)', () => {
  // Lengths that are not powers of two, tiny ones, the cycle finder's ring sizes (64 · 1.5^k, to 2,048) and its full ring.
  const lengths = [1, 2, 3, 5, 7, 16, 17, 31, 33, 96, 100, 127, 129, 324, 729, 1000, 1023, 1025, 1641, 2047, 2048, 3001];
  for (const kind of ['noise', 'sine', 'square', 'quantised', 'offset'] as const) {
    it(`equals the direct sums within rounding on ${kind} of awkward lengths, at every lag up to n − 1`, () => {
      for (const n of lengths) {
        const d = series(kind, n, n);
        // The cycle finder's lags (half of them, at most 1,024), and every lag (the zero padding must still hold).
        for (const maxLag of new Set([0, Math.min(1024, Math.floor(n / 2)), n - 1])) {
          const want = direct(d, n, maxLag);
          const got = new Float64Array(maxLag + 1);
          lagProducts(d, n, maxLag, got);
          // Both are rounded sums of products each at most Σ d² in size: their difference is a few ulps of Σ d² per
          // doubling of the length, far below 1e-12 of it.
          let worst = 0;
          for (let k = 0; k <= maxLag; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]));
          expect(worst, `${kind} n ${n} lags to ${maxLag}`).toBeLessThanOrEqual(1e-12 * want[0]);
        }
      }
    });
  }

  it('uses only the first n values of d, and leaves out past maxLag untouched', () => {
    const d = series('noise', 500, 9);
    const longer = new Float64Array(800).fill(1e6);
    longer.set(d);
    const out = new Float64Array(300).fill(-7);
    lagProducts(longer, 500, 200, out);
    const want = direct(d, 500, 200);
    for (let k = 0; k <= 200; k++) expect(Math.abs(out[k] - want[k])).toBeLessThanOrEqual(1e-12 * want[0]);
    expect(out.slice(201).every((v) => v === -7)).toBe(true);
  });

  it('gives the same numbers bit for bit whatever transforms were made before (its tables are shared)', () => {
    const d = series('sine', 300, 4);
    const first = new Float64Array(151);
    lagProducts(d, 300, 150, first);
    // A larger transform makes larger tables, which the next small one then uses.
    lagProducts(series('noise', 3001, 5), 3001, 1024, new Float64Array(1025));
    const again = new Float64Array(151);
    lagProducts(d, 300, 150, again);
    expect(Array.from(again)).toEqual(Array.from(first));
  });

  it('throws on lengths and lags that do not fit', () => {
    const d = new Float64Array(10);
    expect(() => lagProducts(d, 0, 0, new Float64Array(1))).toThrow(RangeError);
    expect(() => lagProducts(d, 11, 0, new Float64Array(1))).toThrow(RangeError);
    expect(() => lagProducts(d, 10, 10, new Float64Array(11))).toThrow(RangeError);
    expect(() => lagProducts(d, 10, 5, new Float64Array(5))).toThrow(RangeError);
    expect(() => lagProducts(d, 10, -1, new Float64Array(5))).toThrow(RangeError);
  });
});

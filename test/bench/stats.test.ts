import { describe, expect, it } from 'vitest';
import { median, pairedDeltas, percentiles, quantile } from '../../src/bench/stats.js';

describe('bench stats', () => {
  it('interpolates quantiles between order statistics', () => {
    expect(quantile([0, 10], 0.5)).toBe(5);
    expect(quantile([1, 2, 3, 4, 5], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4, 5], 1)).toBe(5);
    expect(quantile([], 0.5)).toBeNaN();
    expect(median([5, 1, 3])).toBe(3);
  });

  it('percentiles sort their input and report n and max', () => {
    const xs = Array.from({ length: 101 }, (_, i) => 100 - i);
    const p = percentiles(xs);
    expect(p).toMatchObject({ n: 101, p50: 50, p90: 90, p99: 99, max: 100 });
  });

  it('refuses to pair sequences of different length', () => {
    expect(pairedDeltas([1, 2], [3])).toBeNull();
    expect(pairedDeltas([], [])).toBeNull();
    expect(pairedDeltas([1, 2], [4, 6])).toEqual([3, 4]);
  });
});

import { describe, expect, it } from 'vitest';
import { STABLE_CRITICAL, StableSegment } from '../../src/pipeline/segment.js';
import { normal } from './detector-helpers.js';

/** Feeds `n` readings of one channel, value(i), and returns the segment. */
function fed(n: number, value: (i: number) => number, block = 16, blocks = 16): StableSegment {
  const seg = new StableSegment(1, block, blocks);
  for (let i = 0; i < n; i++) seg.push([value(i)]);
  return seg;
}

describe('StableSegment (CUSUM of block means)', () => {
  it('is stable on one level of white noise (most seeds below the 5 % value), not on a step or a ramp in the span', () => {
    let above = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const z = normal(seed);
      if (fed(256, () => 3 + z()).statistic(0) > STABLE_CRITICAL) above++;
    }
    expect(above).toBeLessThanOrEqual(6);
    const z = normal(99);
    expect(fed(256, (i) => z() + (i >= 128 ? 2 : 0)).stable([true])).toBe(false);
    expect(fed(256, (i) => z() + 0.02 * i).stable([true])).toBe(false);
    // A channel the episode is not about is not judged.
    expect(fed(256, (i) => z() + (i >= 128 ? 2 : 0)).stable([false])).toBe(true);
  });

  it('judges only a full span of its newest blocks; a constant level is one segment; a non-finite level starts over', () => {
    expect(fed(255, () => 1).stable([true])).toBe(false);
    expect(fed(256, () => 1).stable([true])).toBe(true);
    // A step long before the newest 16 blocks is out of the span.
    const z = normal(7);
    expect(fed(512, (i) => z() + (i >= 100 ? 5 : 0)).stable([true])).toBe(true);
    const seg = fed(256, () => 1);
    seg.push([Number.NaN]);
    expect(seg.readings).toBe(0);
    expect(seg.stable([true])).toBe(false);
  });

  it('restores from its snapshot to the same state', () => {
    const z = normal(5);
    const a = new StableSegment(2, 16, 16);
    const b = new StableSegment(2, 16, 16);
    for (let i = 0; i < 300; i++) {
      const v = [z(), z() + i * 0.001];
      a.push(v);
      b.push(v);
    }
    const c = StableSegment.fromJSON(JSON.parse(JSON.stringify(a.toJSON())), 2, 16, 16);
    for (let i = 0; i < 40; i++) {
      const v = [z(), z()];
      expect(c.push(v)).toBe(b.push(v));
    }
    expect(c.statistic(0)).toBe(b.statistic(0));
    expect(c.statistic(1)).toBe(b.statistic(1));
    expect(c.readings).toBe(b.readings);
    expect(() => StableSegment.fromJSON({ sum: [1], n: 0, means: [] }, 2, 16, 16)).toThrow();
  });
});

describe('StableSegment: the runs test', () => {
  it('a cycle whose trough the span straddles passes the CUSUM but not the runs test; white noise passes both mostly', () => {
    // 256 readings of a trough of a cycle of 600 readings, centred in the span: the partial sums come back.
    const trough = fed(256, (i) => -5 * Math.cos((2 * Math.PI * (i - 128)) / 600));
    expect(trough.statistic(0)).toBeLessThanOrEqual(STABLE_CRITICAL);
    expect(trough.stable([true])).toBe(false);
    let unstable = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const z = normal(seed);
      if (!fed(256, () => 3 + z()).stable([true])) unstable++;
    }
    expect(unstable).toBeLessThanOrEqual(8);
  });
});

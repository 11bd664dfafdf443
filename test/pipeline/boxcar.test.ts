import { describe, expect, it } from 'vitest';
import { Boxcar } from '../../src/pipeline/boxcar.js';

describe('Boxcar', () => {
  it('has no buffer until its first push (lazy), and reads, saves and restores as an empty one', () => {
    const fresh = new Boxcar(3, 4);
    expect(fresh.count).toBe(0);
    expect(fresh.mean(2)).toBe(0);
    expect(fresh.trimmedMean(1, 1)).toBe(0);
    expect(fresh.toJSON()).toEqual({ values: [], sums: [0, 0, 0], sinceExact: 0 });
    fresh.clear();
    const used = new Boxcar(3, 4);
    used.push([1, 2, 3]);
    used.clear();
    expect(fresh.toJSON()).toEqual(used.toJSON());
    const back = new Boxcar(3, 4);
    back.load(fresh.toJSON());
    back.push([4, 5, 6]);
    expect(back.toJSON()).toEqual({ values: [[4, 5, 6]], sums: [4, 5, 6], sinceExact: 1 });
  });

  it('is the mean of the last n values pushed, per channel', () => {
    const b = new Boxcar(2, 3);
    expect(b.mean(0)).toBe(0);
    b.push([1, 10]);
    b.push([2, 20]);
    expect(b.count).toBe(2);
    expect(b.mean(0)).toBeCloseTo(1.5, 12);
    b.push([3, 30]);
    b.push([4, 40]);
    expect(b.count).toBe(3);
    expect(b.mean(0)).toBeCloseTo(3, 12);
    expect(b.mean(1)).toBeCloseTo(30, 12);
  });

  it('forgets an extreme value exactly n pushes later (no rounding left behind)', () => {
    const b = new Boxcar(1, 16);
    b.push([5000]);
    for (let i = 0; i < 15; i++) b.push([0]);
    expect(b.mean(0)).toBeCloseTo(5000 / 16, 9);
    b.push([0]);
    expect(b.mean(0)).toBe(0);
    for (let i = 0; i < 100; i++) b.push([1e-3]);
    expect(b.mean(0)).toBeCloseTo(1e-3, 15);
  });

  it('trimmed mean leaves out the k largest and k smallest; the plain mean when 2k or fewer are held', () => {
    const b = new Boxcar(1, 8);
    b.push([100]);
    b.push([-50]);
    expect(b.trimmedMean(0, 1)).toBe(25);
    for (const x of [1, 2, 3, 4, 1000, -7]) b.push([x]);
    // Held: 100, -50, 1, 2, 3, 4, 1000, -7; less 1000, 100 and -50, -7: mean of 1, 2, 3, 4.
    expect(b.trimmedMean(0, 2)).toBeCloseTo(2.5, 12);
    expect(b.trimmedMean(0, 0)).toBeCloseTo(b.mean(0), 12);
  });

  it('trimmed mean with k = 2 (its own loop) is, bit for bit, the sums of the values its sort leaves out, ties and a wrapped ring included', () => {
    // The reference: the held values (toJSON, oldest first) sorted, the two largest and two smallest dropped from
    // the running sum in the order the generic loop drops them (largest + smallest, then the second of each).
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    for (const n of [5, 6, 9, 31]) {
      const b = new Boxcar(2, n);
      for (let i = 0; i < 3 * n + 2; i++) {
        // Ties (a value on a coarse grid) and spread values, either sign.
        b.push([Math.round(rnd() * 4) - 2, (rnd() - 0.5) * 1e3]);
        if (b.count <= 4) continue;
        const { values, sums } = b.toJSON();
        for (let c = 0; c < 2; c++) {
          const sorted = values.map((v) => v[c]).sort((x, y) => x - y);
          let dropped = 0;
          dropped += sorted[sorted.length - 1] + sorted[0];
          dropped += sorted[sorted.length - 2] + sorted[1];
          expect(Object.is(b.trimmedMean(c, 2), (sums[c] - dropped) / (values.length - 4))).toBe(true);
        }
      }
    }
  });

  it('trimmed mean with k = 2 kept between pushes is, bit for bit, the walk over the held values at every call', () => {
    // The reference is the walk over the held values, oldest first (toJSON), as trimmedMean2 walked them before it
    // kept its extremes between pushes: its order decides which of -0 and +0 is kept, so zeros of both signs, ties,
    // infinities and NaN are pushed, with clear, dropNewest and load between, and the mean asked after most pushes.
    const walk = (xs: readonly number[], sum: number): number => {
      let t0 = -Infinity;
      let t1 = -Infinity;
      let b0 = Infinity;
      let b1 = Infinity;
      for (const v of xs) {
        if (v > t0) {
          const y = t0;
          t0 = v;
          if (y > t1) t1 = y;
        } else if (v > t1) t1 = v;
        if (v < b0) {
          const y = b0;
          b0 = v;
          if (y < b1) b1 = y;
        } else if (v < b1) b1 = v;
      }
      let dropped = 0;
      dropped += t0 + b0;
      dropped += t1 + b1;
      return (sum - dropped) / (xs.length - 4);
    };
    let seed = 99;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    const value = (): number => {
      const u = rnd();
      if (u < 0.15) return rnd() < 0.5 ? 0 : -0;
      if (u < 0.4) return Math.round(rnd() * 4) - 2;
      if (u < 0.42) return rnd() < 0.5 ? Infinity : -Infinity;
      if (u < 0.43) return Number.NaN;
      return (rnd() - 0.5) * 10 ** Math.round(rnd() * 6 - 3);
    };
    let checked = 0;
    for (const n of [5, 6, 9, 31]) {
      const b = new Boxcar(2, n);
      for (let i = 0; i < 40 * n; i++) {
        const u = rnd();
        if (u < 0.01) b.clear();
        else if (u < 0.03) b.dropNewest(Math.floor(rnd() * 4));
        else if (u < 0.04) b.load(b.toJSON().values.filter((v) => v.every(Number.isFinite)));
        else b.push([value(), value()]);
        if (b.count <= 4 || rnd() < 0.2) continue;
        const { values, sums } = b.toJSON();
        for (let c = 0; c < 2; c++) {
          const want = walk(values.map((v) => v[c]), sums[c]);
          expect(Object.is(b.trimmedMean(c, 2), want), `n ${n}, push ${i}, channel ${c}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('round-trips its values (checkpoints), oldest first, keeping the newest n', () => {
    const b = new Boxcar(2, 3);
    for (let i = 1; i <= 5; i++) b.push([i, -i]);
    expect(b.values()).toEqual([
      [3, -3],
      [4, -4],
      [5, -5],
    ]);
    const c = new Boxcar(2, 3);
    c.load([
      [0, 0],
      ...b.values(),
    ]);
    expect(c.values()).toEqual(b.values());
    expect(c.mean(1)).toBeCloseTo(-4, 12);
    c.clear();
    expect(c.count).toBe(0);
    expect(c.values()).toEqual([]);
  });

  it('forgets the values pushed last (censoring): those before them stay, and the next push follows them', () => {
    const b = new Boxcar(2, 4);
    for (let i = 1; i <= 6; i++) b.push([i, 10 * i]);
    // Held 3, 4, 5, 6; the last two forgotten: 3, 4, then 7 and 8 follow them (5 and 6 never pushed).
    b.dropNewest(2);
    expect(b.count).toBe(2);
    expect(b.values()).toEqual([
      [3, 30],
      [4, 40],
    ]);
    expect(b.mean(1)).toBeCloseTo(35, 12);
    b.push([7, 70]);
    b.push([8, 80]);
    b.push([9, 90]);
    expect(b.values().map((v) => v[0])).toEqual([4, 7, 8, 9]);
    expect(b.mean(0)).toBeCloseTo(7, 12);
    // More than it holds: all; none: nothing.
    b.dropNewest(0);
    expect(b.count).toBe(4);
    b.dropNewest(10);
    expect(b.count).toBe(0);
    expect(b.mean(0)).toBe(0);
    b.push([5, 50]);
    expect(b.values()).toEqual([[5, 50]]);
    expect(() => b.dropNewest(-1)).toThrow(RangeError);
    expect(() => b.dropNewest(1.5)).toThrow(RangeError);
  });

  it('refuses a shape that is not a positive integer', () => {
    expect(() => new Boxcar(0, 3)).toThrow(RangeError);
    expect(() => new Boxcar(1, 1.5)).toThrow(RangeError);
  });
});

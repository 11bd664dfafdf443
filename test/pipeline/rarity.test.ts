import { describe, expect, it } from 'vitest';
import { MAX_BINS, ValueHistogram } from '../../src/pipeline/rarity.js';
import { normal } from './detector-helpers.js';

describe('ValueHistogram (rarity)', () => {
  it('calls a value in the gap between two modes rare, and a value of either mode ordinary, at any scale', () => {
    for (const unit of [1e-6, 1, 1e6]) {
      const h = new ValueHistogram(10000, 0);
      for (let i = 0; i < 2000; i++) h.add(unit * (i % 2 === 0 ? 0.1 * Math.sin(i) : 10 + 0.1 * Math.cos(i)), unit * 0.1);
      // Half the history sits near each mode: about ln 4 (a mode's share over two bins' worth).
      expect(h.rarity(unit * 0.05)).toBeLessThan(3);
      expect(h.rarity(unit * 10)).toBeLessThan(3);
      // Nothing near 5: the rule of succession, ln(2 (count + 1)).
      expect(h.rarity(unit * 5)).toBeCloseTo(Math.log(2 * (h.count + 1)), 6);
    }
  });

  it('keeps values in its guard band out until they are `lag` values old, and drops them on request', () => {
    // Two modes, 0 and 100: 50 lies between them.
    const h = new ValueHistogram(1000, 5);
    for (let i = 0; i < 100; i++) h.add(i % 2 === 0 ? 0 : 100, 1);
    const empty = (): number => Math.log(2 * (h.count + 1));
    for (let i = 0; i < 5; i++) h.add(50, 1);
    // The five 50s wait in the guard band: 50 is still where the history has nothing.
    expect(h.rarity(50)).toBeCloseTo(empty(), 9);
    h.discardPending();
    for (let i = 0; i < 10; i++) h.add(i % 2 === 0 ? 0 : 100, 1);
    expect(h.rarity(50)).toBeCloseTo(empty(), 9);
    for (let i = 0; i < 5; i++) h.add(50, 1);
    for (let i = 0; i < 5; i++) h.add(i % 2 === 0 ? 0 : 100, 1);
    expect(h.rarity(50)).toBeLessThan(empty() - 1);
  });

  it('leaves a value at the frontier of the mass to level: its rarity fades out near the edge of the history', () => {
    const h = new ValueHistogram(10000, 0);
    for (let i = 0; i < 2000; i++) h.add(i % 2 === 0 ? 0 : 10, 0.1);
    const empty = Math.log(2 * (h.count + 1));
    // Mid-gap: in full. Just off a mode, inside the gap or beyond the range: hardly at all.
    expect(h.rarity(5)).toBeCloseTo(empty, 6);
    expect(h.rarity(0.4)).toBeLessThan(0.5 * empty);
    expect(h.rarity(10.4)).toBeLessThan(0.2 * empty);
    expect(h.rarity(-0.4)).toBeLessThan(0.2 * empty);
    // Far beyond the range (more than 0.3 of its width): in full again.
    expect(h.rarity(20)).toBeCloseTo(empty, 6);
  });

  it('tells a value beyond the range of its mass (where the stream has never been) from one in a gap between modes', () => {
    const h = new ValueHistogram(10000, 0);
    expect(h.outside(3)).toBe(false);
    for (let i = 0; i < 2000; i++) h.add(i % 2 === 0 ? 0 : 10, 0.1);
    // Bins 0.125 wide: one bin off a mode is still the mode's edge; the gap between the modes is inside.
    expect(h.outside(5)).toBe(false);
    expect(h.outside(10.1)).toBe(false);
    expect(h.outside(-0.1)).toBe(false);
    expect(h.outside(10.5)).toBe(true);
    expect(h.outside(-0.5)).toBe(true);
    expect(h.outside(Number.NaN)).toBe(false);
  });

  it('answers bit for bit as a fresh copy of its state: the mass it keeps between values changes no answer', () => {
    // The bins that hold a value (the mass) are kept across values and found again only when one may have left;
    // a copy restored from JSON finds them afresh, so every answer must be identical (Object.is).
    let seed = 5;
    const u = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    for (const [horizon, lag] of [[2, 0], [50, 3], [5000, 31], [100000, 1]] as const) {
      const h = new ValueHistogram(horizon, lag);
      let level = 0;
      let scale = 0.1;
      for (let i = 0; i < 1500; i++) {
        if (u() < 0.01) level += 30 * (u() - 0.5);
        if (u() < 0.005) scale *= u() < 0.5 ? 8 : 1 / 8;
        h.add(level + (u() < 0.5 ? 0 : 5) + scale * (u() - 0.5) * 3, scale * (0.5 + u()));
        if (u() < 0.005) h.clear();
        const fresh = ValueHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())), horizon, lag);
        for (const x of [level, level + 2.5, level + 5, level - 40, level + 40 * u()]) {
          expect(Object.is(h.rarity(x), fresh.rarity(x))).toBe(true);
          expect(h.outside(x)).toBe(fresh.outside(x));
        }
      }
    }
  });

  it('holds at most MAX_BINS bins (a drifting signal makes its bins wider), and restores from JSON', () => {
    const h = new ValueHistogram(100000, 3);
    for (let i = 0; i < 20000; i++) h.add(i * 0.01, 0.001);
    expect(h.size).toBeLessThanOrEqual(MAX_BINS);
    expect(h.width).toBeGreaterThan(0.001);
    const back = ValueHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())), 100000, 3);
    for (const x of [0, 50, 199.99, 300]) expect(back.rarity(x)).toBe(h.rarity(x));
    expect(() => ValueHistogram.fromJSON({ ...h.toJSON(), weight: -1 }, 100000, 3)).toThrow(/malformed/);
  });

  it('keeps `ready` (filled with a learning period at its end) through a checkpoint; a state without it is not ready; clear forgets it', () => {
    const h = new ValueHistogram(1000, 3);
    for (let i = 0; i < 50; i++) h.add(i % 7, 1);
    const old = ValueHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())), 1000, 3);
    expect(old.ready).toBe(false);
    h.ready = true;
    expect(ValueHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())), 1000, 3).ready).toBe(true);
    expect(() => ValueHistogram.fromJSON({ ...h.toJSON(), ready: 1 }, 1000, 3)).toThrow(/ready/);
    h.clear();
    expect(h.ready).toBe(false);
  });
  /*
   * The learning period's own motion (first-day finding, BENCHMARKS.md `firstday`, `firstday2`, `firstday3`): a new room
   * sensor's learning period (256 readings a minute) that held only the day's peak, 20 + 2 sin(2π t / 1440 − 1) +
   * N(0, 0.05) to 0.01, is a narrow range; the day's walk down from it, the continuation of the period's own slope and
   * curvature, stood beyond every mass and was rare in full (a false episode held 1,000 readings). A fault has a motion
   * the learning period never showed: a flat period's trend carries its range nowhere, and the motion down does not
   * carry the range up.
   */
  const Z = 4.265; // the threshold's (surprise 5)
  const W = 256;
  /** The room's value at reading i of a stream whose first reading came at minute `tod` of the day (noise from `draw`). */
  const room = (tod: number, i: number, draw: () => number): number => Math.round((20 + 2 * Math.sin((2 * Math.PI * (tod + i)) / 1440 - 1) + 0.05 * draw()) * 100) / 100;
  /** A histogram filled with a learning period's values (lag 31, the shipped guard band), scale 0.07 (the noise's change). */
  const filled = (values: readonly number[]): ValueHistogram => {
    const h = new ValueHistogram(10000, 31);
    for (const v of values) h.add(v, 0.07);
    h.commitPending();
    h.ready = true;
    return h;
  };

  it('judges a value beyond every mass from where the learning period’s own motion carries the range by now: the day’s walk down from a learnt peak is not rare, at every phase that holds the peak', () => {
    for (const tod of [420, 450, 480, 510]) {
      for (let seed = 1; seed <= 8; seed++) {
        const draw = normal(seed);
        const learnt = Array.from({ length: W }, (_, i) => room(tod, i, draw));
        const h = filled(learnt);
        h.learnMotion(learnt, W, Z);
        // The walk after learning as the histogram sees it: the walk's values enter 31 readings late (guard band);
        // its newest value judged each reading. Counted: the most readings in any 31 in a row (rarity's short mean,
        // which leaves out the two largest) whose rarity counts in full (where the histogram has no value,
        // ln(2 (count + 1)), not faded at the edge). Frozen (no `since`): more than the two a short mean leaves out;
        // from the reach: at most those two (a reading of noise off the trend now and then).
        const full = { frozen: [] as boolean[], reached: [] as boolean[] };
        const most = { frozen: 0, reached: 0 };
        for (let i = W; i < 2 * W; i++) {
          const x = room(tod, i, draw);
          const empty = Math.log(2 * (h.count + 1));
          full.frozen.push(h.rarity(x) >= empty * (1 - 1e-12));
          full.reached.push(h.rarity(x, 1, i) >= empty * (1 - 1e-12));
          for (const k of ['frozen', 'reached'] as const) most[k] = Math.max(most[k], full[k].slice(-31).filter(Boolean).length);
          h.add(x, 0.07);
        }
        expect(most.frozen, `tod ${tod} seed ${seed}: the frozen range`).toBeGreaterThan(2);
        expect(most.reached, `tod ${tod} seed ${seed}: from the reach`).toBeLessThanOrEqual(2);
      }
    }
  });

  it('carries the range by no motion the learning period did not show: a flat noisy period, a duty cycle, and the side a walk does not go', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const draw = normal(seed);
      const flat = Array.from({ length: W }, () => Math.round((20 + 0.05 * draw()) * 100) / 100);
      const duty = Array.from({ length: W }, (_, i) => (Math.floor(i / 20) % 2 === 0 ? 0 : 8) + 0.1 * draw());
      for (const learnt of [flat, duty]) {
        const h = filled(learnt);
        h.learnMotion(learnt, W, Z);
        for (let since = W; since <= 3 * W; since += 8) expect(h.reach(since)).toEqual([0, 0]);
        // A value well beyond the range is judged as without a motion.
        const top = Math.max(...learnt) + 3;
        expect(h.rarity(top, 1, W + 100)).toBe(h.rarity(top));
      }
      // The room's walk down from its peak: carried down only; a level above the peak is judged as without it.
      const walk = Array.from({ length: W }, (_, i) => room(450, i, draw));
      const h = filled(walk);
      h.learnMotion(walk, W, Z);
      const [down, up] = h.reach(W + 100);
      expect(down).toBeGreaterThan(0);
      expect(up).toBe(0);
      const above = Math.max(...walk) + 0.5;
      expect(h.rarity(above, 1, W + 100)).toBe(h.rarity(above));
    }
  });

  it('carries the motion no further than the fit’s own length, keeps it through a checkpoint, and forgets it with the histogram', () => {
    const draw = normal(7);
    const walk = Array.from({ length: W }, (_, i) => room(450, i, draw));
    const h = filled(walk);
    h.learnMotion(walk, 1000, Z);
    expect(h.reach(1000 + W)).toEqual(h.reach(1000 + 5 * W));
    expect(h.reach(1000)).toEqual([0, 0]);
    const back = ValueHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())), 10000, 31);
    expect(back.reach(1000 + 77)).toEqual(h.reach(1000 + 77));
    expect(() => ValueHistogram.fromJSON({ ...h.toJSON(), motion: { ...h.toJSON().motion, w: 3 } }, 10000, 31)).toThrow(/motion/);
    // A state without a motion (a checkpoint from before) judges from the frozen range.
    const { motion: _m, ...old } = h.toJSON();
    expect(ValueHistogram.fromJSON(old, 10000, 31).reach(1100)).toEqual([0, 0]);
    h.clear();
    expect(h.reach(1100)).toEqual([0, 0]);
  });
});

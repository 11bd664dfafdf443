/**
 * LoopLoad (src/daemon/loop-load.ts): the spans in which the daemon's event loop was saturated, on the daemon's
 * clock, from an injected utilization sampler and clock.
 */
import { describe, expect, it } from 'vitest';
import { LoopLoad, SATURATED } from '../../src/daemon/loop-load.js';

function load(): { l: LoopLoad; at: (t: number, u: number) => void } {
  let now = 1_000;
  let u = 0;
  // The daemon's clock and the real one run together here.
  const l = new LoopLoad(() => u, () => now, () => now);
  return {
    l,
    at: (t, utilization) => {
      now = t;
      u = utilization;
      l.sample();
    },
  };
}

describe('LoopLoad', () => {
  it('knows no saturated span before a sample reaches the saturated share', () => {
    const { l, at } = load();
    at(1_250, SATURATED - 0.01);
    expect(l.saturated).toBe(false);
    expect(l.saturatedAfter(0)).toBeNull();
  });

  it('while saturated, a sensor heard at any time before now was deaf until now', () => {
    const { l, at } = load();
    at(1_250, 0.2);
    at(1_500, 1);
    expect(l.saturated).toBe(true);
    expect(l.saturatedAfter(1_400)).toBe(1_500);
    expect(l.saturatedAfter(0)).toBe(1_500);
  });

  it('keeps adjacent saturated samples as one span and answers its end for a sensor heard before it ended only', () => {
    const { l, at } = load();
    at(1_250, 0.95);
    at(1_500, 0.99);
    at(1_750, 0.1);
    expect(l.saturated).toBe(false);
    expect(l.saturatedAfter(1_200)).toBe(1_500);
    expect(l.saturatedAfter(1_499)).toBe(1_500);
    // Heard after the span ended: the loop was free since.
    expect(l.saturatedAfter(1_500)).toBeNull();
    expect(l.saturatedAfter(1_600)).toBeNull();
    // A later span is the one a sensor heard before both is answered with.
    at(2_000, 0.97);
    at(2_250, 0);
    expect(l.saturatedAfter(1_200)).toBe(2_000);
  });

  it('tells how long the loop was saturated within a span of time (a silence is shortened by that much)', () => {
    const { l, at } = load();
    at(1_250, 1);
    at(1_500, 1);
    at(1_750, 0);
    at(2_000, 0.95);
    at(2_250, 0);
    expect(l.saturatedWithin(0, 3_000)).toBe(750);
    expect(l.saturatedWithin(1_400, 3_000)).toBe(350);
    // The spans: [1000, 1500] and [1750, 2000] (a sample covers the time since the one before).
    expect(l.saturatedWithin(1_500, 1_750)).toBe(0);
    expect(l.saturatedWithin(1_600, 1_900)).toBe(150);
    expect(l.saturatedWithin(2_100, 2_150)).toBe(0);
  });

  it("bounds a span by the real time its sample covered when the daemon's clock jumps (a demo, a virtual clock)", () => {
    let now = 1_000;
    let real = 0;
    const l = new LoopLoad(() => 1, () => now, () => real);
    now += 20 * 60_000;
    real += 250;
    l.sample();
    expect(l.saturatedWithin(0, now)).toBe(250);
    expect(l.saturated).toBe(true);
  });

  it('forgets spans older than an hour', () => {
    const { l, at } = load();
    at(1_250, 1);
    at(1_500, 0);
    at(1_500 + 3_600_001, 0);
    expect(l.saturatedAfter(0)).toBeNull();
  });
});

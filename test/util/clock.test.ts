import { describe, expect, it } from 'vitest';
import { AnchoredClock } from '../../src/util/clock.js';

const T0 = Date.UTC(2026, 10, 30, 10);
const HOUR = 3_600_000;

/** A wall clock and a monotonic clock the test moves by hand. */
function clocks() {
  const c = { wall: T0, mono: 1000 };
  const clock = new AnchoredClock({ wall: () => c.wall, mono: () => c.mono });
  const tick = (ms: number): number => {
    c.wall += ms;
    c.mono += ms;
    return clock.now();
  };
  return { c, clock, tick };
}

describe('AnchoredClock', () => {
  it('follows the wall clock while it runs normally', () => {
    const { clock, tick } = clocks();
    expect(clock.now()).toBe(T0);
    expect(tick(1000)).toBe(T0 + 1000);
    expect(tick(500)).toBe(T0 + 1500);
  });

  it('ignores a wall-clock step that does not hold (one hour forward for ten seconds, then back)', () => {
    const { c, tick } = clocks();
    const seen: number[] = [tick(1000)];
    c.wall += HOUR;
    for (let i = 0; i < 10; i++) seen.push(tick(1000));
    c.wall -= HOUR;
    for (let i = 0; i < 10; i++) seen.push(tick(1000));
    // Monotonic, one second apart, as if nothing happened.
    for (let i = 1; i < seen.length; i++) expect(seen[i] - seen[i - 1]).toBe(1000);
    expect(seen[seen.length - 1]).toBe(c.wall);
  });

  it('takes a forward step that holds (a Pi that booted with an old clock)', () => {
    const { c, tick } = clocks();
    c.wall += 3 * 24 * HOUR;
    tick(1000);
    for (let i = 0; i < 61; i++) tick(1000);
    expect(tick(1000)).toBe(c.wall);
  });

  it('never goes back: a backward step that holds is slewed in', () => {
    const { c, tick } = clocks();
    let prev = tick(1000);
    c.wall -= 10_000;
    for (let i = 0; i < 200; i++) {
      const t = tick(1000);
      expect(t).toBeGreaterThanOrEqual(prev);
      prev = t;
    }
    // After the settle time the clock runs at half speed until the wall clock catches up, then follows it.
    expect(prev).toBe(c.wall);
  });
});

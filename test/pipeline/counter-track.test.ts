/**
 * The counter stage (src/pipeline/counter.ts): which streams are cumulative counters, from their readings alone,
 * and what it judges one as (its total, continued across resets). A meter's total is recognised; a slowly rising
 * temperature, a random walk, a quantised level and a ramp through zero (MSL's T-13) are not.
 */
import { describe, expect, it } from 'vitest';
import { CYCLE_SLACK_MS, CounterTrack, MIN_RISES, MONOTONE_READINGS } from '../../src/pipeline/counter.js';
import { lcg } from '../helpers/lcg.js';

/** Feeds `values` (one step each); the index of the first reading read as a counter's rate, or -1, and every step. */
function feed(values: readonly number[]): { first: number; steps: ReturnType<CounterTrack['observe']>[] } {
  const t = new CounterTrack();
  const steps = values.map((v) => t.observe(v));
  return { first: steps.findIndex((s) => s.counter), steps };
}

const round = (v: number, q: number): number => Math.round(v / q) * q;

describe('CounterTrack', () => {
  const n = 3 * MONOTONE_READINGS;

  it('recognises an energy meter (kWh to 3 decimals, 0 W holds and loads) after one monotone run of readings', () => {
    const rnd = lcg(7);
    let total = 17.5;
    const values = Array.from({ length: n }, (_, i) => {
      const watts = Math.floor(i / 300) % 2 === 0 ? 0 : 60 + 40 * rnd();
      total += (watts * 10) / 3_600_000;
      return round(total, 0.001);
    });
    const { first, steps } = feed(values);
    expect(first).toBeGreaterThanOrEqual(MONOTONE_READINGS - 1);
    expect(first).toBeLessThan(2 * MONOTONE_READINGS);
    expect(steps.slice(first).every((s) => s.counter && s.reset === null)).toBe(true);
    // Judged as its total, unchanged while it has not been reset.
    expect(steps.every((s, i) => s.value === values[i])).toBe(true);
  });

  it.each([
    [
      'a slowly rising temperature (0.1 °C, noise)',
      (rnd: () => number, i: number): number => round(18 + (4 * i) / (3 * MONOTONE_READINGS) + 0.08 * (rnd() - 0.5) * 2, 0.1),
    ],
    ['a random walk', (() => {
      let x = 100;
      return (rnd: () => number): number => (x += rnd() < 0.5 ? -0.5 : 0.5);
    })()],
    ['a quantised level (a setpoint between 19 and 22)', (rnd: () => number, i: number): number => 19 + (Math.floor(i / 97 + rnd() * 0.2) % 4)],
    ['a ramp from -1 to 1 (MSL T-13)', (_: () => number, i: number): number => -1 + (2 * i) / (3 * MONOTONE_READINGS)],
  ])('never takes %s for a counter', (_, gen) => {
    const rnd = lcg(3);
    const values = Array.from({ length: n }, (__, i) => gen(rnd, i));
    expect(feed(values).first).toBe(-1);
  });

  it('a counter that moves at every reading has no normal holds (its first hold is judged as any stream\'s); one that has held MIN_RISES times has', () => {
    // A process's count: +1 to +3 at every reading, never holding.
    const rnd = lcg(11);
    let c = 1000;
    const busy = Array.from({ length: n }, () => (c += 1 + Math.floor(3 * rnd())));
    const b = feed(busy);
    expect(b.first).toBeGreaterThanOrEqual(0);
    expect(b.steps.slice(b.first).every((s) => s.counter && !s.holds)).toBe(true);
    // The same count, frozen from here: still a counter, and its own freeze never makes its holds normal; once it
    // moves on, the hold it ended (2 MIN_RISES readings) has been seen, and its holds are normal from then.
    const frozen = [...busy, ...Array.from({ length: 2 * MIN_RISES }, () => c), c + 1, c + 2];
    const f = feed(frozen);
    const after = f.steps.slice(busy.length);
    expect(after.every((s) => s.counter)).toBe(true);
    expect(after.findIndex((s) => s.holds)).toBe(2 * MIN_RISES);
    // A meter idling now and then (a hold every 4th reading) has normal holds from its recognition on.
    let m = 0;
    const idle = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? m : (m += 1)));
    const d = feed(idle);
    expect(d.first).toBeGreaterThanOrEqual(0);
    expect(d.steps.slice(d.first).every((s) => s.counter && s.holds)).toBe(true);
  });

  it('needs the counter to move: a long run with fewer than MIN_RISES rises is no counter', () => {
    const values = Array.from({ length: n }, (_, i) => 5 + Math.floor(i / (n / (MIN_RISES - 1))));
    expect(feed(values).first).toBe(-1);
  });

  it('a step back is a reset, once: the total judged goes on by its latest increment and counts on from the new value (tryout 29, finding 3)', () => {
    const values: number[] = [];
    let v = 17_000;
    for (let i = 0; i < MONOTONE_READINGS + 200; i++) values.push((v += 2));
    const top = v;
    values.push(0);
    for (let i = 0; i < 10; i++) values.push(2 * (i + 1));
    const { steps } = feed(values);
    const at = MONOTONE_READINGS + 200;
    expect(steps.filter((s) => s.reset !== null).map((s) => s.reset)).toEqual([{ from: top, to: 0 }]);
    // The reset's own increment is not known: one step of the total at the counter's increment before it (2), not a
    // hold of a counter that never holds (a change of its increments); then the increments the meter sends.
    expect(steps.slice(at).map((s) => s.value)).toEqual([top + 2, ...Array.from({ length: 10 }, (_, i) => top + 2 + 2 * (i + 1))]);
    expect(steps.slice(at).every((s) => s.counter)).toBe(true);
  });

  it('a step back whose first move returns to the old total was a misread: told, then counted on as before it', () => {
    const values: number[] = [];
    let v = 1_000;
    for (let i = 0; i < MONOTONE_READINGS + 200; i++) values.push((v += 3));
    const top = v;
    values.push(0, 0, top + 3, top + 6);
    const { steps } = feed(values);
    expect(steps.filter((s) => s.reset !== null).map((s) => s.reset)).toEqual([{ from: top, to: 0 }]);
    // Judged as a step of its usual increment, a hold, then the real total (never back below what was judged).
    expect(steps.slice(-4).map((s) => s.value)).toEqual([top + 3, top + 3, top + 3, top + 6]);
  });

  it('a step back from an overshoot (a sentinel 2^32 − 1) to the total before it is no reset', () => {
    const values: number[] = [];
    let v = 60_000;
    for (let i = 0; i < MONOTONE_READINGS + 200; i++) values.push((v += 15));
    values.push(4_294_967_295, 4_294_967_295, v + 15, v + 30);
    const { steps } = feed(values);
    expect(steps.every((s) => s.reset === null)).toBe(true);
    expect(steps.slice(-4).map((s) => s.value)).toEqual([4_294_967_295, 4_294_967_295, v + 15, v + 30]);
    expect(steps[steps.length - 1].counter).toBe(true);
  });

  it('a step back of one usual increment, right after a rise of that size, is a rollback: a reset, stated or recognised (tryout 22, finding 4)', () => {
    // A zigbee2mqtt plug's `energy` to 0.01 kWh, one increment back after a power cut (5.39, then 5.38).
    const values: number[] = [];
    for (let i = 0; i < MONOTONE_READINGS + 200; i++) values.push(Math.round(500 + Math.floor(i / 3)) / 100);
    const before = values[values.length - 1];
    const top = Math.round(before * 100 + 1) / 100;
    // A rise of one increment, then back to the total before it.
    values.push(top, before, top);
    const recognised = feed(values).steps;
    const stated = new CounterTrack();
    stated.declare();
    const declared = values.map((v) => stated.observe(v));
    for (const steps of [recognised, declared]) {
      expect(steps.filter((s) => s.reset !== null).map((s) => s.reset)).toEqual([{ from: top, to: before }]);
      // The judged total goes on by one increment at the step back and holds at its next rise, to the old total (the
      // count going on: no second step, and never back).
      expect(steps.slice(-3).map((s) => s.value)).toEqual([top, expect.closeTo(top + 0.01, 9), expect.closeTo(top + 0.01, 9)]);
    }
  });

  it('a counter that goes down twice within a monotone run is a level again', () => {
    const values: number[] = [];
    let v = 0;
    for (let i = 0; i < MONOTONE_READINGS + 100; i++) values.push((v += 1));
    values.push(v - 5, v + 1, v - 10);
    const { steps } = feed(values);
    expect(steps[steps.length - 3].reset).toEqual({ from: v, to: v - 5 });
    const last = steps[steps.length - 1];
    expect(last.counter).toBe(false);
    expect(last.value).toBe(v - 10);
  });

  it('restores from its snapshot to the same readings', () => {
    const a = new CounterTrack();
    let v = 0;
    for (let i = 0; i < MONOTONE_READINGS + 10; i++) a.observe((v += i % 3 === 0 ? 1 : 0));
    a.observe(3);
    const b = CounterTrack.restore(JSON.parse(JSON.stringify(a.snapshot())));
    for (let i = 0; i < 50; i++) {
      const x = 3 + Math.floor(i / 7);
      expect(b.observe(x)).toEqual(a.observe(x));
    }
    expect(() => CounterTrack.restore({ format: 'other' })).toThrow();
  });

  describe('a counter its hub states (declare: Home Assistant total_increasing, a Shelly aenergy.total; tryout 15 #8)', () => {
    /** A declared track fed `values`, every step. */
    const declared = (values: readonly number[]): ReturnType<CounterTrack['observe']>[] => {
      const t = new CounterTrack();
      t.declare();
      return values.map((v) => t.observe(v));
    };
    // A plug's total, Wh: 17,007 and rising by 0 to 2 Wh a reading; reset to 0 (a reboot, a firmware update) at reading 50.
    const plug = (resetAt: number, n: number): number[] => {
      const rnd = lcg(5);
      let total = 17_007;
      return Array.from({ length: n }, (_, i) => {
        if (i === resetAt) total = 0;
        else total += Math.round(rnd() * 2000) / 1000;
        return Math.round(total * 1000) / 1000;
      });
    };

    it('is a counter from its first reading; a reset at reading 50 is one reset, the total counted on from where it was', () => {
      const values = plug(50, 120);
      const steps = declared(values);
      expect(steps.every((s) => s.counter)).toBe(true);
      expect(steps.filter((s) => s.reset !== null).map((s) => s.reset)).toEqual([{ from: values[49], to: 0 }]);
      // Its own increment unknown, the reset's reading is one step at the increment before it.
      expect(steps[50].value).toBeCloseTo(2 * values[49] - values[48], 9);
      // Counted on from the new value: the continued total never goes down.
      for (let i = 1; i < steps.length; i++) expect(steps[i].value).toBeGreaterThanOrEqual(steps[i - 1].value);
      // Undeclared, the same readings are no counter (recognised only after MONOTONE_READINGS readings).
      expect(feed(values).first).toBe(-1);
    });

    it('stays a counter when it goes down again soon (a daily meter cycle, a sparse meter), each decrease a reset', () => {
      const values = [...plug(-1, 40), 0, 1, 2, 3, 0, 1, 2];
      const steps = declared(values);
      expect(steps.every((s) => s.counter)).toBe(true);
      expect(steps.filter((s) => s.reset !== null)).toHaveLength(2);
    });

    it('a declaration after readings makes the stream a counter from its next reading; its snapshot keeps it', () => {
      const t = new CounterTrack();
      for (const v of [10, 11, 12]) expect(t.observe(v).counter).toBe(false);
      t.declare();
      expect(t.observe(13).counter).toBe(true);
      const snap = t.snapshot();
      expect(snap.stated).toBe(true);
      const u = CounterTrack.restore(JSON.parse(JSON.stringify(snap)));
      expect(u.declared).toBe(true);
      expect(u.observe(2).reset).toEqual({ from: 13, to: 2 });
      expect(u.observe(1).counter).toBe(true);
      // An undeclared track's snapshot has no such key (checkpoints of other streams unchanged).
      expect('stated' in new CounterTrack().snapshot()).toBe(false);
    });
  });

  describe("a meter's own cycle (a utility meter's daily reset to 0)", () => {
    const HOUR = 3_600_000;
    const DAY_MS = 24 * HOUR;
    const T0 = Date.UTC(2026, 10, 28, 6); // 06:00 UTC
    /**
     * A declared daily meter read every 5 min for `days` days: it counts up through each day and is reset to 0 at
     * each reset time `resetAt(d)` (ms after T0; heard at the first reading after it, which is that time itself).
     * Returns the steps of its resets, in order.
     */
    function meter(days: number, resetAt: (d: number) => number, drop: (total: number) => number = () => 0): ReturnType<CounterTrack['observe']>[] {
      const t = new CounterTrack();
      t.declare();
      const rnd = lcg(4);
      const times: number[] = [];
      for (let d = 1; d <= days; d++) times.push(resetAt(d));
      let total = 3.2;
      let next = 0;
      const resets: ReturnType<CounterTrack['observe']>[] = [];
      for (let ts = T0; ts < T0 + days * DAY_MS + HOUR; ts += 300_000) {
        if (next < times.length && ts >= T0 + times[next]) {
          total = drop(total);
          next++;
          // Heard at the reset's own time (a utility meter's state changes then), not at the 5-minute grid.
          const step = t.observe(total, T0 + times[next - 1]);
          expect(step.reset).not.toBeNull();
          resets.push(step);
          continue;
        }
        total = Math.round((total + rnd() * 0.05) * 1000) / 1000;
        t.observe(total, ts);
      }
      return resets;
    }
    const midnight = (d: number): number => d * DAY_MS - 6 * HOUR; // 00:00 UTC of day d

    it('resets at local midnight (00:00 UTC+1 = 23:00 UTC) every day: the first two told, from the third on the cycle', () => {
      const resets = meter(5, (d) => midnight(d) - HOUR + 4_000);
      expect(resets.map((r) => r.reset?.cycle === true)).toEqual([false, false, true, true, true]);
      // A cycle's reset still counts on from the new value (the continued total never goes down).
      expect(resets.every((r) => r.counter)).toBe(true);
    });

    it('a daylight-saving change (a 23 h or 25 h day) and a late report within CYCLE_SLACK_MS stay on the cycle', () => {
      const offsets = [0, 0, 0, -HOUR, -HOUR, 0];
      const resets = meter(6, (d) => midnight(d) + offsets[d - 1] + (d === 4 ? CYCLE_SLACK_MS - 1_000 : 30_000));
      expect(resets.map((r) => r.reset?.cycle === true)).toEqual([false, false, true, true, true, true]);
    });

    it('a reset off the quarter hours (a reboot at 14:07) is told, every time, and the cycle starts over after one', () => {
      const at = (d: number): number => (d === 4 ? midnight(d) + 14 * HOUR + 7 * 60_000 : midnight(d) + 10_000);
      expect(meter(6, at).map((r) => r.reset?.cycle === true)).toEqual([false, false, true, false, false, false]);
      // An hourly watchdog loop at :07 is never a cycle, however regular.
      expect(meter(4, (d) => midnight(d) + 7 * 60_000).map((r) => r.reset?.cycle === true)).toEqual([false, false, false, false]);
    });

    it('a step back that keeps most of the total (a power cut\'s rollback) is told even at midnight on the cycle', () => {
      const resets = meter(4, (d) => midnight(d) + 10_000, (total) => (total > 1 ? total * 0.97 : 0));
      expect(resets.map((r) => r.reset?.cycle === true)).toEqual([false, false, false, false]);
    });

    it('irregular intervals (a reset on day 1, 2, then 5) are no cycle; without the reading time, none', () => {
      const days = [1, 2, 5, 6];
      const resets = meter(6, (d) => (d <= 4 ? midnight(days[d - 1]) : midnight(9) + DAY_MS * (d - 5)) + 10_000);
      expect(resets.slice(0, 3).map((r) => r.reset?.cycle === true)).toEqual([false, false, false]);
      const t = new CounterTrack();
      t.declare();
      const seen = [1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0].map((v) => t.observe(v).reset);
      expect(seen.filter((r) => r !== null)).toEqual([1, 2, 3, 4].map(() => ({ from: 3, to: 0 })));
    });

    it('its candidates survive a checkpoint: restored after two resets, the third is the cycle', () => {
      const t = new CounterTrack();
      t.declare();
      const ts = (d: number, h = 0): number => Date.UTC(2026, 10, d, h);
      // Two days of a meter counting up from 0 after each midnight's reset.
      for (const [v, at] of [[6, ts(1, 19)], [7, ts(1, 20)], [0, ts(2)], [3, ts(2, 12)], [4, ts(2, 20)], [0, ts(3)], [2, ts(3, 12)], [5, ts(3, 20)]]) t.observe(v, at);
      const snap = JSON.parse(JSON.stringify(t.snapshot())) as ReturnType<CounterTrack['snapshot']>;
      expect(snap.cycleAt).toEqual([ts(2), ts(3)]);
      const u = CounterTrack.restore(snap);
      expect(u.observe(0, ts(4) + 60_000).reset).toEqual({ from: 5, to: 0, cycle: true });
      // A track with no candidate writes no such key (other streams' checkpoints unchanged).
      expect('cycleAt' in new CounterTrack().snapshot()).toBe(false);
    });
  });
});

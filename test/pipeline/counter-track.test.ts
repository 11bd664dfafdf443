/**
 * The counter stage (src/pipeline/counter.ts): which streams are cumulative counters, from their readings alone,
 * and what it judges one as (its total, continued across resets). A meter's total is recognised; a slowly rising
 * temperature, a random walk, a quantised level and a ramp through zero (MSL's T-13) are not.
 */
import { describe, expect, it } from 'vitest';
import { CounterTrack, MIN_RISES, MONOTONE_READINGS } from '../../src/pipeline/counter.js';
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

  it('a step back is a reset, once: the total judged stays where it was and counts on from the new value', () => {
    const values: number[] = [];
    let v = 17_000;
    for (let i = 0; i < MONOTONE_READINGS + 200; i++) values.push((v += 2));
    const top = v;
    values.push(0);
    for (let i = 0; i < 10; i++) values.push(2 * (i + 1));
    const { steps } = feed(values);
    const at = MONOTONE_READINGS + 200;
    expect(steps.filter((s) => s.reset !== null).map((s) => s.reset)).toEqual([{ from: top, to: 0 }]);
    expect(steps.slice(at).map((s) => s.value)).toEqual([top, ...Array.from({ length: 10 }, (_, i) => top + 2 * (i + 1))]);
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
    expect(steps.slice(-4).map((s) => s.value)).toEqual([top, top, top + 3, top + 6]);
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
      expect(steps[50].value).toBe(values[49]);
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
});

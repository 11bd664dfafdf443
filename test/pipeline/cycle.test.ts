import { describe, expect, it } from 'vitest';
import { COARSE, CycleProfile, MAX_PERIOD } from '../../src/pipeline/cycle.js';
import { normal } from './detector-helpers.js';

describe('CycleProfile: the ring of held readings', () => {
  it('grows by half as readings come and holds the last 2 · MAX_PERIOD in order, across each growth and wrap, filled steps included', () => {
    const z = normal(5);
    const p = new CycleProfile();
    // What a fixed ring of 2 · MAX_PERIOD would hold: every value pushed, the last 2048 of them.
    const all: number[] = [];
    const checks = new Set([1, 2, 63, 64, 65, 96, 97, 144, 145, 320, 1641, 1642, 2047, 2048, 2049, 2600, 5000]);
    for (let i = 1; all.length < 5000; i++) {
      const x = 10 * Math.sin((2 * Math.PI * i) / 40) + z();
      // Every 37th reading comes after two filled steps (holding the value before them).
      const filled = i % 37 === 0 && all.length > 0 ? 2 : 0;
      for (let k = 0; k < filled; k++) all.push(all[all.length - 1]);
      all.push(x);
      p.advance(x, filled, false);
      const n = all.length;
      if (![...checks].some((c) => c <= n && c > n - 1 - filled)) continue;
      const held = Math.min(n, 2 * MAX_PERIOD);
      expect(Array.from(p.readings())).toEqual(all.slice(n - held));
      // Room for at most half as many again as it holds (64 at the first growth), never beyond 2 · MAX_PERIOD.
      if (n >= 2) expect(p.capacity).toBeLessThanOrEqual(Math.max(64, Math.ceil(1.5 * held)));
      expect(p.capacity).toBeLessThanOrEqual(2 * MAX_PERIOD);
      expect(p.capacity).toBeGreaterThanOrEqual(n >= 2 ? held : 0);
    }
    expect(p.period).toBeGreaterThan(0);
  });

  it('a restored profile holds the same readings and expects the same values as the one it was saved from', () => {
    const z = normal(6);
    const a = new CycleProfile();
    for (let i = 0; i < 700; i++) a.advance(5 * Math.sin((2 * Math.PI * i) / 30) + 0.1 * z(), 0, false);
    const b = CycleProfile.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(Array.from(b.readings())).toEqual(Array.from(a.readings()));
    for (let i = 700; i < 1600; i++) {
      expect(b.expected()).toBe(a.expected());
      const x = 5 * Math.sin((2 * Math.PI * i) / 30) + 0.1 * z();
      a.teach(x, 3);
      b.teach(x, 3);
      a.advance(x, 0, false);
      b.advance(x, 0, false);
    }
    expect(b.period).toBe(a.period);
    expect(Array.from(b.readings())).toEqual(Array.from(a.readings()));
  });
});

describe('CycleProfile: readings bunched after a fill give its steps back (tryout 16 finding 6)', () => {
  /** A sine of a period that is no whole number of readings, and a little noise: reading i. */
  const z = normal(8);
  const values = Array.from({ length: 3000 }, (_, i) => 5 * Math.sin((2 * Math.PI * i) / 25.5) + 0.1 * z());

  it('holds every reading in the place it was sent at, and keeps the phase, as if no stall had been', () => {
    const plain = new CycleProfile();
    const stalled = new CycleProfile();
    // Stalls of the receiver: the m readings from `at` reach it together at the stall's end (the cadence fills m - 1
    // steps before the first and marks the others bunched, Placement.bunched). No bunch spans an estimate (every 512).
    const stalls = new Map(Array.from({ length: 10 }, (_, j) => [100 + 300 * j, 2 + (j % 4)]));
    for (let i = 0; i < values.length; i++) {
      plain.advance(values[i], 0, false);
      const m = stalls.get(i);
      if (m === undefined) {
        stalled.advance(values[i], 0, false);
        continue;
      }
      stalled.advance(values[i], m - 1, false);
      for (let j = 1; j < m; j++) {
        stalled.advance(values[i + j], 0, false, j);
        plain.advance(values[i + j], 0, false);
      }
      i += m - 1;
    }
    expect(plain.period).toBeGreaterThan(25);
    expect(stalled.period).toBe(plain.period);
    expect(Array.from(stalled.readings())).toEqual(Array.from(plain.readings()));
    expect(stalled.expected()).toBe(plain.expected());
  });

  it('expects a bunched reading at the latest held reading’s place', () => {
    const p = new CycleProfile();
    for (let i = 0; i < 1000; i++) p.advance(values[i], 0, false);
    expect(p.period).toBeGreaterThan(25);
    const latest = p.expected();
    p.advance(values[1000], 0, false);
    expect(p.expectedBunched()).toBeCloseTo(latest, 9);
    expect(p.expected()).not.toBeCloseTo(latest, 3);
  });

  it('a bunched reading whose fill is no longer held (the ring cleared since) is a step of its own', () => {
    const p = new CycleProfile();
    for (let i = 0; i < 100; i++) p.advance(values[i], 0, false);
    p.advance(values[100], 3, false);
    p.clear();
    p.advance(values[101], 0, false, 1);
    p.advance(values[102], 0, false, 2);
    expect(Array.from(p.readings())).toEqual([values[101], values[102]]);
  });
});

describe('CycleProfile: a cycle longer than MAX_PERIOD readings, found on block means', () => {
  /** 20 + 3 sin(2π k / P) + N(0, 0.1) for n readings, taught and advanced as the scorer does; the residuals of the last period. */
  function run(P: number, n: number, seed: number, p = new CycleProfile()): { p: CycleProfile; residuals: number[]; foundAt: number } {
    const z = normal(seed);
    const residuals: number[] = [];
    let foundAt = -1;
    for (let i = 0; i < n; i++) {
      const x = 20 + 3 * Math.sin((2 * Math.PI * i) / P) + 0.1 * z();
      if (i >= n - P) residuals.push(x - p.expected());
      p.teach(x, 0.3);
      p.advance(x, 0, false);
      if (foundAt < 0 && p.period > 0) foundAt = i;
    }
    return { p, residuals, foundAt };
  }
  const rms = (a: number[]): number => Math.sqrt(a.reduce((s, e) => s + e * e, 0) / a.length);

  // A day read every 30 s and every 10 s (2,880 and 8,640 readings), and a week every 20 s (30,240: the second coarser level).
  for (const P of [2880, 8640, 30240]) {
    it(`finds a period of ${P} readings once two of them are held, and the profile expects each reading within its noise`, () => {
      const { p, residuals, foundAt } = run(P, 4 * P, P);
      expect(foundAt).toBeGreaterThan(0);
      // Found from about two periods of block means, at the first estimate after they are held: a coarse level
      // estimates every 128 of its block means (2,048 readings at the first, 32,768 at the second).
      const level = P / COARSE <= 1024 ? 1 : 2;
      expect(foundAt).toBeLessThan(2 * P + 128 * COARSE ** level + COARSE ** 2);
      expect(Math.abs(p.period - P) / P).toBeLessThan(0.01);
      // Against the profile the residual is the noise (sd 0.1), not the cycle (amplitude 3).
      expect(residuals.every((e) => Number.isFinite(e))).toBe(true);
      expect(rms(residuals)).toBeLessThan(0.15);
    });
  }

  it('a cycle the finest level finds is its period, not a coarser one', () => {
    const { p } = run(400, 40_000, 3);
    // The finest level's own period (the snapshot's), to its own precision.
    expect(p.toJSON().period).toBe(p.period);
    expect(Math.abs(p.period - 400)).toBeLessThan(2);
    // No coarser level is kept beside it (memory).
    expect(p.toJSON().coarse).toBeUndefined();
  });

  it('a gap forgets the coarser levels with the rest, and counts the lost cycle', () => {
    const { p } = run(2880, 8000, 4);
    expect(p.period).toBeGreaterThan(0);
    const before = p.cycles;
    p.clear();
    expect(p.period).toBe(0);
    expect(Number.isNaN(p.expected())).toBe(true);
    expect(p.cycles).toBe(before + 1);
    expect(p.toJSON().coarse).toBeUndefined();
  });

  it('a restored profile with coarser levels expects the same values as the one it was saved from, and a snapshot without them makes them from its full ring', () => {
    const P = 2880;
    const { p: a } = run(P, 7000, 5);
    expect(a.period).toBeGreaterThan(0);
    const state = JSON.parse(JSON.stringify(a.toJSON())) as ReturnType<CycleProfile['toJSON']>;
    expect(state.coarse).toBeDefined();
    const b = CycleProfile.fromJSON(state);
    const z = normal(55);
    for (let i = 7000; i < 12_000; i++) {
      expect(b.expected()).toBe(a.expected());
      const x = 20 + 3 * Math.sin((2 * Math.PI * i) / P) + 0.1 * z();
      a.teach(x, 0.3);
      b.teach(x, 0.3);
      a.advance(x, 0, false);
      b.advance(x, 0, false);
    }
    expect(b.period).toBe(a.period);
    expect(JSON.stringify(b.toJSON())).toBe(JSON.stringify(a.toJSON()));
    // A snapshot written before the coarser levels existed (a full ring, no coarse): they are made from its ring.
    const { coarse: _c, blockSum: _s, blockN: _n, ...old } = state;
    const c = CycleProfile.fromJSON(old);
    expect(c.toJSON().coarse).toBeDefined();
    expect(() => CycleProfile.fromJSON({ ...state, blockN: COARSE })).toThrow(/blockN/);
  });
});

describe('CycleProfile: a choice the rounding alone would make', () => {
  // A noise-free cycle held exactly twice: its biased autocorrelation at the period is (n − P) / n = 0.5 = ACCEPT_R in
  // exact arithmetic, so whether it was accepted hung on the last bits of a sum of products, which the direct sums and
  // the FFT round differently (of the cases below, the direct sums refused six sines and the square of 100, the FFT's
  // four sines and five squares: 0.49999999999999994 or 0.5000000000000002 for 0.5). Equal within rounding is equal:
  // accepted, either way.
  for (const kind of ['sine', 'square'] as const) {
    for (const P of [64, 100, 256, 300, 512, 1000, 1024]) {
      it(`a noise-free ${kind} of ${P} readings held exactly twice is accepted at the end of a learning period`, () => {
        const p = new CycleProfile();
        for (let i = 0; i < 2 * P; i++) {
          const x = kind === 'sine' ? 5 * Math.sin((2 * Math.PI * i) / P) : i % P < 0.3 * P ? 8 : 0;
          // Frozen: no scheduled estimate; the held readings' estimate is warmStart's.
          p.advance(x, 0, true);
        }
        expect(p.warmStart()).not.toBeNull();
        expect(Math.abs(p.period - P)).toBeLessThanOrEqual(1);
      });
    }
  }
});

describe('CycleProfile.unreturned: a step judged against the held readings the same lag apart', () => {
  /** A profile holding `count` readings of a slow ramp (0.01 a reading) with noise of 0.05. */
  function ramp(count: number): { p: CycleProfile; last: number } {
    const z = normal(11);
    const p = new CycleProfile();
    let x = 0;
    for (let i = 0; i < count; i++) {
      x = 0.01 * i + 0.05 * z();
      p.advance(x, 0, false);
    }
    return { p, last: 0.01 * (count - 1) };
  }

  it('a step of +2 that lasts is still off, one back to the ramp is not, and a step down is judged downwards', () => {
    const { p, last } = ramp(1000);
    const up = 2;
    // The onset and 9 more readings held (an open episode's owners go on into the ring), the 11th judged.
    for (let i = 1; i <= 10; i++) p.advance(last + 0.01 * i + up, 0, true);
    expect(p.unreturned(last + 0.11 + up, 11, 31, 256)).toBe(true);
    // Back on the ramp: the mean of the last 11 is back too.
    const back = new CycleProfile();
    const r = ramp(1000);
    back.advance(r.last + 0.01 + up, 0, true);
    for (let i = 2; i <= 30; i++) back.advance(r.last + 0.01 * i, 0, true);
    expect(r.p.unreturned(0, 1, 31, 256)).toBe(false);
    expect(back.unreturned(r.last + 0.31, 31, 31, 256)).toBe(false);
    const down = ramp(1000);
    for (let i = 1; i <= 10; i++) down.p.advance(down.last + 0.01 * i - up, 0, true);
    expect(down.p.unreturned(down.last + 0.11 - up, 11, 31, 256)).toBe(true);
  });

  it("judges an episode's readings as they came (`came`), not as the ring holds them (the profile's expectation)", () => {
    // A falling ramp; the episode's readings are held as a profile expected them, 0.5 below the readings (a stream
    // that wandered above its profile), as the scorer holds an open episode's own readings.
    const z = normal(13);
    const p = new CycleProfile();
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      last = -0.01 * i;
      p.advance(last + 0.05 * z(), 0, false);
    }
    const came: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const x = last - 0.01 * i + (i === 1 ? 6 : 0);
      came.push(x);
      if (i < 20) p.advance(last - 0.01 * i - 0.5, 0, true);
    }
    // From the ring: an onset 0.5 below the reading before it, a "step down" the +6 spike never made, still off.
    expect(p.unreturned(came[19], 20, 31, 256)).toBe(true);
    // As they came: a spike, back on the ramp at once.
    expect(p.unreturned(came[19], 20, 31, 256, came)).toBe(false);
  });

  it('a spike whose next reading is back on the course holds nothing, though the course then climbs faster than before; a step that lasts still holds', () => {
    const judge = (spike: boolean): boolean => {
      const { p, last } = ramp(1000);
      const came: number[] = [];
      // Readings climbing three times the ramp's slope after the onset (a stream's wander on a cycle's rise).
      for (let i = 1; i <= 40; i++) {
        const x = last + 0.03 * i + (spike ? (i === 1 ? 6 : 0) : 2);
        came.push(x);
        if (i < 40) p.advance(last, 0, true);
      }
      const kept = [...came.slice(0, 3), ...came.slice(40 - 31)];
      return p.unreturned(came[39], 40, 31, 256, kept);
    };
    expect(judge(true)).toBe(false);
    expect(judge(false)).toBe(true);
  });

  it('says nothing without a learning period of pairs before the onset, nor once the cycle itself has moved as far over the lag', () => {
    const { p, last } = ramp(200);
    for (let i = 1; i <= 10; i++) p.advance(last + 0.01 * i + 2, 0, true);
    expect(p.unreturned(last + 0.11 + 2, 11, 31, 256)).toBe(false);
    // A cycle of 400 readings (amplitude 3), +0.5 from a rising phase: off at first; 100 readings on the cycle itself
    // has risen 3 from there, and normal operation rose as much as 4.2 over 100 readings (at other phases).
    const z = normal(12);
    const sine = (i: number): number => 3 * Math.sin((2 * Math.PI * i) / 400);
    const c = new CycleProfile();
    for (let i = 0; i < 1600; i++) c.advance(sine(i) + 0.05 * z(), 0, false);
    for (let i = 1600; i < 1605; i++) c.advance(sine(i) + 0.5, 0, true);
    expect(c.unreturned(sine(1605) + 0.5, 6, 31, 256)).toBe(true);
    for (let i = 1605; i < 1700; i++) c.advance(sine(i) + 0.5, 0, true);
    expect(c.unreturned(sine(1700) + 0.5, 101, 31, 256)).toBe(false);
  });

  it("an earlier episode's readings (a spike larger than the step) are no normal operation, also after a snapshot (tryout 26, finding 1)", () => {
    /** The ramp with a +6 spike at reading 500, held as an open episode's (its next readings too) or, `normal`, as a normal one. */
    function spiked(normal_: boolean): { p: CycleProfile; last: number } {
      const z = normal(11);
      const p = new CycleProfile();
      let last = 0;
      for (let i = 0; i < 1000; i++) {
        last = 0.01 * i;
        const spike = i === 500 ? 6 : 0;
        p.advance(last + 0.05 * z() + spike, 0, !normal_ && i >= 500 && i < 516);
      }
      return { p, last };
    }
    const judged = (r: { p: CycleProfile; last: number }): boolean => {
      for (let i = 1; i <= 10; i++) r.p.advance(r.last + 0.01 * i + 2, 0, true);
      return r.p.unreturned(r.last + 0.11 + 2, 11, 31, 256);
    };
    // The spike's +6 change, had it been normal operation, is larger than the +2 step: no step.
    expect(judged(spiked(true))).toBe(false);
    // An episode's own, it is no yardstick: the step is still off.
    expect(judged(spiked(false))).toBe(true);
    const restored = spiked(false);
    const again = CycleProfile.fromJSON(JSON.parse(JSON.stringify(restored.p.toJSON())));
    expect(judged({ p: again, last: restored.last })).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { Cadence } from '../../src/pipeline/cadence.js';

const T0 = Date.UTC(2026, 10, 30);

function placeAll(c: Cadence, times: readonly number[]): ReturnType<Cadence['place']>[] {
  return times.map((t) => c.place(t));
}

describe('Cadence', () => {
  it('learns the interval as the median gap, whatever the scale, and places a regular stream step by step', () => {
    for (const interval of [1000, 60_000, 300_000, 3_600_000]) {
      const c = new Cadence({ intervalMs: 0, resetAfter: 8 });
      const out = placeAll(c, Array.from({ length: 40 }, (_, i) => T0 + i * interval));
      expect(out[0]).toMatchObject({ reset: true, filled: 0, duplicate: false });
      // The stream's first reading starts it: no silence before it.
      expect(out[0].missed).toBeUndefined();
      expect(out.slice(1).every((p) => !p.reset && p.filled === 0 && !p.duplicate)).toBe(true);
      expect(c.intervalMs).toBe(interval);
    }
  });

  it('absorbs jitter, late and early readings: 300 s with up to 1.5 s of lateness is still one step each', () => {
    const c = new Cadence({ intervalMs: 0, resetAfter: 8 });
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const times = Array.from({ length: 500 }, (_, i) => T0 + i * 300_000 + rand() * 1500);
    const out = placeAll(c, times);
    expect(out.filter((p) => p.filled > 0 || p.reset).length).toBe(1); // the first reading only
    expect(Math.abs(c.intervalMs - 300_000)).toBeLessThan(1500);
  });

  it('fills a missed reading or two by holding, and resets after a silence longer than resetAfter intervals', () => {
    const c = new Cadence({ intervalMs: 0, resetAfter: 4 });
    const t = (k: number): number => T0 + k * 1000;
    // A regular stream first: its interval is the median of its last 31 gaps, which a few silences do not move.
    placeAll(c, Array.from({ length: 30 }, (_, k) => t(k)));
    expect(c.place(t(31))).toMatchObject({ filled: 1, reset: false });
    expect(c.place(t(34))).toMatchObject({ filled: 2, reset: false });
    expect(c.place(t(39))).toMatchObject({ filled: 4, reset: false });
    // The gap's missed steps are reported (the scorer judges the silence), counted in intervals.
    expect(c.place(t(45))).toMatchObject({ filled: 0, reset: true, missed: 5 });
    expect(c.intervalMs).toBe(1000);
  });

  it('restart (a new recording): the next reading is placed as a first one, whenever it comes; the interval is kept, the time between not learnt', () => {
    const c = new Cadence({ intervalMs: 0, resetAfter: 4 });
    const t = (k: number): number => T0 + k * 1000;
    placeAll(c, Array.from({ length: 30 }, (_, k) => t(k)));
    const gaps = (): number[] => c.toJSON().gaps as number[];
    // One interval later: a new segment, nothing filled, no silence.
    c.restart();
    const next = c.place(t(30));
    expect(next).toEqual({ filled: 0, reset: true, duplicate: false, intervalMs: 1000 });
    expect(c.place(t(31))).toMatchObject({ filled: 0, reset: false });
    // An hour later: the same, and the hour is not one of its gaps.
    c.restart();
    expect(c.place(t(3631))).toEqual({ filled: 0, reset: true, duplicate: false, intervalMs: 1000 });
    expect(gaps().every((g) => g === 1000)).toBe(true);
    expect(c.intervalMs).toBe(1000);
  });

  it('tells duplicates (the same time stamp, or an older one) from steps', () => {
    const c = new Cadence({ intervalMs: 1000, resetAfter: 4 });
    c.place(T0);
    c.place(T0 + 1000);
    expect(c.place(T0 + 1000).duplicate).toBe(true);
    expect(c.place(T0 + 500).duplicate).toBe(true);
    expect(c.place(T0 + 2000)).toMatchObject({ duplicate: false, filled: 0 });
  });

  it('a report-on-change sensor (a change report now and then, a heartbeat every 50 min) is no gap', () => {
    const c = new Cadence({ intervalMs: 0, resetAfter: 64 });
    const times: number[] = [];
    let t = T0;
    for (let i = 0; i < 300; i++) {
      t += i % 5 === 4 ? 7 * 60_000 : 50 * 60_000;
      times.push(t);
    }
    const out = placeAll(c, times);
    expect(out.slice(1).some((p) => p.reset)).toBe(false);
  });

  it('round-trips through JSON and goes on exactly as before', () => {
    const a = new Cadence({ intervalMs: 0, resetAfter: 4 });
    const times = [0, 1000, 2010, 2990, 5000, 6000, 6000, 9000, 20_000, 21_000].map((x) => T0 + x);
    placeAll(a, times.slice(0, 5));
    const b = Cadence.fromJSON(JSON.parse(JSON.stringify(a.toJSON())), { intervalMs: 0, resetAfter: 4 });
    expect(placeAll(b, times.slice(5))).toEqual(placeAll(a, times.slice(5)));
  });

  it('refuses a malformed state and bad options', () => {
    expect(() => Cadence.fromJSON({ format: 'x' }, { intervalMs: 0, resetAfter: 4 })).toThrow(/format/);
    expect(() => Cadence.fromJSON({ format: 'anomalyd-cadence/1', lastTs: null, gaps: [-1], next: 0, interval: 0 }, { intervalMs: 0, resetAfter: 4 })).toThrow(/gaps/);
    expect(() => new Cadence({ intervalMs: -1, resetAfter: 4 })).toThrow(RangeError);
    expect(() => new Cadence({ intervalMs: 0, resetAfter: 1.5 })).toThrow(RangeError);
  });
});

describe('Cadence: readings bunched after a stall (tryout 16 finding 6)', () => {
  /** Steps as the cycle's phase counts them: a reading and the steps filled before it, none for a bunched reading (which gives a filled step back). */
  const cycleSteps = (p: ReturnType<Cadence['place']>): number => (p.duplicate || p.bunched !== undefined ? 0 : 1 + p.filled);

  it('a stall then its readings bunched on arrival: each is a step of its own, and they give the filled steps back, at any rate', () => {
    for (const interval of [200, 1000, 60_000]) {
      const c = new Cadence({ intervalMs: 0, resetAfter: 64 });
      const t = (k: number): number => T0 + k * interval;
      const out = placeAll(c, Array.from({ length: 40 }, (_, k) => t(k)));
      // The readings due at 40 .. 43 are sent during a stall of the receiver that ends at 43.7 intervals and are
      // stamped on arrival then, a millisecond apart; the stream goes on at its pace from 44.
      const end = t(43.7);
      const bunch = placeAll(c, [end, end + 1, end + 2, end + 3, t(44), t(45)]);
      out.push(...bunch, ...placeAll(c, Array.from({ length: 14 }, (_, j) => t(46 + j))));
      // The first fills the stall (round(4.7) - 1 = 4 steps); the 3 after it give 3 back, and the one at 44, 0.3
      // intervals later, the last (the count was 0.3 ahead of the time): each with the readings since the fill.
      expect(bunch.map((p) => [p.filled, p.bunched])).toEqual([[4, undefined], [0, 1], [0, 2], [0, 3], [0, 4], [0, undefined]]);
      // Every reading is a step for the model (none a duplicate, no reset but the first); the cycle's steps are the
      // time passed / interval.
      expect(out.map((p, i) => p.duplicate || p.reset !== (i === 0)).some(Boolean)).toBe(false);
      expect(out.reduce((n, p) => n + cycleSteps(p), 0)).toBe(60);
      expect(c.intervalMs).toBe(interval);
    }
  });

  it('a stall every few readings: the bunched readings’ gaps are not learnt as the interval, and the steps stay level with the time', () => {
    for (const interval of [200, 60_000]) {
      const c = new Cadence({ intervalMs: 0, resetAfter: 64 });
      const t = (k: number): number => T0 + k * interval;
      const times: number[] = [];
      for (let k = 0; k < 30; k++) times.push(t(k));
      // From reading 30, in every 12: four at their time, then a stall over the next eight, which arrive stamped at
      // 11.6 intervals from the start of the twelve, a millisecond apart. Most gaps are then a millisecond.
      for (let k = 30; k < 630; k += 12) {
        times.push(t(k), t(k + 1), t(k + 2), t(k + 3));
        for (let j = 0; j < 8; j++) times.push(t(k + 11.6) + j);
      }
      times.push(t(630));
      const out = placeAll(c, times);
      expect(out.filter((p) => p.reset).length).toBe(1);
      expect(out.reduce((n, p) => n + cycleSteps(p), 0)).toBe(631);
      expect(c.intervalMs).toBe(interval);
    }
  });

  it('a loan round-trips through JSON; a state without one (written before it existed) has none', () => {
    const a = new Cadence({ intervalMs: 0, resetAfter: 64 });
    const t = (k: number): number => T0 + k * 1000;
    placeAll(a, Array.from({ length: 40 }, (_, k) => t(k)));
    placeAll(a, [t(43.7), t(43.7) + 1]);
    const state = JSON.parse(JSON.stringify(a.toJSON())) as Record<string, unknown>;
    expect(state.loan).toEqual({ lent: 3, ahead: expect.any(Number) as number, since: 2 });
    const b = Cadence.fromJSON(state, { intervalMs: 0, resetAfter: 64 });
    const rest = [t(43.7) + 2, t(43.7) + 3, t(44), t(45)];
    expect(placeAll(b, rest)).toEqual(placeAll(a, rest));
    const { loan: _loan, ...older } = state;
    expect(placeAll(Cadence.fromJSON(older, { intervalMs: 0, resetAfter: 64 }), rest).map((p) => p.bunched)).toEqual([undefined, undefined, undefined, undefined]);
    expect(() => Cadence.fromJSON({ ...state, loan: { lent: 0, ahead: 0, since: 1 } }, { intervalMs: 0, resetAfter: 64 })).toThrow(/loan/);
  });
});

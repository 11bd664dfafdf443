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

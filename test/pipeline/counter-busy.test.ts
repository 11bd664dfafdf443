/**
 * A counter that does not rest (src/pipeline/counter.ts CounterStep.busy; tryout 40, finding 5): a counter whose
 * increments come in runs with rests between, counting without a rest far longer than every busy run it ended. A rest
 * is REST_PERIODS report periods without an increment: the silence of a meter that reports on change, the holds of
 * one read at a fixed period (whose silence is an outage, no rest); a run is counted in time, so a slow leak is told
 * as soon as a fast one; a run judged busy is not taught; a counter that never rests is never judged.
 */
import { describe, expect, it } from 'vitest';
import { BUSY_FLOOR, BUSY_TIMES, CounterTrack, MIN_BUSY_RUNS, REST_PERIODS, type CounterBusy } from '../../src/pipeline/counter.js';
import { lcg } from '../helpers/lcg.js';
import { WATER_SEND_MS, busyRuns, waterMeter } from '../helpers/water-meter.js';

const T0 = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;
const H = 3_600_000;
const REST_MS = REST_PERIODS * WATER_SEND_MS;

/** Each reading's busy mark, by the counter stage fed `rows` in order. */
function busyMarks(rows: readonly (readonly [number, number])[], track = new CounterTrack()): (CounterBusy | null)[] {
  return rows.map(([t, v]) => track.observe(v, t).busy);
}

/** The total every `stepMs` from `from` to `to` (a meter read at a fixed period), from a report-on-change meter's rows. */
function polled(rows: readonly (readonly [number, number])[], from: number, to: number, stepMs: number): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  let total = rows[0][1];
  for (let t = from; t < to; t += stepMs) {
    while (i < rows.length && rows[i][0] <= t) total = rows[i++][1];
    out.push([t, total]);
  }
  return out;
}

/** Leaks from 23:00 to 06:00 of `nights` (days from T0) after 12 days of use, at `perMin`; the rows to 12:00 after the last. */
function leakNights(perMin: number, nights: readonly number[]): [number, number][] {
  const last = nights[nights.length - 1];
  return waterMeter({ seed: 3, t0: T0, days: last + 2, until: T0 + (last + 1) * DAY + 12 * H, leaks: nights.map((n) => ({ start: T0 + n * DAY + 23 * H, end: T0 + (n + 1) * DAY + 6 * H, perMin })) }).rows;
}

describe('CounterTrack.busy: a counter that does not rest', () => {
  it('a meter that reports on change: a leak all night is marked once it outlasts the bound, since its first increment, what it counted, never before', () => {
    for (const perMin of [0.5, 3]) {
      const rows = leakNights(perMin, [12]);
      const start = T0 + 12 * DAY + 23 * H;
      const before = rows.filter(([t]) => t < start);
      const runs = busyRuns(before, REST_MS);
      expect(runs.length).toBeGreaterThanOrEqual(MIN_BUSY_RUNS);
      const longest = Math.max(...runs.map(([a, b]) => b - a));
      const marks = busyMarks(rows);
      const firstLeak = rows.findIndex(([t]) => t >= start);
      const at = marks.findIndex((m) => m !== null);
      expect(at).toBeGreaterThan(firstLeak);
      const m = marks[at]!;
      expect(m.since).toBe(rows[firstLeak][0]);
      // Beyond the bound (the rest measured at the meter's pace, within a bin of the gaps' histogram), within one reading of it.
      const bound = Math.max(BUSY_TIMES * m.longestMs, BUSY_FLOOR * (m.restMs / REST_PERIODS));
      expect(m.ms).toBeGreaterThan(bound);
      expect(rows[at - 1][0] - m.since).toBeLessThanOrEqual(bound);
      expect(m.longestMs).toBeLessThanOrEqual(longest);
      expect(m.longestMs).toBeGreaterThan(longest / 2);
      expect(m.restMs).toBeGreaterThan(0.9 * REST_MS);
      expect(m.restMs).toBeLessThan(1.1 * REST_MS);
      expect(m.rise).toBe(rows[at][1] - rows[firstLeak - 1][1]);
      // Marked at every reading of the leak from there on; at none after it.
      const end = T0 + 13 * DAY + 6 * H;
      for (let i = at; i < rows.length; i++) expect(marks[i] !== null, new Date(rows[i][0]).toISOString()).toBe(rows[i][0] < end);
    }
  });

  it('a run judged busy is not taught: the next night\'s leak is marked as soon as the first', () => {
    const rows = leakNights(1, [12, 13]);
    const marks = busyMarks(rows);
    const onset = (night: number): CounterBusy => {
      const start = T0 + night * DAY + 23 * H;
      const i = rows.findIndex(([t], k) => t >= start && marks[k] !== null);
      return marks[i]!;
    };
    const [a, b] = [onset(12), onset(13)];
    expect(b.longestMs).toBe(a.longestMs);
    expect(Math.abs(b.ms - a.ms)).toBeLessThanOrEqual(2 * 60_000);
  });

  it('a meter read every 10 s rests in its holds, not in its silence: an outage inside the leak does not end its run', () => {
    const reported = leakNights(0.5, [12]);
    const rows = polled(reported, T0, reported[reported.length - 1][0] + 1, WATER_SEND_MS);
    // A reader down from 00:30 to 01:30 in the leak's night: no readings at all.
    const down = [T0 + 13 * DAY + 0.5 * H, T0 + 13 * DAY + 1.5 * H];
    const feed = rows.filter(([t]) => t < down[0] || t >= down[1]);
    const marks = busyMarks(feed);
    const i = marks.findIndex((m) => m !== null);
    expect(i).toBeGreaterThan(0);
    expect(marks[i]!.since).toBeLessThan(down[0]);
    // The same meter reporting on change: the hour's silence is a rest, and its run starts again after it.
    const roc = reported.filter(([t]) => t < down[0] || t >= down[1]);
    const rocMarks = busyMarks(roc);
    const j = rocMarks.findIndex((m) => m !== null);
    expect(j === -1 || rocMarks[j]!.since >= down[1]).toBe(true);
  });

  it('a counter that never rests (an energy total rising at every reading for 10 days) is never marked', () => {
    const u = lcg(11);
    const rows: [number, number][] = [];
    let total = 812.5;
    for (let k = 0; k < (10 * DAY) / 10_000; k++) {
      total = Math.round((total + 0.001 + 0.004 * u()) * 1000) / 1000;
      rows.push([T0 + k * 10_000, total]);
    }
    expect(busyMarks(rows).every((m) => m === null)).toBe(true);
  });

  it('restored from its snapshot in the middle of the leak, it marks the rest of it as the stage that went on', () => {
    const rows = leakNights(0.5, [12]);
    const cut = rows.findIndex(([t]) => t >= T0 + 13 * DAY + 2 * H);
    const track = new CounterTrack();
    const whole = busyMarks(rows, track);
    const early = new CounterTrack();
    busyMarks(rows.slice(0, cut), early);
    const restored = CounterTrack.restore(JSON.parse(JSON.stringify(early.snapshot())));
    expect(busyMarks(rows.slice(cut), restored)).toEqual(whole.slice(cut));
    expect(whole.slice(cut).some((m) => m !== null)).toBe(true);
  });
});

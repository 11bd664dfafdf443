/**
 * A counter's frozen total (src/pipeline/counter.ts CounterStep.frozen; tryout 40, finding 4): a counter whose holds
 * are normal holding its value far longer than every idle it ended, counted in readings (the same at any sampling
 * rate), once it has ended MIN_IDLES idles and a day of readings came before the hold; a counter whose idles are
 * long makes its own bound long; a hold judged frozen is not taught as an idle.
 */
import { describe, expect, it } from 'vitest';
import { CounterTrack, FROZEN_FLOOR, FROZEN_SEEN_MS, FROZEN_TIMES, MIN_IDLES, MONOTONE_READINGS } from '../../src/pipeline/counter.js';
import { lcg } from '../helpers/lcg.js';

/**
 * A meter's total every `intervalMs`: it counts at most readings and idles now and then for 1..`maxIdle` readings
 * (`maxIdle` itself at least once), for `n` readings; returns [ts, value] and the longest idle in readings.
 */
function meter(seed: number, intervalMs: number, n: number, maxIdle: number): { rows: [number, number][]; longest: number } {
  const u = lcg(seed);
  const t0 = Date.UTC(2026, 10, 1);
  let total = 4123.886;
  let idle = 0;
  let longest = 0;
  const rows: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    if (idle > 0) idle--;
    else {
      total = Math.round((total + 0.01 + 0.04 * u()) * 1000) / 1000;
      if (u() < 0.15) {
        idle = k === 500 ? maxIdle : 1 + Math.floor(u() * maxIdle);
        longest = Math.max(longest, idle);
      }
    }
    rows.push([t0 + k * intervalMs, total]);
  }
  // An idle still going on at the end is not one that ended.
  return { rows, longest: idle > 0 ? longestEnded(rows) : longest };
}

/** The longest run of readings equal to the one before that a rise ended. */
function longestEnded(rows: readonly (readonly [number, number])[]): number {
  let run = 0;
  let longest = 0;
  for (let i = 1; i < rows.length; i++) {
    if (rows[i][1] === rows[i - 1][1]) run++;
    else {
      longest = Math.max(longest, run);
      run = 0;
    }
  }
  return longest;
}

/** Feeds `rows` to a new track; the steps. */
function feed(t: CounterTrack, rows: readonly (readonly [number, number])[]): ReturnType<CounterTrack['observe']>[] {
  return rows.map(([ts, v]) => t.observe(v, ts));
}

/** `rows` followed by `hold` readings of its last value, then `after` readings counting on, at the same interval. */
function frozen(rows: readonly (readonly [number, number])[], intervalMs: number, hold: number, after: number): [number, number][] {
  const out = rows.map(([ts, v]) => [ts, v] as [number, number]);
  let [ts, v] = out[out.length - 1];
  // A rise first, so the hold starts at a reading of its own.
  v = Math.round((v + 0.02) * 1000) / 1000;
  ts += intervalMs;
  out.push([ts, v]);
  for (let k = 0; k < hold; k++) out.push([(ts += intervalMs), v]);
  for (let k = 0; k < after; k++) out.push([(ts += intervalMs), (v = Math.round((v + 0.02) * 1000) / 1000)]);
  return out;
}

describe('CounterTrack: a frozen total', () => {
  for (const [label, intervalMs] of [
    ['10 s', 10_000],
    ['5 min', 300_000],
    ['1 h', 3_600_000],
  ] as const) {
    it(`at ${label}: marked from the first reading beyond FROZEN_TIMES × the longest idle (or FROZEN_FLOOR), its start and the longest idle told`, () => {
      const n = Math.max(MONOTONE_READINGS + 200, Math.ceil(FROZEN_SEEN_MS / intervalMs) + 200);
      const { rows } = meter(11, intervalMs, n, 5);
      const longest = longestEnded(rows);
      expect(longest).toBe(5);
      const hold = 144;
      const all = frozen(rows, intervalMs, hold, 10);
      const t = new CounterTrack();
      const steps = feed(t, all);
      const start = rows.length; // the rise that begins the hold
      const bound = Math.max(FROZEN_TIMES * longest, FROZEN_FLOOR);
      const marked = steps.map((s, i) => (s.frozen !== null ? i : -1)).filter((i) => i >= 0);
      // Marked at every reading of the hold beyond the bound, and nowhere else.
      expect(marked[0]).toBe(start + bound + 1);
      expect(marked).toHaveLength(hold - bound);
      const first = steps[marked[0]].frozen;
      expect(first).toEqual({ since: all[start][0], readings: bound + 1, longest, longestMs: longest * intervalMs });
    });
  }

  it('nothing before MIN_IDLES idles ended, nor before a day of readings came before the hold, nor without the readings’ times', () => {
    const intervalMs = 300_000;
    // A meter that counts at every reading but for MIN_IDLES − 1 idles: its holds are not yet judged.
    const few: [number, number][] = [];
    let v = 100;
    const t0 = Date.UTC(2026, 10, 1);
    for (let k = 0; k < 2 * MONOTONE_READINGS; k++) {
      const idle = k % 40 >= 30 && Math.floor(k / 40) < MIN_IDLES - 1;
      if (!idle) v = Math.round((v + 0.02) * 1000) / 1000;
      few.push([t0 + k * intervalMs, v]);
    }
    const t1 = new CounterTrack();
    expect(feed(t1, frozen(few, intervalMs, 200, 1)).some((s) => s.frozen !== null)).toBe(false);
    // Enough idles, but less than a day of readings before the hold (10 s readings: 1,500 readings are 4 h).
    const { rows } = meter(12, 10_000, MONOTONE_READINGS + 500, 5);
    const t2 = new CounterTrack();
    expect(feed(t2, frozen(rows, 10_000, 200, 1)).some((s) => s.frozen !== null)).toBe(false);
    // Without the readings' times.
    const day = meter(13, intervalMs, 3 * MONOTONE_READINGS, 5).rows;
    const t3 = new CounterTrack();
    expect(frozen(day, intervalMs, 200, 1).map(([, x]) => t3.observe(x)).some((s) => s.frozen !== null)).toBe(false);
  });

  it('a counter whose idles are long (a water meter idle all night, polled every minute) makes its own bound long: its nights are not frozen', () => {
    const u = lcg(21);
    const t0 = Date.UTC(2026, 10, 1, 6);
    let v = 125_000;
    const rows: [number, number][] = [];
    for (let k = 0; k < 14 * 1440; k++) {
      const ts = t0 + k * 60_000;
      const hour = new Date(ts).getUTCHours();
      // Night (22:00-06:00, its end varied by day): no water; day: a draw now and then.
      const night = hour >= 22 || hour < 5 + (Math.floor(k / 1440) % 3);
      if (!night && u() < 0.08) v += 1 + Math.floor(u() * 10);
      rows.push([ts, v]);
    }
    const t = new CounterTrack();
    const steps = feed(t, rows);
    expect(steps[steps.length - 1].counter).toBe(true);
    expect(steps.some((s) => s.frozen !== null)).toBe(false);
  });

  it('a hold judged frozen is not taught as an idle: the next freeze of the same length is marked again; the snapshot keeps the idles', () => {
    const intervalMs = 300_000;
    const { rows } = meter(14, intervalMs, 400 + Math.ceil(FROZEN_SEEN_MS / intervalMs) + MONOTONE_READINGS, 5);
    const once = frozen(rows, intervalMs, 100, 50);
    const twice = frozen(once, intervalMs, 100, 5);
    const t = new CounterTrack();
    const first = feed(t, once);
    const copy = CounterTrack.restore(JSON.parse(JSON.stringify(t.snapshot())));
    const rest = twice.slice(once.length);
    const a = feed(t, rest);
    const b = feed(copy, rest);
    expect(first.some((s) => s.frozen !== null)).toBe(true);
    expect(a.filter((s) => s.frozen !== null).length).toBe(100 - Math.max(FROZEN_TIMES * 5, FROZEN_FLOOR));
    expect(b).toEqual(a);
  });
});

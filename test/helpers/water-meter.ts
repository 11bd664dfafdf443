/**
 * A household's water meter as Home Assistant's statestream sends it (tryout 40's `water_meter_total`): its total in
 * litres, sent only when it changed, at most every 10 s, so nothing at night. Its uses: a shower every morning near
 * 06:45 (6 to 12 min at 8 L/min), 6 to 13 taps, toilets and kitchen uses a day between 07:00 and 22:00 (30 s to 3 min
 * at 4 to 9 L/min), a washing machine on half of the days (1 h at 1 L/min), and with `hose` a garden hose on about
 * every third evening (1 to 2 h at 10 L/min, from 17:00 to 19:00). Each of `leaks` adds its rate from its start to its
 * end (a toilet's valve, a tap left running). Seeded (test/helpers/lcg.ts): the same rows on every platform.
 */
import { lcg } from './lcg.js';

/** Every how often the meter may send (ms): statestream's throttle in the tryout. */
export const WATER_SEND_MS = 10_000;

/** One use of water: from `start` (epoch ms) for `ms`, at `perMin` litres a minute. */
export interface WaterUse {
  readonly start: number;
  readonly ms: number;
  readonly perMin: number;
}

export interface WaterMeterOptions {
  readonly seed: number;
  /** Midnight (UTC) of the first day, epoch ms. */
  readonly t0: number;
  /** Days of use; the rows end at `until` when given (epoch ms), else after the last day. */
  readonly days: number;
  readonly until?: number;
  /** A garden hose of 1 to 2 h on about every third evening. */
  readonly hose?: boolean;
  /** Leaks: each from `start` to `end` (epoch ms) at `perMin` litres a minute on top of every use. */
  readonly leaks?: readonly { readonly start: number; readonly end: number; readonly perMin: number }[];
}

/**
 * The meter's rows ([epoch ms, total L], only when it changed, at most every WATER_SEND_MS) and its uses (the leaks not
 * among them), in order.
 */
export function waterMeter(o: WaterMeterOptions): { rows: [number, number][]; uses: WaterUse[] } {
  const u = lcg(o.seed);
  const H = 3_600_000;
  const uses: WaterUse[] = [];
  for (let d = 0; d < o.days; d++) {
    const day = o.t0 + d * 86_400_000;
    uses.push({ start: day + Math.round((6.45 + 0.3 * u()) * H), ms: Math.round((6 + 6 * u()) * 60_000), perMin: 8 });
    const taps = 6 + Math.floor(u() * 8);
    for (let k = 0; k < taps; k++) uses.push({ start: day + Math.round((7 + 15 * u()) * H), ms: Math.round((30 + 150 * u()) * 1000), perMin: 4 + 5 * u() });
    if (u() < 0.5) uses.push({ start: day + Math.round((9 + 9 * u()) * H), ms: H, perMin: 1 });
    if (o.hose === true && u() < 0.35) uses.push({ start: day + Math.round((17 + 2 * u()) * H), ms: Math.round((1 + u()) * H), perMin: 10 });
  }
  uses.sort((a, b) => a.start - b.start);
  const end = o.until ?? o.t0 + o.days * 86_400_000;
  const rows: [number, number][] = [];
  let total = 123_456;
  let pending = 0;
  let first = 0;
  for (let t = o.t0; t < end; t += WATER_SEND_MS) {
    let perMin = 0;
    while (first < uses.length && uses[first].start + uses[first].ms <= t) first++;
    for (let i = first; i < uses.length && uses[i].start <= t; i++) if (t < uses[i].start + uses[i].ms) perMin += uses[i].perMin;
    for (const leak of o.leaks ?? []) if (leak.start <= t && t < leak.end) perMin += leak.perMin;
    pending += (perMin * WATER_SEND_MS) / 60_000;
    if (pending >= 1) {
      const step = Math.floor(pending);
      total += step;
      pending -= step;
      rows.push([t, total]);
    }
  }
  return { rows, uses };
}

/**
 * A counter's busy runs as src/pipeline/counter.ts counts them for a meter that reports on change: its increments with
 * no rest (`restMs` or longer without one, its silence or its holds) between, each [first increment's time, last increment's time] (epoch ms), from rows [epoch ms, total].
 */
export function busyRuns(rows: readonly (readonly [number, number])[], restMs: number): [number, number][] {
  const runs: [number, number][] = [];
  let since = Number.NaN;
  let last = Number.NaN;
  for (let i = 1; i < rows.length; i++) {
    if (!(rows[i][1] > rows[i - 1][1])) continue;
    const t = rows[i][0];
    if (Number.isNaN(since)) since = t;
    else if (t - last >= restMs) {
      runs.push([since, last]);
      since = t;
    }
    last = t;
  }
  if (!Number.isNaN(since)) runs.push([since, last]);
  return runs;
}

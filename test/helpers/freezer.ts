/**
 * Tryout 40's no-frost freezer (/work/notes/tryout40/gen.py, cold_box): a compressor saw-tooth between −20 and −16 °C
 * (off 35 min warming, on 25 min cooling), a door opened now and then in the day (+0.3 to +1.0 °C), and a defrost
 * heater every 8 h (± 10 min) for 20 min (+0.012 °C/s while the compressor goes on cycling: peaks near −5 °C), sampled
 * every 10 s. Sent as zigbee2mqtt sends it (report-on-change: rounded to 0.1 °C, a change of at least 0.1 °C no sooner
 * than 10 s after the last report, or a 5 min heartbeat), or every `everyMs` (the value then, rounded). The recurring
 * normal bump of test/replay/recurring-visit.test.ts.
 */
import { lcg } from './lcg.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

export interface FreezerOptions {
  readonly seed: number;
  /** The first sample, epoch ms. */
  readonly start: number;
  /** How long, ms. */
  readonly spanMs: number;
  /** The defrost heater every 8 h (default true). */
  readonly defrost?: boolean;
  /** Sent every this many ms (the value then) instead of on change (default: on change). */
  readonly everyMs?: number;
  /**
   * A fault at time `t` (epoch ms) given the freezer's temperature then (°C): the value read instead (a glitch to a
   * sentinel), or null for none. Applied to the reading only (the freezer goes on as before).
   */
  readonly reading?: (t: number, temp: number) => number | null;
  /** A warming at time `t` (°C per 10 s sample, added to the freezer's own temperature: a door left ajar), or 0. */
  readonly warm?: (t: number) => number;
}

/** The defrosts' starts (epoch ms) of a freezer made with `o` (freezer's own draw, so the same seed gives the same). */
export interface Freezer {
  /** Rows [epoch ms, °C], in order. */
  readonly rows: [number, number][];
  /** Each defrost's start and end (epoch ms). */
  readonly defrosts: [number, number][];
}

/** Tryout 40's freezer, seeded (see the module's comment). */
export function freezer(o: FreezerOptions): Freezer {
  const rnd = lcg(o.seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const dt = 10 * SEC;
  const lo = -20;
  const hi = -16;
  const warmRate = (hi - lo) / (35 * 60);
  const coolRate = (hi - lo) / (25 * 60);
  let T = lo + 1;
  let on = false;
  let nextDefrost = o.start + 8 * HOUR;
  const defrosts: [number, number][] = [];
  const series: [number, number][] = [];
  for (let t = o.start; t < o.start + o.spanMs; t += dt) {
    if (on) {
      T -= coolRate * 10;
      if (T <= lo + 0.05 * gauss()) on = false;
    } else {
      T += warmRate * 10 * (1 + 0.1 * gauss());
      if (T >= hi + 0.05 * gauss()) on = true;
    }
    const h = (t % (24 * HOUR)) / HOUR;
    if (h > 7 && h < 22 && rnd() < 10 / 5400) T += 0.3 + 0.7 * rnd();
    T += o.warm?.(t) ?? 0;
    if (o.defrost !== false && t >= nextDefrost) {
      if (t < nextDefrost + 20 * MIN) T += 0.012 * 10;
      else {
        defrosts.push([nextDefrost, nextDefrost + 20 * MIN]);
        nextDefrost += 8 * HOUR + Math.round(10 * MIN * gauss());
        on = true;
      }
    }
    const temp = T + 0.02 * gauss();
    series.push([t, o.reading?.(t, temp) ?? temp]);
  }
  return { rows: o.everyMs === undefined ? onChange(series) : every(series, o.everyMs), defrosts };
}

/** zigbee2mqtt's report-on-change: rounded to 0.1, sent on a change of at least 0.1 no sooner than 10 s after the last, or after 5 min. */
function onChange(series: readonly [number, number][]): [number, number][] {
  const rows: [number, number][] = [];
  let last = Number.NaN;
  let lastT = -Infinity;
  for (const [t, v] of series) {
    const r = Math.round(v * 10) / 10;
    if (Number.isNaN(last) || (Math.abs(r - last) >= 0.1 - 1e-9 && t - lastT >= 10 * SEC) || t - lastT >= 5 * MIN) {
      rows.push([t, r]);
      last = r;
      lastT = t;
    }
  }
  return rows;
}

/** The value every `everyMs` (rounded to 0.1). */
function every(series: readonly [number, number][], everyMs: number): [number, number][] {
  return series.filter(([t]) => (t - series[0][0]) % everyMs === 0).map(([t, v]) => [t, Math.round(v * 10) / 10]);
}

/**
 * A workshop motor's pair of streams (tryout 39, finding 2; /work/notes/tryout39/gen.py's process): `motor_current`
 * every 2 s, a duty cycle (runs 5–20 min at ~8 A, off 5–15 min at ~0.05 A), and `bearing_temp` every 10 s, which
 * follows the motor with a first-order lag (τ 8 min, toward 38 °C on, 22 °C off), rounded as a sensor does. The fault:
 * the motor held off for `faultMs` while the temperature rises by 9 °C over it, added to the cooling (from the fault's
 * start to its end, then gone at once, as gen.py's). `slow` stretches every time by that factor (30: the current every
 * 1 min, the temperature every 5 min, runs 2.5–10 h, τ 4 h): the same process counted in readings.
 */
import { lcg } from './lcg.js';

export interface PairRow {
  readonly stream: 'motor_current' | 'bearing_temp';
  /** Epoch ms. */
  readonly ts: number;
  readonly value: number;
}

export interface PairOptions {
  /** Epoch ms of the first reading. */
  readonly start: number;
  /** Length, ms. */
  readonly durationMs: number;
  /** Time factor (1: 2 s / 10 s; 30: 1 min / 5 min). */
  readonly slow: number;
  /** Seed of the noise and the dwells. */
  readonly seed: number;
  /** The fault's start (epoch ms) and length (ms); none when absent. */
  readonly faultAt?: number;
  readonly faultMs?: number;
}

/** The pair's readings, in time order (the current's first at equal times). */
export function workshopPair(o: PairOptions): PairRow[] {
  const rnd = lcg(o.seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const step = 1000 * o.slow;
  const n = Math.floor(o.durationMs / step);
  const out: PairRow[] = [];
  let on = false;
  let left = 0;
  let x = 30;
  const a = 1 / (8 * 60);
  const faultEnd = (o.faultAt ?? 0) + (o.faultMs ?? 0);
  for (let j = 0; j < n; j++) {
    const ts = o.start + j * step;
    if (left <= 0) {
      on = !on;
      left = Math.round((on ? 5 + 15 * rnd() : 5 + 10 * rnd()) * 60);
    }
    left--;
    const inFault = o.faultAt !== undefined && ts >= o.faultAt && ts < faultEnd;
    const running = on && !inFault;
    x += a * ((running ? 38 : 22) - x);
    if (j % 2 === 0) {
      const cur = running ? 8 + 0.12 * gauss() : 0.05 + 0.024 * gauss();
      out.push({ stream: 'motor_current', ts, value: Math.round(cur * 100) / 100 });
    }
    if (j % 10 === 0) {
      const rise = inFault && o.faultAt !== undefined && o.faultMs !== undefined ? (9 * (ts - o.faultAt)) / o.faultMs : 0;
      out.push({ stream: 'bearing_temp', ts, value: Math.round((x + rise + 0.05 * gauss()) * 100) / 100 });
    }
  }
  return out;
}

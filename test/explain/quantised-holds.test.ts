/**
 * How long a quantised slow signal stays on one value, judged against how long it normally does, through the
 * detector the daemon runs (the shipped configuration and the shipped GRU model, on this thread) and the
 * SignalBook that explains its episodes, at 10 s, 60 s and 300 s a reading (issue 10: "a signal that stops moving
 * when it is normally noisy, a value stuck at a sentinel … are anomalies even when the reconstruction error is
 * small").
 *
 * Tryout on slow, quantised sensors (this session), finding 1 (not fixed: a known limit, below): a thermostat's
 * room temperature, reported with 0.5 °C resolution (it sits on one value for several readings, then steps by 0.5),
 * frozen at one value for 6 hours, was never told: `stuck` stayed near 2. Finding 2: a daily cycle reported with 0.1 °C resolution, whose noise is
 * below its step (it flickers by one step where its level crosses one and holds a value in between), opened a false
 * `stuck` episode for an ordinary hold: the hold began after a flicker, so it was judged by the model of a busy
 * state's runs (each repeat of a noisy value another unlikely event), which had learnt only the flickers.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 0, 5);
const DAY = 86_400;

/** Standard normal numbers from an LCG (any fixed stream will do). */
function gauss(seed: number): () => number {
  let s = seed;
  const u = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return (s + 1) / 0x80000001;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

interface Room {
  /** °C around which the day's cycle turns. */
  readonly mid: number;
  /** °C, the day's cycle's amplitude (a sine of period `period` s). */
  readonly amp: number;
  readonly period: number;
  /** °C, the standard deviation of the room's wander (an Ornstein-Uhlenbeck process of time constant `tau` s; 0: white sensor noise). */
  readonly sd: number;
  readonly tau: number;
  /** °C, the resolution it is reported with. */
  readonly res: number;
}

/**
 * Readings `stepS` s apart for `lengthS` s of a room (`Room`), rounded to its resolution; from `fromS` s on, for
 * `lenS` s, the sensor repeats its last reading before `fromS` (a freeze; lenS 0: none).
 */
function room(r: Room, seed: number, stepS: number, lengthS: number, fromS = 0, lenS = 0): number[] {
  const g = gauss(seed);
  const a = r.tau > 0 ? Math.exp(-stepS / r.tau) : 0;
  const out: number[] = [];
  let x = 0;
  for (let k = 0; k < Math.round(lengthS / stepS); k++) {
    const t = k * stepS;
    x = a * x + r.sd * Math.sqrt(1 - a * a) * g();
    const v = Number((Math.round((r.mid + r.amp * Math.sin((2 * Math.PI * t) / r.period) + x) / r.res) * r.res).toFixed(3));
    out.push(lenS > 0 && t >= fromS && t < fromS + lenS ? out[Math.ceil(fromS / stepS) - 1] : v);
  }
  return out;
}

/** Every event (explained) of the stream `values`, `stepS` s apart, fed as the daemon does. */
async function events(values: readonly number[], stepS: number): Promise<Explained[]> {
  const { det, book } = await shippedDetector();
  const out: Explained[] = [];
  await feedExplained(
    det,
    book,
    'room',
    'sensors/room',
    values.map((value, i) => ({ ts: T0 + i * stepS * 1000, value })),
    out,
  );
  return out;
}

/** The readings' index of an event's start. */
const at = (x: Explained, stepS: number): number => Math.round((x.ev.startTs - T0) / (stepS * 1000));

const told = (all: readonly Explained[]): string => all.map((x) => `${x.ev.kind} ${x.e?.kind ?? '?'}: ${x.e?.sentence ?? ''}`).join(' | ');

describe.skipIf(!builtAndModelsPresent())('a quantised slow signal: how long it stays on one value, against how long it normally does', () => {
  // A thermostat's room: a day's cycle of ±0.6 °C, a wander of 0.2 °C with a 10-minute time constant, sent to 0.5 °C.
  const thermostat: Room = { mid: 21, amp: 0.6, period: DAY, sd: 0.2, tau: 600, res: 0.5 };
  // KNOWN LIMIT, not fixed (it.fails: these fail on main and on this branch; make them `it` once they pass). The
  // stream's holds (median 3 readings at 60 s, 1 in 10 longer than 20, the longest 63) are judged against the
  // run-length tail, a GPD of shape >= 0 fitted to ln(1 + run): heavier than any power law of the run, it calls the
  // 6-hour freeze (360 readings) only about 10^-2 rare at 60 s, a 24-hour one less than 10^-3 at 10 s, and at 300 s the
  // history (256 ended runs) is not ready within 2 days, so nothing judges it (BENCHMARKS.md, "Quantised holds").
  for (const stepS of [10, 60, 300]) {
    it.fails(`at ${stepS} s a reading: a thermostat at 0.5 °C frozen for 6 hours opens a stuck value within it, and no stuck value before (finding 1)`, async () => {
      const days = stepS === 10 ? 1 : 2;
      for (const seed of [1, 2]) {
        const fromS = days * DAY + 10 * 3600;
        const lenS = 6 * 3600;
        const values = room(thermostat, seed, stepS, fromS + lenS + 3 * 3600, fromS, lenS);
        const all = await events(values, stepS);
        const from = Math.ceil(fromS / stepS);
        const what = `seed ${seed}: ${told(all)}`;
        // No stuck value before the freeze (the stream's own holds are ordinary).
        expect(all.filter((x) => at(x, stepS) < from - 1 && x.e?.kind === 'stuck'), what).toEqual([]);
        // The freeze opens a stuck value while it lasts.
        const opened = all.filter((x) => x.ev.kind === 'open' && x.e?.kind === 'stuck' && x.ev.startTs >= T0 + (from - 200) * stepS * 1000);
        expect(opened.length, what).toBeGreaterThan(0);
        const openedAt = Math.round((opened[0].ev.endTs - T0) / (stepS * 1000));
        expect(openedAt, what).toBeLessThan(from + Math.round(lenS / stepS));
      }
    }, 300_000);
  }

  // A day's cycle of ±0.3 °C with 0.03 °C of sensor noise, sent to 0.1 °C: it flickers by one step where its level
  // crosses one, and holds a value in between (longest near the cycle's top and bottom).
  const cycle: Room = { mid: 21.3, amp: 0.3, period: 75_398, sd: 0.03, tau: 0, res: 0.1 };
  for (const stepS of [10, 60, 300]) {
    it(`at ${stepS} s a reading: a quantised day's cycle whose noise is below its step opens no stuck value for its holds (finding 2)`, async () => {
      const lengthS = stepS === 10 ? DAY : 2 * DAY;
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const all = await events(room(cycle, seed, stepS, lengthS), stepS);
        expect(all.filter((x) => x.e?.kind === 'stuck'), `seed ${seed}: ${told(all)}`).toEqual([]);
      }
    }, 300_000);
  }
});

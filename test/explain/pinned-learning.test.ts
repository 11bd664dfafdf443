/**
 * A sensor that dies in its learning period (its first score.learnReadings readings: 256, so 21 h at 5 min, 10.7 days
 * at 1 h) and sends one value from then on, far off everything it had shown, is a stuck value at that value from its
 * third reading, at every cadence, as after its learning period (README: "from its third reading"); through the
 * detector the daemon runs (the shipped configuration and GRU model, on this thread) and the SignalBook that explains
 * its episodes, by the daemon's alert rules (feedAlerts).
 *
 * Session 29, branch deadbat (a new user's tryout, its files lost): a 5-minute battery sensor at 20 °C whose battery died
 * in its first day sent 0.0 from then on and was told stuck at its 7th 0.0 reading. Reproduced: nothing is judged in a
 * learning period, so a death 6 readings before its end was told at its end (the 7th), one up to 25 readings before at
 * its end, and one earlier never (its run lasted a short mean in learning: taught as how the stream holds a value). At
 * 10 s the first day is mostly past learning (43 min), which is why a fast sensor's death was told at its third.
 *
 * And no false alarm in learning: a stream that holds values (an idle plug at 0 W switched to a flat 1800 W load, a
 * setpoint that steps) and a noisy stream that never freezes open nothing there.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/train/rng.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedAlerts, shippedDetector, type Sent } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 11, 1);
const CADENCES: readonly (readonly [string, number])[] = [
  ['10 s', 10_000],
  ['1 min', 60_000],
  ['5 min', 300_000],
  ['15 min', 900_000],
  ['1 h', 3_600_000],
];

/** `n` readings every `stepMs` of 20 ± 0.05 (2 decimals; mulberry32 through Box–Muller), `value` from reading `at` on. */
function dying(stepMs: number, n: number, at: number, value: number, seed: number): { ts: number; value: number }[] {
  const u = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const g = Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u());
    return { ts: T0 + i * stepMs, value: i >= at ? value : Number((20 + 0.05 * g).toFixed(2)) };
  });
}

/** Every alert the daemon would send for `readings`, with the index of the reading each came with. */
async function alertsOf(readings: readonly { ts: number; value: number }[]): Promise<{ s: Sent; at: number }[]> {
  const { det, book } = await shippedDetector();
  let n = 0;
  const record = book.record.bind(book);
  book.record = (r) => {
    n++;
    record(r);
  };
  const out: { s: Sent; at: number }[] = [];
  const sent: Sent[] = [];
  const push = sent.push.bind(sent);
  sent.push = (...xs: Sent[]): number => {
    for (const s of xs) out.push({ s, at: n - 1 });
    return push(...xs);
  };
  await feedAlerts(det, book, 's', 'sensors/s', readings, sent);
  return out;
}

describe.skipIf(!builtAndModelsPresent())('a sentinel pinned far off in the learning period is a stuck value from its third reading', () => {
  it('0, −127, 85 and 65535 from reading 100 or 250 of a 20 °C sensor (learning: 256), at 10 s to 1 h: its first alert, at the third reading, tells stuck at that value since the first', async () => {
    const wrong: string[] = [];
    let seed = 0;
    for (const [cadence, step] of CADENCES) {
      for (const value of [0, -127, 85, 65535]) {
        for (const at of [100, 250]) {
          const alerts = await alertsOf(dying(step, at + 20, at, value, ++seed));
          const first = alerts[0];
          const got = first === undefined ? 'nothing' : `reading ${first.at - at + 1}: ${first.s.ev.kind} ${first.s.e?.kind ?? '-'} ${first.s.e?.value} since ${first.s.ev.startTs - T0 - at * step} ms: ${first.s.e?.sentence}`;
          if (!got.startsWith(`reading 3: open stuck ${value} since 0 ms`)) wrong.push(`${cadence} ${value} from ${at}: ${got}`);
          // It stays one episode, told stuck at that value, to the end.
          for (const { s } of alerts.slice(1)) {
            if (s.ev.anomalyId !== first?.s.ev.anomalyId || s.e?.kind !== 'stuck' || s.e.value !== value) wrong.push(`${cadence} ${value} from ${at}: later ${s.ev.kind} ${s.e?.kind ?? '-'} ${s.e?.sentence}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 600_000);

  it('a stream that holds values in learning opens nothing there: an idle plug at 0 W switched to a flat 1800 W, a setpoint stepped from 20 to 21; nor does a noisy one', async () => {
    const wrong: string[] = [];
    for (const [cadence, step] of CADENCES) {
      // A plug idle at 0 W for 100 readings, then a flat 1800 W load for 30, then idle again, all in learning.
      const plug = Array.from({ length: 200 }, (_, i) => ({ ts: T0 + i * step, value: i >= 100 && i < 130 ? 1800 : 0 }));
      // A setpoint held at 20.0, stepped to 21.0 at reading 120.
      const setpoint = Array.from({ length: 200 }, (_, i) => ({ ts: T0 + i * step, value: i >= 120 ? 21 : 20 }));
      // 20 ± 0.05 through its learning period and beyond, never frozen.
      const noisy = dying(step, 250, 250, 0, 99);
      for (const [name, readings] of [['plug', plug], ['setpoint', setpoint], ['noisy', noisy]] as const) {
        const alerts = await alertsOf(readings);
        if (alerts.length > 0) wrong.push(`${cadence} ${name}: ${alerts.map(({ s, at }) => `${at} ${s.ev.kind} ${s.e?.sentence}`).join(' | ')}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 600_000);
});

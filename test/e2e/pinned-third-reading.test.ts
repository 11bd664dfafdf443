/**
 * A battery sensor whose battery died sends one value from then on, far off its normal (0.0 from a room at 20 °C, a
 * DS18B20's −127.00 or 85.0, a failed read's 65535): the daemon tells it a stuck value at that value from its third
 * reading, at every cadence, also where no wall-clock retelling falls between its readings (README: "A value pinned far
 * off its normal for 3 readings or more … is a stuck value at that value, from its third reading").
 *
 * Session 29, branch deadbat (a new user's tryout, its files lost: a 5-minute battery sensor at 20 °C whose battery
 * died sent 0.0 from then on, told stuck at its 7th 0.0). Reproduced: past its learning period, the detector's
 * explanation tells the run at its third reading at 10 s, 1 min, 5 min, 15 min and 1 h (test/explain/pinned-value.test.ts,
 * feedAlerts: a retelling after every reading); the daemon retold an open episode in data time only at its 4th reading
 * and each doubling (Daemon.retellByReadings), else every 10 s of wall time, so readings that came faster than that
 * (a hub flushing a sleepy sensor's readings, a replayed day, a tryout's publisher) were told stuck at their 4th. Now
 * the data-time retelling comes at the 3rd reading too. (The 7th itself: a death 6 readings before the end of the
 * learning period, told at its end: BENCHMARKS.md, branch deadbat.)
 *
 * The daemon in-process with the embedded broker, a real MQTT client, a real SQLite file and the shipped GRU, its
 * clock injected (the readings' own times): 300 readings of 20 ± 0.05 °C (2 decimals), sent in batches, then the
 * sentinel one message a reading (a sensor sends one per interval), the next sent as soon as the one before is scored.
 */
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { mulberry32 } from '../../src/train/rng.js';
import { builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { tempDataDir, useCleanups, virtualRun } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();

/** The normal readings before the battery dies: past the shipped learning period (256 readings). */
const BEFORE = 300;
const CADENCES: readonly (readonly [string, number])[] = [
  ['10 s', 10_000],
  ['1 min', 60_000],
  ['5 min', 300_000],
  ['15 min', 900_000],
  ['1 h', 3_600_000],
];
/** The values the dead sensor sends, as its payload writes them (`0` and `0.0` both), and the value each is. */
const SENTINELS: readonly (readonly [string, number])[] = [
  ['0', 0],
  ['0.0', 0],
  ['-127.00', -127],
  ['85.0', 85],
  ['65535', 65535],
];

/** 20 ± 0.05 °C, 2 decimals (mulberry32 through Box–Muller, seeded). */
function room(n: number, seed: number): number[] {
  const u = mulberry32(seed);
  return Array.from({ length: n }, () => Number((20 + 0.05 * Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u())).toFixed(2)));
}

describe.skipIf(!builtAndModelsPresent())('a sentinel pinned far off its normal is told stuck at its third reading by the daemon, at every cadence', () => {
  it('0, 0.0, −127.00, 85.0 and 65535 after 300 readings of 20 °C, at 10 s, 1 min, 5 min, 15 min and 1 h: the first alert telling a kind tells stuck at that value, unchanged for two intervals', async () => {
    const wrong: string[] = [];
    let k = 0;
    for (const [cadence, step] of CADENCES) {
      for (const [payload, value] of SENTINELS) {
        k++;
        const dataDir = tempDataDir('anomalyd-pinned-third-', cleanups);
        const t0 = Math.floor(Date.now() / step) * step - (BEFORE + 10) * step;
        let now = t0;
        const alerts: AlertPayload[] = [];
        const run = await virtualRun(inProcessConfig(dataDir), () => now, `pinned-third-${k}`, alerts, cleanups);
        const normal = room(BEFORE, k);
        for (let i = 0; i < BEFORE; i += 100) {
          const chunk = normal.slice(i, i + 100);
          now = t0 + (i + chunk.length - 1) * step;
          await run.hub.publishAsync('sensors/bat', JSON.stringify({ values: chunk, ts: t0 + i * step, interval_ms: step }), { qos: 1 });
        }
        await waitFor(() => run.daemon.counters.scored >= BEFORE, 60_000, 'the normal readings scored');
        // The dead sensor's readings, one message each, each sent once the one before is scored (`send`).
        for (let i = BEFORE; i < BEFORE + 6; i++) {
          now = t0 + i * step;
          await run.send('sensors/bat', `{"value": ${payload}, "ts": ${now}}`);
        }
        const tellsKind = (a: AlertPayload): boolean => (a.explanation?.kind ?? null) !== null;
        await waitFor(() => alerts.some(tellsKind), 10_000, 'an alert telling a kind');
        const told = alerts.find(tellsKind);
        const got = told === undefined ? 'none' : `${told.event} ${told.explanation?.kind} ${told.explanation?.value} after ${told.explanation?.duration_ms} ms: ${told.explanation?.sentence}`;
        const want = `update stuck ${value} after ${2 * step} ms`;
        if (!got.startsWith(want)) wrong.push(`${cadence} ${payload}: ${got}`);
        // The episode opened at the sentinel's first reading.
        const open = alerts.find((a) => a.event === 'open');
        if (open === undefined || Date.parse(open.start) !== t0 + BEFORE * step) wrong.push(`${cadence} ${payload}: opened ${open?.start ?? 'never'} not ${new Date(t0 + BEFORE * step).toISOString()} ${JSON.stringify(alerts.map((a) => [a.event, a.start, a.explanation?.since, a.explanation?.sentence]))}`);
        await run.stop();
      }
    }
    expect(wrong).toEqual([]);
  }, 600_000);
});

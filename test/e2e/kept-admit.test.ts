/**
 * The readings a stop kept pass a live reading's rules when a start gives them back (src/pipeline/kept.ts, admitKept;
 * tryout 37, finding 1): the daemon in-process (its embedded broker, a virtual clock, a real SQLite file, the shipped
 * model) is fed a sensor and stopped; its database is then damaged by hand, a kept row of that sensor holding an item 3
 * years ahead of the clock, one at ts 1, a missing value, an infinite one, two values for its one channel and one after
 * the newest time its checkpoint took in. Before (main ea5dc73d), the future item was scored and moved the sensor's
 * latest reading 3 years ahead, after which every live reading was scored but its lastTs and value never moved; the
 * missing value went into its state. Now each is counted under its reason (counters.keptRejected, one warn line),
 * none is scored, and the sensor's next live reading moves its lastTs and is scored. The row's one good item (a reading
 * at the sensor's newest time) is given back and scored, and the series of its minute is in the file when its row is
 * gone (finding 2), read by another connection as a start after a kill -9 would.
 */
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DB_FILE, SqliteStore } from '../../src/adapters/sqlite-store.js';
import type { ScoredReading } from '../../src/contract/types.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { capturingLogger, inProcessDaemon, scoringHub, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();
const READINGS = 80;
const EVERY = 1_000;

/** The daemon's GET /api/sensors entry of `sensor`. */
async function sensorView(daemon: Daemon, sensor: string): Promise<{ sensor: string; lastTs: number | null } | undefined> {
  const res = await fetch(`${daemon.httpUrl!}/api/sensors`);
  const body = (await res.json()) as { sensors: { sensor: string; lastTs: number | null }[] };
  return body.sensors.find((s) => s.sensor === sensor);
}

describe.skipIf(!builtAndModelsPresent())('kept readings given back pass the live rules (in-process daemon, real SQLite file)', () => {
  it("a damaged kept row's items are counted by reason, none scored, and the sensor stays live", async () => {
    const dataDir = tempDataDir('anomalyd-kept-admit-', cleanups);
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const overrides = { http: { enabled: true, port: 0 }, store: { commitIntervalMs: 0 } } as const;
    const first = await inProcessDaemon({ dataDir, brokerUrl: null, clock, cleanups, overrides });
    const hub = await scoringHub(first.daemon, first.url, `kept-admit-hub-${process.pid}`, cleanups);
    for (let i = 0; i < READINGS; i++) {
      await hub.send('sensors/room', JSON.stringify({ ts: now, value: Math.round((21 + Math.sin(i / 7)) * 100) / 100 }));
      now += EVERY;
    }
    const last = now - EVERY;
    await hub.hub.endAsync(true);
    expect(await first.daemon.stop()).toBe(true);

    // The damage: a kept row of `room` no stop writes.
    const item = (ts: number, values: readonly (number | null | string)[]): Record<string, unknown> => ({ kind: 'reading', ts, values, reset: false, filled: 0 });
    const items = [
      // A reading of its own at the sensor's newest time (within the checkpoint's bounds): given back and scored.
      item(last, [21.7]),
      item(now + 3 * 365 * 86_400_000, [21]),
      item(1, [21]),
      item(last, [null]),
      item(last, ['inf']),
      item(last, [21, 22]),
      item(last + 500, [21]),
    ];
    const store = SqliteStore.open(join(dataDir, DB_FILE), { commitIntervalMs: 0, outboxMax: 100, logger: pino({ level: 'silent' }) });
    store.replaceKeptReadings([{ stream: 'room', items: JSON.stringify({ format: 'anomalyd-kept/1', channels: ['value'], items }), readings: items.length, keptAt: now }]);
    const minute = Math.floor(last / 60_000) * 60_000;
    const storedMinute = (): number => {
      // Another connection to the file: what a start after a kill -9 at this point would find.
      const other = SqliteStore.open(join(dataDir, DB_FILE), { commitIntervalMs: 0, outboxMax: 100, logger: pino({ level: 'silent' }) });
      try {
        return other.readSeriesBuckets('room', 1, minute, minute)[0]?.count ?? 0;
      } finally {
        other.close();
      }
    };
    const before = store.readSeriesBuckets('room', 1, minute, minute)[0]?.count ?? 0;
    expect(before).toBeGreaterThan(0);
    store.close();

    const scored: ScoredReading[] = [];
    const log = capturingLogger();
    const second = await inProcessDaemon({ dataDir, brokerUrl: null, clock, cleanups, overrides, logger: log.logger, onReading: (r) => scored.push(r) });
    const { daemon } = second;
    expect({ rejected: daemon.counters.keptRejected, given: daemon.counters.keptFromStop, lost: daemon.counters.keptLost }).toEqual({ rejected: 6, given: 1, lost: 0 });
    const warned = log.lines.filter((l) => l.msg.includes('readings kept at the last stop were not given back'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ rejected: 6, byReason: { future_timestamp: 1, out_of_order: 1, missing_value: 1, non_finite: 1, channels: 1, past_checkpoint: 1 } });
    // The one given back is scored; its row goes with the sensor's next checkpoint, and its minute's series with it
    // (tryout 37, finding 2: the series were written up to a minute later, so a kill -9 in between never showed it).
    await waitFor(() => scored.length >= 1 && daemon.database!.loadKeptReadings().length === 0, 30_000, 'the kept row deleted with its checkpoint');
    expect(scored.map((r) => [r.ts - last, r.values[0]])).toEqual([[0, 21.7]]);
    expect(storedMinute()).toBe(before + 1);
    expect((await sensorView(daemon, 'room'))?.lastTs).toBe(last);
    scored.length = 0;

    // Live: the next readings are scored and move the sensor's latest reading.
    const live = await scoringHub(daemon, second.url, `kept-admit-hub2-${process.pid}`, cleanups);
    now += 2 * EVERY;
    for (let i = 0; i < 3; i++) {
      await live.send('sensors/room', JSON.stringify({ ts: now, value: 21.25 + i / 10 }));
      now += EVERY;
    }
    expect(scored.map((r) => r.ts - last)).toEqual([3 * EVERY, 4 * EVERY, 5 * EVERY]);
    expect(scored.every((r) => r.stream === 'room' && r.values.every(Number.isFinite))).toBe(true);
    expect((await sensorView(daemon, 'room'))?.lastTs).toBe(now - EVERY);
    expect(await daemon.stop()).toBe(true);
  }, 120_000);
});

/**
 * The leftovers finding 2: a stream the operator forgot (`anomalyd sensors forget`, POST /api/sensors/:sensor/forget;
 * src/daemon/forget.ts) kept its stored readings (its learning history, learning.enabled) in SQLite for good: retention
 * prunes a sensor's readings only as new ones of it come (its newest learning.maxReadings), and a forgotten stream
 * sends none. They now go with it, in the transaction that deletes its checkpoint (forgetLive's dropCheckpoint; with the
 * daemon stopped, forgetStored's per stream, with its resolves and the `#forgotten` row), and the learner's readings not
 * yet stored are dropped, not written after.
 *
 * The real daemon in-process on its embedded broker, a real SQLite file (store.commitIntervalMs 0), learning on, a
 * virtual clock: two streams of one device, 400 readings each; one is forgotten live, the other with the daemon stopped
 * (the CLI's way, on the file). Each time the forgotten stream's readings are 0 in the file, the other's all there.
 * And the stopped forget is one transaction: a store whose readings' delete fails leaves the stream's checkpoint and
 * `#forgotten` row as they were. On main the live forget left 400 readings (the stopped one, 400).
 */
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DB_FILE, SqliteStore } from '../../src/adapters/sqlite-store.js';
import { FORGOTTEN_SUFFIX, forgetStored } from '../../src/daemon/forget.js';
import { mulberry32 } from '../../src/train/rng.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, scoringHub, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';

const cleanups = useCleanups();
const READINGS = 400;
const EVERY = 10_000;

function openFile(dataDir: string): SqliteStore {
  const store = SqliteStore.open(join(dataDir, DB_FILE), { commitIntervalMs: 0, outboxMax: 100, logger: pino({ level: 'silent' }) });
  cleanups.push(() => store.close());
  return store;
}

/** A daemon on `dataDir` fed READINGS readings of `plug/a` and `plug/b` (tasmota-less plain topics), then returned. */
async function fed(dataDir: string): Promise<Awaited<ReturnType<typeof inProcessDaemon>>['daemon']> {
  let now = yesterdayNoonUtc() - READINGS * EVERY;
  const clock = (): number => now;
  const { daemon, url } = await inProcessDaemon({
    dataDir,
    brokerUrl: null,
    clock,
    cleanups,
    overrides: { http: { enabled: false }, learning: { enabled: true }, store: { commitIntervalMs: 0 } },
  });
  const { send } = await scoringHub(daemon, url, `forget-readings-hub-${process.pid}`, cleanups);
  const rnd = mulberry32(5);
  for (let i = 0; i < READINGS; i++) {
    await send('sensors/plug', JSON.stringify({ a: Math.round((20 + rnd()) * 100) / 100, b: Math.round((50 + rnd()) * 100) / 100 }));
    now += EVERY;
  }
  return daemon;
}

describe.skipIf(!builtAndModelsPresent())('a forgotten stream’s stored readings go with it (in-process daemon, real SQLite file)', () => {
  it('forgotten live, then with the daemon stopped: its readings deleted, the other stream’s kept', async () => {
    const dataDir = tempDataDir('anomalyd-forget-readings-', cleanups);
    const daemon = await fed(dataDir);
    expect(daemon.forget({ kind: 'stream', name: 'plug/a', by: 'test' })?.streams).toEqual(['plug/a']);
    await daemon.stop();
    const store = openFile(dataDir);
    expect(store.countReadings('plug/a')).toBe(0);
    expect(store.countReadings('plug/b')).toBe(READINGS);
    // With the daemon stopped (the CLI's forget, on the file).
    expect(forgetStored(store, { kind: 'stream', name: 'plug/b', by: 'test' }, (s) => `anomalyd/alerts/${s}`)?.streams).toEqual(['plug/b']);
    expect(store.countReadings('plug/b')).toBe(0);
    expect(store.loadSensorState('plug/b')).toBeNull();
  }, 120_000);

  it('with the daemon stopped, one transaction: a failed delete of its readings leaves its checkpoint and readings as they were', async () => {
    const dataDir = tempDataDir('anomalyd-forget-atomic-', cleanups);
    const daemon = await fed(dataDir);
    await daemon.stop();
    const store = openFile(dataDir);
    expect(store.loadSensorState('plug/a')).not.toBeNull();
    // The real store, its readings' delete failing after it ran (a disk error at that point).
    const failing = Object.assign(Object.create(store) as SqliteStore, {
      deleteReadings: (sensor: string): number => {
        store.deleteReadings(sensor);
        throw new Error('disk I/O error');
      },
    });
    expect(() => forgetStored(failing, { kind: 'stream', name: 'plug/a', by: 'test' }, (s) => `anomalyd/alerts/${s}`)).toThrow(/disk I\/O error/);
    expect(store.loadSensorState('plug/a')).not.toBeNull();
    expect(store.loadSensorState(`plug/a${FORGOTTEN_SUFFIX}`)).toBeNull();
    expect(store.countReadings('plug/a')).toBe(READINGS);
  }, 120_000);
});

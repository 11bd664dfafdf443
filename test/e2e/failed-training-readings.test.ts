/**
 * The leftovers finding 2 (its first part): after a failed training (the worker ran out of memory, its file was
 * missing: any error of the trainer), a sensor's own-model progress said `readings: 0` (GET /api/sensors' `ownModel`,
 * `anomalyd status`, the dashboard: `learning its own model: 0 / 7,200 readings`) though it had every reading it had
 * collected: the learner told the count since the try (Learner.ownModel's retry.counted) as its readings. It now tells
 * both: `readings`, what it has, and `sinceTry`, what the next try waits for (src/contract/own-model.ts).
 *
 * The real daemon in-process on its embedded broker, a real SQLite file, learning on (learning.minReadings 256), a
 * virtual clock, and a trainer that fails as a worker that cannot start does (an Error). 300 readings of one sensor; once
 * its training failed, its progress tells its readings (at least 256 and those since the try) and those since the try,
 * and its text says both. On main: readings 44, the count since the failure (0 at it).
 */
import { describe, expect, it } from 'vitest';
import { ownModelFraction, ownModelText } from '../../src/contract/own-model.js';
import { mulberry32 } from '../../src/train/rng.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, scoringHub, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();
const READINGS = 300;

describe.skipIf(!builtAndModelsPresent())('a sensor whose training failed still tells the readings it has (in-process daemon, real SQLite file)', () => {
  it('readings: what it collected; sinceTry: those since the try; the text says both', async () => {
    let now = yesterdayNoonUtc() - READINGS * 10_000;
    const clock = (): number => now;
    const { daemon, url } = await inProcessDaemon({
      dataDir: tempDataDir('anomalyd-failed-training-', cleanups),
      brokerUrl: null,
      clock,
      cleanups,
      overrides: { http: { enabled: false }, learning: { enabled: true, minReadings: 256 }, store: { commitIntervalMs: 0 } },
      adapters: {
        train: () => Promise.reject(new Error('the training worker could not start')),
      },
    });
    const { send } = await scoringHub(daemon, url, `failed-training-hub-${process.pid}`, cleanups);
    const rnd = mulberry32(3);
    for (let i = 0; i < READINGS; i++) {
      await send('sensors/room', JSON.stringify({ value: Math.round((21 + rnd()) * 100) / 100 }));
      now += 10_000;
    }
    // The learner's housekeeping tick (real timers) starts the training, which fails.
    await waitFor(() => daemon.ownModel('room')?.lastTry !== undefined, 30_000, 'the failed training');
    const own = daemon.ownModel('room')!;
    expect(own.lastTry).toMatch(/its last training failed: the training worker could not start/);
    // What it had when the training failed (256 at least) and the readings since (sent after the housekeeping tick that
    // ran it: how many depends on when the tick came).
    expect(own.sinceTry).toBeLessThanOrEqual(READINGS - 256);
    expect(own.readings).toBeGreaterThanOrEqual(256 + own.sinceTry!);
    expect(ownModelFraction(own)).toBe(own.sinceTry! / own.needed);
    expect(ownModelText(own)).toMatch(/^learning its own model: \d+ \/ [\d,]+ readings since its last try, [\d,]+ in all \(its last training failed/);
  }, 120_000);
});

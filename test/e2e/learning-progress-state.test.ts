/**
 * The leftovers finding 3: a live sensor's own-model learning progress in its Home Assistant retained state
 * (`<prefix>/state/<sensor>`'s `learning_progress`, src/daemon/sensor-status.ts) was published only at a status or model
 * change: an operator's HA card showed the progress stuck at its first value for hours. It is now published again when
 * it moved on by PROGRESS_STEP (a tenth of its learning) and PROGRESS_REPUBLISH_MS (wall clock) have passed since the
 * state was last published, whichever comes later: never per reading.
 *
 * The real daemon in-process on its embedded broker with a real SQLite file, learning on (learning.minReadings 600), and
 * a virtual clock; two live sensors, one read every 5 s (a tenth of its learning in 5 min: the minutes bound it) and one
 * every 60 s (a tenth in an hour: the progress bounds it), sent up to 95 % of their learning. A subscriber records each
 * state published: at the end each tells its progress within a step of the learner's (or within the readings of
 * PROGRESS_REPUBLISH_MS, for the fast one), and no two of its states were
 * published less than PROGRESS_REPUBLISH_MS apart unless its status changed, nor more than 1 / PROGRESS_STEP of them for
 * its progress. On main the last state of each told the progress at the end of the scorer’s learning period (0.43 at 21 min, and at 255 min), whatever came after.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { SensorStatePayload } from '../../src/contract/alerts.js';
import { ownModelFraction } from '../../src/contract/own-model.js';
import { PROGRESS_REPUBLISH_MS, PROGRESS_STEP } from '../../src/daemon/sensor-status.js';
import { mulberry32 } from '../../src/train/rng.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, scoringHub, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();
const MIN_READINGS = 600;
const SENT = Math.round(0.95 * MIN_READINGS);

describe.skipIf(!builtAndModelsPresent())('a live sensor’s learning progress in its retained state (in-process daemon, embedded broker, virtual clock)', () => {
  for (const everyMs of [5_000, 60_000]) {
    it(`a reading every ${everyMs / 1000} s: its state follows its learning, at a bounded rate`, async () => {
      let now = yesterdayNoonUtc() - SENT * everyMs;
      const clock = (): number => now;
      const { daemon, url } = await inProcessDaemon({
        dataDir: tempDataDir('anomalyd-progress-state-', cleanups),
        brokerUrl: null,
        clock,
        cleanups,
        overrides: { http: { enabled: false }, learning: { enabled: true, minReadings: MIN_READINGS } },
      });
      // Each state published and when (its `since`: the time of the reading that brought it, the virtual clock's then).
      const states: Array<{ at: number; state: SensorStatePayload }> = [];
      const ha = await mqtt.connectAsync(url, { clientId: `progress-state-ha-${process.pid}` });
      cleanups.push(() => ha.endAsync(true));
      ha.on('message', (topic, payload) => {
        if (topic === 'anomalyd/state/room' && payload.length > 0) {
          const state = JSON.parse(payload.toString('utf8')) as SensorStatePayload;
          states.push({ at: Date.parse(state.since), state });
        }
      });
      await ha.subscribeAsync('anomalyd/state/+', { qos: 1 });
      const { send } = await scoringHub(daemon, url, `progress-state-hub-${process.pid}`, cleanups);
      const rnd = mulberry32(11);
      for (let i = 0; i < SENT; i++) {
        await send('sensors/room', JSON.stringify({ value: Math.round((21 + 0.2 * (rnd() - 0.5)) * 100) / 100 }));
        now += everyMs;
      }
      const own = daemon.ownModel('room');
      expect(own?.phase).toBe('collecting');
      const progress = Math.round(ownModelFraction(own!) * 100) / 100;
      expect(progress).toBeGreaterThan(0.9);
      // Behind the learner's by a step, or by what the readings of PROGRESS_REPUBLISH_MS add, whichever is more (and a
      // reading and the rounding to hundredths more).
      const lag = Math.max(PROGRESS_STEP, PROGRESS_REPUBLISH_MS / everyMs / MIN_READINGS) + 1 / MIN_READINGS + 0.01;
      const story = (): string => states.map((s) => `${Math.round((s.at - states[0].at) / 60_000)} min ${s.state.status} ${s.state.learning_progress ?? '-'}`).join(', ');
      await waitFor(() => states.length > 0 && progress - (states.at(-1)!.state.learning_progress ?? 0) < lag, 30_000, `the state told its progress: ${story()}`);
      const told = story();
      const forProgress = states.filter((s, k) => k > 0 && s.state.status === states[k - 1].state.status);
      expect(forProgress.length, told).toBeGreaterThan(0);
      expect(forProgress.length, told).toBeLessThanOrEqual(Math.ceil(1 / PROGRESS_STEP));
      for (let k = 1; k < states.length; k++) {
        if (states[k].state.status !== states[k - 1].state.status) continue;
        expect(states[k].at - states[k - 1].at, told).toBeGreaterThanOrEqual(PROGRESS_REPUBLISH_MS);
        expect(states[k].state.learning_progress! - states[k - 1].state.learning_progress!, told).toBeGreaterThanOrEqual(PROGRESS_STEP - 1e-9);
      }
    }, 180_000);
  }
});

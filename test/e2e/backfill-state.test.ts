/**
 * A new user's tryout (session 29), finding 2: after a backfill (a history stamped hours or days back, sent fast) Home
 * Assistant's view of a sensor, its retained `<prefix>/state/<sensor>`, told a point inside the history: `since` the
 * end of the scorer's learning period two days back and `learning_progress` 0.07, while the sensor had 800 readings
 * (0.22) up to an hour ago. The state is now published again once the backfill is over (src/daemon/sensor-status.ts
 * caughtUp): since the stream's newest reading, with its real learning progress.
 *
 * The daemon in-process on its embedded broker (the shipped shared model, learning on), two 5-min sensors' histories
 * sent fast: one ends two hours ago and goes quiet, one runs up to now (its last reading on time). A subscriber that
 * comes after reads their retained states. On main the wait times out: neither state is published after its
 * backfill, and each still tells a time inside its history.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { SensorStatePayload } from '../../src/contract/alerts.js';
import { ownModelFraction } from '../../src/contract/own-model.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { bursts, sensorSeries, type SeriesReading } from '../helpers/alert-stream.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();
const FIVE_MIN = 300_000;
const READINGS = 800;

describe.skipIf(!builtAndModelsPresent())('the retained state after a backfill (embedded broker, in-process)', () => {
  it('tells the stream’s newest reading time and its learning progress once the backfill is over', async () => {
    const { daemon, url } = await inProcessDaemon({
      dataDir: tempDataDir('anomalyd-backfill-state-', cleanups),
      brokerUrl: null,
      clock: null,
      cleanups,
      overrides: { http: { enabled: false }, learning: { enabled: true } },
    });
    const now = Math.floor(Date.now() / 1000) * 1000;
    const histories = new Map<string, SeriesReading[]>([
      // Ends two hours ago, then quiet.
      ['cellar', sensorSeries({ sensor: 'cellar', kind: 'temperature', seed: 23, startTs: now - 2 * 3_600_000 - READINGS * FIVE_MIN, readings: READINGS, shifts: [], intervalMs: FIVE_MIN })],
      // Runs up to now: its last readings are on time (a gateway's buffer flushed, then live).
      ['loft', sensorSeries({ sensor: 'loft', kind: 'temperature', seed: 29, startTs: now - (READINGS - 1) * FIVE_MIN, readings: READINGS, shifts: [], intervalMs: FIVE_MIN })],
    ]);
    const hub = await mqtt.connectAsync(url, { clientId: `backfill-state-hub-${process.pid}` });
    cleanups.push(() => hub.endAsync(true));
    for (const [sensor, series] of histories) for (const b of bursts(sensor, series, 50, FIVE_MIN)) await hub.publishAsync(b.topic, b.payload, { qos: 1 });
    await waitFor(() => daemon.counters.scored >= 2 * READINGS, 60_000, 'every reading scored');

    // What Home Assistant (a subscriber that comes later) reads: the retained states.
    const retained = new Map<string, SensorStatePayload>();
    const told = (sensor: string, newest: number): boolean => {
      const s = retained.get(sensor);
      return s !== undefined && s.since === new Date(newest).toISOString();
    };
    const ha = await mqtt.connectAsync(url, { clientId: `backfill-state-ha-${process.pid}` });
    cleanups.push(() => ha.endAsync(true));
    ha.on('message', (topic, payload) => {
      if (payload.length > 0) retained.set(topic.slice('anomalyd/state/'.length), JSON.parse(payload.toString('utf8')) as SensorStatePayload);
    });
    await ha.subscribeAsync('anomalyd/state/+', { qos: 1 });
    // Within a sweep or two after the backfill is over (10 s without a reading; at once for the one that ran into now).
    await waitFor(() => [...histories].every(([sensor, series]) => told(sensor, series[READINGS - 1].ts)), 30_000, 'the states told from the newest readings');
    for (const [sensor] of histories) {
      const own = daemon.ownModel(sensor);
      expect(own?.phase).toBe('collecting');
      // Its normal readings so far, nearly all 800 of 3,600: the progress now, not at the learning period's end.
      expect(own!.readings).toBeGreaterThan(READINGS * 0.9);
      expect(retained.get(sensor)).toMatchObject({ status: 'ok', learning_progress: Math.round(ownModelFraction(own!) * 100) / 100 });
    }
  }, 120_000);
});

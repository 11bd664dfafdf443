/**
 * Tryout 11, finding 5.3: the retained `<prefix>/state/<sensor>`'s `since` is data time for every status, `stale`
 * too (it carried the wall time of the sweep that found it stale). A gateway flushes a buffer of readings from
 * two hours ago and goes quiet: the sensor turns stale (judged on arrival, the wall clock), and its state says it
 * is stale since its newest reading; its next reading brings it back, since that reading. The real daemon, a real
 * broker (mosquitto), readings over MQTT.
 */
import { chmodSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { SensorStatePayload } from '../../src/contract/alerts.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { MqttRecorder, bursts, sensorSeries } from '../helpers/alert-stream.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const SENSOR = 'gateway1';
const READINGS = 400;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!ready)('retained sensor state: since is data time (mosquitto)', () => {
  it('a back-dated stream that goes quiet is stale since its newest reading, and back since its next one', async () => {
    const broker = new Mosquitto();
    chmodSync(broker.dir, 0o777); // mosquitto drops root to its own user, which writes its persistence file here
    await broker.start();
    cleanups.push(() => broker.stop());
    // Stale after 3 of the stream's 1 s intervals without a reading arriving (the sweep runs every 2 s).
    const daemon = new DaemonProcess({ broker: { enabled: false }, mqtt: { url: broker.url, clientId: 'anomalyd-since' }, alerts: { staleAfter: 3 } });
    cleanups.push(async () => void (await daemon.stop('SIGKILL')));
    await daemon.start();
    const recorder = await MqttRecorder.connect(broker.url, { clientId: 'since-recorder', clean: true, filters: [`anomalyd/state/${SENSOR}`] });
    cleanups.push(() => recorder.end());
    const sensors = await mqtt.connectAsync(broker.url, { clientId: 'since-sensors' });
    cleanups.push(() => sensors.endAsync(true));

    // Two hours back in data time: far from the wall clock, so the two cannot be mistaken for each other.
    const start = Math.floor((Date.now() - 2 * 3_600_000) / 1000) * 1000;
    const series = sensorSeries({ sensor: SENSOR, kind: 'temperature', seed: 5, startTs: start, readings: READINGS + 1, shifts: [] });
    const newest = series[READINGS - 1].ts;
    for (const b of bursts(SENSOR, series.slice(0, READINGS), 50)) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });

    const states = (): SensorStatePayload[] => recorder.messages.map((m) => JSON.parse(m.payload) as SensorStatePayload);
    await waitFor(() => states().some((s) => s.status === 'stale'), 30_000, 'the stale state');
    const stale = states().find((s) => s.status === 'stale')!;
    expect(stale.since).toBe(new Date(newest).toISOString());
    // Every state before it carried the time of a reading of the stream, too.
    const before = states().slice(0, states().indexOf(stale));
    expect(before.length).toBeGreaterThan(0);
    for (const s of before) {
      expect(Date.parse(s.since)).toBeGreaterThanOrEqual(start);
      expect(Date.parse(s.since)).toBeLessThanOrEqual(newest);
    }

    // The next reading brings it back: since that reading's time.
    const next = series[READINGS];
    await sensors.publishAsync(`sensors/${SENSOR}`, JSON.stringify({ value: next.value, ts: next.ts }), { qos: 1 });
    await waitFor(() => states().at(-1)?.status !== 'stale', 30_000, 'the state after the next reading');
    expect(states().at(-1)!.since).toBe(new Date(next.ts).toISOString());
  }, 120_000);
});

/**
 * Home Assistant and a device that says it is offline: an ESPHome node's last will (`esp-power/status` `offline`, sent
 * by the broker when the node's connection dies) opens one `device_offline` episode of the device (tryout 16, finding
 * 7), which before had no Home Assistant entity at all: its streams' `problem` entities stayed off while anomalyd
 * alerted. Now each of the device's streams' retained state carries the device's episode (`anomaly_id`, `kind`,
 * `sentence`), so their problem entities are on, with its id and sentence as attributes, until the node is back.
 * Read as Home Assistant reads it: the retained discovery config of each stream's binary_sensor (its state topic,
 * value_template and attributes topic), then the retained state on that topic, the template rendered by Jinja2
 * (skipped without python3's jinja2). The daemon in-process with an injected wall clock (as device-offline.test.ts),
 * a real SQLite file, and a real broker: the embedded one, and mosquitto.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlertPayload, SensorStatePayload } from '../../src/contract/alerts.js';
import { discoveryTopics, type HaBinarySensorConfig } from '../../src/contract/ha-discovery.js';
import { retainedMessage } from '../helpers/alert-stream.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { jinja, render } from '../helpers/jinja.js';
import { brokerCases, brokerUrlFor } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;
const NODE_ID = 'devoff_node';
const STREAMS = ['esp-power/ch1_power', 'esp-power/ch2_power', 'esp-power/ch3_power'];
/** Readings per stream, sent in messages of BURST: four messages each, past ANNOUNCE_AFTER_READINGS (3). */
const N = 400;
const BURST = 100;

const cleanups = useCleanups();

const retained = (url: string, topic: string): Promise<string | null> => retainedMessage(url, topic, 'ha-probe');

/** What Home Assistant makes of a stream's problem entity: its config, the retained state, and the rendered state. */
async function problemEntity(url: string, stream: string): Promise<{ config: HaBinarySensorConfig; state: SensorStatePayload; on: string }> {
  const configText = await retained(url, discoveryTopics('homeassistant', NODE_ID, stream).binarySensor);
  expect(configText, `${stream}'s binary_sensor config`).not.toBeNull();
  const config = JSON.parse(configText!) as HaBinarySensorConfig;
  expect(config.device_class).toBe('problem');
  const stateText = await retained(url, config.state_topic);
  expect(stateText, `${stream}'s retained state`).not.toBeNull();
  const state = JSON.parse(stateText!) as SensorStatePayload;
  return { config, state, on: render(config.value_template, [state])[0] };
}

const cases = brokerCases();

describe.skipIf(!builtAndModelsPresent() || !jinja)('Home Assistant: a device that says it is offline', () => {
  it.each(cases)("(%s) turns its streams' problem entities on, the device's episode id and sentence as attributes; off when it is back", async (name, available) => {
    if (!available) return;
    const dataDir = tempDataDir('anomalyd-devoff-ha-', cleanups);
    const brokerUrl = await brokerUrlFor(name, cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const overrides = { ingest: { presets: ['esphome'] }, homeassistant: { discovery: 'on' as const, nodeId: NODE_ID }, http: { enabled: false } };
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock, cleanups });
    const alerts: AlertPayload[] = [];
    const sub = await mqtt.connectAsync(url, { clientId: `devoff-ha-sub-${process.pid}` });
    cleanups.push(() => sub.endAsync());
    // The alerts, and each stream's latest state as published (to wait on; what is checked is read retained, afresh).
    const states = new Map<string, SensorStatePayload>();
    sub.on('message', (topic, payload) => {
      if (topic.startsWith('anomalyd/alerts/')) alerts.push(JSON.parse(payload.toString('utf8')) as AlertPayload);
      else if (payload.length > 0) states.set(topic.slice('anomalyd/state/'.length), JSON.parse(payload.toString('utf8')) as SensorStatePayload);
    });
    await sub.subscribeAsync(['anomalyd/alerts/#', 'anomalyd/state/#'], { qos: 1 });
    const allStates = (ok: (s: SensorStatePayload) => boolean): boolean => STREAMS.every((stream) => states.has(stream) && ok(states.get(stream)!));

    // The node, as ESPHome connects (its will, then its birth), and its readings.
    const esp = await mqtt.connectAsync(url, {
      clientId: `esp-power-ha-${process.pid}`,
      keepalive: 15,
      reconnectPeriod: 0,
      will: { topic: 'esp-power/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    cleanups.push(() => esp.endAsync(true));
    await esp.publishAsync('esp-power/status', 'online', { qos: 1, retain: true });
    for (const [c, stream] of STREAMS.entries()) {
      const field = stream.slice('esp-power/'.length);
      for (let i = 0; i < N; i += BURST) {
        const values = Array.from({ length: BURST }, (_, k) => 100 * (c + 1) + ((i + k) % 5));
        await esp.publishAsync(`esp-power/sensor/${field}/state`, JSON.stringify({ values, ts: now - (N - 1 - i) * SEC, interval_ms: SEC }), { qos: 1 });
      }
    }
    await waitFor(() => daemon.counters.scored >= STREAMS.length * N, 60_000, 'every reading scored');
    for (const stream of STREAMS) {
      const before = await problemEntity(url, stream);
      expect(before.on, `${stream} before`).toBe('OFF');
      expect(before.state.anomaly_id).toBeUndefined();
    }

    // The node dies: the broker publishes its last will, and the device's episode opens.
    now += 20 * SEC;
    esp.stream.destroy();
    await waitFor(() => alerts.length > 0, 20_000, 'the device episode');
    const open = alerts[0];
    expect(open).toMatchObject({ event: 'open', sensor: 'esp-power', explanation: { kind: 'device_offline' } });
    await waitFor(() => allStates((st) => st.anomaly_id === open.anomaly_id), 10_000, "the streams' states with the device's episode");
    for (const stream of STREAMS) {
      const during = await problemEntity(url, stream);
      expect(during.on).toBe('ON');
      // Its attributes (json_attributes_topic: the state topic): the device's episode, its kind and its sentence.
      expect(during.config.json_attributes_topic).toBe(during.config.state_topic);
      expect(during.state).toMatchObject({ anomaly_id: open.anomaly_id, kind: 'device_offline', sentence: open.explanation!.sentence });
      expect(during.state.status).not.toBe('anomalous');
    }
    // Minutes later the streams are stale (their own status), and still on for the device's episode.
    now += 5 * MIN;
    daemon.judgeSilences();
    await waitFor(() => allStates((st) => st.status === 'stale'), 30_000, 'the streams stale');
    for (const stream of STREAMS) {
      const stale = await problemEntity(url, stream);
      expect(stale.on).toBe('ON');
      expect(stale.state.anomaly_id).toBe(open.anomaly_id);
    }
    expect(alerts.map((a) => [a.sensor, a.event])).toEqual([['esp-power', 'open']]);

    // It is back: the episode resolves, and the problem entities are off.
    const back = await mqtt.connectAsync(url, { clientId: `esp-power-ha-back-${process.pid}`, reconnectPeriod: 0 });
    cleanups.push(() => back.endAsync(true));
    await back.publishAsync('esp-power/status', 'online', { qos: 1, retain: true });
    await waitFor(() => alerts.length > 1, 10_000, 'the device episode resolved');
    expect(alerts[1]).toMatchObject({ event: 'resolve', anomaly_id: open.anomaly_id });
    await waitFor(() => allStates((st) => st.anomaly_id === undefined), 10_000, "the streams' states without it");
    for (const stream of STREAMS) {
      const after = await problemEntity(url, stream);
      expect(after.on).toBe('OFF');
      expect(after.state.anomaly_id).toBeUndefined();
      expect(after.state.kind).toBeUndefined();
      expect(after.state.sentence).toBeUndefined();
    }
  }, 180_000);
});

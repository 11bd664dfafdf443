/**
 * Tryout 14 #7 end to end, through the real daemon (dist/main.js) and its embedded broker: Home Assistant's MQTT
 * statestream (home-assistant.io, "MQTT Statestream", `base_topic: homeassistant`, publish_attributes and
 * publish_timestamps on, no domain filter) publishes every domain's state and every attribute on its own topic.
 * The broker takes them (before: each refused, a `publish refused` warning a minute, forever), the daemon reads
 * the preset's states and a sensor's unit attribute only, and a discovery config, which statestream never publishes,
 * is still refused.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const TICKS = 10;

describe.skipIf(!ready)('Home Assistant statestream on the embedded broker (ha_statestream preset)', () => {
  let daemon: DaemonProcess;
  let client: MqttClient;
  let http = '';

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({ presets: ['ha_statestream'], timezone: 'UTC', clientId: `statestream-e2e-${process.pid}` }));
    for (let i = 0; i < TICKS; i++) {
      const base = 'homeassistant/sensor/outdoor_temperature';
      await client.publishAsync(`${base}/state`, String(7 + i / 10), { qos: 1, retain: true });
      await client.publishAsync(`${base}/unit_of_measurement`, '"°C"', { qos: 1, retain: true });
      await client.publishAsync(`${base}/friendly_name`, '"Outdoor temperature"', { qos: 1, retain: true });
      await client.publishAsync(`${base}/last_changed`, `"2026-12-02T02:${String(10 + i).padStart(2, '0')}:00+00:00"`, { qos: 1, retain: true });
      await client.publishAsync('homeassistant/binary_sensor/door/state', i % 2 === 0 ? 'off' : 'on', { qos: 1, retain: true });
      await client.publishAsync('homeassistant/light/hall/brightness', '200', { qos: 1, retain: true });
      await client.publishAsync('homeassistant/number/boiler_setpoint/state', '57.5', { qos: 1, retain: true });
    }
    // Not statestream: a discovery config from the same login stays refused.
    await client.publishAsync('homeassistant/sensor/fake/config', '{"state_topic":"x"}', { qos: 1 });
  }, 60_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  it("takes every domain's state and attribute topics without a refusal, reads the preset's states, still refuses a discovery config", async () => {
    type Status = {
      counters: Record<string, number>;
      rejections: Record<string, number>;
      broker: { publishes: { count: number; topics: number; someTopics: string[] } };
    };
    const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    await waitFor(async () => (await status()).counters.messages >= 4 * TICKS, 30_000, 'the preset states parsed');
    const s = await status();
    // The daemon subscribes the preset's state topics and the unit attribute only: sensor/, number/ and binary_sensor/
    // states (a binary sensor's `on`/`off` is an on/off reading: tryout 22, finding 7) and sensor/'s
    // unit_of_measurement are received, nothing else; the unit is no reading (tryout 22, finding 10).
    expect(s.counters.received).toBe(4 * TICKS);
    expect(s.counters.readings).toBe(3 * TICKS);
    const { sensors } = (await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string; unit: string | null }[] };
    expect(sensors.find((x) => x.sensor === 'outdoor_temperature')?.unit).toBe('°C');
    expect(s.rejections).toEqual({});
    expect(s.broker.publishes).toMatchObject({ count: 1, topics: 1, someTopics: ['homeassistant/sensor/fake/config'] });
    const refused = daemon.lines.filter((l) => l.msg.startsWith('embedded broker: publish refused'));
    expect(refused.map((l) => l.topic)).toEqual(['homeassistant/sensor/fake/config']);
  });
});

/**
 * ESPHome's Home Assistant discovery configs through the real daemon (dist/main.js) and its embedded broker,
 * published as ESPHome publishes them (retained, abbreviated keys: `unit_of_meas`, `stat_t`; tryout 16, finding 7):
 * the unit a sensor's config states is its stream's unit on the API; an emptied retained config (`mosquitto_pub -r -n`,
 * the entity removed) is skipped, counted, and changes nothing else; the daemon's own discovery configs, which come
 * back through the same subscription, are skipped too.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const TICKS = 12;
const CONFIG_TOPIC = 'homeassistant/sensor/esp-living/temperature/config';
const CONFIG = JSON.stringify({
  dev_cla: 'temperature',
  unit_of_meas: '°C',
  stat_cla: 'measurement',
  name: 'Temperature',
  stat_t: 'esp-living/sensor/temperature/state',
  avty_t: 'esp-living/status',
  uniq_id: 'ESPsensortemperature',
  dev: { ids: 'a4cf12fd8a1c', name: 'esp-living', sw: '2024.6.1', mdl: 'esp32dev', mf: 'espressif' },
});

type Sensors = { sensors: { sensor: string; unit: string | null }[] };
type Status = { counters: Record<string, number>; rejections: Record<string, number>; skipped: Record<string, number> };

describe.skipIf(!ready)('ESPHome discovery configs on the embedded broker', () => {
  let daemon: DaemonProcess;
  let client: MqttClient;
  let http = '';
  const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
  const unit = async (stream: string): Promise<string | null | undefined> => ((await (await fetch(`${http}/api/sensors`)).json()) as Sensors).sensors.find((s) => s.sensor === stream)?.unit;

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({ presets: ['esphome'], timezone: 'UTC', clientId: `esphome-units-e2e-${process.pid}`, extra: { homeassistant: { discovery: 'on' } } }));
    await client.publishAsync(CONFIG_TOPIC, CONFIG, { qos: 1, retain: true });
    await client.publishAsync('esp-living/status', 'online', { qos: 1, retain: true });
    for (let i = 0; i < TICKS; i++) {
      await client.publishAsync('esp-living/sensor/temperature/state', (21 + 0.1 * Math.sin(i)).toFixed(2), { qos: 1 });
      await client.publishAsync('esp-living/sensor/humidity/state', (45 + Math.sin(i)).toFixed(1), { qos: 1 });
    }
  }, 60_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  it("gives a sensor's stream the unit its config states (unit_of_meas), and none to a sensor without a config", async () => {
    await waitFor(async () => (await status()).counters.readings >= 2 * TICKS, 30_000, 'every reading parsed');
    expect(await unit('esp-living/temperature')).toBe('°C');
    expect(await unit('esp-living/humidity')).toBeNull();
    const s = await status();
    expect(s.rejections).toEqual({});
    // The config and the status are the device's own topics: skipped hub_topic (with the daemon's own discovery configs echoed back).
    expect(s.skipped.hub_topic).toBeGreaterThanOrEqual(2);
  });

  it('an emptied retained config is skipped, counted, and crashes nothing: the stream keeps its readings and the unit they had', async () => {
    const before = (await status()).skipped.hub_topic;
    await client.publishAsync(CONFIG_TOPIC, '', { qos: 1, retain: true });
    await client.publishAsync('esp-living/sensor/temperature/state', '21.30', { qos: 1 });
    await waitFor(async () => (await status()).counters.readings >= 2 * TICKS + 1, 10_000, 'the reading after the emptied config');
    const s = await status();
    expect(s.skipped.hub_topic).toBe(before + 1);
    expect(s.rejections).toEqual({});
    expect(await unit('esp-living/temperature')).toBe('°C');
    expect(daemon.lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});

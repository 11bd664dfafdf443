/**
 * Tryout 13 #2, #5, #9 end to end, through the real daemon (dist/main.js) and its embedded broker, published
 * with mqtt.js as the hubs publish: zigbee2mqtt devices whose friendly name has several levels
 * (`kitchen/sensor_a`, zigbee2mqtt.io "MQTT Topics and Messages") beside its bridge, availability and command
 * topics; ESPHome with a two-level topic_prefix and a climate's `current_temperature` state (esphome.io MQTT
 * client component); a Tasmota device without NTP (`"Time":"1970-01-01T00:00:12"`, arendst/Tasmota #2571);
 * a Shelly's `status/sys` (`"time":"18:05"`). Every device becomes its own streams, the hubs' own topics are
 * neither readings nor rejections, and the unset clock is counted and logged once.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, ROOT, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const TICKS = 48;

function wave(i: number, base: number, amp: number, phase = 0): number {
  return Math.round((base + amp * Math.sin(i / 5 + phase)) * 100) / 100;
}

describe.skipIf(!ready)('hub topics on the embedded broker (zigbee2mqtt, esphome, tasmota, shelly presets)', () => {
  let daemon: DaemonProcess;
  let client: MqttClient;
  let http = '';

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({ presets: ['zigbee2mqtt', 'tasmota', 'esphome', 'shelly'], timezone: 'Europe/Berlin', clientId: `hubs-e2e-${process.pid}`, extra: { model: { normWarmup: 16 } } }));
    // The hubs' own topics, retained as they publish them.
    await client.publishAsync('zigbee2mqtt/bridge/state', '{"state":"online"}', { qos: 1, retain: true });
    await client.publishAsync('zigbee2mqtt/bridge/info', '{"version":"2.1.0","config":{"advanced":{"channel":11,"pan_id":6754}}}', { qos: 1, retain: true });
    await client.publishAsync('zigbee2mqtt/kitchen/sensor_a/availability', '{"state":"online"}', { qos: 1, retain: true });
    for (let i = 0; i < TICKS; i++) {
      await client.publishAsync('zigbee2mqtt/kitchen/sensor_a', JSON.stringify({ temperature: wave(i, 20, 0.5), linkquality: 70, battery: 88 }), { qos: 1 });
      await client.publishAsync('zigbee2mqtt/kitchen/sensor_b', JSON.stringify({ temperature: wave(i, 30, 0.5, 1), linkquality: 60 }), { qos: 1 });
      await client.publishAsync('zigbee2mqtt/bridge/logging', JSON.stringify({ level: 'info', message: `tick ${i}` }), { qos: 1 });
      await client.publishAsync('home/livingroom/sensor/temperature/state', String(wave(i, 21.4, 0.4, 2)), { qos: 1 });
      await client.publishAsync('hall/climate/thermostat/current_temperature/state', String(wave(i, 20.5, 0.3, 3)), { qos: 1 });
      await client.publishAsync('hall/climate/thermostat/target_temperature/state', '21', { qos: 1 });
      await client.publishAsync('tele/badtime/SENSOR', JSON.stringify({ Time: '1970-01-01T00:00:12', AM2301: { Temperature: wave(i, 21.7, 0.3, 4), Humidity: wave(i, 45, 1, 5) }, TempUnit: 'C' }), { qos: 1 });
      await client.publishAsync('shellyplus1pm-a8032ab1/status/sys', JSON.stringify({ mac: 'A8032AB1C2D3', time: '18:05', unixtime: 1764496800, uptime: 1234 + i, ram_free: 140000 }), { qos: 1 });
    }
  }, 120_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  it('reads every device under its whole name (two devices of one room stay two), the hubs\' own topics are no rejection, the unset clock is counted and logged once', async () => {
    const streams = ['kitchen/sensor_a/temperature', 'kitchen/sensor_b/temperature', 'home/livingroom/temperature', 'hall/thermostat', 'badtime/AM2301.Temperature', 'badtime/AM2301.Humidity'];
    type Status = { counters: Record<string, number>; rejections: Record<string, number> };
    const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    await waitFor(async () => (await status()).counters.readings >= streams.length * TICKS, 60_000, 'every reading of the devices');
    const { sensors } = (await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string; device: string }[] };
    expect(sensors.map((s) => s.sensor).sort()).toEqual([...streams].sort());
    // Each stream's device is its device's whole name, not the name's first level (tryout 13, finding 8): the
    // dashboard, GET /api/anomalies?device= and `anomalies list --by-device` group by it.
    expect(Object.fromEntries(sensors.map((x) => [x.sensor, x.device]))).toEqual({
      'kitchen/sensor_a/temperature': 'kitchen/sensor_a',
      'kitchen/sensor_b/temperature': 'kitchen/sensor_b',
      'home/livingroom/temperature': 'home/livingroom',
      'hall/thermostat': 'hall',
      'badtime/AM2301.Temperature': 'badtime',
      'badtime/AM2301.Humidity': 'badtime',
    });
    const s = await status();
    expect(s.counters.readings).toBe(streams.length * TICKS);
    expect(s.rejections).toEqual({});
    expect(s.counters.unsetClocks).toBe(TICKS);
    expect(daemon.lines.filter((l) => l.msg.startsWith('device clock never set')).map((l) => [l.sensor, l.time])).toEqual([['badtime', '1970-01-01T00:00:12']]);
    // `anomalyd status` says it too.
    const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'main.js'), 'status', '--url', http], { encoding: 'utf8' });
    expect(cli.stdout).toMatch(new RegExp(`^clocks +${TICKS} message\\(s\\) with a device time before 2000`, 'm'));
    // The daemon subscribed the deeper topics.
    const topics = daemon.logged('subscribed')[0]?.topics as string[];
    expect(topics).toEqual(expect.arrayContaining(['zigbee2mqtt/#', '+/+/sensor/+/state', '+/climate/+/current_temperature/state']));
    expect(topics).not.toContain('zigbee2mqtt/+');
  });
});

/**
 * Tryout 13 #9 end to end, through the real daemon (dist/main.js) and its embedded broker, published with
 * mqtt.js as the hubs publish: a Shelly Gen2 on its default channel `<device>/events/rpc` (NotifyStatus with
 * `params.ts` and the changed part of `switch:0`, a NotifyEvent of its button; shelly-api-docs.shelly.cloud,
 * Gen2 "Notifications"); a Tasmota Zigbee bridge (Zigbee2Tasmota, tasmota.github.io "Zigbee") relaying 20 Zigbee
 * devices in `{"ZbReceived":{"0x8F01":{"Device":…,"Name":"Room1",…,"LinkQuality":65}}}`. The Shelly's readings become
 * the streams `<device>/status/<component>` would give, each Zigbee device is its own sensor (no stream limit hit),
 * Home Assistant statestream beside them, a text sensor's `idle` among numeric states (home-assistant.io "MQTT
 * Statestream"). The hub events and text states are neither readings nor rejections but counted as skipped, and
 * `anomalyd status` says so.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, ROOT, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const TICKS = 40;
const SHELLY = 'shellyplus1pm-a8032ab1';
/** More Zigbee devices than one sensor's stream limit (64) would hold with their metadata as streams. */
const ZIGBEE = 20;

function wave(i: number, base: number, amp: number, phase = 0): number {
  return Math.round((base + amp * Math.sin(i / 5 + phase)) * 100) / 100;
}

describe.skipIf(!ready)('hub payloads on the embedded broker (shelly events/rpc, Zigbee2Tasmota, Home Assistant text states)', () => {
  let daemon: DaemonProcess;
  let client: MqttClient;
  let http = '';

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({ presets: ['shelly', 'tasmota', 'ha_statestream'], timezone: 'UTC', clientId: `hub-payloads-e2e-${process.pid}`, extra: { model: { normWarmup: 16 } } }));
    const t0 = Date.now() - TICKS * 1000;
    for (let i = 0; i < TICKS; i++) {
      const ts = (t0 + i * 1000) / 1000;
      const params = { ts, 'switch:0': { id: 0, apower: wave(i, 61, 5), current: wave(i, 0.27, 0.02, 1), aenergy: { by_minute: [0, 0, 0], minute_ts: Math.floor(ts / 60) * 60, total: 17.7 + i * 0.01 } } };
      await client.publishAsync(`${SHELLY}/events/rpc`, JSON.stringify({ src: SHELLY, dst: `${SHELLY}/events`, method: 'NotifyStatus', params }), { qos: 1 });
      for (let d = 1; d <= ZIGBEE; d++) {
        const short = `0x8F${String(d).padStart(2, '0')}`;
        const device = { Device: short, Name: `Room${d}`, Temperature: wave(i, 20 + d / 10, 0.4, d), Humidity: wave(i, 45, 2, d + 1), BatteryPercentage: 90, Endpoint: 1, LinkQuality: 60 + (i % 7) };
        await client.publishAsync('tele/zbbridge/SENSOR', JSON.stringify({ ZbReceived: { [short]: device } }), { qos: 1 });
      }
      await client.publishAsync('homeassistant/sensor/outdoor_temperature/state', i % 10 === 3 ? 'unavailable' : String(wave(i, 7, 2)), { qos: 1 });
      if (i % 10 === 7) await client.publishAsync('homeassistant/sensor/washing_machine_state/state', i % 20 === 7 ? 'idle' : 'washing', { qos: 1 });
      if (i % 10 === 5) {
        const event = { src: SHELLY, dst: `${SHELLY}/events`, method: 'NotifyEvent', params: { ts, events: [{ component: 'input:0', id: 0, event: 'single_push', ts }] } };
        await client.publishAsync(`${SHELLY}/events/rpc`, JSON.stringify(event), { qos: 1 });
      }
    }
  }, 120_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  it("reads NotifyStatus as the streams of status/<component>, every Zigbee device as its own sensor, counts NotifyEvent and a Home Assistant text state as skipped (no rejection), and `anomalyd status` says so", async () => {
    const streams = [`${SHELLY}/switch:0/apower`, `${SHELLY}/switch:0/current`, `${SHELLY}/switch:0/aenergy.total`];
    for (let d = 1; d <= ZIGBEE; d++) streams.push(`Room${d}/Temperature`, `Room${d}/Humidity`);
    streams.push('outdoor_temperature');
    type Status = { counters: Record<string, number>; rejections: Record<string, number>; skipped: Record<string, number> };
    const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    await waitFor(async () => (await status()).counters.messages >= TICKS * (2 + ZIGBEE) + (2 * TICKS) / 10, 60_000, 'every message parsed');
    const { sensors } = (await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string }[] };
    expect(sensors.map((s) => s.sensor).sort()).toEqual([...streams].sort());
    const s = await status();
    // `unavailable` is a missing reading of outdoor_temperature (one in ten).
    expect(s.counters.readings).toBe(streams.length * TICKS - TICKS / 10);
    expect(s.rejections).toEqual({});
    expect(s.skipped).toEqual({ hub_event: TICKS / 10, text_state: TICKS / 10, missing_value: TICKS / 10 });
    const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'main.js'), 'status', '--url', http], { encoding: 'utf8' });
    expect(cli.stdout).toMatch(
      new RegExp(`^skipped +(hub_event ${TICKS / 10} \\(hub messages without a measurement\\)|text_state ${TICKS / 10} \\(text states of entities that are not numeric\\)), (hub_event|text_state) ${TICKS / 10} .*: no readings by design, not errors$`, 'm'),
    );
    expect(cli.stdout).toMatch(/^rejected +nothing since start$/m);
  });
});

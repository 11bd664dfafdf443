/**
 * Real devices' payloads through the real daemon (dist/main.js) and its embedded broker, published with mqtt.js
 * as the hubs publish (tryouts 13 #9 and 14): a Shelly Plus H&T with "Generic status update over MQTT" on sends
 * `status/temperature:0` `{"id":0,"tC":…,"tF":…}` (the same temperature in two units) and `status/devicepower:0`
 * (its battery; shelly-api-docs.shelly.cloud, Gen2 "Temperature", "DevicePower"). The temperature is one stream
 * (`tC`), not two, and the battery message is skipped with its reason, counted. A Tasmota set to °F (SetOption8 1)
 * says so in each SENSOR message (`"TempUnit":"F"`): its temperature streams are °F on the API, its pressure the
 * `PressureUnit`, an `explain.units` pattern still wins, and a switch back to °C (a level shift of the readings,
 * never converted) is logged once with both units.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const TICKS = 20;
const HT = 'shellyplusht-b8d61a8b17cc';

function wave(i: number, base: number, amp: number): number {
  return Math.round((base + amp * Math.sin(i / 5)) * 100) / 100;
}

describe.skipIf(!ready)('hub payloads with units on the embedded broker (Shelly tC/tF, battery)', () => {
  let daemon: DaemonProcess;
  let client: MqttClient;
  let http = '';

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({ presets: ['shelly', 'tasmota'], timezone: 'UTC', clientId: `hub-units-e2e-${process.pid}`, extra: { explain: { units: ['*/BME280.Pressure=mbar'] } } }));
    for (let i = 0; i < TICKS; i++) {
      const tC = wave(i, 20, 1);
      const tF = Math.round((tC * 1.8 + 32) * 10) / 10;
      await client.publishAsync(`${HT}/status/temperature:0`, JSON.stringify({ id: 0, tC, tF }), { qos: 1 });
      await client.publishAsync(`${HT}/status/humidity:0`, JSON.stringify({ id: 0, rh: wave(i, 45, 2) }), { qos: 1 });
      if (i % 10 === 0) await client.publishAsync(`${HT}/status/devicepower:0`, JSON.stringify({ id: 0, battery: { V: 4.18, percent: 78 }, external: { present: false } }), { qos: 1 });
      // °F for the first half, then set back to °C.
      const fahrenheit = i < TICKS / 2;
      const t = wave(i, 21, 0.5);
      const garden = { BME280: { Temperature: fahrenheit ? Math.round((t * 1.8 + 32) * 10) / 10 : t, Humidity: wave(i, 60, 3), Pressure: 1016.5 }, ENERGY: { Power: wave(i, 50, 5) }, PressureUnit: 'hPa', TempUnit: fahrenheit ? 'F' : 'C' };
      await client.publishAsync('tele/garden/SENSOR', JSON.stringify(garden), { qos: 1 });
    }
  }, 60_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  it('reads a Shelly temperature once (tC, not tF) and skips its battery, counted hub_topic', async () => {
    type Status = { counters: Record<string, number>; rejections: Record<string, number>; skipped: Record<string, number> };
    const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    await waitFor(async () => (await status()).counters.messages >= 3 * TICKS + TICKS / 10, 30_000, 'every message parsed');
    const { sensors } = (await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string }[] };
    expect(sensors.map((s) => s.sensor).filter((s) => s.startsWith(HT)).sort()).toEqual([`${HT}/humidity:0/rh`, `${HT}/temperature:0/tC`]);
    const s = await status();
    expect(s.counters.readings).toBe(2 * TICKS + 4 * TICKS);
    expect(s.rejections).toEqual({});
    expect(s.skipped).toEqual({ hub_topic: TICKS / 10 });
  });

  it('carries the unit a Tasmota states (TempUnit, PressureUnit) to its streams, explain.units first, and logs a change of it once', async () => {
    const { sensors } = (await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string; unit: string | null }[] };
    const unit = (stream: string): string | null | undefined => sensors.find((x) => x.sensor === stream)?.unit;
    expect(unit('garden/BME280.Temperature')).toBe('°C');
    // explain.units wins over the stated hPa.
    expect(unit('garden/BME280.Pressure')).toBe('mbar');
    // Tasmota's fixed units (tryout 20, F13b: none before).
    expect(unit('garden/BME280.Humidity')).toBe('%');
    expect(unit('garden/ENERGY.Power')).toBe('W');
    expect(unit(`${HT}/temperature:0/tC`)).toBe('°C');
    // Values as sent: the series holds the °F readings and the °C ones.
    const series = (await (await fetch(`${http}/api/sensors/${encodeURIComponent('garden/BME280.Temperature')}/series?points=1000`)).json()) as { values?: unknown };
    expect(JSON.stringify(series)).toContain('69.8');
    const changes = daemon.lines.filter((l) => l.sensor === 'garden/BME280.Temperature' && l.from !== undefined);
    expect(changes.map((l) => [l.level, l.from, l.to])).toEqual([[40, '°F', '°C']]);
    expect(changes[0].msg).toContain('changed from °F to °C');
  });
});

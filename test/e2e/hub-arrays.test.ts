/**
 * Tryout 37, findings 1 and 4, end to end through the real daemon (dist/main.js):
 *  - a Sonoff Dual R3 under Tasmota (`"ENERGY":{"Power":[114,25],…}`, arendst/Tasmota#21695) on the embedded broker:
 *    each array element is its own stream (`ENERGY.Power.0`, `.1`) with the field's unit; nothing rejected. On main
 *    only ENERGY.Total, ENERGY.Voltage and ENERGY.BL09XX.Temperature became streams, the rest dropped unsaid;
 *  - two daemons on one mosquitto, the second with its own mqtt.topicPrefix (anomalyd2) as the docs prescribe, both
 *    with Home Assistant discovery and the homeassistant preset: neither reads the other's score and anomaly entities
 *    as sensors (on main each read the other's, `anomalyd-b/plug_ENERGY_Power_…`, in a loop); each counts them refused
 *    `anomalyd` on its status.
 */
import type { MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { freePorts, waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const TICKS = 12;

function dualR3(i: number, at: number): string {
  const p0 = 110 + (i % 5);
  const p1 = 25 + (i % 3);
  return JSON.stringify({
    Time: new Date(at).toISOString().slice(0, 19),
    ENERGY: {
      TotalStartTime: '2024-03-15T00:00:00',
      Total: 0.031 + i * 0.001,
      Yesterday: 0.013,
      Today: 0.015,
      Power: [p0, p1],
      ApparentPower: [p0, p1],
      ReactivePower: [0, 0],
      Factor: [1.0, 1.0],
      Voltage: 234,
      Current: [Math.round((p0 / 234) * 1000) / 1000, Math.round((p1 / 234) * 1000) / 1000],
      BL09XX: { Temperature: 43.2 },
    },
  });
}

interface SensorView {
  readonly sensor: string;
  readonly unit: string | null;
}

async function sensorsOf(http: string): Promise<SensorView[]> {
  return ((await (await fetch(`${http}/api/sensors`)).json()) as { sensors: SensorView[] }).sensors;
}

describe.skipIf(!ready)('a Dual R3 on the embedded broker: one stream per array element', () => {
  let daemon: DaemonProcess;
  let client: MqttClient;
  let http = '';

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({ presets: ['tasmota'], timezone: 'UTC', clientId: `hub-arrays-e2e-${process.pid}` }));
    const t0 = Date.now() - TICKS * 10_000;
    for (let i = 0; i < TICKS; i++) await client.publishAsync('tele/dualr3b/SENSOR', dualR3(i, t0 + i * 10_000), { qos: 1 });
  }, 60_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  it('reads Power, ApparentPower, ReactivePower, Factor and Current per channel, in their units, and rejects nothing', async () => {
    type Status = { counters: Record<string, number>; rejections: Record<string, number> };
    const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    await waitFor(async () => (await status()).counters.messages >= TICKS, 30_000, 'every message parsed');
    const sensors = await sensorsOf(http);
    const byName = new Map(sensors.map((s) => [s.sensor, s.unit]));
    const fields = ['Total', 'Voltage', 'BL09XX.Temperature'];
    for (const f of ['Power', 'ApparentPower', 'ReactivePower', 'Factor', 'Current']) fields.push(`${f}.0`, `${f}.1`);
    expect([...byName.keys()].sort()).toEqual(fields.map((f) => `dualr3b/ENERGY.${f}`).sort());
    expect(byName.get('dualr3b/ENERGY.Power.0')).toBe('W');
    expect(byName.get('dualr3b/ENERGY.Power.1')).toBe('W');
    expect(byName.get('dualr3b/ENERGY.Current.1')).toBe('A');
    expect(byName.get('dualr3b/ENERGY.ApparentPower.0')).toBe('VA');
    expect((await status()).rejections).toEqual({});
  });
});

describe.skipIf(!ready || !mosquittoAvailable())("two anomalyd daemons on one broker never read each other's entities", () => {
  const broker = new Mosquitto();
  const daemons: DaemonProcess[] = [];
  const https: string[] = [];
  let client: MqttClient | undefined;

  beforeAll(async () => {
    await broker.start();
    const ports = await freePorts(2);
    for (const [i, prefix] of ['anomalyd', 'anomalyd2'].entries()) {
      const d = new DaemonProcess({
        broker: { enabled: false },
        mqtt: { url: broker.url, topicPrefix: prefix, clientId: `hub-arrays-${prefix}-${process.pid}` },
        http: { port: ports[i] },
        ingest: { presets: ['tasmota', 'esphome', 'homeassistant'], timezone: 'UTC' },
        homeassistant: { discovery: 'on', scoreIntervalMs: 0, nodeId: `${prefix}-node` },
        learning: { enabled: false },
        store: { commitIntervalMs: 0 },
      });
      daemons.push(d);
      https.push(`http://127.0.0.1:${ports[i]}`);
      await d.start();
    }
    client = await mqtt.connectAsync(broker.url, { clientId: `hub-arrays-pub-${process.pid}` });
    const t0 = Date.now() - TICKS * 10_000;
    for (let i = 0; i < TICKS; i++) await client.publishAsync('tele/plug/SENSOR', dualR3(i, t0 + i * 10_000), { qos: 1 });
  }, 90_000);

  afterAll(async () => {
    await client?.endAsync(true);
    for (const d of daemons) await d.stop('SIGKILL');
    await broker.stop();
  });

  it('each daemon counts the other one’s configs refused `anomalyd` and has only the plug’s streams', async () => {
    type Status = { discovery?: { entities: number; refused: Record<string, number> } };
    const status = async (http: string): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    // Each daemon announces two entities per plug stream after its third reading; the other one sees them retained.
    for (const http of https) await waitFor(async () => ((await status(http)).discovery?.refused.anomalyd ?? 0) >= 26, 60_000, `${http}: the other daemon's configs read`);
    // A further reading after the configs: a daemon that took the other's entities would have their streams by now.
    await client!.publishAsync('tele/plug/SENSOR', dualR3(TICKS, Date.now()), { qos: 1 });
    for (const http of https) {
      const s = await status(http);
      expect(s.discovery?.entities).toBe(0);
      const streams = (await sensorsOf(http)).map((x) => x.sensor);
      expect(streams.length).toBe(13);
      expect(streams.every((x) => x.startsWith('plug/ENERGY.'))).toBe(true);
    }
  });
});

/**
 * Home Assistant MQTT discovery with the homeassistant preset, the rest of tryout 25's finding 8, through the daemon
 * in-process, a real broker (the embedded one, and mosquitto when installed) and a real SQLite file:
 *
 * - An entity's availability (home-assistant.io, "MQTT Sensor": `availability_topic` / `avty_t` with
 *   `payload_available` / `pl_avail` and `payload_not_available` / `pl_not_avail`; the list `availability` with
 *   `topic` / `t` and its own payloads; `availability_mode`) is its device's word, as a preset's availability topic is
 *   (zigbee2mqtt, Tasmota): `Offline` is ONE device_offline episode of the device, its streams' retained states tell
 *   it, `Online` resolves it. With `availability_mode: all`, one topic saying not available is enough, and another
 *   saying available does not end it. On main the availability topics were never subscribed: nothing was told.
 * - The discovered entities are kept in the store: after a restart a state queued for the persistent session (QoS 1,
 *   clean: false), which mosquitto sends before the retained configs replay, is read (on main: rejected bad_topic);
 *   on the embedded broker (its retained configs die with the daemon) a device that does not announce again is read
 *   (on main: its publish refused, nothing read). An emptied config deletes the entity's row.
 * - /api/status counts the configs: entities read, in use, refused per reason.
 * - An entity's `expire_after` (home-assistant.io, "MQTT Sensor": the number of seconds after which the sensor's state
 *   expires if it is not updated, its state then `unavailable`) counts: a state that stops for longer is its device's
 *   device_offline episode at that moment (`no state on … for 1 s, its expire_after`), a state ends it; the entity's
 *   availability state is kept in the store (schema 10), so after a restart a device that sends no state any more
 *   expires again, counted from the connection's start (on main: expire_after was not read; nothing was told until the
 *   silence judge's missing data, and after a restart nothing of the entity's availability was known).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { brokerCases, brokerUrlFor } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';


const cleanups = useCleanups();

const TEMP_CONFIG = ['homeassistant/sensor/omg/temp/config', { '~': 'home/OMG/', stat_t: '~th', val_tpl: '{{ value_json.t }}', unit_of_meas: '°C', avty_t: '~LWT', pl_avail: 'Online', pl_not_avail: 'Offline' }] as const;
const HUM_CONFIG = ['homeassistant/sensor/omg/hum/config', { '~': 'home/OMG/', stat_t: '~th', val_tpl: '{{ value_json.h }}', unit_of_meas: '%', avty_t: '~LWT', pl_avail: 'Online', pl_not_avail: 'Offline' }] as const;
const PUMP_CONFIG = [
  'homeassistant/sensor/pump/config',
  { state_topic: 'shed/pump/flow', availability: [{ topic: 'shed/pump/status' }, { t: 'shed/gw/status', pl_avail: 'up', pl_not_avail: 'down' }], availability_mode: 'all' },
] as const;
const TH1_CONFIG = ['homeassistant/sensor/th1/config', { stat_t: 'office/th1/state', unit_of_meas: '°C', val_tpl: '{{ value_json.temperature }}' }] as const;
const ODD_CONFIG = ['homeassistant/sensor/th3/config', { stat_t: 'office/th3/state', val_tpl: '{{ value_json.t * 0.1 }}' }] as const;

type Sensors = { sensors: { sensor: string; openEpisodeKind?: string }[] };
type Status = { rejections: Record<string, number>; discovery?: { entities: number; inUse: number; units: number; refused: Record<string, number> } };

/** The case's broker (`name` from brokerCases; any other: the embedded one), data directory and HTTP API on a free port. */
async function setUp(name: string, what: string): Promise<{ dataDir: string; brokerUrl: string | null; overrides: object; http: string }> {
  const dataDir = tempDataDir(`anomalyd-ha-${what}-`, cleanups);
  const brokerUrl = await brokerUrlFor(name, cleanups);
  const httpPort = await freePort();
  const overrides = { ingest: { presets: ['homeassistant'], timezone: 'UTC' }, http: { port: httpPort, host: '127.0.0.1' }, store: { commitIntervalMs: 0 } };
  return { dataDir, brokerUrl, overrides, http: `http://127.0.0.1:${httpPort}` };
}

async function connect(url: string, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: `ha-avty-${id}-${process.pid}` });
  cleanups.push(() => c.endAsync(true));
  return c;
}

async function announce(c: MqttClient, configs: readonly (readonly [string, object])[]): Promise<void> {
  for (const [topic, config] of configs) await c.publishAsync(topic, JSON.stringify(config), { qos: 1, retain: true });
}

/** Sends a state every 100 ms until `stream` is listed with a reading more than before. */
async function sendUntilRead(d: Daemon, http: string, c: MqttClient, topic: string, payload: () => string, stream: string): Promise<void> {
  const before = d.counters.readings;
  await waitFor(
    async () => {
      await c.publishAsync(topic, payload(), { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
      return d.counters.readings > before && ((await (await fetch(`${http}/api/sensors`)).json()) as Sensors).sensors.some((s) => s.sensor === stream);
    },
    20_000,
    `${stream} read`,
  );
}

describe.skipIf(!builtAndModelsPresent())('homeassistant preset: discovered entities’ availability, kept across a restart, counted', () => {
  it.each(brokerCases('embedded'))('(%s broker) an entity’s availability topic is its device’s word: one device_offline episode, resolved by its available; availability_mode all', async (name, available) => {
    if (!available) return;
    const { dataDir, brokerUrl, overrides, http } = await setUp(name, 'avty');
    if (brokerUrl !== null) {
      const early = await connect(brokerUrl, 'early');
      await announce(early, [TEMP_CONFIG, HUM_CONFIG, PUMP_CONFIG]);
      await early.endAsync();
    }
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock: null, cleanups });
    const alerts = await collectAlerts(url, `ha-avty-alerts-${name}-${process.pid}`, cleanups);
    const device = await connect(url, `device-${name}`);
    if (brokerUrl === null) await announce(device, [TEMP_CONFIG, HUM_CONFIG, PUMP_CONFIG]);
    let k = 0;
    await sendUntilRead(daemon, http, device, 'home/OMG/th', () => JSON.stringify({ t: 21 + 0.1 * (k++ % 5), h: 40 + (k % 3) }), 'omg/hum');
    await sendUntilRead(daemon, http, device, 'shed/pump/flow', () => (3 + 0.1 * (k++ % 4)).toFixed(1), 'pump');
    await device.publishAsync('home/OMG/LWT', 'Online', { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(alerts).toEqual([]);

    // The device's last will.
    await device.publishAsync('home/OMG/LWT', 'Offline', { qos: 1, retain: true });
    await waitFor(() => alerts.length > 0, 10_000, 'the device episode');
    expect(alerts[0]).toMatchObject({ event: 'open', sensor: 'omg', explanation: { kind: 'device_offline', stream: 'omg' } });
    expect(alerts[0].explanation?.sentence).toMatch(/^omg offline since \d\d:\d\d \(the device said so on home\/OMG\/LWT\), 2 streams silent \(device offline\)$/);
    const kinds = ((await (await fetch(`${http}/api/sensors`)).json()) as Sensors).sensors.filter((s) => s.sensor.startsWith('omg/')).map((s) => s.openEpisodeKind);
    expect(kinds).toEqual(['device_offline', 'device_offline']);
    await device.publishAsync('home/OMG/LWT', 'Online', { qos: 1, retain: true });
    await waitFor(() => alerts.length > 1, 10_000, 'the device episode resolved');
    expect(alerts[1]).toMatchObject({ event: 'resolve', anomaly_id: alerts[0].anomaly_id, sensor: 'omg', explanation: { kind: 'device_offline' } });

    // availability_mode all: both topics available, then the gateway down (its own words) is the pump's device offline;
    // the pump's own `online` after it does not end it (with latest it would), the gateway's `up` does.
    await device.publishAsync('shed/pump/status', 'online', { qos: 1 });
    await device.publishAsync('shed/gw/status', 'up', { qos: 1 });
    await device.publishAsync('shed/gw/status', 'down', { qos: 1 });
    await waitFor(() => alerts.length > 2, 10_000, 'the pump offline');
    expect(alerts[2]).toMatchObject({ event: 'open', sensor: 'pump', explanation: { kind: 'device_offline' } });
    expect(alerts[2].explanation?.sentence).toContain('the device said so on shed/gw/status');
    await device.publishAsync('shed/pump/status', 'online', { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    expect(alerts).toHaveLength(3);
    await device.publishAsync('shed/gw/status', 'up', { qos: 1 });
    await waitFor(() => alerts.length > 3, 10_000, 'the pump online');
    expect(alerts[3]).toMatchObject({ event: 'resolve', anomaly_id: alerts[2].anomaly_id, sensor: 'pump' });
    expect(alerts.map((a) => a.explanation?.kind)).toEqual(['device_offline', 'device_offline', 'device_offline', 'device_offline']);
    const status = (await (await fetch(`${http}/api/status`)).json()) as Status;
    expect(status.rejections.bad_topic ?? 0).toBe(0);
  }, 120_000);

  it.each(brokerCases('embedded'))('(%s broker) a restart keeps the entities: states queued for the session (QoS 1, clean: false) are all read; status counts the configs', async (name, available) => {
    if (!available) return;
    const { dataDir, brokerUrl, overrides, http } = await setUp(name, 'restart');
    let { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock: null, cleanups });
    let device = await connect(url, `dev1-${name}`);
    await announce(device, [TH1_CONFIG, ODD_CONFIG]);
    let k = 0;
    const th1 = (): string => JSON.stringify({ temperature: 20 + 0.1 * (k++ % 7) });
    await sendUntilRead(daemon, http, device, 'office/th1/state', th1, 'th1');
    const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    expect((await status()).discovery).toEqual({ entities: 1, inUse: 1, units: 0, refused: { unread_template: 1 } });
    expect(daemon.database!.loadDiscoveryConfigs().map((r) => r.topic).sort()).toEqual([TH1_CONFIG[0], ODD_CONFIG[0]]);

    await daemon.stop();
    const QUEUED = 5;
    if (brokerUrl !== null) {
      // mosquitto keeps the daemon's session (its subscription to office/th1/state) and queues these for it.
      for (let i = 0; i < QUEUED; i++) await device.publishAsync('office/th1/state', th1(), { qos: 1 });
    }
    ({ daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock: null, cleanups }));
    if (brokerUrl === null) {
      // The embedded broker died with the daemon, its retained configs too: the device reconnects and sends its states
      // without announcing again (a Tasmota announces at its boot only).
      device = await connect(url, `dev2-${name}`);
      for (let i = 0; i < QUEUED; i++) {
        await device.publishAsync('office/th1/state', th1(), { qos: 1 });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await waitFor(() => daemon.counters.received >= QUEUED, 10_000, 'the states received');
    await new Promise((r) => setTimeout(r, 500));
    const after = await status();
    expect(after.rejections).toEqual({});
    expect(daemon.counters.readings).toBe(QUEUED);
    expect(after.discovery).toEqual({ entities: 1, inUse: 1, units: 0, refused: { unread_template: 1 } });

    // An emptied config deletes the entity and its row.
    await device.publishAsync(TH1_CONFIG[0], '', { qos: 1, retain: true });
    await waitFor(() => daemon.database!.loadDiscoveryConfigs().length === 1, 10_000, 'the row deleted');
    expect((await status()).discovery?.entities).toBe(0);
  }, 120_000);

  it('(embedded broker) expire_after: a state that stops for longer is its device offline at that moment, a state ends it; kept across a restart, a device that sends nothing after it expires again', async () => {
    const { dataDir, overrides, http } = await setUp('embedded', 'expire');
    const PROBE_CONFIG = ['homeassistant/sensor/probe/config', { stat_t: 'lab/probe/state', unit_of_meas: '°C', exp_aft: 1 }] as const;
    let { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides, clock: null, cleanups });
    let alerts = await collectAlerts(url, `ha-expire-alerts-1-${process.pid}`, cleanups);
    const device = await connect(url, 'expire-dev');
    await announce(device, [PROBE_CONFIG]);
    let k = 0;
    const state = (): string => (20 + 0.1 * (k++ % 5)).toFixed(1);
    for (let i = 0; i < 4; i++) await sendUntilRead(daemon, http, device, 'lab/probe/state', state, 'probe');
    const lastState = Date.now();

    // No state for longer than its expire_after: its device offline, told at the moment it expired.
    await waitFor(() => alerts.some((a) => a.event === 'open'), 15_000, 'the device episode');
    const open = alerts.find((a) => a.event === 'open')!;
    expect(open).toMatchObject({ sensor: 'probe', explanation: { kind: 'device_offline', stream: 'probe' } });
    expect(open.explanation?.sentence).toMatch(/^probe offline since \d\d:\d\d \(no state on lab\/probe\/state for 1 s, its expire_after\), 1 stream silent \(device offline\)$/);
    expect(Date.parse(open.explanation!.since)).toBeGreaterThanOrEqual(lastState - 1_000);
    expect(Date.parse(open.explanation!.since)).toBeLessThanOrEqual(Date.parse(open.start));
    // A state: the device is back.
    await device.publishAsync('lab/probe/state', state(), { qos: 1 });
    await waitFor(() => alerts.some((a) => a.event === 'resolve'), 10_000, 'the device episode resolved');
    expect(alerts.find((a) => a.event === 'resolve')).toMatchObject({ anomaly_id: open.anomaly_id, sensor: 'probe', explanation: { kind: 'device_offline' } });
    expect(alerts.map((a) => a.explanation?.kind)).toEqual(['device_offline', 'device_offline']);
    // Kept beside its config.
    const row = daemon.database!.loadDiscoveryConfigs().find((r) => r.topic === PROBE_CONFIG[0]);
    expect(JSON.parse(row!.availability!)).toMatchObject({ hadState: true });

    // The restart (the embedded broker's retained configs die with it); the device sends nothing after it.
    await device.endAsync(true);
    await daemon.stop();
    ({ daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides, clock: null, cleanups }));
    alerts = await collectAlerts(url, `ha-expire-alerts-2-${process.pid}`, cleanups);
    await waitFor(() => alerts.some((a) => a.event === 'open'), 15_000, 'the device episode after the restart');
    const again = alerts.find((a) => a.event === 'open')!;
    expect(again).toMatchObject({ sensor: 'probe', explanation: { kind: 'device_offline' } });
    expect(again.explanation?.sentence).toContain('(no state on lab/probe/state for 1 s, its expire_after)');
    expect(alerts.filter((a) => a.explanation?.kind === 'missing_data')).toEqual([]);
  }, 120_000);
});

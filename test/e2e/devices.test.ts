/**
 * Issue 11 end to end: the devices people already have, through a real mosquitto into the real daemon
 * (dist/main.js, real onnxruntime, real SQLite). Every preset's documented sample kind and every payload
 * case of ../shared/cases/README.md ("Payload shapes") is published long enough to be scored, all at
 * once: the streams each yields, their names, a score for every stream, nothing rejected that should not
 * be, no error line, no window dropped. Home Assistant discovery is checked with a plain MQTT client on
 * homeassistant/#: keys, retained, availability, and unique ids that stay the same across a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const TICKS = 112;
const STEP_MS = 1000;

/** A device time without an offset, as Tasmota and rtl_433 write it (read in ingest.timezone, UTC here). */
function localIso(ts: number, sep = 'T'): string {
  return new Date(ts).toISOString().slice(0, 19).replace('T', sep);
}

/** A smooth signal with some spread, different per stream. */
function wave(i: number, base: number, amp: number, phase = 0): number {
  return Math.round((base + amp * Math.sin(i / 5 + phase) + (amp / 7) * Math.sin(i * 1.7 + phase)) * 100) / 100;
}

interface Message {
  readonly topic: string;
  readonly payload: string;
}

/** What every device publishes at tick i; device times start two hours ago. */
function tick(i: number, t0: number): Message[] {
  const ts = t0 + i * STEP_MS;
  const out: Message[] = [];
  // zigbee2mqtt: a null field in the first message (zigbee2mqtt #9847), last_seen switched on later; an
  // Aqara-style battery device also sends its battery's voltage (mV), its chip's temperature and its reboots.
  const bedroom: Record<string, unknown> = {
    battery: 93.5,
    device_temperature: wave(i, 24, 1, 2),
    humidity: wave(i, 43, 3),
    linkquality: 255,
    power_outage_count: 3 + Math.floor(i / 50),
    temperature: i === 0 ? null : wave(i, 21, 1, 1),
    voltage: 3005 - Math.floor(i / 40),
  };
  if (i > 40) bedroom.last_seen = ts;
  out.push({ topic: 'zigbee2mqtt/bedroom_sensor', payload: JSON.stringify(bedroom) });
  // A smart plug with seven numeric fields (zigbee2mqtt #8960).
  out.push({
    topic: 'zigbee2mqtt/plug',
    payload: JSON.stringify({ consumption: 17.6 + i * 0.01, current: wave(i, 0.25, 0.05), energy: 17.6 + i * 0.01, linkquality: 66, power: wave(i, 55, 8, 2), temperature: wave(i, 21, 0.5, 3), voltage: wave(i, 228, 2, 4) }),
  });
  // Tasmota nested sensors; the ENERGY block's Period is absent after boot (Tasmota #3447). Its measurements
  // and its Total (a counter by the preset's word) are streams; Period, Today, Yesterday are not.
  out.push({ topic: 'tele/garden/SENSOR', payload: JSON.stringify({ Time: localIso(ts), BME280: { Temperature: wave(i, 24.5, 1), Humidity: wave(i, 65, 4, 1), Pressure: wave(i, 1016, 2, 2) }, TempUnit: 'C' }) });
  // A failed reading now and then is "nan" (a missing reading from every preset, as from ESPHome below).
  const energy: Record<string, number | string> = { Total: 0.052 + i * 0.001, Power: i % 30 === 11 ? 'nan' : wave(i, 40, 10), Voltage: wave(i, 198, 3, 1), Current: wave(i, 0.2, 0.05, 2) };
  if (i >= 10) energy.Period = wave(i, 3, 1, 3);
  out.push({ topic: 'tele/plug2/SENSOR', payload: JSON.stringify({ Time: localIso(ts), ENERGY: energy }) });
  // ESPHome and Home Assistant state topics: plain values, `unavailable` now and then.
  out.push({ topic: 'livingroom/sensor/temperature/state', payload: i % 30 === 13 ? 'nan' : String(wave(i, 21.5, 1)) });
  out.push({ topic: 'homeassistant/sensor/outdoor_temperature/state', payload: i % 25 === 7 ? 'unavailable' : String(wave(i, 7, 2, 1)) });
  out.push({ topic: 'homeassistant/number/boiler_setpoint/state', payload: String(wave(i, 57, 2, 2)) });
  // Shelly Gen2 status notification.
  out.push({
    topic: 'shellyplus1pm-a8032ab1/status/switch:0',
    payload: JSON.stringify({ id: 0, source: 'timer', output: true, apower: wave(i, 55, 5), voltage: wave(i, 229, 1, 1), current: wave(i, 0.25, 0.03, 2), aenergy: { total: 17.6 + i * 0.02, by_minute: [0, 0, 0], minute_ts: 1764496800 }, temperature: { tC: wave(i, 41, 1, 3), tF: 106 } }),
  });
  // rtl_433: two devices on one events topic.
  out.push({ topic: 'rtl_433/pi/events', payload: JSON.stringify({ time: localIso(ts, ' '), model: 'Acurite-Tower', id: 1234, channel: 'A', battery_ok: 1, temperature_C: wave(i, 21.3, 1), humidity: wave(i, 45, 3, 1), mic: 'CHECKSUM' }) });
  out.push({ topic: 'rtl_433/pi/events', payload: JSON.stringify({ time: localIso(ts, ' '), model: 'Nexus-TH', id: 77, channel: 1, temperature_C: wave(i, 5, 2, 2) }) });
  // A one-value sensor (the default rule) next to them all.
  out.push({ topic: 'sensors/room', payload: String(wave(i, 20, 1.5)) });
  // A timestamp under another name, in seconds (esp-idf #1548).
  out.push({ topic: 'sensors/boiler', payload: JSON.stringify({ Tag: 'boiler', Value: wave(i, 57.4, 2), Timestamp: Math.floor(ts / 1000) }) });
  // An unreadable digit in the first reading (AI-on-the-edge-device #479), then good readings.
  out.push({ topic: 'sensors/meter', payload: JSON.stringify({ value: i === 0 ? 'N64.42' : String(wave(i, 564, 5)), timestamp: localIso(ts), error: 'no error' }) });
  return out;
}

const EXPECTED_STREAMS = [
  'bedroom_sensor/humidity',
  'bedroom_sensor/temperature',
  'plug/consumption',
  'plug/current',
  'plug/energy',
  'plug/power',
  'plug/temperature',
  'plug/voltage',
  'garden/BME280.Temperature',
  'garden/BME280.Humidity',
  'garden/BME280.Pressure',
  'plug2/ENERGY.Power',
  'plug2/ENERGY.Voltage',
  'plug2/ENERGY.Current',
  'plug2/ENERGY.Total',
  'livingroom/temperature',
  'outdoor_temperature',
  'boiler_setpoint',
  'shellyplus1pm-a8032ab1/switch:0/apower',
  'shellyplus1pm-a8032ab1/switch:0/voltage',
  'shellyplus1pm-a8032ab1/switch:0/current',
  'shellyplus1pm-a8032ab1/switch:0/aenergy.total',
  'shellyplus1pm-a8032ab1/switch:0/temperature.tC',
  'Acurite-Tower-A-1234/temperature_C',
  'Acurite-Tower-A-1234/humidity',
  'Nexus-TH-1-77/temperature_C',
  'room',
  'boiler',
  'meter',
].sort();

async function api<T>(daemon: DaemonProcess, path: string): Promise<T> {
  const http = daemon.logged('ready').at(-1)!.http as string;
  const res = await fetch(`${http}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Retained {
  topic: string;
  payload: string;
  retain: boolean;
}

/** Everything retained under `filter`, as a fresh subscriber sees it. */
async function retainedUnder(url: string, filter: string, expect: number): Promise<Retained[]> {
  const got: Retained[] = [];
  const c: MqttClient = await mqtt.connectAsync(url, { clientId: `ha-probe-${process.pid}-${Date.now()}` });
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await c.subscribeAsync(filter, { qos: 1 });
  await waitFor(() => got.length >= expect, 10_000, `${expect} retained messages under ${filter}`);
  await new Promise((r) => setTimeout(r, 200));
  await c.endAsync();
  return got;
}

describe.skipIf(!ready)('devices people already have, through mosquitto into the daemon', () => {
  const broker = new Mosquitto();
  let daemon: DaemonProcess;
  const t0 = Date.now() - 2 * 3_600_000;

  beforeAll(async () => {
    await broker.start();
    daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: broker.url, clientId: 'anomalyd-devices' },
      ingest: { presets: ['zigbee2mqtt', 'tasmota', 'esphome', 'homeassistant', 'ha_statestream', 'shelly', 'rtl_433'], timezone: 'UTC' },
      homeassistant: { discovery: 'on', scoreIntervalMs: 0, nodeId: 'e2e_node' },
      learning: { enabled: false },
      model: { normWarmup: 32 },
      store: { checkpointIntervalMs: 1000 },
    });
    await daemon.start();
    const client = await mqtt.connectAsync(broker.url, { clientId: `devices-${process.pid}` });
    for (let i = 0; i < TICKS; i++) for (const m of tick(i, t0)) await client.publishAsync(m.topic, m.payload, { qos: 1 });
    await client.endAsync();
    // Every stream has been scored (TICKS readings: windows at 64, 80, 96, 112).
    await waitFor(
      async () => {
        const s = await api<{ sensors: { sensor: string; lastTs: number | null }[] }>(daemon, '/api/sensors');
        return EXPECTED_STREAMS.every((id) => s.sensors.some((x) => x.sensor === id && x.lastTs !== null));
      },
      60_000,
      'a scored window of every stream',
    );
  }, 120_000);

  afterAll(async () => {
    await daemon.stop('SIGKILL');
    await broker.stop();
  });

  it('yields exactly the documented streams, each scored, as one-value streams', async () => {
    const { sensors } = await api<{ sensors: { sensor: string }[] }>(daemon, '/api/sensors');
    expect(sensors.map((s) => s.sensor).sort()).toEqual(EXPECTED_STREAMS);
    for (const id of EXPECTED_STREAMS) {
      // Stream ids with '/' work in the HTTP routes URL-encoded.
      const h = await api<{ stream: string; ts: number[]; surprise: (number | null)[] }>(daemon, `/api/sensors/${encodeURIComponent(id)}/series`);
      expect(h.stream).toBe(id);
      // Readings get into the series as they are scored.
      expect(h.ts.length, id).toBeGreaterThan(0);
      for (const s of h.surprise) if (s !== null) expect(s).toBeGreaterThanOrEqual(0);
    }
  });

  it('drops no window and logs no error, with the plug, Tasmota and one-value sensors batched together', async () => {
    const { counters } = await api<{ counters: Record<string, number> }>(daemon, '/api/status');
    expect(counters.modelErrors).toBe(0);
    expect(counters.internalErrors).toBe(0);
    expect(counters.scored).toBeGreaterThanOrEqual(EXPECTED_STREAMS.length);
    expect(daemon.lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('rejects no reading as non_finite: a hub\'s "nan" is a missing reading', async () => {
    const { rejections } = await api<{ rejections: Record<string, number> }>(daemon, '/api/status');
    expect(rejections.non_finite ?? 0).toBe(0);
  });

  it('publishes state and alerts topics per stream, with stream ids over several levels', async () => {
    const states = await retainedUnder(broker.url, 'anomalyd/state/#', EXPECTED_STREAMS.length);
    const ids = new Set(states.map((s) => s.topic.slice('anomalyd/state/'.length)));
    for (const id of EXPECTED_STREAMS) expect(ids.has(id), id).toBe(true);
    const scores = await retainedUnder(broker.url, 'anomalyd/score/#', EXPECTED_STREAMS.length);
    for (const s of scores) expect((JSON.parse(s.payload) as { score: number }).score).toBeGreaterThanOrEqual(0);
  });

  it('announces every stream to Home Assistant: two retained entities per stream, one device per source', async () => {
    const configs = await retainedUnder(broker.url, 'homeassistant/+/e2e_node/+/config', 2 * EXPECTED_STREAMS.length);
    expect(configs).toHaveLength(2 * EXPECTED_STREAMS.length);
    expect(configs.every((c) => c.retain)).toBe(true);
    const parsed = configs.map((c) => ({ topic: c.topic, body: JSON.parse(c.payload) as Record<string, unknown> & { device: { identifiers: string[]; name: string }; unique_id: string } }));
    const binary = parsed.filter((p) => p.topic.startsWith('homeassistant/binary_sensor/'));
    const scores = parsed.filter((p) => p.topic.startsWith('homeassistant/sensor/'));
    expect(binary).toHaveLength(EXPECTED_STREAMS.length);
    expect(scores).toHaveLength(EXPECTED_STREAMS.length);
    for (const { body } of binary) {
      expect(Object.keys(body).sort()).toEqual(
        ['availability_topic', 'device', 'device_class', 'json_attributes_topic', 'name', 'origin', 'payload_available', 'payload_not_available', 'state_topic', 'unique_id', 'value_template'].sort(),
      );
      expect(body).toMatchObject({ device_class: 'problem', availability_topic: 'anomalyd/status', payload_available: 'online', payload_not_available: 'offline' });
      expect(String(body.state_topic)).toMatch(/^anomalyd\/state\//);
    }
    for (const { body } of scores) {
      expect(body).toMatchObject({ state_class: 'measurement', availability_topic: 'anomalyd/status', value_template: '{{ value_json.score }}' });
      expect(String(body.state_topic)).toMatch(/^anomalyd\/score\//);
    }
    // Unique ids are unique; a device's streams share one device.
    expect(new Set(parsed.map((p) => p.body.unique_id)).size).toBe(parsed.length);
    const plug = binary.filter((p) => String(p.body.state_topic).startsWith('anomalyd/state/plug/'));
    expect(plug).toHaveLength(6);
    expect(new Set(plug.map((p) => p.body.device.identifiers[0])).size).toBe(1);
    expect(plug[0].body.device.name).toBe('anomalyd plug');
  });

  it('rejected only what should be, and keeps the same Home Assistant unique ids across a restart', async () => {
    const before = (await retainedUnder(broker.url, 'homeassistant/+/e2e_node/+/config', 2 * EXPECTED_STREAMS.length)).map((c) => [c.topic, (JSON.parse(c.payload) as { unique_id: string }).unique_id]);
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const db = new Database(daemon.dbPath, { readonly: true });
    try {
      const rows = db.prepare('SELECT reason, sensor, count FROM rejections ORDER BY reason, sensor').all() as { reason: string; sensor: string; count: number }[];
      // The one unreadable first reading of the meter; nothing else (null fields and `unavailable` are missing readings).
      expect(rows).toEqual([{ reason: 'not_a_number', sensor: 'meter', count: 1 }]);
    } finally {
      db.close();
    }
    // Clear what is retained, restart, and see the daemon announce the same entities again.
    const cleaner = await mqtt.connectAsync(broker.url, { clientId: `cleaner-${process.pid}` });
    for (const [topic] of before) await cleaner.publishAsync(topic, '', { qos: 1, retain: true });
    await daemon.start();
    for (const m of tick(TICKS, t0)) await cleaner.publishAsync(m.topic, m.payload, { qos: 1 });
    await cleaner.endAsync();
    const after = (await retainedUnder(broker.url, 'homeassistant/+/e2e_node/+/config', 2 * EXPECTED_STREAMS.length)).map((c) => [c.topic, (JSON.parse(c.payload) as { unique_id: string }).unique_id]);
    expect(after.sort()).toEqual(before.sort());
  }, 60_000);
});

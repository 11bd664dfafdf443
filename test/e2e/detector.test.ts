/**
 * End to end: the real daemon (dist/main.js) as a child process, a real broker (the embedded one, and
 * mosquitto), the real onnxruntime and a real SQLite file. Readings go in over MQTT; an anomaly comes out
 * as an alert over MQTT, and its row was committed before the alert arrived.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { Simulator } from '../../src/sim/simulator.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { DaemonProcess, MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const START = Date.UTC(2026, 0, 1);
const NORMAL_TICKS = 1200;

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

interface Logins {
  /** How the simulated sensors log in. */
  readonly sensor: mqtt.IClientOptions;
  /** How the operator (who also watches everything) logs in, and its name in command topics. */
  readonly operator: mqtt.IClientOptions;
  readonly operatorName: string;
}

const SENSOR_PASSWORD = 'sensor-password-0123456789';
const OPERATOR_PASSWORD = 'operator-password-0123456789';

async function exercise(daemon: DaemonProcess, url: string, logins: Logins): Promise<void> {
  const received: Received[] = [];
  const alertRowsSeen: boolean[] = [];
  const stamp = `${process.pid}-${Date.now()}`;
  const client = await mqtt.connectAsync(url, { ...logins.operator, clientId: `e2e-op-${stamp}` });
  const sensorClient = await mqtt.connectAsync(url, { ...logins.sensor, clientId: `e2e-sensor-${stamp}` });
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), retain: packet.retain });
    if (topic.startsWith('anomalyd/alerts/')) {
      // Store, then alert: by the time the alert arrives its anomaly row must be committed.
      const a = JSON.parse(payload.toString()) as AlertPayload;
      const db = new Database(daemon.dbPath, { readonly: true, fileMustExist: true });
      try {
        alertRowsSeen.push(db.prepare('SELECT 1 FROM anomalies WHERE id = ?').get(a.anomaly_id) !== undefined);
      } finally {
        db.close();
      }
    }
  });
  await client.subscribeAsync(['anomalyd/#'], { qos: 1 });

  // A level shift on the simulated vibration sensor, well after the detector has learnt it.
  const shiftStart = START + NORMAL_TICKS * 1000;
  const sim = new Simulator({
    seed: 11,
    startTs: START,
    intervalMs: 1000,
    sensors: [{ name: 'pump1', kind: 'vibration' }],
    anomalies: [{ sensor: 'pump1', kind: 'level_shift', startTs: shiftStart, endTs: shiftStart + 120_000, magnitude: 6 }],
  });
  const bad = ['{"value": "abc"}', '{"value": "NaN"}', '{"value": 1', '', '{"value": 1, "ts": 99999999999999}', 'hello'];
  for (let i = 0; i < NORMAL_TICKS + 160; i++) {
    for (const m of sim.next()) await sensorClient.publishAsync(m.topic, m.payload, { qos: 1 });
    if (i % 100 === 50) await sensorClient.publishAsync('sensors/pump1', bad[(i / 100) % bad.length | 0], { qos: 1 });
  }
  await waitFor(() => received.some((r) => r.topic === 'anomalyd/alerts/pump1'), 30_000, 'an alert for pump1');
  const alerts = received.filter((r) => r.topic === 'anomalyd/alerts/pump1').map((r) => JSON.parse(r.payload) as AlertPayload);
  const first = alerts[0];
  expect(first.event).toBe('open');
  expect(first.sensor).toBe('pump1');
  expect(first.score).toBeGreaterThanOrEqual(first.threshold);
  // The episode starts at or after the injected shift (allowing one window of context before it).
  expect(Date.parse(first.start)).toBeGreaterThanOrEqual(shiftStart - 64_000);
  expect(alertRowsSeen.every(Boolean)).toBe(true);
  // No alert fired during the normal stretch.
  expect(alerts.every((a) => Date.parse(a.start) >= shiftStart - 64_000)).toBe(true);

  // An operator acknowledges the anomaly over MQTT; the daemon stores the mark and replies.
  await client.publishAsync(`anomalyd/cmd/ack/${first.anomaly_id}/${logins.operatorName}`, JSON.stringify({ note: 'seen it' }), { qos: 1 });
  await waitFor(() => received.some((r) => r.topic === 'anomalyd/cmd/result'), 10_000, 'a command result');
  const reply = JSON.parse(received.find((r) => r.topic === 'anomalyd/cmd/result')!.payload) as { ok: boolean; anomaly_id: string };
  expect(reply).toMatchObject({ ok: true, anomaly_id: first.anomaly_id, by: logins.operatorName });

  // The local API sees the same history: the sensor, its scored windows, and the stored anomaly with its mark.
  const http = daemon.logged('ready')[0].http as string;
  const sensors = (await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string }[] };
  expect(sensors.sensors.map((x) => x.sensor)).toContain('pump1');
  const stored = (await (await fetch(`${http}/api/anomalies/${first.anomaly_id}`)).json()) as { id: string; mark: string | null };
  expect(stored).toMatchObject({ id: first.anomaly_id, mark: 'ack' });

  expect(received.some((r) => r.topic === 'anomalyd/status' && r.payload === 'online')).toBe(true);
  expect(received.some((r) => r.topic === 'anomalyd/state/pump1' && (JSON.parse(r.payload) as { status: string }).status === 'anomalous')).toBe(true);
  await client.endAsync();
  await sensorClient.endAsync();

  const code = await daemon.stop('SIGTERM');
  expect(code).toBe(0);
  expect(daemon.logged('stopped').at(-1)?.clean).toBe(true);

  const db = new Database(daemon.dbPath, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const rejected = db.prepare('SELECT reason, SUM(count) AS n FROM rejections GROUP BY reason').all() as { reason: string; n: number }[];
    const total = rejected.reduce((s, r) => s + r.n, 0);
    expect(total).toBeGreaterThanOrEqual(10);
    expect(rejected.map((r) => r.reason)).toEqual(expect.arrayContaining(['not_a_number', 'non_finite', 'bad_json', 'empty', 'future_timestamp']));
    const rows = db.prepare("SELECT id, mark, mark_note, mark_by FROM anomalies WHERE sensor = 'pump1'").all() as { id: string; mark: string | null; mark_note: string | null }[];
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.find((r) => r.id === first.anomaly_id)).toMatchObject({ mark: 'ack', mark_note: 'seen it', mark_by: `mqtt:${logins.operatorName}` });
  } finally {
    db.close();
  }
}

describe.skipIf(!ready)('detector end to end (embedded broker, LSTM)', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    daemon = new DaemonProcess({
      broker: { port: 0, username: 'sensors', password: SENSOR_PASSWORD, operator: { username: 'alice', password: OPERATOR_PASSWORD } },
      store: { commitIntervalMs: 50 },
      model: { dir: MODELS, cell: 'lstm' },
    });
    await daemon.start();
  });
  afterAll(async () => {
    await daemon.stop('SIGKILL');
  });

  it('turns a level shift into a stored anomaly and an alert, rejects bad payloads, and stops cleanly', async () => {
    const url = daemon.logged('ready')[0].mqtt as string;
    await exercise(daemon, url, {
      sensor: { username: 'sensors', password: SENSOR_PASSWORD },
      operator: { username: 'alice', password: OPERATOR_PASSWORD },
      operatorName: 'alice',
    });
  }, 120_000);
});

describe.skipIf(!ready || !mosquittoAvailable())('detector end to end (mosquitto, GRU)', () => {
  const broker = new Mosquitto();
  let daemon: DaemonProcess;
  beforeAll(async () => {
    await broker.start();
    // This broker takes anyone (the ACL'd setup is test/e2e/broker-roles.test.ts); the daemon accepts bob's commands.
    daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: broker.url, clientId: 'anomalyd-e2e', username: 'anomalyd', password: 'daemon-password-0123456789', operators: ['bob'] },
    });
    await daemon.start();
  });
  afterAll(async () => {
    await daemon.stop('SIGKILL');
    await broker.stop();
  });

  it('works the same against an external broker, and leaves a retained offline status', async () => {
    await exercise(daemon, broker.url, { sensor: {}, operator: {}, operatorName: 'bob' });
    const probe = await mqtt.connectAsync(broker.url, { clientId: `probe-${process.pid}` });
    const status = await new Promise<string>((resolve) => {
      probe.on('message', (_t, p) => resolve(p.toString()));
      void probe.subscribeAsync('anomalyd/status');
    });
    expect(status).toBe('offline');
    await probe.endAsync();
  }, 120_000);
});

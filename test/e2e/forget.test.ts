/**
 * "Forget this sensor" (src/daemon/forget.ts): the operator retires a stream or a device. The daemon in-process
 * with the embedded broker, its HTTP API, Home Assistant discovery on, a real SQLite file and an injected wall clock
 * (a silence is the clock moved on), driven through the CLI (`anomalyd sensors forget`) and the API.
 *   - A dead sensor's `missing data` (which keeps it from eviction for good) is resolved `forgotten`: stored, then
 *     published; its retained state and discovery configs are cleared, its checkpoint deleted; its history stays; a
 *     restart does not bring it back; its next reading starts a new stream.
 *   - A device: every stream of it.
 *   - With the daemon stopped, the CLI forgets in the database; the resolve goes out at the next start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { discoveryTopics } from '../../src/contract/ha-discovery.js';
import { nodeIdOf } from '../../src/adapters/ha-discovery.js';
import { Daemon } from '../../src/daemon.js';
import { DB_FILE, SqliteStore } from '../../src/adapters/sqlite-store.js';
import { sensorsCommand } from '../../src/cli/sensors.js';
import type { CommandContext } from '../../src/cli/context.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { freePort, waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';
import { mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';

const SEC = 1000;
const MIN = 60 * SEC;
const CLIENT_ID = `forget-${process.pid}`;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Started {
  readonly daemon: Daemon;
  readonly pub: mqtt.MqttClient;
  /** The latest payload seen per topic (retained ones at subscribe, then live). */
  readonly last: Map<string, string>;
  readonly nodeId: string;
}

/** `brokerUrl`: an outside broker (mosquitto) instead of the embedded one. */
function overrides(dataDir: string, brokerUrl?: string): Record<string, unknown> {
  return {
    dataDir,
    mqtt: { clientId: CLIENT_ID, ...(brokerUrl !== undefined ? { url: brokerUrl } : {}) },
    broker: brokerUrl !== undefined ? { enabled: false } : { port: 0 },
    http: { port: 0 },
    model: { dir: MODELS, worker: false },
    learning: { enabled: false },
    ingest: { presets: ['tasmota'], timezone: 'UTC' },
    homeassistant: { discovery: 'on', scoreIntervalMs: 0 },
    store: { commitIntervalMs: 0 },
  };
}

async function started(dataDir: string, clock: () => number, alerts: AlertPayload[] = [], brokerUrl?: string): Promise<Started> {
  const loaded = loadConfig({ path: '/dev/null', env: {}, overrides: overrides(dataDir, brokerUrl) });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  // The loop never saturated (a virtual clock: a real busy second must not hold the silence back; loop-load.ts).
  const daemon = new Daemon({ config: loaded.config, logger: pino({ level: 'silent' }), now: clock, arrivalNow: clock, loopUtilization: () => 0 });
  cleanups.push(() => daemon.stop());
  await daemon.start();
  const last = new Map<string, string>();
  const sub = await mqtt.connectAsync(brokerUrl ?? daemon.brokerUrl!, { clientId: `${CLIENT_ID}-sub-${Math.random().toString(36).slice(2)}` });
  cleanups.push(() => sub.endAsync());
  sub.on('message', (topic, payload) => {
    const text = payload.toString('utf8');
    last.set(topic, text);
    if (topic.startsWith('anomalyd/alerts/')) alerts.push(JSON.parse(text) as AlertPayload);
  });
  await sub.subscribeAsync(['homeassistant/#', 'anomalyd/state/#', 'anomalyd/alerts/#'], { qos: 1 });
  const pub = await mqtt.connectAsync(brokerUrl ?? daemon.brokerUrl!, { clientId: `${CLIENT_ID}-pub-${Math.random().toString(36).slice(2)}` });
  cleanups.push(() => pub.endAsync());
  return { daemon, pub, last, nodeId: nodeIdOf(loaded.config) };
}

function cli(): { ctx: CommandContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    ctx: {
      stdout: (s) => void (out += s),
      stderr: (s) => void (err += s),
      env: {},
      exit: (code) => {
        throw new Error(`exit ${code}`);
      },
    },
    out: () => out,
    err: () => err,
  };
}

async function getJson<T>(daemon: Daemon, path: string): Promise<T> {
  const res = await fetch(`${daemon.httpUrl!}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** 25 min of a noisy 1 Hz temperature on sensors/attic ending at `now`; waits until it is scored. */
async function attic(s: Started, now: number): Promise<void> {
  const rnd = lcg(3);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  const N = 1500;
  const before = s.daemon.counters.scored;
  for (let i = 0; i < N; i += 250) {
    const values = Array.from({ length: Math.min(250, N - i) }, () => Math.round((21 + 0.3 * gauss()) * 100) / 100);
    await s.pub.publishAsync('sensors/attic', JSON.stringify({ values, ts: now - (N - 1 - i) * SEC, interval_ms: SEC }), { qos: 1 });
  }
  await waitFor(() => s.daemon.counters.scored >= before + N, 60_000, 'every reading of attic scored');
}

/** attic silent for 20 min: its missing-data alert opens; returns its id. */
async function silenceOpened(s: Started, alerts: AlertPayload[]): Promise<string> {
  s.daemon.judgeSilences();
  await waitFor(() => alerts.some((a) => a.sensor === 'attic' && a.event === 'open'), 10_000, 'the silence alert of attic');
  return alerts.find((a) => a.sensor === 'attic' && a.event === 'open')!.anomaly_id;
}

describe.skipIf(!builtAndModelsPresent())('forget a sensor', () => {
  it('a dead sensor: its missing-data alert resolved forgotten (stored, then published), its retained topics and checkpoint gone, its history kept', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-forget-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const alerts: AlertPayload[] = [];
    let s = await started(dataDir, () => now, alerts);
    await attic(s, now);
    const atticTopics = discoveryTopics('homeassistant', s.nodeId, 'attic');
    await waitFor(() => (s.last.get(atticTopics.binarySensor) ?? '') !== '', 10_000, 'the discovery config of attic');
    now += 20 * MIN;
    const anomalyId = await silenceOpened(s, alerts);
    s.daemon.checkpoint();
    expect(s.daemon.database!.loadSensorState('attic')).not.toBeNull();

    // An unknown name is refused, naming the close one.
    const unknown = cli();
    expect(await sensorsCommand(['forget', 'atic', '--url', s.daemon.httpUrl!], unknown.ctx)).toBe(1);
    expect(unknown.err()).toMatch(/404: no such sensor: "atic" \(close: "attic"\)/);

    const c = cli();
    expect(await sensorsCommand(['forget', 'attic', '--url', s.daemon.httpUrl!], c.ctx), c.err()).toBe(0);
    expect(c.out()).toMatch(/^forgot stream attic: 1 stream \(attic\)$/m);
    expect(c.out()).toContain(`resolved ${anomalyId.slice(0, 8)} of attic (forgotten)`);

    // Stored (the record resolved, its last event the resolve) and published, with the reason.
    const stored = s.daemon.database!.getAnomaly(anomalyId)!;
    expect(stored.status).toBe('resolved');
    expect(stored.events.at(-1)).toMatchObject({ kind: 'resolve', payload: { resolution: 'forgotten' } });
    await waitFor(() => alerts.some((a) => a.anomaly_id === anomalyId && a.event === 'resolve'), 10_000, 'the resolve of the silence');
    expect(alerts.find((a) => a.anomaly_id === anomalyId && a.event === 'resolve')).toMatchObject({ resolution: 'forgotten', sensor: 'attic' });
    // Retained state and Home Assistant entities cleared; not listed; nothing open; no checkpoint.
    await waitFor(() => s.last.get('anomalyd/state/attic') === '' && s.last.get(atticTopics.binarySensor) === '', 10_000, 'the retained topics of attic cleared');
    expect(s.last.get(atticTopics.sensor)).toBe('');
    expect((await getJson<{ sensors: unknown[] }>(s.daemon, '/api/sensors')).sensors).toEqual([]);
    expect((await getJson<{ sensors: { openEpisodes: number } }>(s.daemon, '/api/status')).sensors.openEpisodes).toBe(0);
    expect(s.daemon.database!.loadSensorState('attic')).toBeNull();
    // History stays queryable.
    const history = await getJson<{ anomalies: Array<{ id: string; status: string }> }>(s.daemon, '/api/anomalies?sensor=attic');
    expect(history.anomalies.map((a) => [a.id, a.status])).toEqual([[anomalyId, 'resolved']]);

    // A restart does not bring it back.
    await s.daemon.stop();
    now += MIN;
    s = await started(dataDir, () => now, alerts);
    expect((await getJson<{ sensors: unknown[] }>(s.daemon, '/api/sensors')).sensors).toEqual([]);
    // Its next reading starts a new stream: in its learning period, nothing open.
    await s.pub.publishAsync('sensors/attic', JSON.stringify({ ts: now, value: 21.1 }), { qos: 1 });
    await waitFor(async () => (await getJson<{ sensors: unknown[] }>(s.daemon, '/api/sensors')).sensors.length === 1, 10_000, 'attic listed again');
    const { sensors } = await getJson<{ sensors: Array<{ sensor: string; status: string; openEpisode: string | null }> }>(s.daemon, '/api/sensors');
    expect(sensors[0]).toMatchObject({ sensor: 'attic', status: 'learning', openEpisode: null });
    expect(alerts.filter((a) => a.sensor === 'attic').map((a) => a.event)).toEqual(['open', 'resolve']);
  }, 120_000);

  it('a device: every stream of it, through the API; an unknown device is a 404', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-forget-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const now = Math.floor(Date.now() / 1000) * 1000;
    const s = await started(dataDir, () => now);
    for (let k = 0; k < 3; k++) {
      const time = new Date(now - (2 - k) * SEC).toISOString().slice(0, 19);
      for (const plug of ['plug-washer', 'plug-dryer']) {
        await s.pub.publishAsync(`tele/${plug}/SENSOR`, JSON.stringify({ Time: time, ENERGY: { Power: 60 + k, Voltage: 230 + k } }), { qos: 1 });
      }
    }
    await waitFor(async () => (await getJson<{ sensors: unknown[] }>(s.daemon, '/api/sensors')).sensors.length === 4, 10_000, 'four streams');
    const missing = await fetch(`${s.daemon.httpUrl!}/api/devices/plug-washr/forget`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/no such device: "plug-washr" \(close: "plug-washer"/);
    const res = await fetch(`${s.daemon.httpUrl!}/api/devices/plug-washer/forget`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ kind: 'device', name: 'plug-washer', streams: ['plug-washer/ENERGY.Power', 'plug-washer/ENERGY.Voltage'], resolved: [] });
    const { sensors } = await getJson<{ sensors: Array<{ sensor: string }> }>(s.daemon, '/api/sensors');
    expect(sensors.map((x) => x.sensor)).toEqual(['plug-dryer/ENERGY.Power', 'plug-dryer/ENERGY.Voltage']);
    // The CLI takes a device's name without --device when it is no stream.
    const c = cli();
    expect(await sensorsCommand(['forget', 'plug-dryer', '--url', s.daemon.httpUrl!], c.ctx), c.err()).toBe(0);
    expect(c.out()).toMatch(/^forgot device plug-dryer: 2 streams/m);
  }, 60_000);

  it.skipIf(!mosquittoAvailable())('with the daemon stopped: forgotten in the database; the next start publishes the resolve and clears its retained topics (mosquitto)', async () => {
    const broker = await startMosquitto(cleanups);
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-forget-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const alerts: AlertPayload[] = [];
    let s = await started(dataDir, () => now, alerts, broker.url);
    await attic(s, now);
    const atticTopics = discoveryTopics('homeassistant', s.nodeId, 'attic');
    await waitFor(() => (s.last.get(atticTopics.binarySensor) ?? '') !== '', 10_000, 'the discovery config of attic');
    now += 20 * MIN;
    const anomalyId = await silenceOpened(s, alerts);
    await s.daemon.stop();

    // The CLI with a config whose API nobody serves (the daemon is stopped): it works on the database.
    const configPath = join(dataDir, 'cli.yaml');
    // A free port, never bound: connection refused.
    const port = await freePort();
    writeFileSync(configPath, stringify({ version: 2, dataDir, http: { port }, model: { dir: MODELS } }));
    const c = cli();
    expect(await sensorsCommand(['forget', 'attic', '--config', configPath], c.ctx), c.err()).toBe(0);
    expect(c.err()).toContain(`no anomalyd answers at http://127.0.0.1:${port}: forgotten in the database`);
    expect(c.out()).toContain(`resolved ${anomalyId.slice(0, 8)} of attic (forgotten)`);

    // Stored with its alert waiting in the outbox (no daemon to publish it yet).
    const store = SqliteStore.open(join(dataDir, DB_FILE), { commitIntervalMs: 0, outboxMax: 100, logger: pino({ level: 'silent' }) });
    expect(store.getAnomaly(anomalyId)).toMatchObject({ status: 'resolved' });
    expect(store.getAnomaly(anomalyId)!.events.at(-1)).toMatchObject({ kind: 'resolve', payload: { resolution: 'forgotten' } });
    expect(store.outboxPending()).toBe(1);
    expect(store.loadSensorState('attic')).toBeNull();
    store.close();

    now += MIN;
    s = await started(dataDir, () => now, alerts, broker.url);
    // Published at the start (the outbox empties), after the retained topics were cleared on the same connection.
    const db = s.daemon.database!;
    await waitFor(() => db.outboxPending() === 0, 10_000, 'the resolve published at start');
    // What the broker retains now, read by a new subscriber up to a marker: nothing of attic.
    const reader = await mqtt.connectAsync(broker.url, { clientId: `${CLIENT_ID}-reader` });
    cleanups.push(() => reader.endAsync());
    const retained = new Map<string, string>();
    reader.on('message', (topic, payload) => void retained.set(topic, payload.toString('utf8')));
    await reader.subscribeAsync(['homeassistant/#', 'anomalyd/state/#', 'anomalyd/score/#', 'marker/#'], { qos: 1 });
    await reader.publishAsync('marker/done', 'x', { qos: 1 });
    await waitFor(() => retained.has('marker/done'), 10_000, 'the marker');
    expect([...retained.keys()].filter((t) => t.includes('attic'))).toEqual([]);
    expect(db.loadSensorStates().has('attic#forgotten')).toBe(false);
    expect((await getJson<{ sensors: unknown[] }>(s.daemon, '/api/sensors')).sensors).toEqual([]);
    expect((await getJson<{ sensors: { openEpisodes: number } }>(s.daemon, '/api/status')).sensors.openEpisodes).toBe(0);
  }, 120_000);
});

/**
 * Idle eviction and what is shown (tryout 16, findings 2 and 5): the daemon in-process with the embedded broker,
 * its HTTP API, Home Assistant discovery on, a real SQLite file and an injected wall clock (virtual time: a silence
 * is the clock moved on; housekeeping's sweep runs within 2 s as it does).
 *   - A sensor silent with its `missing data` alert open is not hidden by eviction: still in /api/status's open
 *     sensors and /api/sensors, its discovery configs retained, its retained state `stale` with the anomaly id.
 *   - A sensor that dies while an episode of another kind is open (tryout 18, finding 1): its silence is told in that
 *     episode (an update, missing data), it is not evicted (no resolve without a resolution), its return resolves it.
 *   - A young sensor whose fault opened with no kind yet and whose silence is judged before the open episodes' next
 *     retelling (tryout 19, a young sensor that died mid-fault): the fault's kind is told first, then the silence in that episode.
 *   - A burst of one-message streams (a junk publisher's new topic per message) makes no discovery configs; a real
 *     stream gets them at its third reading.
 *   - Streams silent at a stop are evicted counted from their last reading, not given a new idle span by the start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { discoveryTopics } from '../../src/contract/ha-discovery.js';
import { nodeIdOf } from '../../src/adapters/ha-discovery.js';
import { DB_FILE, SqliteStore } from '../../src/adapters/sqlite-store.js';
import { Daemon } from '../../src/daemon.js';
import { BASE_SUFFIX, decodeCheckpoint } from '../../src/daemon/checkpoint-codec.js';
import { loadStoredState } from '../../src/daemon/checkpoints.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
const MIN = 60 * SEC;
const CLIENT_ID = `evict2-${process.pid}`;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Started {
  readonly daemon: Daemon;
  readonly pub: mqtt.MqttClient;
  /** The latest payload seen per topic (retained ones at subscribe, then live), from the start. */
  readonly last: Map<string, string>;
  readonly nodeId: string;
}

/** The daemon on `dataDir` with the clock `clock`, discovery on, the HTTP API on, eviction after `idleAfterMinMs`. */
async function started(dataDir: string, clock: () => number, idleAfterMinMs: number, alerts: AlertPayload[] = []): Promise<Started> {
  const loaded = loadConfig({
    path: '/dev/null',
    env: {},
    overrides: {
      dataDir,
      mqtt: { clientId: CLIENT_ID },
      broker: { port: 0 },
      http: { port: 0 },
      model: { dir: MODELS, worker: false },
      learning: { enabled: false },
      homeassistant: { discovery: 'on', scoreIntervalMs: 0 },
      store: { commitIntervalMs: 0 },
      limits: { idleAfterIntervals: 10, idleAfterMinMs },
    },
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  // The loop's load fixed: a virtual clock's silences are judged whatever the machine's load (src/daemon/loop-load.ts).
  const daemon = new Daemon({ config: loaded.config, logger: pino({ level: 'silent' }), now: clock, arrivalNow: clock, loopUtilization: () => 0 });
  cleanups.push(() => daemon.stop());
  await daemon.start();
  const last = new Map<string, string>();
  const sub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `${CLIENT_ID}-sub-${Math.random().toString(36).slice(2)}` });
  cleanups.push(() => sub.endAsync());
  sub.on('message', (topic, payload) => {
    const text = payload.toString('utf8');
    last.set(topic, text);
    if (topic.startsWith('anomalyd/alerts/')) alerts.push(JSON.parse(text) as AlertPayload);
  });
  await sub.subscribeAsync(['homeassistant/#', 'anomalyd/state/#', 'anomalyd/alerts/#'], { qos: 1 });
  const pub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `${CLIENT_ID}-pub-${Math.random().toString(36).slice(2)}` });
  cleanups.push(() => pub.endAsync());
  return { daemon, pub, last, nodeId: nodeIdOf(loaded.config) };
}

async function getJson<T>(daemon: Daemon, path: string): Promise<T> {
  const res = await fetch(`${daemon.httpUrl!}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** True when the sensor's checkpoint row is an evicted one (CheckpointStore rows, src/daemon/checkpoints.ts). */
function evicted(daemon: Daemon, sensor: string): boolean {
  const row = daemon.database!.loadSensorState(sensor);
  if (row === null) return false;
  try {
    return typeof (decodeCheckpoint(row.blob) as { evicted?: unknown }).evicted === 'number';
  } catch {
    // A row written against a base (a live sensor's periodic checkpoint): an evicted row stands alone.
    return false;
  }
}

describe.skipIf(!builtAndModelsPresent())('eviction and what is shown', () => {
  it('a silent sensor with its missing-data alert open stays listed (status, sensors, Home Assistant) past its idle span', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-evict2-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const alerts: AlertPayload[] = [];
    const { daemon, pub, last, nodeId } = await started(dataDir, () => now, 30 * MIN, alerts);

    // attic: 25 min of a noisy 1 Hz temperature ending now; ctl: two readings (no episode: evicted as idle).
    const rnd = lcg(3);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const N = 1500;
    const attic = Array.from({ length: N }, (_, i) => ({ ts: now - (N - 1 - i) * SEC, value: Math.round((21 + 0.3 * gauss()) * 100) / 100 }));
    for (let i = 0; i < N; i += 250) {
      const chunk = attic.slice(i, i + 250);
      await pub.publishAsync('sensors/attic', JSON.stringify({ values: chunk.map((r) => r.value), ts: chunk[0].ts, interval_ms: SEC }), { qos: 1 });
    }
    // Two messages: a stream heard once is evicted with no checkpoint (src/pipeline/admit.ts), which `evicted` reads.
    await pub.publishAsync('sensors/ctl', JSON.stringify({ ts: now - SEC, value: 5 }), { qos: 1 });
    await pub.publishAsync('sensors/ctl', JSON.stringify({ ts: now, value: 5 }), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= N + 2, 60_000, 'every reading scored');
    const atticTopics = discoveryTopics('homeassistant', nodeId, 'attic');
    await waitFor(() => (last.get(atticTopics.binarySensor) ?? '') !== '', 10_000, 'the discovery config of attic');

    // 20 minutes silent: its missing-data alert opens (judged at once, before any sweep can see the new time).
    now += 20 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'attic' && a.event === 'open'), 10_000, 'the silence alert of attic');
    const anomalyId = alerts.find((a) => a.sensor === 'attic')!.anomaly_id;

    // 15 more: both idle past limits.idleAfterMinMs (30 min). ctl goes at the next sweep; attic, in that same sweep, does not.
    now += 15 * MIN;
    await waitFor(() => evicted(daemon, 'ctl'), 10_000, 'ctl evicted');
    expect(evicted(daemon, 'attic')).toBe(false);

    const status = await getJson<{ sensors: { openEpisodes: number; openSensors: string[] } }>(daemon, '/api/status');
    expect(status.sensors).toMatchObject({ openEpisodes: 1, openSensors: ['attic'] });
    const { sensors } = await getJson<{ sensors: Array<{ sensor: string; status: string; openEpisode: string | null }> }>(daemon, '/api/sensors');
    expect(sensors.map((s) => s.sensor)).toEqual(['attic']);
    expect(sensors[0]).toMatchObject({ status: 'stale', openEpisode: anomalyId });
    // Its entities stay: their configs retained. ctl never became entities (two readings; a stream gets them at its third): nothing is cleared of it
    // (tryout 18, finding 5).
    const ctlTopics = discoveryTopics('homeassistant', nodeId, 'ctl');
    expect(last.has(ctlTopics.binarySensor)).toBe(false);
    expect(last.has(ctlTopics.sensor)).toBe(false);
    expect(last.get(atticTopics.binarySensor)).toMatch(/"unique_id"/);
    expect(last.get(atticTopics.sensor)).toMatch(/"unique_id"/);
    expect(JSON.parse(last.get('anomalyd/state/attic') ?? 'null')).toMatchObject({ status: 'stale', anomaly_id: anomalyId });
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 }).map((a) => [a.id, a.status])).toEqual([[anomalyId, 'open']]);
    expect(daemon.database!.openSensors(10)).toEqual(['attic']);

    // Its next reading ends the alert (one episode in all), and it is listed with nothing open.
    await pub.publishAsync('sensors/attic', JSON.stringify({ ts: now, value: 21.1 }), { qos: 1 });
    await waitFor(() => alerts.some((a) => a.sensor === 'attic' && a.event === 'resolve'), 10_000, 'the resolve of the silence');
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 }).map((a) => [a.id, a.status])).toEqual([[anomalyId, 'resolved']]);
    const after = await getJson<{ sensors: { openEpisodes: number; openSensors: string[] } }>(daemon, '/api/status');
    expect(after.sensors).toMatchObject({ openEpisodes: 0, openSensors: [] });
  }, 120_000);

  it('a sensor that dies while an episode of another kind is open: its silence is told in that episode, it is not evicted, its next reading resolves it (tryout 18, finding 1)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-evict2-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const alerts: AlertPayload[] = [];
    const { daemon, pub, last, nodeId } = await started(dataDir, () => now, 30 * MIN, alerts);

    // pump: 25 min of a noisy 1 Hz pressure, then 40 s at +2 (its episode opens), then nothing (the pump died).
    const rnd = lcg(7);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const N = 1500;
    const HIGH = 40;
    const t0 = now - (N + HIGH - 1) * SEC;
    const values = Array.from({ length: N + HIGH }, (_, i) => Math.round((2.3 + (i >= N ? 2 : 0) + 0.04 * gauss()) * 100) / 100);
    for (let i = 0; i < N + HIGH; i += 250) {
      const chunk = values.slice(i, Math.min(i + 250, N + HIGH));
      await pub.publishAsync('sensors/pump', JSON.stringify({ values: chunk, ts: t0 + i * SEC, interval_ms: SEC }), { qos: 1 });
    }
    // ctl: two readings (nothing open: evicted at the first sweep past its idle span).
    await pub.publishAsync('sensors/ctl', JSON.stringify({ ts: now - SEC, value: 5 }), { qos: 1 });
    await pub.publishAsync('sensors/ctl', JSON.stringify({ ts: now, value: 5 }), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= N + HIGH + 2, 60_000, 'every reading scored');
    await waitFor(() => alerts.some((a) => a.sensor === 'pump' && a.event === 'open'), 10_000, 'the alert of the pump');
    // Its kind told (a jump that held: level shift, at its open or in an update within about 10 s).
    await waitFor(() => alerts.some((a) => a.sensor === 'pump' && a.explanation?.kind === 'level_shift'), 30_000, 'the level shift told');
    const anomalyId = alerts.find((a) => a.sensor === 'pump' && a.event === 'open')!.anomaly_id;
    const before = alerts.length;
    const topics = discoveryTopics('homeassistant', nodeId, 'pump');
    await waitFor(() => (last.get(topics.binarySensor) ?? '') !== '', 10_000, 'the discovery config of the pump');

    // 20 minutes silent: the silence is judged as any sensor's, and told in the open episode (one episode per fault).
    now += 20 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.slice(before).some((a) => a.sensor === 'pump'), 10_000, 'the silence of the pump told');
    const told = alerts.slice(before).filter((a) => a.sensor === 'pump');
    expect(told.map((a) => [a.anomaly_id, a.event])).toEqual([[anomalyId, 'update']]);
    expect(told[0].explanation).toMatchObject({ kind: 'missing_data' });
    // What the episode told before (the jump) stays first: the fault that opened it is not lost (tryout 23, F1).
    expect(told[0].explanation?.sentence).toMatch(/^pump 4\.\d+, expected 2\.\d+ ± 0\.\d+ since \d\d:\d\d \(level shift\), then no reading for 20 min since .*, last 4\.\d+ \(missing data\)$/);

    // 15 more: idle past limits.idleAfterMinMs (30 min), and not evicted: no resolve, listed, its entities kept.
    now += 15 * MIN;
    await waitFor(() => evicted(daemon, 'ctl'), 10_000, 'ctl evicted');
    expect(evicted(daemon, 'pump')).toBe(false);
    expect(alerts.filter((a) => a.sensor === 'pump' && a.event === 'resolve')).toEqual([]);
    const status = await getJson<{ sensors: { openEpisodes: number; openSensors: string[] } }>(daemon, '/api/status');
    expect(status.sensors).toMatchObject({ openEpisodes: 1, openSensors: ['pump'] });
    const { sensors } = await getJson<{ sensors: Array<{ sensor: string; status: string; openEpisode: string | null }> }>(daemon, '/api/sensors');
    expect(sensors).toMatchObject([{ sensor: 'pump', status: 'stale', openEpisode: anomalyId }]);
    expect(last.get(topics.binarySensor)).toMatch(/"unique_id"/);
    expect(JSON.parse(last.get('anomalyd/state/pump') ?? 'null')).toMatchObject({ status: 'stale', anomaly_id: anomalyId });
    expect(daemon.database!.listAnomalies({ sensor: 'pump', limit: 10 }).map((a) => [a.id, a.status])).toEqual([[anomalyId, 'open']]);

    // Its next reading ends the episode, resolved as recovered and told for the whole silence.
    await pub.publishAsync('sensors/pump', JSON.stringify({ ts: now, value: 2.31 }), { qos: 1 });
    await waitFor(() => alerts.some((a) => a.sensor === 'pump' && a.event === 'resolve'), 10_000, 'the resolve of the episode');
    const resolved = alerts.find((a) => a.sensor === 'pump' && a.event === 'resolve')!;
    expect(resolved).toMatchObject({ anomaly_id: anomalyId, resolution: 'recovered', explanation: { kind: 'missing_data' } });
    expect(resolved.explanation?.sentence).toMatch(/^pump 4\.\d+, expected .* \(level shift\), then no reading for 35 min since /);
    expect(daemon.database!.listAnomalies({ sensor: 'pump', limit: 10 }).map((a) => [a.id, a.status])).toEqual([[anomalyId, 'resolved']]);
  }, 120_000);

  it('a young sensor that dies right after its fault opened, before its kind was told: the kind is told, then the silence in that episode (tryout 19, a young sensor that died mid-fault)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-evict2-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const alerts: AlertPayload[] = [];
    const { daemon, pub } = await started(dataDir, () => now, 30 * MIN, alerts);

    // pump: 5 min of a noisy 1 Hz pressure (just past its learning period, its runs known), 20 s at +2, then nothing.
    const rnd = lcg(11);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const N = 300;
    const HIGH = 20;
    const t0 = now - (N + HIGH - 1) * SEC;
    const values = Array.from({ length: N + HIGH }, (_, i) => Math.round((2.3 + (i >= N ? 2 : 0) + 0.04 * gauss()) * 100) / 100);
    for (let i = 0; i < N + HIGH; i += 250) {
      const chunk = values.slice(i, Math.min(i + 250, N + HIGH));
      await pub.publishAsync('sensors/pump', JSON.stringify({ values: chunk, ts: t0 + i * SEC, interval_ms: SEC }), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= N + HIGH, 60_000, 'every reading scored');
    await waitFor(() => alerts.some((a) => a.sensor === 'pump' && a.event === 'open'), 10_000, 'the alert of the pump');
    // Opened at its first readings, whose kind cannot be told yet (a spike or a jump that holds).
    const open = alerts.find((a) => a.sensor === 'pump' && a.event === 'open')!;
    expect(open.explanation?.kind).toBeNull();

    // Its silence judged before the open episodes' next retelling (every 10 s: as for a fast sensor, whose silence is
    // a gap within seconds): the fault's kind is told from its readings first, then the silence in the same episode.
    now += 20 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'pump' && a.explanation?.kind === 'missing_data'), 10_000, 'the silence of the pump told');
    const told = alerts.filter((a) => a.sensor === 'pump');
    expect(told.map((a) => [a.anomaly_id, a.event, a.explanation?.kind ?? null])).toEqual([
      [open.anomaly_id, 'open', null],
      [open.anomaly_id, 'update', 'level_shift'],
      [open.anomaly_id, 'update', 'missing_data'],
    ]);
    expect(told[2].explanation?.sentence).toMatch(/^pump 4\.\d+, expected 2\.\d+ ± 0\.\d+ since \d\d:\d\d \(level shift\), then no reading for 20 min since .*, last 4\.\d+ \(missing data\)$/);
    // The record: one episode, the silence's now, as long as the fault and the silence.
    const records = daemon.database!.listAnomalies({ sensor: 'pump', limit: 10 });
    expect(records.map((r) => [r.id, r.kind])).toEqual([[open.anomaly_id, 'missing_data']]);
    expect(records[0].endTs - records[0].startTs).toBeGreaterThanOrEqual(20 * MIN);
  }, 120_000);

  it('a sensor an earlier version evicted with its silence alert open is listed again at the start, its entities announced', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-evict2-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const alerts: AlertPayload[] = [];
    let { daemon, pub, last, nodeId } = await started(dataDir, () => now, 30 * MIN, alerts);
    const rnd = lcg(5);
    const N = 1500;
    const values = Array.from({ length: N }, () => Math.round((21 + 0.6 * (rnd() - 0.5)) * 100) / 100);
    for (let i = 0; i < N; i += 250) await pub.publishAsync('sensors/attic', JSON.stringify({ values: values.slice(i, i + 250), ts: now - (N - 1 - i) * SEC, interval_ms: SEC }), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= N, 60_000, 'every reading scored');
    now += 20 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'attic' && a.event === 'open'), 10_000, 'the silence alert of attic');
    const anomalyId = alerts.find((a) => a.sensor === 'attic')!.anomaly_id;
    await daemon.stop();
    // What the version before tryout 16's fix left at its eviction: the state marked evicted, the episode open in it.
    const store = SqliteStore.open(join(dataDir, DB_FILE), { commitIntervalMs: 0, outboxMax: 100, logger: pino({ level: 'silent' }) });
    const state = loadStoredState(store, 'attic');
    expect(JSON.stringify(state)).toContain(anomalyId);
    store.saveSensorStates([
      { sensor: 'attic', blob: Buffer.from(JSON.stringify({ evicted: now, state })), updatedAt: now },
      { sensor: `attic${BASE_SUFFIX}`, blob: Buffer.from('null'), updatedAt: now },
    ]);
    store.close();

    now += MIN;
    ({ daemon, pub, last, nodeId } = await started(dataDir, () => now, 30 * MIN, alerts));
    const status = await getJson<{ sensors: { openEpisodes: number; openSensors: string[] } }>(daemon, '/api/status');
    expect(status.sensors).toMatchObject({ openEpisodes: 1, openSensors: ['attic'] });
    const { sensors } = await getJson<{ sensors: Array<{ sensor: string; status: string; openEpisode: string | null }> }>(daemon, '/api/sensors');
    expect(sensors).toMatchObject([{ sensor: 'attic', status: 'stale', openEpisode: anomalyId }]);
    const atticTopics = discoveryTopics('homeassistant', nodeId, 'attic');
    await waitFor(() => (last.get(atticTopics.binarySensor) ?? '') !== '', 10_000, 'the discovery config of attic');
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 }).map((a) => [a.id, a.status])).toEqual([[anomalyId, 'open']]);
  }, 120_000);

  it('a burst of one-message streams makes no Home Assistant entities; a real stream gets them at its third reading', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-evict2-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const now = Math.floor(Date.now() / 1000) * 1000;
    const { daemon, pub, last, nodeId } = await started(dataDir, () => now, 10 * MIN);
    // Tryout 16's junk: a new topic per message, each a valid reading.
    for (let i = 0; i < 40; i++) await pub.publishAsync(`sensors/uniq${i}`, JSON.stringify({ constructor: { prototype: { y: 1 } } }), { qos: 1 });
    // kitchen: three readings, a second apart (published after the burst: its configs come after any of the burst's).
    for (let k = 0; k < 3; k++) await pub.publishAsync('sensors/kitchen', JSON.stringify({ ts: now - (2 - k) * SEC, value: 20 + k / 10 }), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= 43, 30_000, 'every reading scored');
    const kitchen = discoveryTopics('homeassistant', nodeId, 'kitchen');
    await waitFor(() => (last.get(kitchen.binarySensor) ?? '') !== '' && (last.get(kitchen.sensor) ?? '') !== '', 10_000, 'the configs of kitchen');
    const configs = [...last].filter(([topic, payload]) => topic.startsWith('homeassistant/') && topic.endsWith('/config') && payload !== '').map(([topic]) => topic);
    expect(configs.sort()).toEqual([kitchen.binarySensor, kitchen.sensor].sort());
  }, 60_000);

  it('streams silent at a stop are evicted counted from their last reading, not from the start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-evict2-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    let { daemon, pub } = await started(dataDir, () => now, 10 * MIN);
    // Two messages each: a stream heard once is not checkpointed, nor restored (src/pipeline/admit.ts).
    for (let i = 0; i < 5; i++) await pub.publishAsync(`sensors/uniq${i}`, JSON.stringify({ ts: now - SEC, value: i }), { qos: 1 });
    for (let i = 0; i < 5; i++) await pub.publishAsync(`sensors/uniq${i}`, JSON.stringify({ ts: now, value: i }), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= 10, 30_000, 'every reading scored');
    // Silent 6 minutes at the stop (not idle yet: 10 min), down 5 minutes (not counted), 5 minutes after the start:
    // 11 minutes of their own silence, so they go.
    now += 6 * MIN;
    await daemon.stop();
    now += 5 * MIN;
    ({ daemon, pub } = await started(dataDir, () => now, 10 * MIN));
    expect(daemon.database!.loadSensorState('uniq0')).not.toBeNull();
    expect(evicted(daemon, 'uniq0')).toBe(false);
    now += 5 * MIN;
    await waitFor(() => [0, 1, 2, 3, 4].every((i) => evicted(daemon, `uniq${i}`)), 10_000, 'the silent streams evicted');
  }, 60_000);
});

/**
 * Retained states after a broker restart that lost its retained messages (tryout 18, finding 6): the daemon on an
 * external broker (an embedded aedes the test owns, whose retained store dies with it, as a mosquitto with
 * `persistence false`), a real SQLite file. The broker is stopped and a fresh one started on the same port: the
 * daemon reconnects without a session and publishes every sensor's retained state again (and its discovery
 * configs), so Home Assistant's problem sensor does not read "unknown" until the sensor's status next changes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../src/adapters/broker.js';
import { nodeIdOf } from '../../src/adapters/ha-discovery.js';
import { loadConfig } from '../../src/config/load.js';
import { discoveryTopics } from '../../src/contract/ha-discovery.js';
import { Daemon } from '../../src/daemon.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const logger = pino({ level: 'silent' });

/** The retained messages the broker at `url` holds on `filters` (what a client subscribing now is sent at once). */
async function retained(url: string, filters: string[], expected: number): Promise<Map<string, string>> {
  const got = new Map<string, string>();
  const sub = await mqtt.connectAsync(url, { clientId: `retained-${process.pid}-${Math.random().toString(36).slice(2)}` });
  try {
    sub.on('message', (topic, payload, packet) => {
      if (packet.retain) got.set(topic, payload.toString('utf8'));
    });
    await sub.subscribeAsync(filters, { qos: 1 });
    await waitFor(() => got.size >= expected, 10_000, `${expected} retained messages on ${filters.join(', ')}`);
  } finally {
    await sub.endAsync();
  }
  return got;
}

describe.skipIf(!builtAndModelsPresent())('retained states after a broker restart that lost them', () => {
  it('are published again when the daemon reconnects without its session', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-republish-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, roles: null, logger });
    await broker.start();
    cleanups.push(() => broker.stop());
    const port = broker.port;
    const url = broker.url;
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: {
        dataDir,
        broker: { enabled: false },
        mqtt: { url, clientId: `republish-${process.pid}`, clean: false, qos: 1 },
        http: { enabled: false },
        model: { dir: MODELS, worker: false },
        learning: { enabled: false },
        homeassistant: { discovery: 'on', scoreIntervalMs: 0 },
        store: { commitIntervalMs: 0 },
      },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const daemon = new Daemon({ config: loaded.config, logger });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const pub = await mqtt.connectAsync(url, { clientId: `republish-pub-${process.pid}` });
    const now = Date.now();
    // Five messages (a stream becomes Home Assistant entities at its third).
    for (let i = 0; i < 5; i++) await pub.publishAsync('sensors/attic', JSON.stringify({ ts: now - (4 - i) * 1000, value: 21 + (i % 2) / 10 }), { qos: 1 });
    await pub.endAsync();
    await waitFor(() => daemon.counters.scored >= 5, 30_000, 'every reading scored');
    const topics = discoveryTopics('homeassistant', nodeIdOf(loaded.config), 'attic');
    const before = await retained(url, ['anomalyd/state/#', 'homeassistant/#'], 3);
    expect(JSON.parse(before.get('anomalyd/state/attic') ?? 'null')).toMatchObject({ status: 'learning' });

    // The broker restarts without its retained store (and without the daemon's session).
    await broker.stop();
    broker = new EmbeddedBroker({ host: '127.0.0.1', port, roles: null, logger });
    await broker.start();
    // A watcher on the new broker: the daemon's `online` (published at each connection) says it is back; what it
    // publishes then comes live or, when the watcher subscribed later, retained.
    const seen = new Map<string, string>();
    const watch = await mqtt.connectAsync(url, { clientId: `republish-watch-${process.pid}` });
    cleanups.push(() => watch.endAsync());
    watch.on('message', (topic, payload) => void seen.set(topic, payload.toString('utf8')));
    await watch.subscribeAsync(['anomalyd/status', 'anomalyd/state/#', 'homeassistant/#'], { qos: 1 });
    await waitFor(() => seen.get('anomalyd/status') === 'online', 20_000, 'the daemon to reconnect');
    await waitFor(() => seen.has('anomalyd/state/attic') && seen.has(topics.binarySensor) && seen.has(topics.sensor), 10_000, 'the state and the configs published again');

    // Held by the broker again (retained), as they were before its restart.
    const after = await retained(url, ['anomalyd/state/#', 'homeassistant/#'], 3);
    expect(after.get('anomalyd/state/attic')).toBe(before.get('anomalyd/state/attic'));
    expect(after.get(topics.binarySensor)).toBe(before.get(topics.binarySensor));
    expect(after.get(topics.sensor)).toBe(before.get(topics.sensor));
  }, 90_000);
});

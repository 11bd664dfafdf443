/**
 * Tryout 18, finding 7: a misbehaving device floods the topics the daemon subscribes to (`sensors/#`) with junk while
 * a healthy sensor reads and then goes wrong. The flood's excess must be dropped unread and counted `rate_limited`
 * (src/daemon/junk-gate.ts), every junk message counted with a reason, and the healthy sensor's fault still stored
 * and alerted. How late its alert comes under a real flood is measured, not asserted (scripts/flood-latency.mjs,
 * BENCHMARKS.md).
 *
 * The daemon in-process with its embedded broker, the real onnxruntime and SQLite; the junk and the healthy readings
 * from real MQTT clients at QoS 1 (nothing lost on the way). The gate's clock is held still, so its budgets do not
 * refill while the test runs and which message is dropped does not depend on how fast the machine is: exactly the
 * bursts (PER_TOPIC_BURST on one topic, NEW_TOPICS_BURST on topics that never gave a reading) are read and rejected
 * for what they are, the rest dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { Daemon } from '../../src/daemon.js';
import { NEW_TOPICS_BURST, PER_TOPIC_BURST } from '../../src/daemon/junk-gate.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Junk on one topic beyond its burst, and junk on made-up topics (one message each) beyond what is left of theirs. */
const ONE_TOPIC = PER_TOPIC_BURST + 500;
const MADE_UP = NEW_TOPICS_BURST - PER_TOPIC_BURST + 1000;

describe.skipIf(!builtAndModelsPresent())('a junk flood on the subscribed topics (tryout 18, finding 7)', () => {
  it('drops the excess unread as rate_limited, counts every junk message with a reason, and still stores and alerts the healthy sensor’s fault', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-junk-flood-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: { dataDir, broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false } },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const daemon = new Daemon({ config: loaded.config, logger: pino({ level: 'silent' }), loopUtilization: () => 0, junkGate: { now: () => 0 } });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const url = daemon.brokerUrl!;
    const alerts: AlertPayload[] = [];
    const watch = await mqtt.connectAsync(url, { clientId: 'junk-flood-watch' });
    cleanups.push(() => watch.endAsync());
    watch.on('message', (_t, p) => alerts.push(JSON.parse(p.toString('utf8')) as AlertPayload));
    await watch.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
    const sensor = await mqtt.connectAsync(url, { clientId: 'junk-flood-sensor' });
    cleanups.push(() => sensor.endAsync());
    const junk = await mqtt.connectAsync(url, { clientId: 'junk-flood-device' });
    cleanups.push(() => junk.endAsync());

    // The healthy sensor: 20 ± 0.2 once a second (its own times), 600 readings of history first.
    const rnd = lcg(7);
    const t0 = Date.now() - 3_600_000;
    let k = 0;
    const reading = (value?: number): string => JSON.stringify({ ts: t0 + 1000 * k++, value: value ?? Math.round((20 + (rnd() - 0.5) * 0.4) * 1000) / 1000 });
    for (let i = 0; i < 600; i++) await sensor.publishAsync('sensors/healthy', reading(), { qos: 1 });

    // The flood, with the sensor's live readings among it and its fault (35) in the middle.
    const sends: Array<Promise<unknown>> = [];
    const flood = async (messages: Array<[string, string]>): Promise<void> => {
      for (let i = 0; i < messages.length; i += 500) {
        await Promise.all(messages.slice(i, i + 500).map(([topic, payload]) => junk.publishAsync(topic, payload, { qos: 1 })));
        sends.push(sensor.publishAsync('sensors/healthy', reading(), { qos: 1 }));
      }
    };
    await flood(Array.from({ length: ONE_TOPIC }, () => ['sensors/junk', '{']));
    for (let i = 0; i < 3; i++) sends.push(sensor.publishAsync('sensors/healthy', reading(35), { qos: 1 }));
    await flood(Array.from({ length: MADE_UP }, (_, i) => [`sensors/junk-${i}`, '{']));
    await Promise.all(sends);
    const healthy = 600 + sends.length;
    const sent = ONE_TOPIC + MADE_UP + healthy;
    await waitFor(() => daemon.counters.received >= sent && daemon.counters.messages >= sent, 60_000, 'every message taken');
    await waitFor(() => daemon.counters.scored >= healthy, 60_000, 'the healthy readings scored');

    // Every junk message counted with a reason: read and rejected up to the bursts, the excess dropped unread.
    const c = daemon.counters;
    expect(c.received).toBe(sent);
    expect(c.messagesRejected).toBe(ONE_TOPIC + MADE_UP);
    expect(c.messagesWithReadings).toBe(healthy);
    const store = daemon.database!;
    daemon.housekeep();
    store.flush();
    const byReason: Record<string, number> = {};
    for (const r of store.rejections()) byReason[r.reason] = (byReason[r.reason] ?? 0) + r.count;
    expect(byReason).toEqual({ bad_json: NEW_TOPICS_BURST, rate_limited: ONE_TOPIC + MADE_UP - NEW_TOPICS_BURST });

    // The healthy sensor's fault is stored and alerted.
    const episodes = store.listAnomalies({ sensor: 'healthy', limit: 10 });
    expect(episodes.length).toBeGreaterThan(0);
    const fault = episodes.find((e) => e.startTs >= t0 + 1000 * (600 + Math.ceil(ONE_TOPIC / 500)) - 1000);
    expect(fault, JSON.stringify(episodes.map((e) => [e.startTs - t0, e.sentence]))).toBeDefined();
    await waitFor(() => alerts.some((a) => a.anomaly_id === fault!.id && a.event === 'open'), 10_000, 'the fault’s alert');
  }, 120_000);
});

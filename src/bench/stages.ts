/**
 * Per-stage cost, each stage called directly (no MQTT), in µs per reading: parsing, then the detector
 * (cadence, model steps, decodes, scoring) through its operator; stages that work per alert (store,
 * publish) are given per event.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { MqttAdapter } from '../adapters/mqtt.js';
import { loadModel } from '../adapters/onnx-runner.js';
import { OutboxPublisher } from '../adapters/outbox-publisher.js';
import { SqliteStore } from '../adapters/sqlite-store.js';
import { defaultConfig } from '../config/schema.js';
import { Subject } from 'rxjs';
import type { AnomalyEvent, RawMessage, Reading } from '../contract/types.js';
import type { CellKind } from '../model/spec.js';
import { Detector, detectorOptions, priorsOf } from '../pipeline/detector.js';
import { MessageParser } from '../pipeline/parse.js';
import { parseOptionsOf } from '../pipeline/ingest-options.js';
import { burstPayload, INTERVAL_MS, sensorTopic, singlePayload } from './payload.js';
import { syntheticT0 } from './e2e.js';

export interface StageOptions {
  readonly modelDir: string;
  readonly cell: CellKind;
  readonly window: number;
  readonly hop: number;
  readonly sensors: number;
  readonly readingsPerSensor: number;
  readonly maxBatch: number;
  /** MQTT broker for the publish stage; null skips it. */
  readonly brokerUrl: string | null;
  readonly events: number;
}

export interface StageCost {
  readonly stage: string;
  readonly unit: 'reading' | 'window' | 'event';
  /** Wall time per unit. */
  readonly usPerUnit: number;
  /** Amortised per reading (per-window costs / hop); null for per-event stages. */
  readonly usPerReading: number | null;
  readonly n: number;
  readonly note: string;
}

const silent = pino({ level: 'silent' });

function timeIt(fn: () => number): { ms: number; n: number } {
  const t0 = performance.now();
  const n = fn();
  return { ms: performance.now() - t0, n };
}

async function timeItAsync(fn: () => Promise<number>): Promise<{ ms: number; n: number }> {
  const t0 = performance.now();
  const n = await fn();
  return { ms: performance.now() - t0, n };
}

/** The daemon's parser: the default config's rules (sensors/{sensor}), as parseOptionsOf builds them. */
function newParser(window: number): MessageParser {
  const config = defaultConfig();
  return new MessageParser(parseOptionsOf({ ...config, window: { ...config.window, length: window } }));
}

function messages(o: StageOptions, perMessage: number, t0: number, receivedAt: number): RawMessage[] {
  const out: RawMessage[] = [];
  for (let k = 0; k < o.readingsPerSensor; k += perMessage) {
    for (let s = 0; s < o.sensors; s++) {
      const text = perMessage === 1 ? singlePayload(t0, s, k) : burstPayload(t0, s, k, Math.min(perMessage, o.readingsPerSensor - k));
      out.push({ topic: sensorTopic(s), payload: Buffer.from(text), receivedAt });
    }
  }
  return out;
}

function parseAll(parser: MessageParser, msgs: readonly RawMessage[], sink: Reading[] | null): number {
  let n = 0;
  for (const m of msgs) {
    const r = parser.parse(m);
    if (r.kind !== 'readings') throw new Error(`bench payload rejected: ${r.rejection.detail}`);
    n += r.readings.length;
    if (sink) for (const x of r.readings) sink.push(x);
  }
  return n;
}

function fakeEvent(i: number, kind: AnomalyEvent['kind'], id: string): AnomalyEvent {
  return {
    kind, sensor: `s${i % 100}`, anomalyId: id, startTs: 1_700_000_000_000 + i, endTs: 1_700_000_000_000 + i + 1000,
    peakScore: 0.9995, score: 0.9995, threshold: 0.999, modelId: 'gru@bench', paddedFraction: 0,
    channelErrors: [1.5], channels: ['value'], windows: 2,
  };
}

export async function benchStages(o: StageOptions): Promise<StageCost[]> {
  const rows: StageCost[] = [];
  const t0 = syntheticT0();
  const receivedAt = t0 + o.readingsPerSensor * INTERVAL_MS;

  // Parse: the first pass also teaches the parser each sensor's channels, as in steady state.
  const single = messages(o, 1, t0, receivedAt);
  parseAll(newParser(o.window), single.slice(0, o.sensors * 8), null);
  const parser = newParser(o.window);
  const readings: Reading[] = [];
  const p1 = timeIt(() => parseAll(parser, single, readings));
  rows.push({ stage: 'parse (1 reading/message)', unit: 'reading', usPerUnit: (1000 * p1.ms) / p1.n, usPerReading: (1000 * p1.ms) / p1.n, n: p1.n, note: 'MessageParser.parse incl. Buffer -> string' });
  const bursts = messages(o, 100, t0, receivedAt);
  const p100 = timeIt(() => parseAll(newParser(o.window), bursts, null));
  rows.push({ stage: 'parse (100 readings/message)', unit: 'reading', usPerUnit: (1000 * p100.ms) / p100.n, usPerReading: (1000 * p100.ms) / p100.n, n: p100.n, note: '' });

  // The detector after parsing (cadence, one model step per reading batched over the sensors, a decode
  // every hop, scoring), with the real model on this thread, fed as the daemon feeds it: each round of
  // readings (one per sensor) then a drain.
  const model = await loadModel(join(o.modelDir, `${o.cell}.json`));
  try {
    const scoredPerBatch: number[] = [];
    for (const batch of [Math.min(o.sensors, o.maxBatch), 1]) {
      const sensors = batch === 1 ? 1 : o.sensors;
      const base = defaultConfig();
      const detector = new Detector(detectorOptions({ ...base, window: { ...base.window, length: o.window, hop: o.hop } }), {
        parser: newParser(o.window),
        modelFor: () => ({ model, own: false }),
        priorsFor: () => priorsOf(model.sidecar),
        newId: randomUUID,
      });
      let scored = 0;
      const input = new Subject<RawMessage>();
      const done = new Promise<void>((resolve, reject) => {
        input.pipe(detector.operator()).subscribe({
          next: (x) => {
            if (x.type === 'reading') scored++;
          },
          error: reject,
          complete: resolve,
        });
      });
      const perSensor = Math.min(o.readingsPerSensor, batch === 1 ? 2000 : o.readingsPerSensor);
      const msgs = messages({ ...o, sensors, readingsPerSensor: perSensor }, 1, t0, receivedAt);
      const d = await timeItAsync(async () => {
        for (let i = 0; i < msgs.length; i += sensors) {
          for (let j = i; j < Math.min(i + sensors, msgs.length); j++) input.next(msgs[j]);
          while (detector.pending > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        }
        input.complete();
        await done;
        return scored;
      });
      scoredPerBatch.push(scored);
      rows.push({
        stage: `detector (${o.cell}, ${sensors} sensor${sensors === 1 ? '' : 's'} per batch)`,
        unit: 'reading',
        usPerUnit: (1000 * d.ms) / d.n,
        usPerReading: (1000 * d.ms) / d.n,
        n: d.n,
        note: `parse + cadence + model step per reading + decode every ${o.hop} + score, onnxruntime on this thread`,
      });
    }
    void scoredPerBatch;
  } finally {
    await model.release();
  }
  void parseAll;

  // Store and publish: per alert event.
  const cfg = defaultConfig();
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-bench-store-'));
  try {
    const store = SqliteStore.open(join(dir, 'bench.db'), { commitIntervalMs: cfg.store.commitIntervalMs, outboxMax: cfg.alerts.outboxMax, logger: silent, daemonId: hostname() });
    try {
      const ids = Array.from({ length: o.events }, () => randomUUID());
      const st = timeIt(() => {
        for (let i = 0; i < o.events; i++) store.recordEvent(fakeEvent(i, i % 2 === 0 ? 'open' : 'resolve', ids[i - (i % 2)]), `anomalyd/alerts/s${i % 100}`);
        store.flush();
        return o.events;
      });
      rows.push({ stage: 'store (recordEvent, group commit)', unit: 'event', usPerUnit: (1000 * st.ms) / st.n, usPerReading: null, n: st.n, note: `${Math.round(st.n / (st.ms / 1000))} events/s = ${Math.round((3 * st.n) / (st.ms / 1000))} row writes/s (anomaly + event + outbox)` });
      if (o.brokerUrl !== null) rows.push(await benchPublish(store, o.brokerUrl, o.events));
    } finally {
      store.close();
    }
    const store0 = SqliteStore.open(join(dir, 'bench0.db'), { commitIntervalMs: 0, outboxMax: cfg.alerts.outboxMax, logger: silent });
    try {
      const n = Math.min(o.events, 2000);
      const st0 = timeIt(() => {
        for (let i = 0; i < n; i++) store0.recordEvent(fakeEvent(i, 'open', randomUUID()), 'anomalyd/alerts/x');
        return n;
      });
      rows.push({ stage: 'store (recordEvent, commit each)', unit: 'event', usPerUnit: (1000 * st0.ms) / st0.n, usPerReading: null, n: st0.n, note: `${Math.round(st0.n / (st0.ms / 1000))} transactions/s (store.commitIntervalMs 0)` });
    } finally {
      store0.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** The alert path after the store: the outbox publisher draining committed rows through MqttAdapter (QoS 1, one in flight). */
async function benchPublish(store: SqliteStore, url: string, events: number): Promise<StageCost> {
  const adapter = new MqttAdapter({
    url, username: null, password: null, ca: null, cert: null, key: null, clientId: `bench-outbox-${process.pid}`, clean: true,
    qos: 0, keepaliveSec: 30, topics: ['bench/none'], statusTopic: 'anomalyd-bench/status', logger: silent, now: Date.now,
  });
  await adapter.start();
  const publisher = new OutboxPublisher(store, (topic, payload, opts) => adapter.publish(topic, payload, opts), { logger: silent, retryMinMs: 250, retryMaxMs: 1000 });
  try {
    const pub = await timeItAsync(async () => {
      publisher.start();
      await publisher.drained();
      return events;
    });
    return { stage: 'publish (outbox -> MQTT QoS 1)', unit: 'event', usPerUnit: (1000 * pub.ms) / pub.n, usPerReading: null, n: pub.n, note: `${Math.round(pub.n / (pub.ms / 1000))} alerts/s, one in flight (PUBACK round trip each)` };
  } finally {
    await publisher.stop();
    await adapter.stop();
  }
}

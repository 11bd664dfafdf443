/**
 * Per-stage cost, each stage class called directly (no MQTT, no RxJS), in µs per reading. Stages that
 * work per window (inference, scoring) are divided by the hop, since in steady state each reading
 * completes 1/hop of a window; stages that work per alert (store, publish) are given per event.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { MqttAdapter } from '../adapters/mqtt.js';
import { OnnxModel } from '../adapters/onnx-runner.js';
import { OutboxPublisher } from '../adapters/outbox-publisher.js';
import { SqliteStore } from '../adapters/sqlite-store.js';
import { defaultConfig } from '../config/schema.js';
import type { AnomalyEvent, RawMessage, Reading, Window, WindowResult } from '../contract/types.js';
import type { CellKind } from '../model/spec.js';
import { InferenceEngine } from '../pipeline/infer.js';
import { MessageParser } from '../pipeline/parse.js';
import { ScoringRegistry, scoreWindow } from '../pipeline/score.js';
import { parseOptionsOf } from '../pipeline/ingest-options.js';
import { Windower } from '../pipeline/window.js';
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

  // Window.
  const windower = new Windower({ length: o.window, hop: o.hop, intervalMs: INTERVAL_MS, maxFillSteps: 5, gapResetMs: 300_000 });
  const windows: Window[] = [];
  const w = timeIt(() => {
    for (const r of readings) {
      const out = windower.push(r);
      if (out) for (const x of out) windows.push(x);
    }
    return readings.length;
  });
  rows.push({ stage: 'window', unit: 'reading', usPerUnit: (1000 * w.ms) / w.n, usPerReading: (1000 * w.ms) / w.n, n: w.n, note: `${windows.length} windows` });

  // Inference with the real model, in batches of up to maxBatch windows (one window per sensor per batch).
  const model = await OnnxModel.load(join(o.modelDir, `${o.cell}.json`));
  const results: WindowResult[] = [];
  try {
    const engine = new InferenceEngine(() => model, { batchTickMs: 0, maxBatch: o.maxBatch, normHorizon: 20_000, normWarmup: 1 });
    await engine.run(windows.slice(0, o.sensors));
    const rest = windows.slice(o.sensors);
    const inf = await timeItAsync(async () => {
      for (let i = 0; i < rest.length; i += o.sensors) {
        for (let j = i; j < Math.min(rest.length, i + o.sensors); j += o.maxBatch) {
          for (const r of await engine.run(rest.slice(j, Math.min(j + o.maxBatch, i + o.sensors, rest.length)))) results.push(r);
        }
      }
      return rest.length;
    });
    const perWindow = (1000 * inf.ms) / inf.n;
    rows.push({ stage: `inference (${o.cell}, batch ${Math.min(o.sensors, o.maxBatch)})`, unit: 'window', usPerUnit: perWindow, usPerReading: perWindow / o.hop, n: inf.n, note: 'InferenceEngine.run + OnnxModel' });
    const one = windows.slice(o.sensors, o.sensors + Math.min(200, rest.length));
    const e1 = new InferenceEngine(() => model, { batchTickMs: 0, maxBatch: 1, normHorizon: 20_000, normWarmup: 1 });
    const inf1 = await timeItAsync(async () => {
      for (const x of one) await e1.run([x]);
      return one.length;
    });
    rows.push({ stage: `inference (${o.cell}, batch 1)`, unit: 'window', usPerUnit: (1000 * inf1.ms) / inf1.n, usPerReading: (1000 * inf1.ms) / inf1.n / o.hop, n: inf1.n, note: 'one session.run per window' });
  } finally {
    await model.release();
  }

  // Score.
  const cfg = defaultConfig();
  const scoring = new ScoringRegistry({
    score: { mode: cfg.score.mode, shortWindow: cfg.score.shortWindow, longWindow: cfg.score.longWindow, priorWeight: cfg.score.priorWeight },
    threshold: cfg.score.threshold,
    alerts: cfg.alerts,
    priorFor: () => ({ logErrMean: model.sidecar.calibration.logErrMean, logErrStd: model.sidecar.calibration.logErrStd }),
    newId: randomUUID,
  });
  let events = 0;
  const sc = timeIt(() => {
    for (const r of results) events += scoreWindow(scoring, r).events.length;
    return results.length;
  });
  rows.push({ stage: 'score', unit: 'window', usPerUnit: (1000 * sc.ms) / sc.n, usPerReading: (1000 * sc.ms) / sc.n / o.hop, n: sc.n, note: `calibrate + lifecycle; ${events} events` });

  // Store and publish: per alert event.
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

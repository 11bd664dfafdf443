/**
 * Shared by the delivery e2e tests: pre-computed sensor streams with level shifts (published as bursts,
 * so thousands of readings cost a handful of messages), an MQTT recorder for what anomalyd publishes,
 * and a check of what was received against what the daemon committed to SQLite.
 */
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { Simulator, type SimSensorKind } from '../../src/sim/simulator.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { waitFor } from './net.js';

export interface Shift {
  /** First shifted reading (index into the series). */
  readonly at: number;
  readonly length: number;
  /** In units of the sensor kind's scale (see the simulator's SCALE). */
  readonly magnitude: number;
}

export interface SeriesSpec {
  readonly sensor: string;
  readonly kind: SimSensorKind;
  readonly seed: number;
  readonly startTs: number;
  readonly readings: number;
  readonly shifts: readonly Shift[];
  readonly intervalMs?: number;
}

export interface SeriesReading {
  readonly ts: number;
  readonly value: number;
}

/** One sensor's readings from the seeded simulator, with the given level shifts. */
export function sensorSeries(spec: SeriesSpec): SeriesReading[] {
  const intervalMs = spec.intervalMs ?? 1000;
  const sim = new Simulator({
    seed: spec.seed,
    startTs: spec.startTs,
    intervalMs,
    sensors: [{ name: spec.sensor, kind: spec.kind }],
    anomalies: spec.shifts.map((s) => ({
      sensor: spec.sensor,
      kind: 'level_shift' as const,
      startTs: spec.startTs + s.at * intervalMs,
      endTs: spec.startTs + (s.at + s.length - 1) * intervalMs,
      magnitude: s.magnitude,
    })),
  });
  const out: SeriesReading[] = [];
  for (let i = 0; i < spec.readings; i++) {
    const [m] = sim.next();
    out.push({ ts: m.ts, value: m.value });
  }
  return out;
}

/** Level shifts of `magnitude`, `length` readings long, every `period` readings from `from` to `to`. */
export function periodicShifts(from: number, to: number, period: number, length: number, magnitude: number): Shift[] {
  const out: Shift[] = [];
  for (let at = from; at + length <= to; at += period) out.push({ at, length, magnitude });
  return out;
}

export interface Burst {
  readonly topic: string;
  readonly payload: string;
  /** Timestamp of the burst's last reading. */
  readonly lastTs: number;
}

/** The parser's burst form: {"values": [...], "ts": first, "interval_ms": step}, `size` readings each. */
export function bursts(sensor: string, series: readonly SeriesReading[], size: number, intervalMs = 1000): Burst[] {
  const out: Burst[] = [];
  for (let i = 0; i < series.length; i += size) {
    const chunk = series.slice(i, i + size);
    out.push({
      topic: `sensors/${sensor}`,
      payload: JSON.stringify({ values: chunk.map((r) => r.value), ts: chunk[0].ts, interval_ms: intervalMs }),
      lastTs: chunk[chunk.length - 1].ts,
    });
  }
  return out;
}

/** Interleaves the sensors' bursts: all sensors' first bursts, then all second bursts, ... */
export function interleave<T>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

export interface AlertReceipt {
  readonly alert: AlertPayload;
  /** The broker re-sent it to us (MQTT DUP flag): a broker-to-subscriber repeat, not one of anomalyd's. */
  readonly dup: boolean;
  readonly at: number;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
  /** The broker's DUP flag: it is re-sending this QoS 1 message to the subscriber. */
  readonly dup: boolean;
  /** Wall-clock arrival, epoch ms. */
  readonly at: number;
}

/**
 * A subscriber that records every message in arrival order. With `clean: false` and a fixed client id,
 * the broker queues messages for it while it (or the broker) is away, so nothing published in a
 * reconnect gap is missed by the recorder itself.
 */
export class MqttRecorder {
  readonly messages: ReceivedMessage[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain, dup: packet.dup, at: Date.now() });
    });
  }

  static async connect(url: string, opts: { clientId: string; clean: boolean; filters: readonly string[] }): Promise<MqttRecorder> {
    const client = await mqtt.connectAsync(url, { clientId: opts.clientId, clean: opts.clean, reconnectPeriod: 100, protocolVersion: 4 });
    const recorder = new MqttRecorder(client);
    await client.subscribeAsync([...opts.filters], { qos: 1 });
    return recorder;
  }

  alerts(): AlertPayload[] {
    return this.receipts().map((r) => r.alert);
  }

  receipts(): AlertReceipt[] {
    return this.messages.filter((m) => m.topic.includes('/alerts/')).map((m) => ({ alert: JSON.parse(m.payload) as AlertPayload, dup: m.dup, at: m.at }));
  }

  async end(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export interface OutboxEntry {
  readonly id: number;
  readonly anomalyId: string;
  readonly seq: number;
  readonly event: string;
  readonly attempts: number;
  readonly createdAt: number;
  readonly deliveredAt: number | null;
}

/** Every alert the daemon committed to its outbox, in delivery order (rows are kept a day after delivery). */
export function readOutbox(dbPath: string): OutboxEntry[] {
  return withDb(dbPath, (db) =>
    (db.prepare('SELECT id, payload, attempts, created_at, delivered_at FROM outbox ORDER BY id').all() as {
      id: number;
      payload: string;
      attempts: number;
      created_at: number;
      delivered_at: number | null;
    }[]).map((r) => {
      const p = JSON.parse(r.payload) as AlertPayload;
      return { id: r.id, anomalyId: p.anomaly_id, seq: p.seq, event: p.event, attempts: r.attempts, createdAt: r.created_at, deliveredAt: r.delivered_at };
    }),
  );
}

/** (anomaly_id, seq) of every committed anomaly event. */
export function readEventKeys(dbPath: string): Set<string> {
  return withDb(dbPath, (db) => new Set((db.prepare("SELECT anomaly_id || '#' || seq AS k FROM anomaly_events").pluck().all() as string[])));
}

/** The payload of every committed anomaly event, as first published, by (anomaly_id, seq). */
export function readEventPayloads(dbPath: string): Map<string, AlertPayload> {
  return withDb(dbPath, (db) => {
    const rows = db.prepare('SELECT payload FROM anomaly_events').pluck().all() as string[];
    return new Map(rows.map((p) => JSON.parse(p) as AlertPayload).map((a) => [keyOf(a), a]));
  });
}

export function integrityCheck(dbPath: string): string {
  return withDb(dbPath, (db) => String(db.pragma('integrity_check', { simple: true })));
}

export function withDb<T>(dbPath: string, fn: (db: Database.Database) => T): T {
  // Read-write open without writing: a read-only connection cannot recover a WAL left by a killed process.
  const db = new Database(dbPath, { fileMustExist: true, timeout: 5000 });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export const keyOf = (a: { anomaly_id: string; seq: number } | { anomalyId: string; seq: number }): string =>
  'anomaly_id' in a ? `${a.anomaly_id}#${a.seq}` : `${a.anomalyId}#${a.seq}`;

export interface DeliveryReport {
  readonly committed: number;
  readonly received: number;
  /** Committed but never received. */
  readonly missing: string[];
  /** Received but not committed: must never happen (store before send). */
  readonly unknown: string[];
  /**
   * Sent by anomalyd more than once without `resent: true` on every repeat: more than one receipt with
   * neither `resent` nor the broker's DUP flag.
   */
  readonly silentDuplicates: string[];
  /** Messages that carried `resent: true`. */
  readonly resent: number;
  /** Receipts the broker flagged DUP (its own QoS 1 retry towards the subscriber). */
  readonly brokerRepeats: number;
  /** Receipts beyond the first of a message. */
  readonly duplicates: number;
  /** First receipts that arrived after a message committed later than them (among rows still in the outbox). */
  readonly outOfOrder: number;
}

/**
 * Compares what a subscriber received with the daemon's outbox. A message may arrive more than once,
 * but at most one of its receipts may say `resent: false` (the first send); anything else is resent.
 */
export function checkDelivery(outbox: readonly OutboxEntry[], received: readonly AlertReceipt[], committedKeys?: ReadonlySet<string>): DeliveryReport {
  const orderOf = new Map(outbox.map((o) => [keyOf(o), o.id]));
  const known = committedKeys ?? new Set(orderOf.keys());
  const firstSends = new Map<string, number>();
  const receipts = new Map<string, number>();
  const unknown: string[] = [];
  let resent = 0;
  let brokerRepeats = 0;
  let outOfOrder = 0;
  let lastOrder = -Infinity;
  for (const { alert, dup } of received) {
    const key = keyOf(alert);
    if (!known.has(key)) unknown.push(key);
    if (alert.resent) resent++;
    if (dup) brokerRepeats++;
    if (!alert.resent && !dup) firstSends.set(key, (firstSends.get(key) ?? 0) + 1);
    const n = receipts.get(key) ?? 0;
    receipts.set(key, n + 1);
    // A row dropped by the outbox bound after it was sent has no order left to check against.
    const order = orderOf.get(key);
    if (n === 0 && order !== undefined) {
      if (order < lastOrder) outOfOrder++;
      lastOrder = Math.max(lastOrder, order);
    }
  }
  return {
    committed: orderOf.size,
    received: received.length,
    missing: [...orderOf.keys()].filter((k) => !receipts.has(k)),
    unknown,
    silentDuplicates: [...firstSends].filter(([, n]) => n > 1).map(([k]) => k),
    resent,
    brokerRepeats,
    duplicates: [...receipts.values()].reduce((s, n) => s + n - 1, 0),
    outOfOrder,
  };
}

export interface EpisodeTransitions {
  readonly opens: number;
  readonly updates: number;
  readonly resolves: number;
}

/**
 * Per episode, how many distinct transitions of each kind a list of alerts holds. Repeats of one message
 * (the same (anomaly_id, seq), resent or a broker DUP) count once: what is counted is what anomalyd
 * decided, not how often it was delivered.
 */
export function episodeTransitions(alerts: readonly AlertPayload[]): Map<string, EpisodeTransitions> {
  const seen = new Set<string>();
  const out = new Map<string, { opens: number; updates: number; resolves: number }>();
  for (const a of alerts) {
    const key = keyOf(a);
    if (seen.has(key)) continue;
    seen.add(key);
    const t = out.get(a.anomaly_id) ?? { opens: 0, updates: 0, resolves: 0 };
    if (a.event === 'open') t.opens++;
    else if (a.event === 'update') t.updates++;
    else t.resolves++;
    out.set(a.anomaly_id, t);
  }
  return out;
}

/** How long retainedMessage waits for a retained message before it answers null (ms). */
export const RETAINED_WAIT_MS = 30_000;

/**
 * The retained message on `topic` as a new subscriber gets it (Home Assistant after a restart), or null when none comes
 * within RETAINED_WAIT_MS. The broker sends it right after the subscription, so the wait ends as soon as it comes; the
 * bound is for a loaded machine (it was 2 s, and its timeout swallowed: a subscriber held up that long read null, and
 * the caller's `expect` failed on a message that was there). `probe` names the subscriber's client id (a random suffix
 * is added).
 */
export async function retainedMessage(url: string, topic: string, probe = 'probe'): Promise<string | null> {
  const c = await mqtt.connectAsync(url, { clientId: `${probe}-${process.pid}-${Math.random().toString(16).slice(2)}` });
  try {
    let got: string | null = null;
    c.on('message', (t, payload, packet) => {
      if (t === topic && packet.retain) got = payload.toString('utf8');
    });
    await c.subscribeAsync(topic, { qos: 1 });
    await waitFor(() => got !== null, RETAINED_WAIT_MS, `the retained message on ${topic}`).catch(() => undefined);
    return got;
  } finally {
    await c.endAsync();
  }
}

/**
 * The operator retires a stream, or every stream of a device ("forget this sensor"): `anomalyd sensors forget`,
 * `POST /api/sensors/:sensor/forget`, `POST /api/devices/:device/forget`. A retired sensor's `missing data` stays
 * open for good otherwise (a stream with an open episode is never evicted: src/daemon/eviction.ts), and a renamed
 * entity leaves its old stream listed.
 *
 * Forgetting a stream, in this order:
 *   1. each episode of it open in the store is resolved `forgotten` (AnomalyEvent.resolution), stored then
 *      published as any resolve (the outbox sends it once committed); a store that fails stops the forget there
 *      (thrown), so nothing of the stream is dropped with its alert still open;
 *   2. its checkpoint rows are deleted (a restart does not restore it, a reading does not revive it);
 *   3. every stage forgets it as at an eviction (parser slot, cadence, model state, scores, status, dashboard series,
 *      learning's pending readings), its retained `<prefix>/state/<stream>` is cleared and, with Home Assistant
 *      discovery, its entities removed (empty retained configs) and its retained score cleared.
 * Its history stays: the stored episodes and events, the marks, the minute buckets of its series, the readings
 * stored for on-device learning and its model assignments. If it sends again it starts over as a new stream
 * (learning period first).
 *
 * With the daemon stopped the CLI does step 1 and 2 on the database itself (forgetStored, below); the resolve waits
 * in the outbox and is published at the next start, which also clears the stream's retained topics (FORGOTTEN_SUFFIX).
 */
import type { Logger } from 'pino';
import type { AnomalyRecord, KnownNames } from '../contract/store.js';
import type { AnomalyEvent } from '../contract/types.js';
import { BASE_SUFFIX } from './checkpoint-codec.js';
import { SIDE_SUFFIX } from './checkpoints.js';
import { storedResolveEvent } from './eviction.js';

/** What to forget: one stream, or every stream of one device (Reading.source, AnomalyRecord.device). */
export interface ForgetTarget {
  readonly kind: 'stream' | 'device';
  /** The stream (`plug-washer/ENERGY.Power`) or the device (`plug-washer`). */
  readonly name: string;
  /** Who asked, as marks record it: `http`, `cli:<user>`. */
  readonly by: string;
}

/** What a forget did: the streams it retired and the episodes it resolved `forgotten`. */
export interface ForgetResult {
  readonly kind: 'stream' | 'device';
  readonly name: string;
  /** The streams forgotten, sorted. */
  readonly streams: readonly string[];
  /** The episodes resolved `forgotten` (open in the store until then), with their stream. */
  readonly resolved: readonly { readonly anomalyId: string; readonly sensor: string }[];
  /**
   * With the daemon stopped (forgetStored): the readings its last stop kept unscored for the next start
   * (src/daemon/kept-readings.ts) that went with the streams. Absent from a running daemon's answer (it gave them back
   * at its start).
   */
  readonly keptDropped?: number;
}

/** A stream's checkpoint rows: its own, its base's and its side part's (checkpoint-codec.ts, checkpoints.ts). */
export function checkpointKeys(stream: string): string[] {
  return [stream, `${stream}${BASE_SUFFIX}`, `${stream}${SIDE_SUFFIX}`];
}

/**
 * The row a forget with the daemon stopped leaves in the checkpoint table (`<stream>#forgotten`, a key no stream id
 * holds: restore() passes it by): the next start clears the stream's retained topics (state, Home Assistant
 * discovery and score) once connected, then deletes the row (Daemon: clearForgotten).
 */
export const FORGOTTEN_SUFFIX = '#forgotten';

/** A stored open episode's resolve, `forgotten` by the operator. */
export function forgottenResolve(a: AnomalyRecord): AnomalyEvent {
  return { ...storedResolveEvent(a), resolution: 'forgotten' };
}

/** The parts of the running daemon a forget works on. */
export interface ForgetWiring {
  /** Streams the daemon holds state of (Detector.streams). */
  streams(): Iterable<string>;
  /** The device of a live stream (Detector.sourceOf), undefined when not known. */
  deviceOf(stream: string): string | undefined;
  readonly store: {
    listAnomalies(q: { readonly sensor?: string; readonly device?: string; readonly status: 'open'; readonly limit: number }): AnomalyRecord[];
    loadSensorState(sensor: string): unknown;
  };
  /** Stores the event then queues its alert (Daemon.recordEvent); false when the store refused it (already resolved). Throws when the store fails. */
  record(ev: AnomalyEvent, explanation: AnomalyRecord['explanation']): boolean;
  /**
   * Deletes the stream's checkpoint rows (and what Checkpoints knows of them) and its stored readings (its learning
   * history), in one transaction: both or neither (the leftovers finding 2: a forgotten stream's readings stayed in
   * SQLite for good, no retention ever reaching them). Throws when the store fails.
   */
  dropCheckpoint(stream: string): void;
  /** Makes every stage forget the stream, clears its retained state and Home Assistant entities. */
  dropState(stream: string): void;
  readonly log: Logger;
}

/**
 * Forgets `target` in the running daemon (see the module comment). Returns null when the name is no stream (or
 * device) the daemon holds state of, has a checkpoint of, or has an open episode of. Throws when the store fails
 * to resolve an episode (what was forgotten before it stays forgotten; the rest is left as it was).
 */
export function forgetLive(w: ForgetWiring, target: ForgetTarget): ForgetResult | null {
  const streams = streamsOf(w, target);
  if (streams.length === 0) return null;
  const resolved: { anomalyId: string; sensor: string }[] = [];
  for (const stream of streams) {
    for (const a of w.store.listAnomalies({ sensor: stream, status: 'open', limit: 1000 })) {
      if (w.record(forgottenResolve(a), a.explanation)) resolved.push({ anomalyId: a.id, sensor: stream });
    }
    w.dropCheckpoint(stream);
    w.dropState(stream);
  }
  w.log.info(
    { target: target.kind, name: target.name.slice(0, 256), by: target.by, streams: streams.slice(0, 50), resolved: resolved.map((r) => r.anomalyId) },
    `${target.kind === 'device' ? `device ${target.name}` : `stream ${target.name}`} forgotten by the operator (${target.by}): ${streams.length} stream${streams.length === 1 ? '' : 's'} dropped, ${resolved.length} open episode${resolved.length === 1 ? '' : 's'} resolved (forgotten), its stored readings deleted; its history stays; if it sends again it starts over as a new stream`,
  );
  return { kind: target.kind, name: target.name, streams, resolved };
}

function streamsOf(w: ForgetWiring, target: ForgetTarget): string[] {
  const out = new Set<string>();
  if (target.kind === 'stream') {
    const live = [...w.streams()].includes(target.name);
    if (live || w.store.loadSensorState(target.name) !== null || w.store.listAnomalies({ sensor: target.name, status: 'open', limit: 1 }).length > 0) out.add(target.name);
  } else {
    for (const s of w.streams()) if ((w.deviceOf(s) ?? s) === target.name) out.add(s);
    for (const a of w.store.listAnomalies({ device: target.name, status: 'open', limit: 1000 })) out.add(a.sensor);
  }
  return [...out].sort();
}

/** The part of the store a forget with the daemon stopped works on (SqliteStore). */
export interface ForgetStore {
  knownNames(): KnownNames;
  listAnomalies(q: { readonly sensor?: string; readonly device?: string; readonly status: 'open'; readonly limit: number }): AnomalyRecord[];
  loadSensorState(sensor: string): unknown;
  loadSensorStates(): Map<string, unknown>;
  recordEvent(ev: AnomalyEvent, topic: string, explanation?: AnomalyRecord['explanation']): unknown;
  deleteSensorStates(keys: readonly string[]): void;
  saveSensorStates(rows: readonly { readonly sensor: string; readonly blob: Buffer; readonly updatedAt: number }[]): void;
  deleteReadings(sensor: string): number;
  /** Deletes the streams' readings a graceful stop kept for the next start (src/daemon/kept-readings.ts); returns how many. */
  deleteKeptReadings(streams: readonly string[]): number;
  atomically<T>(fn: () => T): T;
}

/**
 * Forgets `target` in the database of a stopped daemon: resolves its open episodes `forgotten` (stored with their
 * alert in the outbox: published at the next start) and deletes its checkpoints, its stored readings and the readings
 * the last stop kept unscored (one
 * transaction per stream; how many such readings went: ForgetResult.keptDropped), so the next start neither restores
 * nor lists it. A device's streams are those of its stored episodes and those whose checkpoint is named under it
 * (`<device>/…`), or the device's own stream (`<device>`). No daemon is connected to clear its retained topics: a
 * `<stream>#forgotten` row (FORGOTTEN_SUFFIX) asks the next start to. `now`: epoch ms for that row. Null when the
 * database knows no such stream or device. Throws when the store fails.
 */
export function forgetStored(store: ForgetStore, target: ForgetTarget, alertTopic: (sensor: string) => string, now: number = Date.now()): ForgetResult | null {
  const checkpointed = [...store.loadSensorStates().keys()].filter((k) => !k.includes('#'));
  const out = new Set<string>();
  if (target.kind === 'stream') {
    if (checkpointed.includes(target.name) || store.listAnomalies({ sensor: target.name, status: 'open', limit: 1 }).length > 0) out.add(target.name);
  } else {
    for (const s of checkpointed) if (s === target.name || s.startsWith(`${target.name}/`)) out.add(s);
    for (const a of store.listAnomalies({ device: target.name, status: 'open', limit: 1000 })) out.add(a.sensor);
  }
  const streams = [...out].sort();
  if (streams.length === 0) return null;
  const resolved: { anomalyId: string; sensor: string }[] = [];
  let keptDropped = 0;
  for (const stream of streams) {
    // Each stream in one transaction: its resolves, checkpoints, readings and the row that asks the next start to clear it.
    const mine = store.atomically(() => {
      const done: { anomalyId: string; sensor: string }[] = [];
      for (const a of store.listAnomalies({ sensor: stream, status: 'open', limit: 1000 })) {
        if (store.recordEvent(forgottenResolve(a), alertTopic(stream), a.explanation) !== null) done.push({ anomalyId: a.id, sensor: stream });
      }
      store.deleteSensorStates(checkpointKeys(stream));
      store.deleteReadings(stream);
      // Its readings the last stop kept unscored go with its checkpoint (they were to be scored against it).
      const kept = store.deleteKeptReadings([stream]);
      store.saveSensorStates([{ sensor: `${stream}${FORGOTTEN_SUFFIX}`, blob: Buffer.from(JSON.stringify({ by: target.by, at: now })), updatedAt: now }]);
      return { done, kept };
    });
    resolved.push(...mine.done);
    keptDropped += mine.kept;
  }
  return { kind: target.kind, name: target.name, streams, resolved, keptDropped };
}

/**
 * The MQTT contract for what anomalyd publishes: topics and payload types in one place.
 * docs/ALERTS.md is the consumer-facing description of the same schema; keep the two in step.
 */
import type { AnomalyEvent, AnomalyEventKind, SensorStatus } from './types.js';

export const DEFAULT_TOPIC_PREFIX = 'anomalyd';

/** Retained on `<prefix>/status`; `offline` is also the MQTT last will. */
export type DaemonStatus = 'online' | 'offline';

/** Retained JSON on `<prefix>/state/<sensor>`. */
export interface SensorStatePayload {
  readonly status: SensorStatus;
  /** When the sensor entered this status, ISO 8601. */
  readonly since: string;
  /** The open episode, present only while status is `anomalous`. */
  readonly anomaly_id?: string;
  /** The model scoring the sensor (absent while it has none). */
  readonly model?: string;
  /** While the sensor learns its own model: the fraction of the readings needed that it has, in [0, 1]. */
  readonly learning_progress?: number;
}

export interface AlertChannel {
  readonly name: string;
  /** Masked mean squared reconstruction error of this channel, normalised units. */
  readonly error: number;
}

/** JSON on `<prefix>/alerts/<sensor>`, QoS 1, not retained. One message per anomaly event. */
export interface AlertPayload {
  readonly anomaly_id: string;
  readonly event: AnomalyEventKind;
  /** Per anomaly, 1, 2, 3 ... in event order; (anomaly_id, seq) identifies a message for de-duplication. */
  readonly seq: number;
  readonly sensor: string;
  /** ISO 8601. */
  readonly start: string;
  /** ISO 8601 on `resolve`; null while the episode is open. */
  readonly end: string | null;
  readonly score: number;
  readonly peak_score: number;
  readonly threshold: number;
  readonly model: string;
  readonly padded_fraction: number;
  readonly channels: readonly AlertChannel[];
  /** True when this message may already have reached the broker once (a retry after a failure or restart). */
  readonly resent: boolean;
  /** Event time (end of the window that caused the event), ISO 8601. */
  readonly ts: string;
  readonly daemon_id?: string;
}

/**
 * Topics per stream. A stream id may span several topic levels (`bedroom/temperature`): each level must be
 * non-empty and free of `+`, `#` and NUL; so subscribe with `#`, not `+`, for every stream.
 */
export interface Topics {
  readonly prefix: string;
  alerts(sensor: string): string;
  /** Subscription filter for every stream's alerts. */
  readonly allAlerts: string;
  readonly status: string;
  state(sensor: string): string;
  /** `<prefix>/score/<stream>`: the stream's latest score, throttled (Home Assistant's score sensor reads it). */
  score(sensor: string): string;
  /** `<prefix>/cmd/<parts...>`, e.g. cmd('ack', anomalyId). */
  cmd(...parts: string[]): string;
}

/** Throws on a prefix or topic level that MQTT would reject or that would change the topic's shape. */
export function topics(prefix: string = DEFAULT_TOPIC_PREFIX): Topics {
  assertTopicPath(prefix, 'topic prefix');
  const level = (value: string, what: string): string => {
    assertTopicLevel(value, what);
    return value;
  };
  const path = (value: string, what: string): string => {
    assertTopicPath(value, what);
    return value;
  };
  return {
    prefix,
    alerts: (sensor) => `${prefix}/alerts/${path(sensor, 'stream')}`,
    allAlerts: `${prefix}/alerts/#`,
    status: `${prefix}/status`,
    state: (sensor) => `${prefix}/state/${path(sensor, 'stream')}`,
    score: (sensor) => `${prefix}/score/${path(sensor, 'stream')}`,
    cmd: (...parts) => [prefix, 'cmd', ...parts.map((p) => level(p, 'command part'))].join('/'),
  };
}

function assertTopicLevel(value: string, what: string): void {
  if (value.length === 0 || value.includes('/') || hasWildcardOrNul(value)) {
    throw new Error(`invalid ${what} ${JSON.stringify(value)}: must be non-empty without '/', '+', '#' or NUL`);
  }
}

function assertTopicPath(value: string, what: string): void {
  if (value.length === 0 || value.split('/').some((l) => l.length === 0 || hasWildcardOrNul(l))) {
    throw new Error(`invalid ${what} ${JSON.stringify(value)}: levels must be non-empty without '+', '#' or NUL`);
  }
}

function hasWildcardOrNul(level: string): boolean {
  // NUL is forbidden in MQTT topic names (MQTT 3.1.1, 4.7.3); '+' and '#' only belong in filters.
  return level.includes('+') || level.includes('#') || level.includes(String.fromCharCode(0));
}

export interface AlertPayloadOptions {
  readonly seq: number;
  readonly resent: boolean;
  readonly daemonId?: string;
}

export function alertPayload(ev: AnomalyEvent, opts: AlertPayloadOptions): AlertPayload {
  return {
    anomaly_id: ev.anomalyId,
    event: ev.kind,
    seq: opts.seq,
    sensor: ev.sensor,
    start: iso(ev.startTs),
    end: ev.kind === 'resolve' ? iso(ev.endTs) : null,
    score: ev.score,
    peak_score: ev.peakScore,
    threshold: ev.threshold,
    model: ev.modelId,
    padded_fraction: ev.paddedFraction,
    channels: alertChannels(ev),
    resent: opts.resent,
    ts: iso(ev.endTs),
    ...(opts.daemonId !== undefined ? { daemon_id: opts.daemonId } : {}),
  };
}

export function alertChannels(ev: Pick<AnomalyEvent, 'channels' | 'channelErrors'>): AlertChannel[] {
  if (ev.channels.length !== ev.channelErrors.length) {
    throw new Error(`anomaly event has ${ev.channels.length} channels but ${ev.channelErrors.length} channel errors`);
  }
  return ev.channels.map((name, i) => ({ name, error: ev.channelErrors[i] }));
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * The MQTT contract for what anomalyd publishes: topics and payload types in one place.
 * docs/ALERTS.md is the consumer-facing description of the same schema; keep the two in step.
 */
import type { AlertField, AnomalyEvent, AnomalyEventKind, Resolution, SensorStatus } from './types.js';
import { surpriseOf } from './surprise.js';

export const DEFAULT_TOPIC_PREFIX = 'anomalyd';

/**
 * Retained on `<prefix>/status`; `offline` is also the MQTT last will. `fault`: the daemon stopped on a
 * storage fault (docs/DEPLOY.md, "Storage faults") and systemd is restarting it; `online` follows once
 * it runs again.
 */
export type DaemonStatus = 'online' | 'offline' | 'fault';

/** Retained JSON on `<prefix>/state/<sensor>`. */
export interface SensorStatePayload {
  readonly status: SensorStatus;
  /**
   * When the sensor entered this status, ISO 8601, data time; a state published again after a backfill (no change of
   * status: src/daemon/sensor-status.ts caughtUp) since the stream's newest reading then.
   */
  readonly since: string;
  /**
   * The open episode, present while the stream has one: with `anomalous`, and with `stale` while a silence's
   * `missing data` episode is open (stale is told before anomalous); and, while the stream's device says it is
   * offline, the device's `device_offline` episode (with `kind` and `sentence`), also when the stream has one of
   * its own open (then in `stream_anomaly_id`; tryout 30, finding 6). Absent when no episode is open.
   */
  readonly anomaly_id?: string;
  /**
   * While the device's `device_offline` episode is `anomaly_id`: the id of the stream's own open episode (a drift
   * that opened before the device said it is offline), which the state tells again once the device is back.
   * Absent otherwise.
   */
  readonly stream_anomaly_id?: string;
  /**
   * Whether the stream has an open episode (`anomaly_id` present): the same key, and the same `episode_*` keys, as the
   * score payload's (contract/ha-discovery.ts ScorePayload). Absent from states of daemons before it.
   */
  readonly in_episode?: boolean;
  /**
   * With `anomaly_id`: the episode's kind as its record tells it (`level_shift`, `drift`, `missing_data`,
   * `device_offline`, …), null while not told yet. The state is published again when it is told or changes.
   */
  readonly episode_kind?: AnomalyKind | null;
  /** With `anomaly_id`: when the fault it tells began, ISO 8601, data time (its record's `beganTs`; absent when unknown). */
  readonly episode_since?: string;
  /** With `anomaly_id`: its sentence as its record tells it when the state is published (absent when none). */
  readonly episode_sentence?: string;
  /** `device_offline` when `anomaly_id` is the episode of the stream's device (src/daemon/availability.ts); absent otherwise. Older name of `episode_kind` for that case, kept. */
  readonly kind?: 'device_offline';
  /**
   * With `kind`: the device episode's open sentence, `esp-power offline since 10:02 (the device said so on
   * esp-power/status), 4 streams silent (device offline)` (it does not change while the episode is open). Kept beside
   * `episode_sentence`, which says the same then.
   */
  readonly sentence?: string;
  /** The model scoring the sensor (absent while it has none). */
  readonly model?: string;
  /**
   * While the sensor learns its own model (not the status `learning`, the scorer's learning period): the
   * fraction of learning.minReadings it had when this state was published (on a change, and after a backfill), in
   * [0, 1] (ownModelFraction).
   */
  readonly learning_progress?: number;
}

/** Version of the alert payload schema: 1 had no `schema_version` and no `explanation`; 2 adds them. */
export const ALERT_SCHEMA_VERSION = 2;

/** The kinds of fault an explanation can name (src/explain/explain.ts says how each is told). */
export type AnomalyKind = 'spike' | 'level_shift' | 'drift' | 'stuck' | 'noise_change' | 'missing_data' | 'counter_reset' | 'counting_fast' | 'continuous_flow' | 'device_offline' | 'alarm' | 'relation';

/** Why an episode is one, in the sensor's units (schema 2). Numbers are sensor units unless named otherwise. */
export interface AlertExplanation {
  /** What kind of fault, when it can be told; null when it cannot. */
  readonly kind: AnomalyKind | null;
  /** One line for people: `pump/pressure 4.1 bar, expected 2.3 ± 0.2 since 10:42 (level shift)`. */
  readonly sentence: string;
  /** The stream, and the channel the sentence is about (`value` for a one-value stream). */
  readonly stream: string;
  readonly channel: string;
  /**
   * The unit of `value` when known (explain.units, or the one the sensor's hub stated for that reading), else null.
   * Values are never converted: a hub that changed its unit (Tasmota `TempUnit` F → C) sends readings in either.
   */
  readonly unit: string | null;
  /**
   * The unit of `expected` and `band` (and `noise`'s usual level), that of the readings before the episode: present
   * only when it is not `unit` (the hub stated another unit in between). Absent: `unit`.
   */
  readonly expected_unit?: string | null;
  /**
   * The unit changes the sensor's hub stated among the readings explained (the last before the episode to its
   * end), oldest first: `stretch` readings before `at` are in `from`, from `at` on in `to`. Absent when none.
   */
  readonly unit_changes?: readonly { readonly at: string; readonly from: string; readonly to: string }[];
  /** The reading that stands for the stretch: its level, its strongest reading (a spike, a jump not told yet, a kind not told), the stuck value, the furthest reading of a drift (its peak: the latest while it goes on). */
  readonly value: number | null;
  /** What was expected instead, and the half-width of the normal band around it (± 2 spreads). */
  readonly expected: number | null;
  readonly band: number | null;
  /** `model`: the model's expectation; `baseline`: the readings just before the episode; null: neither. */
  readonly basis: 'model' | 'baseline' | null;
  /** When the unusual readings began, ISO 8601. */
  readonly since: string;
  /**
   * stuck: how long the value has not changed; missing_data: how long no reading came; device_offline: how long the
   * device has said it is offline (ms).
   */
  readonly duration_ms?: number;
  /**
   * missing_data only, of a silence told in an episode of another kind that was open when it began (a sensor that
   * went faulty, then died: docs/ALERTS.md, "A sensor that dies with an episode open"): what the episode told before
   * the silence (its kind, sentence and `since`, as its explanation stood then), so the fault that opened it is not
   * lost; `sentence` begins with it: `<its sentence>, then no reading for 4 min since …, last … (missing data)`.
   * Absent for a silence that opened its own episode.
   */
  readonly before_silence?: BeforeSilence;
  /** drift: sensor units per hour. */
  readonly rate_per_hour?: number;
  /** noise_change: the stretch's noise as ± 2 spreads, to compare with `band`. */
  readonly noise?: number;
  /** For a stream of several channels, each one's share of the deviation (they add up to 1); null for one channel. */
  readonly shares: readonly { readonly name: string; readonly share: number }[] | null;
  /** The anomalous stretch of `channel`: at most 60 readings (evenly thinned, the extremes kept), oldest first. */
  readonly stretch: {
    /** Epoch ms. */
    readonly ts: readonly number[];
    readonly values: readonly number[];
    /** The model's expectation per reading and the band's half-width; null when the model gave none. */
    readonly expected: readonly (number | null)[] | null;
    readonly band: readonly (number | null)[] | null;
  };
}

/** What an episode told before a silence was told in it (AlertExplanation.before_silence). */
export interface BeforeSilence {
  /** Its kind then; null when it could not be told. */
  readonly kind: AnomalyKind | null;
  /** Its sentence then, whole (`living_temp 27.46 °C, expected 21.47 ± 0.04 since 04:12 (level shift)`). */
  readonly sentence: string;
  /** When its unusual readings began, ISO 8601. */
  readonly since: string;
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
  /** Always 0 since every reading is scored on its own (kept from the per-window detector for consumers). */
  readonly padded_fraction: number;
  readonly channels: readonly AlertChannel[];
  /** True when this message may already have reached the broker once (a retry after a failure or restart). */
  readonly resent: boolean;
  /** Event time, ISO 8601: the episode's latest reading that held it open (on open, the one that opened it). */
  readonly ts: string;
  readonly daemon_id?: string;
  /** ALERT_SCHEMA_VERSION; absent in schema 1 messages (stored before the upgrade). */
  readonly schema_version?: number;
  /** Why, in the sensor's units; null when there was nothing to explain it with; absent in schema 1. */
  readonly explanation?: AlertExplanation | null;
  /**
   * On `resolve`: `recovered` (the readings came back below the hold level) or `new_normal` (the episode
   * lasted alerts.newNormalAfter readings and is accepted as the stream's normal: the readings may still be
   * off what they were before), or `forgotten` (the operator retired the stream: `anomalyd sensors forget`, POST
   * /api/sensors/:sensor/forget; no verdict on its readings), or `interrupted` (the daemon could not go on with it:
   * at start, its stream's state lost by an unclean stop or its checkpoint too old to restore; no verdict either).
   * Absent on open and update, and in messages stored before it existed.
   */
  readonly resolution?: Resolution;
  /**
   * Present when this alert tells the episodes of several fields of one device that opened together (within a few of
   * the device's readings: docs/ALERTS.md, "Fields of a device that go wrong together"): the device (`plug2`).
   */
  readonly device?: string;
  /**
   * With `device`: every field's episode the alert tells, this alert's own first (its `sensor`, `anomaly_id`), then
   * the others in the order they opened; each other one is stored and listed as its own episode but never alerted on
   * its own. Absent on an alert of one field's episode.
   */
  readonly fields?: readonly AlertField[];
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
  readonly explanation?: AlertExplanation | null;
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
    schema_version: ALERT_SCHEMA_VERSION,
    explanation: opts.explanation ?? null,
    ...(ev.kind === 'resolve' && ev.resolution !== undefined ? { resolution: ev.resolution } : {}),
    ...(ev.together !== undefined && ev.together.length > 1 ? { device: ev.device ?? ev.sensor, fields: ev.together } : {}),
  };
}

/**
 * What an alert's line for people (the console log, the demo) adds for how its episode ended: `, accepted as the
 * new normal` (new_normal), `, forgotten by the operator` (forgotten: the stream was retired), `, interrupted: the
 * daemon could not go on with it` (interrupted), nothing otherwise.
 */
export function resolutionWords(resolution: Resolution | undefined): string {
  switch (resolution) {
    case 'new_normal':
      return ', accepted as the new normal';
    case 'forgotten':
      return ', forgotten by the operator';
    case 'interrupted':
      return ', interrupted: the daemon could not go on with it';
    case 'recovered':
    case undefined:
      return '';
  }
}

/** The numbers of an event that its line for people gives: scores in [0, 1], as in the alert payload. */
export interface AlertFigures {
  readonly kind: AnomalyEvent['kind'];
  readonly score: number;
  readonly peakScore: number;
  readonly threshold: number;
  /**
   * The kind the alert's explanation tells (AlertExplanation.kind), when it has one: what an unscored episode's
   * figures say comes from it (tryout 30, finding 9: a silent device is not one that told anything).
   */
  readonly explained?: AnomalyKind | null;
}

/**
 * What an alert's line for people (the console log, the demo) says after its sentence. An `open` says what
 * opened the episode, in surprise (−log10(1 − score)) against the threshold's: the reading's own score
 * (`surprise 6.0 ≥ 5.0`), or, when that stayed below, its deviation from normal operation before any episode
 * (`deviation 6.1 ≥ 5.0`: the open's peak_score; docs/SCORING.md, section 5), so an open whose score is below
 * the threshold does not read like a bug. An `update` gives the peak deviation that made it. Then the score,
 * with decimals enough not to round up to 1 (`score > 0.99999999` beyond 8). Surprises are shown as
 * everywhere else (src/contract/surprise.ts): at most 16.
 */
export function alertFigures(a: AlertFigures): string {
  const t = surpriseOf(a.threshold);
  // Decimals enough not to round up to 1; beyond 8 the surprise says it better than the digits would.
  const decimals = Math.max(4, Math.floor(surpriseOf(a.score) + 1e-9) + 1);
  const score = decimals > 8 ? 'score > 0.99999999' : `score ${a.score.toFixed(decimals)}`;
  // An episode no reading scored (score and peak 0) has no figure to give; say why from its kind: a device that
  // said it is offline (its LWT), or a device or stream that went silent (no reading to score).
  if (a.score === 0 && a.peakScore === 0) return notScored(a.explained ?? null);
  if (a.kind === 'open') {
    return a.score >= a.threshold ? `surprise ${surpriseOf(a.score).toFixed(1)} ≥ ${t.toFixed(1)}, ${score}` : `deviation ${surpriseOf(a.peakScore).toFixed(1)} ≥ ${t.toFixed(1)}, ${score}`;
  }
  return a.kind === 'update' ? `peak deviation ${surpriseOf(a.peakScore).toFixed(1)}, ${score}` : score;
}

/**
 * Why an episode has no score, from its explained kind: `device_offline` was told by the device (its status topic
 * or LWT); `missing_data` had no reading to score; anything else (or no explanation) just `not scored`.
 */
export function notScored(kind: AnomalyKind | null): string {
  if (kind === 'device_offline') return 'not scored: told by the device';
  if (kind === 'missing_data') return 'not scored: no readings';
  return 'not scored';
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

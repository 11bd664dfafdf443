/**
 * Home Assistant MQTT discovery: the config payloads anomalyd publishes (retained) so that every stream
 * appears in Home Assistant as two entities under one device per source sensor:
 *   - binary_sensor, device class `problem`: on while the stream has an open episode (anomalous, or a silence's
 *     `missing data` while it is stale), or while its device says it is offline (the device's `device_offline`
 *     episode, which its streams' states carry); reads `<prefix>/state/<stream>`, whose other keys become its
 *     attributes;
 *   - sensor (not for an on/off stream, which has no score): the stream's anomaly score in [0, 1] (reads
 *     `<prefix>/score/<stream>`, throttled), the latest reading's
 *     own; its attributes (the same payload) say whether the stream is in an open episode, of what kind, since when:
 *     inside an episode a reading scores 0 unless it is tenfold rarer, so a 0 there is not "normal" (tryout 29, F7).
 * Both are unavailable while `<prefix>/status` says `offline` (the daemon's last will).
 * Schema: https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery (topic
 * `<discovery_prefix>/<component>/<node_id>/<object_id>/config`; an empty retained payload removes the entity).
 */
import type { AnomalyKind, Topics } from './alerts.js';

/** The `device` block: one per source sensor, so a device's streams are grouped in Home Assistant. */
export interface HaDevice {
  readonly identifiers: readonly string[];
  readonly name: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly sw_version: string;
}

/** Keys common to both entities. */
export interface HaEntityConfig {
  readonly name: string;
  /** Stable across restarts: node id + stream, never random. */
  readonly unique_id: string;
  readonly state_topic: string;
  readonly value_template: string;
  readonly availability_topic: string;
  readonly payload_available: 'online';
  readonly payload_not_available: 'offline';
  readonly device: HaDevice;
  readonly origin: { readonly name: 'anomalyd'; readonly sw_version: string };
}

export interface HaBinarySensorConfig extends HaEntityConfig {
  readonly device_class: 'problem';
  readonly json_attributes_topic: string;
}

export interface HaScoreSensorConfig extends HaEntityConfig {
  /** The score topic itself: every key of its payload (ScorePayload) is an attribute, `in_episode` and the episode's among them. */
  readonly json_attributes_topic: string;
  readonly state_class: 'measurement';
  readonly suggested_display_precision: number;
  readonly icon: string;
}

/** The payload of `<prefix>/score/<stream>` (retained); the score entity's state is `score`, its attributes all of it. */
export interface ScorePayload {
  /** Calibrated anomaly score in [0, 1] of the latest reading (its own: 0 inside an episode unless tenfold rarer). */
  readonly score: number;
  /** Time of the reading or window the score is for, ISO 8601. */
  readonly ts: string;
  /**
   * Whether the stream has an open episode when the score is published (its own, of any kind, or its device's
   * `device_offline`): the problem entity is on. Absent from payloads of daemons before it.
   */
  readonly in_episode?: boolean;
  /** With `in_episode`: the episode's id. */
  readonly anomaly_id?: string;
  /** With `in_episode`: its kind as its record tells it then (`drift`, `level_shift`, `stuck`, …), null while not told. */
  readonly episode_kind?: AnomalyKind | null;
  /** With `in_episode`: when the fault it tells began, ISO 8601 (absent when its record could not be read). */
  readonly episode_since?: string;
  /** With `in_episode`: its sentence then, which says what its readings are judged against (absent when none). */
  readonly episode_sentence?: string;
}

/** What the score payload tells of a stream's open episode (ScorePayload's `episode_*` keys). */
export interface ScoreEpisode {
  readonly anomalyId: string;
  readonly kind: AnomalyKind | null;
  /** Epoch ms, or null when not known. */
  readonly since: number | null;
  readonly sentence: string | null;
}

/**
 * The score payload of a reading's `score` (in [0, 1], rounded to 6 decimals) at `ts` (epoch ms), with the stream's
 * open episode `episode` (null: none, `in_episode` false).
 */
export function scorePayload(score: number, ts: number, episode: ScoreEpisode | null): ScorePayload {
  const base = { score: Math.round(score * 1e6) / 1e6, ts: new Date(ts).toISOString() };
  if (episode === null) return { ...base, in_episode: false };
  return {
    ...base,
    in_episode: true,
    anomaly_id: episode.anomalyId,
    episode_kind: episode.kind,
    ...(episode.since !== null ? { episode_since: new Date(episode.since).toISOString() } : {}),
    ...(episode.sentence !== null ? { episode_sentence: episode.sentence } : {}),
  };
}

export interface DiscoveryTopics {
  readonly binarySensor: string;
  readonly sensor: string;
}

/** 32-bit FNV-1a, hex: keeps two streams that sanitise alike (`a/b`, `a_b`) apart in ids. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Home Assistant's id alphabet: letters, digits, `_` and `-`. */
export function haId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}

/** The object id of a stream: readable, and unique by its hash. */
export function objectIdOf(stream: string): string {
  return `${haId(stream)}_${fnv1a(stream)}`;
}

export function discoveryTopics(discoveryPrefix: string, nodeId: string, stream: string): DiscoveryTopics {
  const object = objectIdOf(stream);
  return {
    binarySensor: `${discoveryPrefix}/binary_sensor/${nodeId}/${object}/config`,
    sensor: `${discoveryPrefix}/sensor/${nodeId}/${object}/config`,
  };
}

export interface DiscoveryContext {
  readonly nodeId: string;
  readonly topics: Topics;
  readonly version: string;
}

/** The entity name within its device: the stream's field (`temperature`), or the device's own value. */
function fieldOf(stream: string, source: string): string {
  return stream.length > source.length && stream.startsWith(`${source}/`) ? stream.slice(source.length + 1) : '';
}

function common(ctx: DiscoveryContext, stream: string, source: string, suffix: string, what: string): Omit<HaEntityConfig, 'state_topic' | 'value_template'> {
  const field = fieldOf(stream, source);
  return {
    name: field === '' ? what : `${field} ${what.toLowerCase()}`,
    // With the default node id (`anomalyd_<host>`) this reads `anomalyd_anomalyd_<host>_…`: kept, since Home
    // Assistant keys an entity by its unique id and a changed one orphans it (tryout 14 #9; README "Home Assistant").
    unique_id: `anomalyd_${ctx.nodeId}_${objectIdOf(stream)}_${suffix}`,
    availability_topic: ctx.topics.status,
    payload_available: 'online',
    payload_not_available: 'offline',
    device: {
      identifiers: [`anomalyd_${ctx.nodeId}_${haId(source)}_${fnv1a(source)}`],
      // "anomalyd …" also makes Home Assistant's entity ids start with anomalyd_, which the statestream preset skips.
      name: `anomalyd ${source}`,
      manufacturer: 'anomalyd',
      model: 'streaming anomaly detector',
      sw_version: ctx.version,
    },
    origin: { name: 'anomalyd', sw_version: ctx.version },
  };
}

/**
 * The binary_sensor's state from the retained state payload (SensorStatePayload): ON while the stream has an open
 * episode of any kind (`anomaly_id` present: anomalous, or stale during a `missing data` episode, tryout 13; or its
 * device's `device_offline` episode), or
 * while its status is `anomalous` (a payload of an older anomalyd); OFF otherwise. Jinja, as Home Assistant
 * evaluates it; `value_json` is the parsed payload.
 */
export const PROBLEM_TEMPLATE = "{{ 'ON' if value_json.status == 'anomalous' or value_json.anomaly_id is defined else 'OFF' }}";

/** The anomaly binary_sensor of a stream of `source`. */
export function binarySensorConfig(ctx: DiscoveryContext, stream: string, source: string): HaBinarySensorConfig {
  const state = ctx.topics.state(stream);
  return {
    ...common(ctx, stream, source, 'anomaly', 'Anomaly'),
    state_topic: state,
    value_template: PROBLEM_TEMPLATE,
    json_attributes_topic: state,
    device_class: 'problem',
  };
}

/** The anomaly-score sensor of a stream of `source`. */
export function scoreSensorConfig(ctx: DiscoveryContext, stream: string, source: string): HaScoreSensorConfig {
  return {
    ...common(ctx, stream, source, 'score', 'Anomaly score'),
    state_topic: ctx.topics.score(stream),
    value_template: '{{ value_json.score }}',
    json_attributes_topic: ctx.topics.score(stream),
    state_class: 'measurement',
    suggested_display_precision: 3,
    icon: 'mdi:chart-bell-curve',
  };
}

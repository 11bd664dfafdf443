/**
 * Home Assistant MQTT discovery configs as anomalyd reads them (home-assistant.io, "MQTT Discovery"): the retained
 * `<prefix>/<component>/[<node_id>/]<object_id>/config` a device publishes for each of its entities, in full keys or
 * the abbreviations ESPHome, Tasmota and OpenMQTTGateway use (`stat_t` for `state_topic`, `unit_of_meas`, `val_tpl`,
 * `dev_cla`, `pl_on`, `pl_off`, `uniq_id`), a leading or trailing `~` in a topic standing for the config's `~` base.
 * An empty payload deletes the entity. Used by the parser (./parse.ts) for the units of streams its rules read
 * (the esphome preset) and for the entities whose state topic no rule reads (the homeassistant preset).
 */
import { isObject, parseJson } from './decode/json.js';
import { compileValueTemplate, type ValueTemplate } from './decode/value-template.js';
import { fieldName, routeOf, streamId, type CompiledRule } from './route.js';

/** The components whose entities anomalyd reads: a sensor's and a number's state is a number, a binary_sensor's on/off. */
export type DiscoveryComponent = 'sensor' | 'binary_sensor' | 'number';

/** Where a config topic says its entity is: its component and ids. */
export interface DiscoveryWhere {
  readonly component: DiscoveryComponent;
  /** The `<node_id>` level, or null when the topic has none. */
  readonly node: string | null;
  readonly object: string;
}

/** One config, its keys read (abbreviated or not). */
export interface DiscoveryConfig {
  /** The state topic, its `~` expanded; null when the config names none. */
  readonly stateTopic: string | null;
  /** Its unit_of_measurement, trimmed; '' for none (or one longer than 16 characters: no unit). */
  readonly unit: string;
  /** Its value_template, or null. */
  readonly template: string | null;
  /** A binary_sensor's payload_on / payload_off (defaults `ON` / `OFF`; a JSON boolean as Jinja renders it, `True`). */
  readonly payloadOn: string;
  readonly payloadOff: string;
  /** Its unique_id, or null. */
  readonly uniqueId: string | null;
  /**
   * Whether an anomalyd published it (any anomalyd, whatever its mqtt.topicPrefix: a second daemon on the broker): its
   * `origin` / `o` names `anomalyd`, or its `device` / `dev` has the manufacturer / `mf` `anomalyd`, as every config
   * anomalyd writes does (src/contract/ha-discovery.ts). Such an entity (a score, an anomaly flag) is never read, and
   * another daemon's availability topic (its `<prefix>/status`) is no device's word (./parse.ts).
   */
  readonly fromAnomalyd: boolean;
  /** Its device_class (`dev_cla`), trimmed and lower case (`moisture`), or null: a binary_sensor of an alarm class is an alarm field (HA_ALARM_CLASSES). */
  readonly deviceClass: string | null;
  /**
   * Where its device says whether the entity is available (home-assistant.io, "MQTT Sensor", `availability`,
   * `availability_topic`): `availability_topic` / `avty_t` with the config's `payload_available` / `pl_avail`
   * (default `online`), `payload_not_available` / `pl_not_avail` (default `offline`) and `availability_template` /
   * `avty_tpl`, and each entry of the list `availability` / `avty` (`topic` / `t`, its own payloads with the same
   * defaults, `value_template` / `val_tpl`); `~` expanded in each topic. At most MAX_AVAILABILITY entries; an entry
   * whose topic is no plain topic is left out. [] = none.
   */
  readonly availability: readonly AvailabilityEntry[];
  /** `availability_mode` / `avty_mode`: `latest` (the default, also for an unknown word), `all` or `any`. */
  readonly availabilityMode: AvailabilityMode;
  /**
   * `expire_after` / `exp_aft` (seconds, home-assistant.io, "MQTT Sensor": the number of seconds after which the
   * sensor's state expires if it is not updated; after expiry the state becomes `unavailable`; 0, the default, never),
   * in ms; null for none (absent, 0, not a positive number).
   */
  readonly expireAfterMs: number | null;
}

/** How an entity's availability topics combine (home-assistant.io, `availability_mode`). */
export type AvailabilityMode = 'latest' | 'all' | 'any';

/** One availability topic of a discovery config (DiscoveryConfig.availability). */
export interface AvailabilityEntry {
  readonly topic: string;
  /** The payload (after its template) that says available / not available; compared as Home Assistant does: exactly, here after trimming. */
  readonly available: string;
  readonly notAvailable: string;
  /** Its template's text, or null (the payload as is). */
  readonly template: string | null;
}

/**
 * Why a discovery config is not read (`anomalyd status`, MessageParser.discoveryTable): `bad_topic` its state topic is
 * no topic a device publishes on; `too_many_streams` ingest.maxStreams entities already; `unread_template` its
 * value_template is not one anomalyd reads (its states are rejected unread_template); `same_stream` another config
 * already names its stream on the same state topic; `not_a_config` its payload is no JSON object; `no_state_topic` it
 * names no state topic; `anomalyd` an anomalyd published it (DiscoveryConfig.fromAnomalyd: another daemon's score
 * or anomaly entity, never read as a sensor).
 */
export type EntityRefusal = 'bad_topic' | 'too_many_streams' | 'unread_template' | 'same_stream' | 'not_a_config' | 'no_state_topic' | 'anomalyd';

/** The origin name and device manufacturer every discovery config anomalyd publishes states (src/contract/ha-discovery.ts). */
export const ANOMALYD_ORIGIN = 'anomalyd';

/** Availability entries read of one config, at most (Home Assistant sets no bound; devices give one or two). */
export const MAX_AVAILABILITY = 8;

/**
 * The component and ids of a config topic under `prefix` (`homeassistant/sensor/th1/config`,
 * `homeassistant/binary_sensor/esp-door/front/config`), when its component is one of `components`; else null.
 */
export function discoveryWhere(prefix: string, topic: string, components: readonly DiscoveryComponent[]): DiscoveryWhere | null {
  if (!topic.startsWith(`${prefix}/`) || !topic.endsWith('/config')) return null;
  const rest = topic.slice(prefix.length + 1, -'/config'.length).split('/');
  if (rest.length !== 2 && rest.length !== 3) return null;
  const component = rest[0] as DiscoveryComponent;
  if (!components.includes(component) || rest.some((l) => l === '')) return null;
  return { component, node: rest.length === 3 ? rest[1] : null, object: rest[rest.length - 1] };
}

/** A payload key's value as a config gives it: a string as is, a boolean as Jinja renders it, a number as text. */
function keyText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** Reads a config payload (JSON object), or null when it is none. Never throws. */
export function readDiscoveryConfig(payload: Buffer): DiscoveryConfig | null {
  const parsed = parseJson(payload, payload.toString('utf8'));
  if (!parsed.ok || !isObject(parsed.doc)) return null;
  const doc = parsed.doc as Record<string, unknown>;
  const text = (...keys: string[]): string | null => {
    for (const k of keys) {
      const v = Object.hasOwn(doc, k) ? keyText(doc[k]) : null;
      if (v !== null) return v;
    }
    return null;
  };
  const base = typeof doc['~'] === 'string' ? doc['~'] : null;
  const expand = (topic: string | null): string | null =>
    topic === null || base === null ? topic : topic.startsWith('~') ? base + topic.slice(1) : topic.endsWith('~') ? topic.slice(0, -1) + base : topic;
  const stateTopic = expand(text('state_topic', 'stat_t'));
  const unit = text('unit_of_measurement', 'unit_of_meas')?.trim() ?? '';
  const availability: AvailabilityEntry[] = [];
  const entry = (topic: string | null, at: (...keys: string[]) => string | null): void => {
    const t = expand(topic);
    if (t === null || !isPlainTopic(t) || availability.length >= MAX_AVAILABILITY) return;
    availability.push({ topic: t, available: at('payload_available', 'pl_avail') ?? 'online', notAvailable: at('payload_not_available', 'pl_not_avail') ?? 'offline', template: at('value_template', 'val_tpl') });
  };
  // The single topic's template is availability_template (avty_tpl); a list entry's is its value_template.
  const single = text('availability_topic', 'avty_t');
  if (single !== null) entry(single, (...keys) => (keys[0] === 'value_template' ? text('availability_template', 'avty_tpl') : text(...keys)));
  const list = Object.hasOwn(doc, 'availability') ? doc.availability : Object.hasOwn(doc, 'avty') ? doc.avty : undefined;
  if (Array.isArray(list)) {
    for (const item of list as unknown[]) {
      if (!isObject(item)) continue;
      const e = item as Record<string, unknown>;
      const at = (...keys: string[]): string | null => {
        for (const k of keys) {
          const v = Object.hasOwn(e, k) ? keyText(e[k]) : null;
          if (v !== null) return v;
        }
        return null;
      };
      entry(at('topic', 't'), at);
    }
  }
  const mode = text('availability_mode', 'avty_mode');
  const inner = (keys: readonly string[], inKeys: readonly string[]): string | null => {
    for (const k of keys) {
      const o = Object.hasOwn(doc, k) ? doc[k] : undefined;
      if (!isObject(o)) continue;
      for (const ik of inKeys) if (Object.hasOwn(o, ik) && typeof o[ik] === 'string') return o[ik];
    }
    return null;
  };
  const fromAnomalyd = inner(['origin', 'o'], ['name']) === ANOMALYD_ORIGIN || inner(['device', 'dev'], ['manufacturer', 'mf']) === ANOMALYD_ORIGIN;
  const expire = Number(text('expire_after', 'exp_aft') ?? Number.NaN);
  return {
    availability,
    expireAfterMs: Number.isFinite(expire) && expire > 0 ? Math.round(expire * 1000) : null,
    availabilityMode: mode === 'all' || mode === 'any' ? mode : 'latest',
    stateTopic,
    unit: unit.length > 16 ? '' : unit,
    template: text('value_template', 'val_tpl'),
    payloadOn: text('payload_on', 'pl_on') ?? 'ON',
    payloadOff: text('payload_off', 'pl_off') ?? 'OFF',
    uniqueId: text('unique_id', 'uniq_id'),
    fromAnomalyd,
    deviceClass: text('device_class', 'dev_cla')?.trim().toLowerCase() || null,
  };
}

/** Whether a state topic is one a client can publish on: not empty, no wildcard, not `$…`, at most 1,024 characters. */
export function isPlainTopic(topic: string): boolean {
  return topic.length > 0 && topic.length <= 1024 && !topic.startsWith('$') && !topic.includes('+') && !topic.includes('#') && !topic.includes('\0');
}

/**
 * The stream a config's state topic gives under `rules` and the unit it states, or null. The state topic is routed by
 * `rules` as a message on it would be: the stream is the one its plain value (or the field `<path>` its value_template
 * reads: `{{ value_json.<path> }}`, `{{ value_json['a']['b'] | float }}`, an array's element
 * `{{ value_json['ENERGY']['Power'][0] }}` as the field `ENERGY.Power.0`) would give, when the rule takes it. A template
 * that changes the value (`round`, `multiply`) or is not read names none (the rule reads the raw value, which that unit
 * may not be of); a topic no rule reads, or whose device comes from the payload, names none (the homeassistant preset
 * reads it as an entity of its own: ./parse.ts).
 */
export function discoveryUnitOf(config: DiscoveryConfig, rules: readonly CompiledRule[]): { readonly stream: string; readonly unit: string } | null {
  const { unit, stateTopic: topic } = config;
  if (unit === '' || topic === null) return null;
  let path = '';
  if (config.template !== null) {
    const t = compileValueTemplate(config.template);
    if ('error' in t || t.changesValue) return null;
    // An index is an array's element, as the decoder names it (`['ENERGY']['Power'][0]`: ENERGY.Power.0, decode/record.ts).
    path = t.path.join('.');
  }
  const route = routeOf(rules, topic);
  if (route === null || route.sensor === null || route.rule.classTopic?.(topic) != null || route.rule.unitTopic?.(topic) != null || route.rule.availability?.device(topic) != null || route.rule.ignores(topic)) return null;
  if (!route.rule.takes(fieldName(route.field, path))) return null;
  return { stream: streamId(route.sensor, route.field, path), unit };
}

/** A discovered entity: a config whose state topic no rule reads, read on its own (the homeassistant preset). */
export interface DiscoveredEntity {
  readonly configTopic: string;
  readonly component: DiscoveryComponent;
  readonly stateTopic: string;
  /** The stream: `<node_id>/<object_id>`, or `<object_id>` (as the homeassistant preset names `homeassistant/sensor/<id>/state`). */
  readonly stream: string;
  /** The device its readings come from (Reading.source): `<node_id>`, else the stream. */
  readonly device: string;
  /** The `{field}` level of the stream under the device (`<object_id>` with a node), or null. */
  readonly field: string | null;
  readonly unit: string;
  /** The template, compiled; null: the payload is the value. */
  readonly template: ValueTemplate | null;
  /** Why the config's value_template is not read (its states are rejected `unread_template`), or null. */
  readonly templateProblem: string | null;
  readonly templateText: string | null;
  readonly payloadOn: string;
  readonly payloadOff: string;
  /** Its availability topics, their templates compiled (one not read says nothing: its messages are left unread). */
  readonly availability: readonly (AvailabilityEntry & { readonly compiled: ValueTemplate | null })[];
  readonly availabilityMode: AvailabilityMode;
  /** Its expire_after in ms (DiscoveryConfig.expireAfterMs), null for none. */
  readonly expireAfterMs: number | null;
  /** The config's payload as it came (its text): the entity's row in the store (DiscoveryEntitiesOptions.onEntityConfig). */
  readonly payload: string;
}

/**
 * Whether an entity is available from what its availability topics said (home-assistant.io, `availability_mode`):
 * `said` holds each topic's last word (true available, false not), `latest` the word of the last message on any of
 * them. `latest`: that word; `all`: available once every topic said available, not available once any said not;
 * `any`: available once any topic said available, not available while every topic that spoke said not. Null: nothing
 * said yet (or, with `all`, not every topic has spoken and none said not available).
 */
export function entityAvailable(entries: readonly AvailabilityEntry[], mode: AvailabilityMode, said: ReadonlyMap<string, boolean>, latest: boolean | null): boolean | null {
  if (mode === 'latest') return latest;
  const words = entries.map((e) => said.get(e.topic));
  if (mode === 'all') return words.some((w) => w === false) ? false : words.every((w) => w === true) ? true : null;
  return words.some((w) => w === true) ? true : words.some((w) => w === false) ? false : null;
}

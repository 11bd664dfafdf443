/**
 * Field mapping: which rule reads a topic, which device (sensor) it is, and which fields of its payloads
 * become which streams. Rules come from `ingest.rules`, then the enabled `ingest.presets`, then the
 * default rule (`ingest.topics` + `ingest.sensorPattern`); the first rule whose topic template matches
 * reads the message.
 *
 * Stream ids: the device's own value (a bare number, the `value` field) is the stream `<device>`; every
 * other field is `<device>/<field>`, where the field is the `{field}` topic level and/or the payload
 * field's dotted path (`bedroom/temperature`, `tele_plug/ENERGY.Power`, `node1/outside_temp`). Characters
 * that would change an MQTT topic's shape (`/` inside a key, `+`, `#`, control characters) become `_`.
 */
import { compileTopicTemplate, type TopicCapture } from './topic.js';
import { PLAIN_ON_OFF, type AvailabilitySource, type ChannelGroupSpec, type EnvelopeSpec, type MappingRuleSpec, type OnOffSource, type OnOffWords, type UnitSource } from '../contract/ingest.js';
import type { DecodeRule } from './decode/types.js';
import { arrayOfElement } from './decode/record.js';

export type { ChannelGroupSpec, MappingRuleSpec } from '../contract/ingest.js';

export interface CompiledRule {
  readonly name: string;
  readonly templates: ReadonlyArray<(topic: string) => TopicCapture | null>;
  readonly decode: DecodeRule;
  readonly retained: boolean;
  readonly sensorFields: readonly string[];
  /**
   * True when the rule reads payloads exactly as the fast scanner does (default time keys and units,
   * '.' decimals, no missing-words, `value` taken): the scanner may then decode its messages.
   */
  readonly fast: boolean;
  /** Whether a field (by name, see above) becomes a stream. */
  takes(field: string): boolean;
  /**
   * The payload paths of one record's fields that the rule drops because of another field of the record
   * (MappingRuleSpec.excludeWith), or null when it drops none.
   */
  droppedIn(paths: readonly { readonly path: string }[]): ReadonlySet<string> | null;
  /** Whether the rule ignores this device. */
  skips(device: string): boolean;
  /** Whether the rule drops a message on this topic without a word (MappingRuleSpec.ignoreTopics). */
  ignores(topic: string): boolean;
  /**
   * A hub message of several parts (MappingRuleSpec.envelope) and whether a part's field path is one the
   * envelope drops (EnvelopeSpec.exclude), or null.
   */
  readonly envelope: { readonly spec: EnvelopeSpec; readonly drops: (path: string) => boolean } | null;
  /** Whether a text payload is a text state, skipped (MappingRuleSpec.skipText). */
  readonly skipText: boolean;
  /**
   * The unit the hub states for a field (by name, see above) of the JSON document `doc` (MappingRuleSpec.units),
   * or null; null (no function) for a rule without unit sources.
   */
  readonly unitOf: ((field: string, doc: unknown) => string | null) | null;
  /**
   * Whether a field (by name, see above) is a measurement the hub always sends as a number: one the rule states a
   * unit for (MappingRuleSpec.units: zigbee2mqtt's `temperature`, Tasmota's `*Temperature*`, a Shelly's `apower`).
   * A text there that is not a number (`"21.5 °C"`) is rejected `not_a_number`, not dropped as metadata (tryout 20,
   * finding 12); null (no function) for a rule without unit sources.
   */
  readonly measured: ((field: string) => boolean) | null;
  /** Whether a JSON object with no number is a hub event, skipped (MappingRuleSpec.skipEvents). */
  readonly skipEvents: boolean;
  /**
   * Whether the hub states that a field (by name, see above) is a cumulative counter (MappingRuleSpec.counters
   * `fields`); null for a rule that states none.
   */
  readonly counterOf: ((field: string) => boolean) | null;
  /**
   * The stream whose state class a message on `topic` states (MappingRuleSpec.counters `classTopics`: the
   * `{sensor}` and `{field}` it matched), or null when the topic is none of them; null (no function) for a rule
   * without class topics. Their templates are among `templates` too, so that routeOf finds the rule.
   */
  readonly classTopic: ((topic: string) => TopicCapture | null) | null;
  /**
   * The stream whose unit a message on `topic` states (MappingRuleSpec.unitTopics: the `{sensor}` and `{field}` it
   * matched), or null when the topic is none of them; null (no function) for a rule without unit topics. Their
   * templates are among `templates` too, so that routeOf finds the rule.
   */
  readonly unitTopic: ((topic: string) => TopicCapture | null) | null;
  /** The stream whose Home Assistant device class a message on `topic` states (MappingRuleSpec.deviceClassTopics), or null. */
  readonly deviceClassTopic: ((topic: string) => TopicCapture | null) | null;
  /**
   * The device whose availability a message on `topic` states (MappingRuleSpec.availability: the `{sensor}` it
   * matched) and what the payload says of it; null (no function) for a rule without availability topics. Their
   * templates are among `templates` too, so that routeOf finds the rule.
   */
  readonly availability: {
    readonly device: (topic: string) => string | null;
    /** true: online, false: offline, null: the payload says neither. */
    readonly state: (payload: Buffer) => boolean | null;
  } | null;
  /**
   * On/off readings (MappingRuleSpec.onOff); null for a rule without them. `field`: the reading (1 on, 0 off) of a
   * JSON value `v` at a field (by name, see above) the hub sends on/off readings in, null when the field is none or
   * `v` neither a boolean nor an on/off word. `topic`: whether a message on `topic` is an on/off word (its template
   * among `templates`). `word`: a payload text as 1 (on), 0 (off) or null (neither; trimmed, any case).
   */
  readonly onOff: {
    /** Whether a field (by name) is one the hub sends on/off readings in. */
    readonly named: (field: string) => boolean;
    readonly field: (field: string, v: unknown) => number | null;
    readonly topic: (topic: string) => boolean;
    readonly word: (text: string) => number | null;
    /** The words of the states of a field (by name; null: a stream without a `{field}` level): OnOffSource.states, else on / off. */
    readonly states: (field: string | null) => OnOffWords;
  } | null;
}

export interface Route {
  readonly rule: CompiledRule;
  /** The device id from the topic, or null when it comes from the payload (sensorFields). */
  readonly sensor: string | null;
  /** The `{field}` level, or null. */
  readonly field: string | null;
}

/**
 * Whether any of `globs` matches a field name, or, for an element of an array (`ENERGY.Power.0`: decode/record.ts,
 * arrayOfElement), the array's name (`ENERGY.Power`): a rule names an array's fields by the array, whatever its length.
 */
export function matchesField(globs: readonly RegExp[], field: string): boolean {
  if (globs.length === 0) return false;
  if (globs.some((r) => r.test(field))) return true;
  const array = arrayOfElement(field);
  return array !== null && globs.some((r) => r.test(array));
}

/** A glob (`*`, `?`) as an anchored RegExp; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) re += ch === '*' ? '.*' : ch === '?' ? '.' : /[\\^$.|+(){}[\]]/.test(ch) ? `\\${ch}` : ch;
  return new RegExp(`${re}$`, 's');
}

/** The first capture of `templates` that matches a topic, as one function; null for no templates. */
function firstCapture(templates: readonly ((topic: string) => TopicCapture | null)[]): ((topic: string) => TopicCapture | null) | null {
  if (templates.length === 0) return null;
  return (topic) => {
    for (const t of templates) {
      const c = t(topic);
      if (c !== null) return c;
    }
    return null;
  };
}

/** Compiles a rule; throws a descriptive Error for a bad topic template. `zone` is ingest.timezone. */
export function compileRule(spec: MappingRuleSpec, zone: string): CompiledRule {
  const sensorRequired = spec.sensorFields.length === 0;
  const classTemplates = (spec.counters?.classTopics ?? []).map((t) => compileTopicTemplate(t, true));
  const unitTemplates = (spec.unitTopics ?? []).map((t) => compileTopicTemplate(t, true));
  const deviceClassTemplates = (spec.deviceClassTopics ?? []).map((t) => compileTopicTemplate(t, true));
  const availabilityTemplates = (spec.availability?.topics ?? []).map((t) => compileTopicTemplate(t, true));
  const templates = [...spec.topics.map((t) => compileTopicTemplate(t, sensorRequired)), ...classTemplates, ...unitTemplates, ...deviceClassTemplates, ...availabilityTemplates];
  const counterFields = (spec.counters?.fields ?? []).map(globToRegExp);
  const include = spec.fields.map(globToRegExp);
  const exclude = [...spec.exclude, ...spec.sensorFields].map(globToRegExp);
  const skip = spec.excludeSensors.map(globToRegExp);
  const ignore = (spec.ignoreTopics ?? []).map(globToRegExp);
  const takes = (field: string): boolean => (include.length === 0 || matchesField(include, field)) && !matchesField(exclude, field);
  const excludeWith = (spec.excludeWith ?? []).map((e) => ({ fields: e.fields.map(globToRegExp), when: e.when }));
  return {
    name: spec.name,
    templates,
    decode: { timeKey: spec.time, timeUnit: spec.timeUnit, zone, decimal: spec.decimal, missing: new Set(spec.missing.map((m) => m.toLowerCase())) },
    retained: spec.retained,
    sensorFields: spec.sensorFields,
    fast: spec.time === null && spec.timeUnit === 'auto' && spec.decimal === '.' && spec.missing.length === 0 && excludeWith.length === 0 && sensorRequired && takes('value') && spec.units === undefined && spec.counters === undefined && spec.unitTopics === undefined && spec.deviceClassTopics === undefined && spec.availability === undefined && spec.onOff === undefined,
    takes,
    droppedIn: (fields) => {
      if (excludeWith.length === 0) return null;
      let out: Set<string> | null = null;
      for (const e of excludeWith) {
        if (!fields.some((f) => f.path === e.when)) continue;
        for (const f of fields) if (matchesField(e.fields, f.path)) (out ??= new Set()).add(f.path);
      }
      return out;
    },
    skips: (device) => skip.length > 0 && skip.some((r) => r.test(device)),
    ignores: (topic) => ignore.length > 0 && ignore.some((r) => r.test(topic)),
    envelope: spec.envelope === undefined ? null : compileEnvelope(spec.envelope),
    skipText: spec.skipText === true,
    unitOf: spec.units === undefined || spec.units.length === 0 ? null : compileUnits(spec.units),
    measured: spec.units === undefined || spec.units.length === 0 ? null : compileMeasured(spec.units),
    skipEvents: spec.skipEvents === true,
    counterOf: counterFields.length === 0 ? null : (field) => matchesField(counterFields, field),
    classTopic: firstCapture(classTemplates),
    unitTopic: firstCapture(unitTemplates),
    deviceClassTopic: firstCapture(deviceClassTemplates),
    availability:
      spec.availability === undefined || availabilityTemplates.length === 0
        ? null
        : {
            device: (topic) => {
              for (const t of availabilityTemplates) {
                const c = t(topic);
                if (c !== null && c.sensor !== null) return c.sensor;
              }
              return null;
            },
            state: availabilityState(spec.availability),
          },
    onOff: spec.onOff === undefined ? null : compileOnOff(spec.onOff),
  };
}

/** CompiledRule.onOff of a rule's on/off source. */
function compileOnOff(source: OnOffSource): NonNullable<CompiledRule['onOff']> {
  const on = new Set(source.on.map((w) => w.toLowerCase()));
  const off = new Set(source.off.map((w) => w.toLowerCase()));
  const fields = (source.fields ?? []).map(globToRegExp);
  const topics = (source.topics ?? []).map((t) => compileTopicTemplate(t, true));
  const word = (text: string): number | null => {
    const w = text.trim().toLowerCase();
    return on.has(w) ? 1 : off.has(w) ? 0 : null;
  };
  const named = (field: string): boolean => fields.length > 0 && fields.some((r) => r.test(field));
  const states = (source.states ?? []).map((n) => ({ fields: n.fields.map(globToRegExp), words: { on: n.on, off: n.off, alarm: n.alarm === true, active: n.rest === 'on' ? (0 as const) : (1 as const) } }));
  return {
    named,
    field: (field, v) => {
      if (!named(field)) return null;
      if (typeof v === 'boolean') return v ? 1 : 0;
      return typeof v === 'string' && v.length <= 16 ? word(v) : null;
    },
    topic: (topic) => topics.length > 0 && topics.some((t) => t(topic) !== null),
    word,
    states: (field) => {
      if (field === null) return PLAIN_ON_OFF;
      const named = states.find((n) => n.fields.some((r) => r.test(field)));
      return named === undefined ? PLAIN_ON_OFF : named.words;
    },
  };
}

/** The longest availability payload read (`{"state":"offline"}` and the like); a longer one says nothing. */
const MAX_AVAILABILITY_BYTES = 256;

/**
 * CompiledRule.availability's `state` of a source: the payload as a word (trimmed, any case; a JSON string or
 * boolean as its text; with `key`, a JSON object's text at that key), true when it is one of `online`, false when
 * one of `offline`, else null. Never throws.
 */
function availabilityState(source: AvailabilitySource): (payload: Buffer) => boolean | null {
  const online = new Set(source.online.map((w) => w.toLowerCase()));
  const offline = new Set(source.offline.map((w) => w.toLowerCase()));
  return (payload) => {
    if (payload.length === 0 || payload.length > MAX_AVAILABILITY_BYTES) return null;
    const text = payload.toString('utf8').trim();
    let word: string | null = text;
    if (text.startsWith('{') || text.startsWith('"')) {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        return null;
      }
      if (typeof doc === 'string') word = doc;
      else if (source.key !== undefined && typeof doc === 'object' && doc !== null && !Array.isArray(doc) && Object.hasOwn(doc, source.key)) {
        const v: unknown = (doc as Record<string, unknown>)[source.key];
        word = typeof v === 'string' || typeof v === 'boolean' ? String(v) : null;
      } else word = null;
    }
    if (word === null) return null;
    const w = word.trim().toLowerCase();
    return online.has(w) ? true : offline.has(w) ? false : null;
  };
}

/** CompiledRule.measured of a rule's unit sources: any field one of them names. */
function compileMeasured(sources: readonly UnitSource[]): (field: string) => boolean {
  const fields = sources.flatMap((u) => u.fields.map(globToRegExp));
  return (field) => matchesField(fields, field);
}

/** CompiledRule.unitOf of a rule's unit sources. */
function compileUnits(sources: readonly UnitSource[]): (field: string, doc: unknown) => string | null {
  const compiled = sources.map((u) => ({ ...u, fields: u.fields.map(globToRegExp) }));
  return (field, doc) => {
    for (const u of compiled) {
      if (!matchesField(u.fields, field)) continue;
      if (u.unit !== undefined) return u.unit;
      if (u.key === undefined || typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
      const text: unknown = Object.hasOwn(doc, u.key) ? (doc as Record<string, unknown>)[u.key] : undefined;
      // A unit is a short word (`F`, `hPa`, `mmHg`); anything else is not one.
      const word = typeof text === 'string' ? text.trim() : '';
      if (word === '' || word.length > 16) return null;
      return u.names !== undefined && Object.hasOwn(u.names, word) ? u.names[word] : word;
    }
    return null;
  };
}

function compileEnvelope(spec: EnvelopeSpec): NonNullable<CompiledRule['envelope']> {
  const drop = (spec.exclude ?? []).map(globToRegExp);
  return { spec, drops: (path) => matchesField(drop, path) };
}

/** The first rule whose template matches `topic`, or null. */
export function routeOf(rules: readonly CompiledRule[], topic: string): Route | null {
  for (const rule of rules) {
    for (const template of rule.templates) {
      const c = template(topic);
      if (c !== null) return { rule, sensor: c.sensor, field: c.field };
    }
  }
  return null;
}

/** A payload key or value made safe as part of a topic level: control characters, `+`, `#` and `/` become `_`. */
export function safePart(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x2b || c === 0x23 || c === 0x2f) {
      out += `${text.slice(from, i)}_`;
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** The field name a rule's globs see: the `{field}` level and/or the path; `value` for the device's own value. */
export function fieldName(topicField: string | null, path: string): string {
  if (topicField === null) return path === '' ? 'value' : path;
  return path === '' ? topicField : `${topicField}/${path}`;
}

/** The stream id of a field of `device` (see the module comment). */
export function streamId(device: string, topicField: string | null, path: string): string {
  let id = device;
  if (topicField !== null) id += `/${safePart(topicField)}`;
  if (path !== '') id += `/${safePart(path)}`;
  return id;
}

export interface CompiledGroup {
  readonly name: string;
  readonly fields: readonly string[];
  readonly model: string | null;
  /** Whether the group applies to this device. */
  matches(device: string): boolean;
}

export function compileGroup(spec: ChannelGroupSpec): CompiledGroup {
  const re = globToRegExp(spec.sensors);
  return { name: spec.name, fields: Object.freeze([...spec.fields]), model: spec.model, matches: (device) => re.test(device) };
}

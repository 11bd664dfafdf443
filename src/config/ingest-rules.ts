/**
 * The config side of field mapping: checks of `ingest.rules[]`, `ingest.groups[]` and `ingest.presets`,
 * their defaults, the rule list the daemon compiles (rules, then presets, then the default rule), and the
 * checks across settings that `check-config` reports: a rule that can never match, and a channel group
 * whose model has a different number of channels.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULE_DEFAULTS, TIME_UNITS, type ChannelGroupSpec, type MappingRuleSpec, type TimeUnit } from '../contract/ingest.js';
import { PRESETS, PRESET_NAMES } from './presets.js';
import { closest } from './suggest.js';

/** Null when `zone` is an IANA zone name this Node knows, else why not. */
export function timeZoneProblem(zone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return null;
  } catch {
    return `unknown time zone ${JSON.stringify(zone)}: want an IANA name such as Europe/Berlin or UTC`;
  }
}

/**
 * Null when `pattern` is a valid rule topic template, else why not: levels separated by '/', `{sensor}` (one
 * level) or `{sensor#}` (one or more levels, not with a `#` level) exactly once (at most once when the
 * sensor id comes from payload fields), `{field}` at most once, `+` and `#` only as whole levels, `#` only
 * last. (The matcher itself is src/pipeline/topic.ts.)
 */
export function topicTemplateProblem(pattern: string, sensorRequired: boolean): string | null {
  const why = (text: string): string => `invalid sensor topic pattern ${JSON.stringify(pattern)}: ${text}`;
  if (pattern.length === 0) return why('it is empty');
  const levels = pattern.split('/');
  let sensors = 0;
  let fields = 0;
  for (const [i, level] of levels.entries()) {
    if (level === '{sensor}' || level === '{sensor#}') sensors++;
    else if (level === '{field}') fields++;
    else if (level === '#') {
      if (i !== levels.length - 1) return why("'#' may only be the last level");
    } else if (level.includes('{') || level.includes('}')) return why(`level ${JSON.stringify(level)}: '{sensor}', '{sensor#}' and '{field}' must be whole levels and are the only placeholders`);
    else if (level !== '+' && (level.includes('+') || level.includes('#'))) return why(`level ${JSON.stringify(level)}: '+' and '#' must be whole levels`);
  }
  if (sensorRequired ? sensors !== 1 : sensors > 1) return why(`it must contain ${sensorRequired ? 'exactly' : 'at most'} one '{sensor}' or '{sensor#}' level (found ${sensors})`);
  if (fields > 1) return why(`it may contain at most one '{field}' level (found ${fields})`);
  if (levels.includes('{sensor#}') && levels.includes('#')) return why("'{sensor#}' takes the rest of the topic itself: drop the '#' level");
  return null;
}

/** `ingest.rules[]` as written: every key but `topics` may be left out. */
export interface RuleConfig {
  readonly name?: string;
  readonly topics: readonly string[];
  readonly sensorFields?: readonly string[];
  readonly fields?: readonly string[];
  readonly exclude?: readonly string[];
  readonly excludeSensors?: readonly string[];
  readonly ignoreTopics?: readonly string[];
  readonly time?: string | null;
  readonly timeUnit?: TimeUnit;
  readonly decimal?: '.' | ',';
  readonly retained?: boolean;
  readonly missing?: readonly string[];
}

/** `ingest.groups[]` as written. */
export interface GroupConfig {
  readonly name: string;
  readonly sensors: string;
  readonly fields: readonly string[];
  readonly model?: string | null;
}

export const RULE_KEYS_DOC =
  'Each rule: topics (templates with {sensor} (one level) or {sensor#} (one or more levels), optional {field}, + and #), name, sensorFields (payload fields making the sensor id), fields / exclude (field globs), excludeSensors, ignoreTopics (topic globs dropped without a rejection), time (field path, or none: arrival time), timeUnit (auto|s|ms|us|ns|iso), decimal (. or ,), retained (false), missing (texts read as no reading).';

const RULE_KEYS = ['name', 'topics', 'sensorFields', 'fields', 'exclude', 'excludeSensors', 'ignoreTopics', 'time', 'timeUnit', 'decimal', 'retained', 'missing'];
const GROUP_KEYS = ['name', 'sensors', 'fields', 'model'];

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, key: string, nonEmpty: boolean): string | null {
  if (v === undefined) return nonEmpty ? `${key} is required` : null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) return `${key} must be a list of non-empty strings`;
  if (nonEmpty && v.length === 0) return `${key} must not be empty`;
  return null;
}

function unknownKeys(v: Record<string, unknown>, known: readonly string[]): string | null {
  for (const key of Object.keys(v)) {
    if (!known.includes(key)) {
      const near = closest(key, [...known]);
      return `unknown key ${JSON.stringify(key)}${near === null ? ` (valid keys: ${known.join(', ')})` : `; did you mean "${near}"?`}`;
    }
  }
  return null;
}

/** Null when `v` is a valid `ingest.rules[]` item, else why not. */
export function ruleProblem(v: unknown): string | null {
  if (!isMap(v)) return 'must be a mapping with at least topics';
  const problems = [
    unknownKeys(v, RULE_KEYS),
    v.name !== undefined && (typeof v.name !== 'string' || v.name === '') ? 'name must be a non-empty string' : null,
    stringList(v.topics, 'topics', true),
    stringList(v.sensorFields, 'sensorFields', false),
    stringList(v.fields, 'fields', false),
    stringList(v.exclude, 'exclude', false),
    stringList(v.excludeSensors, 'excludeSensors', false),
    stringList(v.ignoreTopics, 'ignoreTopics', false),
    v.missing !== undefined && (!Array.isArray(v.missing) || !v.missing.every((m) => typeof m === 'string')) ? 'missing must be a list of strings' : null,
    v.time !== undefined && v.time !== null && (typeof v.time !== 'string' || v.time === '') ? 'time must be a field path, none (arrival time) or null (ts, timestamp or time)' : null,
    v.timeUnit !== undefined && !(TIME_UNITS as readonly unknown[]).includes(v.timeUnit) ? `timeUnit must be one of ${TIME_UNITS.join(', ')}` : null,
    v.decimal !== undefined && v.decimal !== '.' && v.decimal !== ',' ? "decimal must be '.' or ','" : null,
    v.retained !== undefined && typeof v.retained !== 'boolean' ? 'retained must be true or false' : null,
  ].filter((p): p is string => p !== null);
  if (problems.length > 0) return problems[0];
  const sensorRequired = !Array.isArray(v.sensorFields) || v.sensorFields.length === 0;
  for (const t of v.topics as string[]) {
    const p = topicTemplateProblem(t, sensorRequired);
    if (p !== null) return sensorRequired && !t.includes('{sensor}') ? `${p} (or name sensorFields to take the sensor id from the payload)` : p;
  }
  return null;
}

/** Null when `v` is a valid `ingest.groups[]` item, else why not. */
export function groupProblem(v: unknown): string | null {
  if (!isMap(v)) return 'must be a mapping with name, sensors and fields';
  const problems = [
    unknownKeys(v, GROUP_KEYS),
    typeof v.name !== 'string' || !/^[A-Za-z0-9_.:-]+$/.test(v.name) ? 'name must be letters, digits, _ . : -' : null,
    typeof v.sensors !== 'string' || v.sensors === '' ? 'sensors must be a glob over sensor ids, e.g. "pump-*"' : null,
    stringList(v.fields, 'fields', true),
    Array.isArray(v.fields) && v.fields.length < 2 ? 'fields must name at least two fields (one field is already its own stream)' : null,
    v.model !== undefined && v.model !== null && (typeof v.model !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v.model)) ? 'model must be a model name in model.dir' : null,
  ].filter((p): p is string => p !== null);
  return problems[0] ?? null;
}

export function presetProblem(v: string): string | null {
  if ((PRESET_NAMES as readonly string[]).includes(v)) return null;
  const near = closest(v, [...PRESET_NAMES]);
  return `is not a preset${near === null ? '' : `; did you mean "${near}"?`} (presets: ${PRESET_NAMES.join(', ')})`;
}

/** A configured rule with its defaults filled in; `retainedDefault` is what `retained` left out means. */
export function ruleSpec(r: RuleConfig, index: number): MappingRuleSpec {
  const d = RULE_DEFAULTS;
  return {
    name: r.name ?? `ingest.rules[${index}]`,
    topics: r.topics,
    sensorFields: r.sensorFields ?? d.sensorFields,
    fields: r.fields ?? d.fields,
    exclude: r.exclude ?? d.exclude,
    excludeSensors: r.excludeSensors ?? d.excludeSensors,
    ...(r.ignoreTopics === undefined ? {} : { ignoreTopics: r.ignoreTopics }),
    time: r.time === 'none' ? false : (r.time ?? d.time),
    timeUnit: r.timeUnit ?? d.timeUnit,
    decimal: r.decimal ?? d.decimal,
    retained: r.retained ?? d.retained,
    missing: r.missing ?? d.missing,
  };
}

export function groupSpec(g: GroupConfig): ChannelGroupSpec {
  return { name: g.name, sensors: g.sensors, fields: g.fields, model: g.model ?? null };
}

/** What the rule-building functions read of the config. */
export interface IngestRulesConfig {
  readonly topics: readonly string[];
  readonly sensorPattern: string;
  readonly retained: boolean;
  readonly presets: readonly string[];
  readonly rules: readonly RuleConfig[];
}

/** Every rule in match order, with where it comes from: `ingest.rules[i]`, `preset <name>`, or the default rule. */
export function ruleList(ingest: IngestRulesConfig): Array<{ readonly origin: string; readonly spec: MappingRuleSpec }> {
  const out: Array<{ origin: string; spec: MappingRuleSpec }> = ingest.rules.map((r, i) => ({ origin: `ingest.rules[${i}]`, spec: ruleSpec(r, i) }));
  for (const name of PRESET_NAMES) if (ingest.presets.includes(name)) out.push({ origin: `preset ${name}`, spec: PRESETS[name].rule });
  out.push({
    origin: 'the default rule (ingest.topics, ingest.sensorPattern)',
    spec: { ...ruleSpec({ topics: [ingest.sensorPattern] }, 0), name: 'default', retained: ingest.retained },
  });
  return out;
}

/** Every MQTT filter to subscribe to: each rule's templates, and ingest.topics. */
export function subscriptionFilters(ingest: IngestRulesConfig, toFilters: (template: string) => readonly string[]): string[] {
  const filters = new Set<string>(ingest.topics);
  for (const { spec } of ruleList(ingest).slice(0, -1)) for (const t of [...spec.topics, ...(spec.counters?.classTopics ?? []), ...(spec.unitTopics ?? []), ...(spec.deviceClassTopics ?? []), ...(spec.availability?.topics ?? [])]) for (const f of toFilters(t)) filters.add(f);
  // A filter another one covers is left out (zigbee2mqtt's `zigbee2mqtt/+/availability` under `zigbee2mqtt/#`): a broker
  // may deliver a message once per matching subscription.
  const all = [...filters];
  return all.filter((f) => !all.some((g) => g !== f && filterCovers(g, f)));
}

/** Whether every topic MQTT filter `b` matches is matched by filter `a` (`#` last, `+` one level). */
export function filterCovers(a: string, b: string): boolean {
  const la = a.split('/');
  const lb = b.split('/');
  for (let i = 0; i < la.length; i++) {
    if (la[i] === '#') return true;
    if (i >= lb.length || lb[i] === '#') return false;
    if (la[i] !== '+' && (lb[i] === '+' || la[i] !== lb[i])) return false;
  }
  return la.length === lb.length;
}

/** Whether every topic matched by template `b` is matched by template `a` (both valid). */
export function covers(a: string, b: string): boolean {
  const la = a.split('/');
  const lb = b.split('/');
  for (let i = 0; i < la.length; i++) {
    const x = la[i];
    if (x === '#') return true;
    if (i >= lb.length) return false;
    const y = lb[i];
    // `{sensor#}` last covers one or more levels; anywhere else it is not compared (never "covers").
    if (x === '{sensor#}') return i === la.length - 1 && y !== '#';
    if (y === '#' || y === '{sensor#}') return false;
    const xWild = x === '+' || x === '{sensor}' || x === '{field}';
    const yWild = y === '+' || y === '{sensor}' || y === '{field}';
    if (xWild) continue;
    if (yWild || x !== y) return false;
  }
  return la.length === lb.length;
}

/** `ingest.rules[i]: …` lines for rules that can never read a message. */
export function unreachableRules(ingest: IngestRulesConfig): Array<readonly [string, string]> {
  const rules = ruleList(ingest);
  const out: Array<readonly [string, string]> = [];
  ingest.rules.forEach((r, i) => {
    const earlier = rules.slice(0, i);
    const shadowed = r.topics.map((t) => earlier.find((e) => e.spec.topics.some((u) => covers(u, t))));
    if (shadowed.every((e) => e !== undefined)) {
      const by = shadowed[0];
      out.push([`ingest.rules[${i}]`, `can never match: every topic of it is read first by ${by.origin} ("${by.spec.topics.join('", "')}"); put it before that rule`]);
      return;
    }
    const fields = r.fields ?? [];
    if (fields.length > 0 && fields.every((f) => (r.exclude ?? []).includes(f) || (r.exclude ?? []).includes('*'))) {
      out.push([`ingest.rules[${i}]`, 'can never yield a reading: every field it takes is excluded']);
    }
  });
  return out;
}

const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A relative model dir is looked up from the working directory, then from the package (as the daemon does). */
export function modelDirOf(dir: string): string {
  if (isAbsolute(dir)) return dir;
  const fromCwd = resolve(dir);
  return existsSync(fromCwd) ? fromCwd : resolve(PACKAGE_ROOT, dir);
}

/**
 * `ingest.groups[i]: …` lines for groups whose model (the group's own, else the shared model.name /
 * model.cell) does not take as many channels as the group has fields, or cannot be read.
 */
export function groupModelProblems(groups: readonly GroupConfig[], model: { readonly dir: string; readonly name: string | null; readonly cell: string }): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  groups.forEach((g, i) => {
    const name = g.model ?? model.name ?? model.cell;
    const path = resolve(modelDirOf(model.dir), `${name}.json`);
    let channels: number;
    try {
      const sidecar = JSON.parse(readFileSync(path, 'utf8')) as { channels?: unknown };
      if (!Array.isArray(sidecar.channels)) throw new Error('no channels list');
      channels = sidecar.channels.length;
    } catch (err) {
      out.push([`ingest.groups[${i}]`, `group ${g.name}: model ${name} cannot be read (${path}: ${(err as Error).message})`]);
      return;
    }
    if (channels !== g.fields.length) {
      out.push([`ingest.groups[${i}]`, `group ${g.name} has ${g.fields.length} fields (${g.fields.join(', ')}) but model ${name} takes ${channels} channel(s): train a ${g.fields.length}-channel model or change the group`]);
    }
  });
  return out;
}

/**
 * A rule topic template for `topic` with the level that names `sensor` as `{sensor}` (the last such level), for a
 * hint: `homeassistant/sensor/outdoor/state` of `outdoor` is `homeassistant/sensor/{sensor}/state`; the topic itself
 * when no level is the sensor's name.
 */
export function ruleTopicOf(topic: string, sensor: string): string {
  const levels = topic.split('/');
  const k = levels.lastIndexOf(sensor);
  if (k < 0) return topic;
  levels[k] = '{sensor}';
  return levels.join('/');
}

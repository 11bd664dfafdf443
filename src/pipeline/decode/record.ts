/**
 * The fields and the time of one JSON object: the shared step of the object and burst decoders. Nested
 * objects are walked with an explicit stack (their depth is already bounded by the byte check in json.ts).
 * An array of numbers inside an object is one field per element, `<path>.<i>` from 0 (a Tasmota multi-channel
 * meter's `"ENERGY":{"Power":[114,25]}` is `ENERGY.Power.0` and `ENERGY.Power.1`, as Home Assistant's Tasmota
 * integration names them, `ENERGY Power 0`, and as its discovery templates index them, `['ENERGY']['Power'][0]`);
 * an array the mapper cannot read (of texts, objects, arrays or booleans, or longer than MAX_ARRAY_FIELDS) is that
 * field's problem, counted, never dropped unsaid (tryout 37, finding 1).
 */
import { isObject, type JsonObject } from './json.js';
import { describeValue, MAX_ABS_VALUE, numberFromText, outOfRange } from './text.js';
import { isUnsetClock, parseDeviceTime } from './time.js';
import type { DecodeRule, DecodedField, Problem } from './types.js';

const TIME_KEY = /^(?:ts|timestamp|time)$/i;
const VALUE_KEY = /^value$/i;
/** More leaves than this in one object is not a device payload. */
const MAX_LEAVES = 4096;
/**
 * Elements of an array inside an object read as fields, at most: the channels of one meter (Tasmota's multi-channel
 * and three-phase meters send 2 or 3, its largest builds 8; a 16-cell battery's cell voltages). A longer array is a
 * list (a spectrum, a history, ids), not that many sensors: its field is rejected `too_many_streams`.
 */
export const MAX_ARRAY_FIELDS = 16;
/** An element field's name: `<array's name>.<index>` (ENERGY.Power.0). */
const ELEMENT = /\.\d+$/;

/**
 * The name of the array whose element `field` is (`ENERGY.Power` for `ENERGY.Power.0`), or null when `field` names
 * no element (its last dotted part is no index). A rule's field globs match an element as they match its array
 * (route.ts): excluding, unit, counter and measured fields named for the array hold for each of its elements.
 */
export function arrayOfElement(field: string): string | null {
  return ELEMENT.test(field) ? field.slice(0, field.lastIndexOf('.')) : null;
}

/**
 * The key of the object's time field (see DecodeRule.timeKey), undefined when it has none. With
 * `timeKey: false` (`time: none`) it is the default key, so that field is still not a reading.
 */
export function timeKeyOf(obj: JsonObject, rule: DecodeRule): string | undefined {
  if (rule.timeKey !== null && rule.timeKey !== false) return rule.timeKey;
  for (const key in obj) if (TIME_KEY.test(key) && Object.hasOwn(obj, key)) return key;
  return undefined;
}

/** The value at a dotted path (`params.ts`), undefined when absent. */
export function valueAt(obj: JsonObject, path: string): unknown {
  if (Object.hasOwn(obj, path)) return obj[path];
  let node: unknown = obj;
  for (const part of path.split('.')) {
    if (!isObject(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

/**
 * The object's time: `fallback` without one (or null, or with `time: none`), NaN with an unreadable one.
 * With `unsetToFallback`, a time of a clock never set (before 2000, isUnsetClock) is `fallback` too, and
 * `unset` says so. `repeated`: the later instant of a wall time the rule's zone repeats (`ts` is the earlier;
 * ./time.ts, parseDeviceTime).
 */
export function timeOf(
  obj: JsonObject,
  rule: DecodeRule,
  fallback: number,
  unsetToFallback = false,
): { readonly ts: number; readonly raw: unknown; readonly key: string | undefined; readonly unset?: true; readonly repeated?: number } {
  const key = timeKeyOf(obj, rule);
  if (rule.timeKey === false) return { ts: fallback, raw: undefined, key };
  const raw = key === undefined ? undefined : valueAt(obj, key);
  if (raw === undefined || raw === null) return { ts: fallback, raw, key };
  const { ts, repeated } = parseDeviceTime(raw, rule.timeUnit, rule.zone);
  if (Number.isNaN(ts) && unsetToFallback && isUnsetClock(raw, rule.timeUnit, rule.zone)) return { ts: fallback, raw, key, unset: true };
  return repeated === undefined ? { ts, raw, key } : { ts, raw, key, repeated };
}

export function badTimestamp(raw: unknown): Problem {
  return { reason: 'bad_timestamp', detail: `bad timestamp "${describeValue(raw)}": want epoch s/ms/µs after 2000 or ISO 8601` };
}

/** A number or numeric text as a field; null when `v` is not meant as a number (metadata). */
export function scalarField(path: string, v: unknown, rule: DecodeRule): DecodedField | null {
  if (v === null) return { path, value: null };
  if (typeof v === 'number') return checked(path, v, String(v));
  if (typeof v !== 'string') return null;
  if (rule.missing.has(v.trim().toLowerCase())) return { path, value: null };
  const n = numberFromText(v, rule.decimal);
  if (Number.isNaN(n)) return null;
  return checked(path, n, v);
}

/** A number as a field, or its problem (numberProblem). */
function checked(path: string, v: number, shown: string): DecodedField {
  const problem = numberProblem(path, v, shown);
  return problem === null ? { path, value: v } : { path, value: null, problem };
}

/**
 * Why a number read as a reading's value is not taken: `non_finite` (an infinity, NaN), `out_of_range` (finite, beyond
 * ±MAX_ABS_VALUE); null when it is taken. `path`: its field ('' for the value itself), `shown`: how it was written. The
 * live decoders' rule, and the one a stop's kept readings pass again at the next start (src/pipeline/kept.ts,
 * admitKept; a missing value, NaN, is told there before this).
 */
export function numberProblem(path: string, v: number, shown: string = String(v)): Problem | null {
  const what = path === '' ? 'value' : `field ${path}`;
  if (!Number.isFinite(v)) return { reason: 'non_finite', detail: `${what} is not finite: "${describeValue(shown)}"` };
  if (outOfRange(v)) return { reason: 'out_of_range', detail: `${what} ${describeValue(shown)} is beyond ±${MAX_ABS_VALUE} (no sensor reads that)` };
  return null;
}

/**
 * Every numeric leaf of `obj` but its time field, by dotted path; the first top-level key named `value`
 * (any case) has path ''. A `value` key that is not a number at all is reported (it cannot be metadata), and
 * so is a text that is not a number at a path `measured` names (DecodeContext.measured: a zigbee2mqtt
 * `"temperature":"21.5 °C"`); a JSON boolean or an on/off word at a field `onOff` reads is its on/off reading (1 or
 * 0: DecodeContext.onOff); other texts and booleans are metadata. An array is its elements' fields or its problem
 * (arrayFields); the top-level `value` as an array is reported as a `value` that is no number.
 */
export function objectFields(
  obj: JsonObject,
  rule: DecodeRule,
  timeKey: string | undefined,
  measured?: (path: string) => boolean,
  onOff?: (path: string, v: unknown) => number | null,
): { fields: DecodedField[]; problem: Problem | null } {
  const fields: DecodedField[] = [];
  let valueSeen = false;
  const stack: Array<[JsonObject, string]> = [[obj, '']];
  let leaves = 0;
  while (stack.length > 0) {
    const [node, prefix] = stack.pop()!;
    for (const key in node) {
      if (!Object.hasOwn(node, key)) continue;
      if (++leaves > MAX_LEAVES) return { fields, problem: { reason: 'too_many_streams', detail: `more than ${MAX_LEAVES} fields in one object` } };
      const path = prefix === '' ? key : `${prefix}.${key}`;
      if (path === timeKey) continue;
      const v = node[key];
      if (isObject(v)) {
        stack.push([v, path]);
        continue;
      }
      const isValue = prefix === '' && !valueSeen && VALUE_KEY.test(key);
      if (isValue) valueSeen = true;
      // The device's own `value` as an array is no value (rejected below as before), not channels.
      else if (Array.isArray(v)) {
        const p = arrayFields(path, v, rule, fields);
        if (p !== null) fields.push({ path, value: null, problem: p });
        leaves += Math.min(v.length, MAX_ARRAY_FIELDS);
        continue;
      }
      const field = scalarField(isValue ? '' : path, v, rule);
      const state = field === null && onOff !== undefined && (typeof v === 'boolean' || typeof v === 'string') ? onOff(isValue ? '' : path, v) : null;
      if (field !== null) fields.push(field);
      else if (state !== null) fields.push({ path: isValue ? '' : path, value: state });
      else if (isValue) fields.push({ path: '', value: null, problem: { reason: 'not_a_number', detail: `value is not a number: "${describeValue(v)}"` } });
      else if (typeof v === 'string' && measured?.(path) === true) {
        fields.push({ path, value: null, problem: { reason: 'not_a_number', detail: `field ${path} is a text, "${describeValue(v)}", where the hub sends a number (a measurement the rule states a unit for)` } });
      }
    }
  }
  return { fields, problem: null };
}

/** What an array's elements are, for a problem's detail: `texts`, `objects` … (the first element that is no number). */
function kindOf(v: unknown): string {
  if (typeof v === 'string') return 'texts';
  if (typeof v === 'boolean') return 'booleans';
  if (Array.isArray(v)) return 'arrays';
  return 'objects';
}

/**
 * The element fields of the array `a` at `path` (`<path>.<i>`, each read as scalarField reads a number: null a missing
 * reading, a numeric text its number, a non-finite or out-of-range one its problem) appended to `out`; or, reading
 * none of them, the array's problem: an element that is no number (a text, an object, an array, a boolean:
 * `not_a_number`), or more than MAX_ARRAY_FIELDS elements (`too_many_streams`). An empty array has no field.
 */
function arrayFields(path: string, a: readonly unknown[], rule: DecodeRule, out: DecodedField[]): Problem | null {
  if (a.length > MAX_ARRAY_FIELDS) {
    return { reason: 'too_many_streams', detail: `field ${path} is an array of ${a.length} elements: one stream per element is read up to ${MAX_ARRAY_FIELDS} (a longer array is a list, not that many sensors)` };
  }
  const from = out.length;
  for (let i = 0; i < a.length; i++) {
    const e = a[i];
    const field = scalarField(`${path}.${i}`, e, rule);
    if (field === null) {
      out.length = from;
      return { reason: 'not_a_number', detail: `field ${path} is an array of ${kindOf(e)} (element ${i}: ${typeof e === 'string' ? `"${describeValue(e)}"` : describeValue(e)}): only an array of numbers is read, one stream per element` };
    }
    out.push(field);
  }
  return null;
}

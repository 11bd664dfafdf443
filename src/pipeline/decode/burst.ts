/**
 * Bursts: several instants in one message.
 *   {"values": [1, 2, 3], "ts": T, "interval_ms": 10}   reading i at T + i*interval_ms (ts = the FIRST one);
 *       without ts the LAST reading is at arrival and earlier ones interval_ms apart backwards. Elements may
 *       be numbers or objects; an object's own time overrides the computed one. More than one element and
 *       no interval_ms: rejected (bad_timestamp) unless every element carries its own time.
 *   [{"value": 1, "ts": …}, {"ts": …, "temp": 2}]       each element needs its own time (an array of one
 *       may omit it); an element without one is rejected by itself.
 */
import { isObject, type JsonObject } from './json.js';
import { badTimestamp, objectFields, scalarField, timeKeyOf, timeOf } from './record.js';
import { describeValue } from './text.js';
import { problem, type DecodeContext, type Decoded, type DecodedRecord, type PayloadDecoder, type Problem } from './types.js';
import { parseDeviceTime } from './time.js';

function hasOwnTime(e: unknown, ctx: DecodeContext): boolean {
  if (!isObject(e)) return false;
  const key = timeKeyOf(e, ctx.rule);
  return key !== undefined && e[key] !== undefined && e[key] !== null;
}

/**
 * The elements of a burst as records; `originTs` null = a bare array (each element needs its own time). `originLater`:
 * the later instant of an origin written as a wall time its zone repeats (each element placed from the origin then has
 * its `repeated` as far after its time), undefined otherwise.
 */
function decodeElements(elements: readonly unknown[], originTs: number | null, interval: number, ctx: DecodeContext, originLater?: number): Decoded {
  const n = elements.length;
  if (n === 0) return problem('empty', 'burst with no readings');
  if (n > ctx.maxReadings) return problem('too_many_readings', `burst of ${n} readings exceeds ${ctx.maxReadings}`);
  if (originTs === null && n > 1 && !elements.some((e) => hasOwnTime(e, ctx))) {
    return problem('bad_timestamp', `burst of ${n} readings without timestamps: use {"values": [...], "ts": ..., "interval_ms": ...}`);
  }
  const records: DecodedRecord[] = [];
  const problems: Problem[] = [];
  const step = Number.isNaN(interval) ? 0 : interval;
  for (let i = 0; i < n; i++) {
    const e = elements[i];
    const defaultTs = originTs === null ? (n === 1 ? ctx.receivedAt : NaN) : originTs + i * step;
    const bad = (p: Problem): void => {
      problems.push({ reason: p.reason, detail: `element ${i}: ${p.detail}` });
    };
    if (isObject(e)) {
      const time = timeOf(e, ctx.rule, defaultTs);
      if (Number.isNaN(time.ts)) {
        bad(time.raw === undefined || time.raw === null ? { reason: 'bad_timestamp', detail: 'no timestamp in a burst without ts/interval_ms' } : badTimestamp(time.raw));
        continue;
      }
      const { fields, problem: p } = objectFields(e, ctx.rule, time.key, ctx.measured, ctx.onOff);
      if (p !== null) bad(p);
      else if (fields.length === 0) bad({ reason: 'not_a_number', detail: 'no numeric field in the object' });
      else if (time.repeated !== undefined) records.push({ ts: time.ts, fields, index: i, repeated: time.repeated });
      else if (originLater !== undefined && (time.raw === undefined || time.raw === null)) records.push({ ts: time.ts, fields, index: i, repeated: originLater + i * step });
      else records.push({ ts: time.ts, fields, index: i });
      continue;
    }
    if (Number.isNaN(defaultTs)) {
      bad({ reason: 'bad_timestamp', detail: 'bare value in a burst without ts/interval_ms' });
      continue;
    }
    const field = scalarField('', e, ctx.rule);
    if (field === null) bad({ reason: 'not_a_number', detail: `not a number: "${describeValue(e)}"` });
    else if (field.problem !== undefined) bad(field.problem);
    else if (originLater !== undefined) records.push({ ts: defaultTs, fields: [field], index: i, repeated: originLater + i * step });
    else records.push({ ts: defaultTs, fields: [field], index: i });
  }
  return { ok: true, records, problems };
}

export const valuesBurstDecoder: PayloadDecoder = {
  format: 'values-burst',
  accepts: (doc) => isObject(doc) && Array.isArray(doc.values),
  decode(doc, ctx) {
    const o = doc as JsonObject;
    const values = o.values as unknown[];
    const key = timeKeyOf(o, ctx.rule);
    const rawTs = key === undefined ? undefined : o[key];
    const first = rawTs === undefined || rawTs === null ? undefined : parseDeviceTime(rawTs, ctx.rule.timeUnit, ctx.rule.zone);
    const firstTs = first?.ts;
    if (Number.isNaN(firstTs)) return { ok: false, problem: badTimestamp(rawTs) };
    const rawInterval = o.interval_ms;
    let interval = NaN;
    if (rawInterval !== undefined && rawInterval !== null) {
      interval = typeof rawInterval === 'number' ? rawInterval : typeof rawInterval === 'string' ? Number(rawInterval) : NaN;
      if (!(interval > 0) || !Number.isFinite(interval)) {
        return problem('bad_timestamp', `interval_ms must be a positive number, got "${describeValue(rawInterval)}"`);
      }
    }
    const originTs = firstTs ?? ctx.receivedAt - (values.length - 1) * (Number.isNaN(interval) ? 0 : interval);
    if (!Number.isFinite(originTs) || !Number.isFinite(originTs + values.length * (Number.isNaN(interval) ? 0 : interval))) {
      return problem('bad_timestamp', 'interval_ms too large: the burst does not fit in time');
    }
    if (values.length > 1 && Number.isNaN(interval) && !values.every((v) => hasOwnTime(v, ctx))) {
      return problem('bad_timestamp', `burst of ${values.length} readings without interval_ms: cannot place them in time`);
    }
    return decodeElements(values, originTs, interval, ctx, first?.repeated);
  },
};

export const arrayBurstDecoder: PayloadDecoder = {
  format: 'array-burst',
  accepts: (doc) => Array.isArray(doc),
  decode: (doc, ctx) => decodeElements(doc as unknown[], null, NaN, ctx),
};

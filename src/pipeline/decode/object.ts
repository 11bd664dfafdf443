/**
 * One JSON object = one instant: `{"ts": …, "temperature": 21.5, "humidity": 40}`, nested ones such as
 * Tasmota's `{"Time": "…", "BME280": {"Temperature": 24.5}}`. Every numeric leaf is a field, and each element of an
 * array of numbers (`ENERGY.Power.0`; another array is its field's rejection: record.ts); strings and booleans are
 * metadata; null is a missing reading.
 */
import { isObject } from './json.js';
import { badTimestamp, objectFields, timeOf } from './record.js';
import { preview } from './text.js';
import { problem, type PayloadDecoder } from './types.js';

export const objectDecoder: PayloadDecoder = {
  format: 'object',
  accepts: (doc) => isObject(doc) && !Array.isArray(doc.values),
  decode(doc, ctx) {
    if (!isObject(doc)) return problem('bad_json', 'not a JSON object');
    // A clock never set (before 2000): one instant, so the arrival time stands in for it (counted by the parser).
    const time = timeOf(doc, ctx.rule, ctx.receivedAt, true);
    if (Number.isNaN(time.ts)) return { ok: false, problem: badTimestamp(time.raw) };
    const { fields, problem: p } = objectFields(doc, ctx.rule, time.key, ctx.measured, ctx.onOff);
    if (p !== null) return { ok: false, problem: p };
    if (fields.length === 0) return problem('not_a_number', `no numeric field in the object (keys: ${keyList(doc)})`);
    const records = [time.repeated === undefined ? { ts: time.ts, fields, index: -1 } : { ts: time.ts, fields, index: -1, repeated: time.repeated }];
    return time.unset === true ? { ok: true, records, problems: [], unsetClock: time.raw } : { ok: true, records, problems: [] };
  },
};

/** The first few top-level keys, bounded, for a detail line. */
export function keyList(o: object): string {
  const keys: string[] = [];
  for (const k in o) {
    if (keys.length === 6) {
      keys.push('…');
      break;
    }
    keys.push(k.length > 24 ? `${k.slice(0, 24)}…` : k);
  }
  return keys.length === 0 ? 'none' : preview(keys.join(', '));
}

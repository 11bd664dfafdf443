/**
 * A hub message of several parts in one JSON object (MappingRuleSpec.envelope): Shelly Gen2's RPC
 * notification `{"method":"NotifyStatus","params":{"ts":…,"switch:0":{…},"temperature:0":{…}}}`, whose parts
 * are components of one device, and a Zigbee2Tasmota bridge's `{"ZbReceived":{"0x8F10":{…},…}}`, whose parts
 * are Zigbee devices. Each part is read as the object decoder reads one object (numeric leaves by dotted path,
 * its own time key no field); the message's time is the envelope's. Nothing here recurses: objectFields walks
 * with a stack.
 */
import type { EnvelopeSpec } from '../../contract/ingest.js';
import { isObject } from './json.js';
import { badTimestamp, objectFields, timeKeyOf, timeOf, valueAt } from './record.js';
import type { DecodeContext, DecodedField, Problem } from './types.js';

/** One part: its key in the envelope, the name of the device it is (`sensors` parts), and its fields. */
export interface EnvelopePart {
  readonly key: string;
  /** With `sensors` parts: the text of the entry's `nameKey` field when it has one, else the key. */
  readonly name: string;
  readonly fields: readonly DecodedField[];
}

export type EnvelopeDecoded =
  /** The parts, at the message's time (epoch ms); `unsetClock` as Decoded's, `repeated` as DecodedRecord's. */
  | { readonly ok: true; readonly ts: number; readonly parts: readonly EnvelopePart[]; readonly unsetClock?: unknown; readonly repeated?: number }
  /** A message of a kind that carries no reading (EnvelopeSpec.kind). */
  | { readonly ok: true; readonly skip: true }
  | { readonly ok: false; readonly problem: Problem };

/**
 * The parts of `doc`, or null when it has no envelope (no object at `spec.path`): such a payload is read as
 * any other of the rule. A part is an entry whose value is an object; other entries (Shelly's `ts`) are not
 * parts. `drops(path)`: fields of a part that are never streams (link and battery metadata).
 */
export function decodeEnvelope(doc: unknown, spec: EnvelopeSpec, drops: (path: string) => boolean, ctx: DecodeContext): EnvelopeDecoded | null {
  if (!isObject(doc)) return null;
  if (spec.kind !== undefined) {
    const kind = valueAt(doc, spec.kind.key);
    if (kind !== undefined && !(typeof kind === 'string' && spec.kind.read.includes(kind))) return { ok: true, skip: true };
  }
  const env = valueAt(doc, spec.path);
  if (!isObject(env)) return null;
  const rule = spec.time !== undefined && ctx.rule.timeKey === null ? { ...ctx.rule, timeKey: spec.time } : ctx.rule;
  const time = timeOf(doc, rule, ctx.receivedAt, true);
  if (Number.isNaN(time.ts)) return { ok: false, problem: badTimestamp(time.raw) };
  const parts: EnvelopePart[] = [];
  for (const key in env) {
    if (!Object.hasOwn(env, key)) continue;
    const entry = env[key];
    if (!isObject(entry)) continue;
    const measured = ctx.measured;
    const part = spec.parts === 'fields' ? key : undefined;
    const { fields, problem } = objectFields(entry, ctx.rule, timeKeyOf(entry, ctx.rule), measured === undefined ? undefined : (path) => measured(path, part));
    if (problem !== null) return { ok: false, problem };
    const named = spec.nameKey === undefined ? undefined : valueAt(entry, spec.nameKey);
    const name = (typeof named === 'string' || typeof named === 'number') && String(named).trim() !== '' ? String(named).trim() : key;
    parts.push({ key, name, fields: fields.filter((f) => !drops(f.path)) });
  }
  if (time.unset === true) return { ok: true, ts: time.ts, parts, unsetClock: time.raw };
  return time.repeated === undefined ? { ok: true, ts: time.ts, parts } : { ok: true, ts: time.ts, parts, repeated: time.repeated };
}

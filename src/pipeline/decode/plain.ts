/**
 * Plain-value payloads: `21.5`, `"21.5"`, `21,5` (with decimal ','), `unavailable` (a missing-word), as
 * ESPHome, Home Assistant state topics and simple firmware publish them. One record, at arrival time.
 */
import { describeValue, isNonFiniteToken, MAX_ABS_VALUE, numberFromText, outOfRange, preview } from './text.js';
import { scalarField } from './record.js';
import { problem, type DecodeContext, type Decoded, type PayloadDecoder } from './types.js';

/** A payload that is not JSON at all, as text. */
export function decodePlainText(text: string, ctx: DecodeContext): Decoded {
  const t = text.trim();
  if (t === '') return problem('empty', 'payload is only whitespace');
  if (ctx.rule.missing.has(t.toLowerCase())) return { ok: true, records: [{ ts: ctx.receivedAt, fields: [{ path: '', value: null }], index: -1 }], problems: [] };
  const n = numberFromText(t, ctx.rule.decimal);
  if (Number.isFinite(n) && outOfRange(n)) return problem('out_of_range', `value ${preview(t)} is beyond ±${MAX_ABS_VALUE} (no sensor reads that)`);
  if (Number.isFinite(n)) return { ok: true, records: [{ ts: ctx.receivedAt, fields: [{ path: '', value: n }], index: -1 }], problems: [] };
  if (isNonFiniteToken(t)) return problem('non_finite', `value is not finite: "${preview(t)}"`);
  return problem('bad_json', `not JSON or a number: "${preview(t)}"`);
}

/** A JSON scalar document: a number, a numeric string, null. */
export const plainDecoder: PayloadDecoder = {
  format: 'plain',
  accepts: (doc) => doc === null || typeof doc !== 'object',
  decode(doc, ctx) {
    const field = scalarField('', doc, ctx.rule);
    if (field === null) return problem('not_a_number', `not a number: "${describeValue(doc)}"`);
    if (field.problem !== undefined) return { ok: false, problem: field.problem };
    return { ok: true, records: [{ ts: ctx.receivedAt, fields: [field], index: -1 }], problems: [] };
  },
};

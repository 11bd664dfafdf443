/**
 * The decoders' one interface. A decoder turns one payload format into records (the fields of one instant),
 * and knows nothing of sensors' history: which fields become which streams is the mapping's job
 * (../route.ts), whether a reading is taken is admission's (../admit.ts).
 *
 *   payload ─► decoder (plain | object | values-burst | array-burst | fast scanner) ─► DecodedRecord[]
 */
import type { RejectReason } from '../../contract/types.js';
import type { DecimalSeparator } from './text.js';
import type { TimeUnit } from './time.js';

/** Why a message, a record or one field is not a reading. */
export interface Problem {
  readonly reason: RejectReason;
  /** One line; payload text only as a bounded preview. */
  readonly detail: string;
}

/** How the payloads of one mapping rule are written. */
export interface DecodeRule {
  /**
   * Dotted path of the time field; null = the first top-level key named ts, timestamp or time (any case);
   * false = none (`time: none`): every reading is stamped on arrival, and a default-named key is still no reading.
   */
  readonly timeKey: string | null | false;
  readonly timeUnit: TimeUnit;
  /** IANA zone of times written without an offset. */
  readonly zone: string;
  readonly decimal: DecimalSeparator;
  /** Lower-case texts that mean "no reading now" (e.g. Home Assistant's `unavailable`, `unknown`). */
  readonly missing: ReadonlySet<string>;
}

export interface DecodeContext {
  readonly rule: DecodeRule;
  /** Arrival time (epoch ms): the time of a reading that carries none. */
  readonly receivedAt: number;
  /** Most readings one message may hold (a longer burst is rejected whole). */
  readonly maxReadings: number;
  /**
   * Whether an object's field at `path` (its dotted path in the object; `part`: the key of an envelope's part whose
   * fields are the device's, Shelly's `switch:0`) is a measurement the hub always sends as a number: a text there
   * that is not one is that field's `not_a_number` problem, not metadata (CompiledRule.measured). Absent = none is.
   */
  readonly measured?: (path: string, part?: string) => boolean;
  /**
   * The on/off reading (1 on, 0 off) of a JSON object's field at `path` whose value `v` is not a number, or null when
   * the field is no on/off field (CompiledRule.onOffField) or `v` neither word: a JSON boolean, or an on/off word,
   * at a field the hub sends on/off readings in (MappingRuleSpec.onOff). Absent = no field is one.
   */
  readonly onOff?: (path: string, v: unknown) => number | null;
}

/**
 * One field of a record. `path` is '' for the payload's own value (a bare number, or the top-level `value`
 * key), else the field's dotted path (`temperature`, `BME280.Temperature`). `value` null is a missing
 * reading (JSON null, a missing-word); `problem` set means the field was meant as a number but is not a
 * finite one (its stream gets that rejection, its siblings go on).
 */
export interface DecodedField {
  readonly path: string;
  readonly value: number | null;
  readonly problem?: Problem;
}

/** The fields of one instant. */
export interface DecodedRecord {
  /** Epoch ms: the device's time, or the arrival time when the payload has none. */
  readonly ts: number;
  readonly fields: readonly DecodedField[];
  /** Position in a burst (for rejection details), -1 for a single record. */
  readonly index: number;
  /**
   * For a device time written without an offset that the rule's zone repeats (the hour its clocks go back): the
   * later instant (epoch ms), `ts` being the earlier; the parser picks per stream (../parse.ts, resolveRepeated).
   * Absent for any other time.
   */
  readonly repeated?: number;
}

export type Decoded =
  | {
      readonly ok: true;
      readonly records: readonly DecodedRecord[];
      readonly problems: readonly Problem[];
      /** The device time of a clock never set (before 2000) that the record was stamped on arrival instead of (object decoder). */
      readonly unsetClock?: unknown;
    }
  | { readonly ok: false; readonly problem: Problem };

/** One payload format. `accepts` looks only at the top of the document (its type and keys), never deep. */
export interface PayloadDecoder {
  readonly format: string;
  accepts(doc: unknown): boolean;
  /** Never throws on any JSON value (the parser still catches, as `internal_error`, should one). */
  decode(doc: unknown, ctx: DecodeContext): Decoded;
}

export function problem(reason: RejectReason, detail: string): Decoded {
  return { ok: false, problem: { reason, detail } };
}

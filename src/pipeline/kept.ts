/**
 * Readings a graceful stop kept: taken in (parsed, placed on their stream's cadence, acknowledged to the broker) but
 * not scored when the stop's drain had to end (Detector.takeKept). The daemon stores them with its final checkpoint,
 * in one transaction, and gives them back to the detector at the next start (Detector.restoreKept), before any live
 * reading: their streams' checkpoints hold the parser and the cadence past them and the model and score state before
 * them, so they are scored exactly once, in order, as they would have been without the stop.
 *
 * This module is their JSON form (one KeptStream per stream: a row of the `kept_readings` table), its checks, and the
 * rules they pass again when they are given back (admitKept: those of a live reading, so a damaged row can neither
 * move a stream's times where its readings never were nor put a missing value into its state). Pure: no I/O, no clock.
 */
import { aheadOfArrival } from './admit.js';
import { numberProblem } from './decode/record.js';
import type { StepItem } from './steps.js';

/** The detector's item origin for a kept item given back (the message it came from is of the run before). */
export interface KeptOrigin {
  readonly seq: number;
  readonly index: number;
}

/**
 * A young stream's arrivals restated at its own pace when the reading of time `ts` is scored (Detector.restate;
 * StreamScorer.restateArrivals): `arrivals` ARRIVAL_STATE numbers, `mostMissed` >= 0.
 */
export interface KeptRestate {
  readonly ts: number;
  readonly arrivals: Float64Array;
  readonly mostMissed: number;
}

/**
 * One stream's kept items as JSON (a row's text): `items` in order, the oldest first; `readings` how many of them are
 * readings or duplicates (each gives one scored reading; fills precede a reading); `restate` when the stream's
 * arrivals were to be restated at one of them.
 */
export interface KeptStreamJson {
  readonly format: 'anomalyd-kept/1';
  readonly channels: readonly string[];
  readonly items: readonly KeptItemJson[];
  readonly restate?: { readonly ts: number; readonly arrivals: readonly number[]; readonly mostMissed: number };
}

/** A number of an item as JSON: finite as it is, NaN (a missing channel) null, an infinity `inf` or `-inf`. */
type JsonNumber = number | null | 'inf' | '-inf';

/** The marks of a StepItem: every field but its reading's own (kind, time, values, reset, filled) and its origin. */
type Marks = Omit<StepItem<unknown>, 'kind' | 'ts' | 'values' | 'reset' | 'filled' | 'origin'>;
type MarkKey = keyof Marks;

/**
 * A StepItem as JSON: its fields but `origin` (the message was the run before's), `values` per channel as JsonNumber,
 * and each of its marks only when set, as StepItem has it (derived: a mark added to StepItem is one here too, and
 * MARKS below does not compile until it says how its JSON is read).
 */
export type KeptItemJson = Omit<StepItem<unknown>, 'values' | 'origin'> & { readonly values: readonly JsonNumber[] };

/** Reads one mark's JSON (`at` names it), or throws an Error naming the problem. */
type MarkReader<K extends MarkKey> = (v: unknown, at: string) => NonNullable<Marks[K]>;

function finiteMark(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${at} must be a finite number`);
  return v;
}

function booleanMark(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${at} must be a boolean`);
  return v;
}

function trueMark(v: unknown, at: string): true {
  if (v !== true) throw new Error(`${at} must be true when present`);
  return true;
}

/**
 * Every mark of StepItem and how its JSON is read (strictly: its type as StepItem declares it, numbers finite): the
 * one table encodeKept writes and decodeKept reads. A mapped type over Marks, so a mark added to StepItem must be
 * added here (a compile error otherwise), and a row keeps it across a stop.
 */
const MARKS: { readonly [K in MarkKey]-?: MarkReader<K> } = {
  missed: finiteMark,
  missedFrom: finiteMark,
  counter: booleanMark,
  onOff: booleanMark,
  onOffActive: (v, at) => {
    if (v !== 0 && v !== 1) throw new Error(`${at} must be 0 or 1`);
    return v;
  },
  onOffUnheard: trueMark,
  onOffAlarm: trueMark,
  counterReset: (v, at) => {
    if (!isRecord(v)) throw new Error(`${at} must be { from, to }`);
    return { from: finiteMark(v.from, `${at}.from`), to: finiteMark(v.to, `${at}.to`) };
  },
  counterFrozen: (v, at) => {
    if (!isRecord(v)) throw new Error(`${at} must be { since, readings, longest, longestMs }`);
    return { since: finiteMark(v.since, `${at}.since`), readings: finiteMark(v.readings, `${at}.readings`), longest: finiteMark(v.longest, `${at}.longest`), longestMs: finiteMark(v.longestMs, `${at}.longestMs`) };
  },
  counterBusy: (v, at) => {
    if (!isRecord(v)) throw new Error(`${at} must be { since, ms, longestMs, rise, restMs }`);
    return { since: finiteMark(v.since, `${at}.since`), ms: finiteMark(v.ms, `${at}.ms`), longestMs: finiteMark(v.longestMs, `${at}.longestMs`), rise: finiteMark(v.rise, `${at}.rise`), restMs: finiteMark(v.restMs, `${at}.restMs`) };
  },
  sent: finiteMark,
  unheard: booleanMark,
  bunched: finiteMark,
  burst: trueMark,
  holeEnd: trueMark,
  ownQuiet: trueMark,
  retimed: trueMark,
};
const MARK_KEYS = Object.keys(MARKS) as MarkKey[];

/** Sets one mark (a helper that keeps the key's type and its value's together). */
function setMark<K extends MarkKey>(marks: { -readonly [P in MarkKey]?: Marks[P] }, key: K, value: Marks[K]): void {
  marks[key] = value;
}

/** One stream's kept items, as the detector takes and gives them back. */
export interface KeptStream {
  readonly stream: string;
  readonly channels: readonly string[];
  readonly items: readonly StepItem<KeptOrigin>[];
  readonly restate: KeptRestate | null;
}

/** The readings among `items` (readings and duplicates: each is scored once; a fill is a step before its reading). */
export function keptReadings(items: readonly Pick<StepItem<unknown>, 'kind'>[]): number {
  let n = 0;
  for (const item of items) if (item.kind !== 'fill') n++;
  return n;
}

/** True for a JSON object (not null, not an array). */
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toJsonNumber(v: number): JsonNumber {
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return null;
  return v > 0 ? 'inf' : '-inf';
}

function fromJsonNumber(v: unknown, what: string): number {
  if (v === null) return Number.NaN;
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw new Error(`${what} must be a finite number, null, "inf" or "-inf"`);
}

/** A kept stream as the JSON of its row. */
export function encodeKept(kept: KeptStream): KeptStreamJson {
  const items = kept.items.map((item): KeptItemJson => {
    const values = new Array<JsonNumber>(item.values.length);
    for (let i = 0; i < item.values.length; i++) values[i] = toJsonNumber(item.values[i]);
    // Only the marks that are set, as the detector sets them (absent = not marked).
    const marks: { -readonly [P in MarkKey]?: Marks[P] } = {};
    for (const key of MARK_KEYS) {
      const v = item[key];
      if (v !== undefined) setMark(marks, key, key === 'counterReset' && item.counterReset !== undefined ? { from: item.counterReset.from, to: item.counterReset.to } : v);
    }
    return { kind: item.kind, ts: item.ts, values, reset: item.reset, filled: item.filled, ...marks };
  });
  return {
    format: 'anomalyd-kept/1',
    channels: [...kept.channels],
    items,
    ...(kept.restate !== null ? { restate: { ts: kept.restate.ts, arrivals: Array.from(kept.restate.arrivals), mostMissed: kept.restate.mostMissed } } : {}),
  };
}

/**
 * A kept stream from the JSON of its row (parsed), for `stream`. Every item's origin is `{ seq: -1, index }` (its
 * message was the run before's). Throws an Error naming the first problem when `json` is not such a row: a format
 * other than anomalyd-kept/1, no channels, an item of another kind or without a finite time, a value that is no
 * JsonNumber, a mark of the wrong type (MARKS). An item's values are not judged here (their count against the
 * channels, a missing or infinite one): admitKept rejects such an item alone, as a live reading would be.
 */
export function decodeKept(stream: string, json: unknown): KeptStream {
  const o = json as Partial<Record<keyof KeptStreamJson, unknown>> | null;
  if (typeof o !== 'object' || o === null || o.format !== 'anomalyd-kept/1') throw new Error('not an anomalyd-kept/1 row');
  if (!Array.isArray(o.channels) || o.channels.length === 0 || !o.channels.every((c) => typeof c === 'string')) throw new Error('channels must be a non-empty list of names');
  const channels = o.channels;
  if (!Array.isArray(o.items)) throw new Error('items must be a list');
  const items = (o.items as unknown[]).map((raw, index) => decodeItem(raw, index));
  let restate: KeptRestate | null = null;
  if (o.restate !== undefined) {
    const r: unknown = o.restate;
    if (!isRecord(r) || typeof r.ts !== 'number' || !Number.isFinite(r.ts) || !Array.isArray(r.arrivals) || typeof r.mostMissed !== 'number' || !Number.isFinite(r.mostMissed)) throw new Error('restate must be { ts, arrivals, mostMissed }');
    restate = { ts: r.ts, arrivals: Float64Array.from(r.arrivals.map((v, i) => fromJsonNumber(v, `restate.arrivals[${i}]`))), mostMissed: r.mostMissed };
  }
  return { stream, channels, items, restate };
}

function decodeItem(raw: unknown, index: number): StepItem<KeptOrigin> {
  const at = `items[${index}]`;
  const o = raw as Partial<Record<keyof KeptItemJson, unknown>> | null;
  if (typeof o !== 'object' || o === null) throw new Error(`${at} must be an object`);
  if (o.kind !== 'reading' && o.kind !== 'fill' && o.kind !== 'duplicate') throw new Error(`${at}.kind must be reading, fill or duplicate`);
  if (typeof o.ts !== 'number' || !Number.isFinite(o.ts)) throw new Error(`${at}.ts must be a finite number`);
  if (!Array.isArray(o.values) || o.values.length === 0) throw new Error(`${at}.values must be a non-empty list`);
  if (typeof o.reset !== 'boolean') throw new Error(`${at}.reset must be a boolean`);
  if (typeof o.filled !== 'number' || !Number.isInteger(o.filled) || o.filled < 0) throw new Error(`${at}.filled must be an integer >= 0`);
  const list: unknown[] = o.values;
  const values = new Float64Array(list.length);
  for (let c = 0; c < list.length; c++) values[c] = fromJsonNumber(list[c], `${at}.values[${c}]`);
  const marks: { -readonly [P in MarkKey]?: Marks[P] } = {};
  for (const key of MARK_KEYS) {
    const v = o[key];
    if (v !== undefined) setMark(marks, key, MARKS[key](v, `${at}.${key}`));
  }
  return { kind: o.kind, ts: o.ts, values, reset: o.reset, filled: o.filled, origin: { seq: -1, index }, ...marks };
}

/**
 * Why a kept item is not given back (admitKept): the rules a live reading passes (src/pipeline/admit.ts,
 * src/pipeline/decode/record.ts, the parser's channels), applied again at the start that gives it back.
 *   - future_timestamp: its time is further ahead of the clock at the start than ingest.maxFutureMs;
 *   - out_of_order: its time is before its stream's newest scored reading (as its checkpoint holds it) or before
 *     the kept reading given back before it;
 *   - past_checkpoint: its time is after the newest time its stream's checkpoint took in (the stop wrote the
 *     checkpoint past every reading it kept: such an item was not one of them);
 *   - missing_value: a channel without a value (null): the parser takes no reading with a channel missing;
 *   - non_finite, out_of_range: a value the decoders reject so (numberProblem);
 *   - channels: its values are not one per channel of its row, or the row's channels are not its stream's (as the
 *     stream's restored model state has them).
 */
export type KeptRejectReason = 'future_timestamp' | 'out_of_order' | 'past_checkpoint' | 'missing_value' | 'non_finite' | 'out_of_range' | 'channels';

/** What a stream's kept items are judged against when they are given back (admitKept). */
export interface KeptBounds {
  /** The clock at the start, epoch ms (what a live reading's arrival is). */
  readonly now: number;
  /** ingest.maxFutureMs (ms >= 0). */
  readonly maxFutureMs: number;
  /** The stream's newest scored reading's time, epoch ms, as restored from its checkpoint; null when not known. */
  readonly scoredTs: number | null;
  /** The newest time its checkpoint took in (the stream's cadence: past its kept readings), epoch ms; null when not known. */
  readonly takenTs: number | null;
  /** The stream's channels as its restored model state has them; null when not known. */
  readonly channels: readonly string[] | null;
}

/** A kept stream with the items that pass (`kept`) and per reason the readings that do not (`rejected`; absent: none). */
export interface KeptAdmitted {
  readonly kept: KeptStream;
  readonly rejected: Partial<Record<KeptRejectReason, number>>;
}

/**
 * Judges a stream's kept items (decodeKept's) by the rules a live reading passes (KeptRejectReason), against `bounds`.
 * An item is judged with the fills before it (a reading's steps: they go or stay with it); a rejected reading is
 * counted once, under its first problem (a run of fills with no reading after it, which no stop writes, counts as
 * one). What passes is in order and can move the stream's times only where its checkpoint already is: an item
 * rejected never reaches the detector. `restate` stays only when its reading stays. Pure.
 */
export function admitKept(k: KeptStream, bounds: KeptBounds): KeptAdmitted {
  const rejected: Partial<Record<KeptRejectReason, number>> = {};
  const C = k.channels.length;
  const streamChannels = bounds.channels === null || sameNames(bounds.channels, k.channels);
  const items: StepItem<KeptOrigin>[] = [];
  // The newest time given back so far (the stream's newest scored reading's before the first).
  let newest = bounds.scoredTs ?? Number.NEGATIVE_INFINITY;
  let restate: KeptRestate | null = null;
  let group: StepItem<KeptOrigin>[] = [];
  const problemOf = (item: StepItem<KeptOrigin>, after: number): KeptRejectReason | null => {
    if (!streamChannels || item.values.length !== C) return 'channels';
    for (let c = 0; c < C; c++) {
      const v = item.values[c];
      if (Number.isNaN(v)) return 'missing_value';
      const problem = numberProblem('', v);
      if (problem !== null) return problem.reason === 'out_of_range' ? 'out_of_range' : 'non_finite';
    }
    if (item.sent !== undefined && numberProblem('', item.sent) !== null) return 'out_of_range';
    if (aheadOfArrival(item.ts, bounds.now, bounds.maxFutureMs)) return 'future_timestamp';
    if (item.ts < after) return 'out_of_order';
    if (bounds.takenTs !== null && item.ts > bounds.takenTs) return 'past_checkpoint';
    return null;
  };
  const settle = (): void => {
    if (group.length === 0) return;
    let after = newest;
    let problem: KeptRejectReason | null = null;
    for (const item of group) {
      problem = problemOf(item, after);
      if (problem !== null) break;
      after = item.ts;
    }
    if (problem === null) {
      items.push(...group);
      newest = after;
      const last = group[group.length - 1];
      if (k.restate !== null && last.kind === 'reading' && last.ts === k.restate.ts) restate = k.restate;
    } else {
      rejected[problem] = (rejected[problem] ?? 0) + Math.max(1, keptReadings(group));
    }
    group = [];
  };
  for (const item of k.items) {
    group.push(item);
    if (item.kind !== 'fill') settle();
  }
  settle();
  return { kept: { stream: k.stream, channels: k.channels, items, restate }, rejected };
}

/** Equal lists of names. */
function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

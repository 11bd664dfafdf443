/**
 * Readings a graceful stop kept: taken in (parsed, placed on their stream's cadence, acknowledged to the broker) but
 * not scored when the stop's drain had to end (Detector.takeKept). The daemon stores them with its final checkpoint,
 * in one transaction, and gives them back to the detector at the next start (Detector.restoreKept), before any live
 * reading: their streams' checkpoints hold the parser and the cadence past them and the model and score state before
 * them, so they are scored exactly once, in order, as they would have been without the stop.
 *
 * This module is their JSON form (one KeptStream per stream: a row of the `kept_readings` table) and its checks. Pure:
 * no I/O, no clock.
 */
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

/** A StepItem as JSON (its optional marks only when set; values per channel as JsonNumber). */
export interface KeptItemJson {
  readonly kind: StepItem<unknown>['kind'];
  readonly ts: number;
  readonly values: readonly JsonNumber[];
  readonly reset: boolean;
  readonly filled: number;
  readonly missed?: number;
  readonly missedFrom?: number;
  readonly counter?: boolean;
  readonly onOff?: boolean;
  readonly onOffActive?: 0 | 1;
  readonly onOffUnheard?: true;
  readonly onOffAlarm?: true;
  readonly counterReset?: { readonly from: number; readonly to: number };
  readonly sent?: number;
  readonly unheard?: boolean;
  readonly bunched?: number;
  readonly burst?: true;
  readonly holeEnd?: true;
  readonly ownQuiet?: true;
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
    return {
      kind: item.kind,
      ts: item.ts,
      values,
      reset: item.reset,
      filled: item.filled,
      ...(item.missed !== undefined ? { missed: item.missed } : {}),
      ...(item.missedFrom !== undefined ? { missedFrom: item.missedFrom } : {}),
      ...(item.counter !== undefined ? { counter: item.counter } : {}),
      ...(item.onOff !== undefined ? { onOff: item.onOff } : {}),
      ...(item.onOffActive !== undefined ? { onOffActive: item.onOffActive } : {}),
      ...(item.onOffUnheard !== undefined ? { onOffUnheard: item.onOffUnheard } : {}),
      ...(item.onOffAlarm !== undefined ? { onOffAlarm: item.onOffAlarm } : {}),
      ...(item.counterReset !== undefined ? { counterReset: { from: item.counterReset.from, to: item.counterReset.to } } : {}),
      ...(item.sent !== undefined ? { sent: item.sent } : {}),
      ...(item.unheard !== undefined ? { unheard: item.unheard } : {}),
      ...(item.bunched !== undefined ? { bunched: item.bunched } : {}),
      ...(item.burst !== undefined ? { burst: item.burst } : {}),
      ...(item.holeEnd !== undefined ? { holeEnd: item.holeEnd } : {}),
      ...(item.ownQuiet !== undefined ? { ownQuiet: item.ownQuiet } : {}),
    };
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
 * other than anomalyd-kept/1, no channels, an item of another kind or without a finite time, values not one per
 * channel, a mark of the wrong type.
 */
export function decodeKept(stream: string, json: unknown): KeptStream {
  const o = json as Partial<Record<keyof KeptStreamJson, unknown>> | null;
  if (typeof o !== 'object' || o === null || o.format !== 'anomalyd-kept/1') throw new Error('not an anomalyd-kept/1 row');
  if (!Array.isArray(o.channels) || o.channels.length === 0 || !o.channels.every((c) => typeof c === 'string')) throw new Error('channels must be a non-empty list of names');
  const channels = o.channels;
  if (!Array.isArray(o.items)) throw new Error('items must be a list');
  const items = (o.items as unknown[]).map((raw, index) => decodeItem(raw, channels.length, index));
  let restate: KeptRestate | null = null;
  if (o.restate !== undefined) {
    const r: unknown = o.restate;
    if (!isRecord(r) || typeof r.ts !== 'number' || !Number.isFinite(r.ts) || !Array.isArray(r.arrivals) || typeof r.mostMissed !== 'number') throw new Error('restate must be { ts, arrivals, mostMissed }');
    restate = { ts: r.ts, arrivals: Float64Array.from(r.arrivals.map((v, i) => fromJsonNumber(v, `restate.arrivals[${i}]`))), mostMissed: r.mostMissed };
  }
  return { stream, channels, items, restate };
}

function decodeItem(raw: unknown, C: number, index: number): StepItem<KeptOrigin> {
  const at = `items[${index}]`;
  const o = raw as Partial<Record<keyof KeptItemJson, unknown>> | null;
  if (typeof o !== 'object' || o === null) throw new Error(`${at} must be an object`);
  if (o.kind !== 'reading' && o.kind !== 'fill' && o.kind !== 'duplicate') throw new Error(`${at}.kind must be reading, fill or duplicate`);
  if (typeof o.ts !== 'number' || !Number.isFinite(o.ts)) throw new Error(`${at}.ts must be a finite number`);
  if (!Array.isArray(o.values) || o.values.length !== C) throw new Error(`${at}.values must hold one number per channel (${C})`);
  if (typeof o.reset !== 'boolean') throw new Error(`${at}.reset must be a boolean`);
  if (typeof o.filled !== 'number' || !Number.isInteger(o.filled) || o.filled < 0) throw new Error(`${at}.filled must be an integer >= 0`);
  const values = new Float64Array(C);
  for (let c = 0; c < C; c++) values[c] = fromJsonNumber(o.values[c], `${at}.values[${c}]`);
  const num = (key: 'missed' | 'missedFrom' | 'sent' | 'bunched'): number | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${at}.${key} must be a finite number`);
    return v;
  };
  const flag = (key: 'counter' | 'onOff' | 'unheard'): boolean | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new Error(`${at}.${key} must be a boolean`);
    return v;
  };
  const mark = (key: 'onOffUnheard' | 'onOffAlarm' | 'burst' | 'holeEnd' | 'ownQuiet'): true | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (v !== true) throw new Error(`${at}.${key} must be true when present`);
    return true;
  };
  let counterReset: { from: number; to: number } | undefined;
  if (o.counterReset !== undefined) {
    const r: unknown = o.counterReset;
    if (!isRecord(r) || typeof r.from !== 'number' || typeof r.to !== 'number') throw new Error(`${at}.counterReset must be { from, to }`);
    counterReset = { from: r.from, to: r.to };
  }
  if (o.onOffActive !== undefined && o.onOffActive !== 0 && o.onOffActive !== 1) throw new Error(`${at}.onOffActive must be 0 or 1`);
  const missed = num('missed');
  const missedFrom = num('missedFrom');
  const sent = num('sent');
  const bunched = num('bunched');
  const counter = flag('counter');
  const onOff = flag('onOff');
  const unheard = flag('unheard');
  const onOffUnheard = mark('onOffUnheard');
  const onOffAlarm = mark('onOffAlarm');
  const burst = mark('burst');
  const holeEnd = mark('holeEnd');
  const ownQuiet = mark('ownQuiet');
  return {
    kind: o.kind,
    ts: o.ts,
    values,
    reset: o.reset,
    filled: o.filled,
    origin: { seq: -1, index },
    ...(missed !== undefined ? { missed } : {}),
    ...(missedFrom !== undefined ? { missedFrom } : {}),
    ...(counter !== undefined ? { counter } : {}),
    ...(onOff !== undefined ? { onOff } : {}),
    ...(o.onOffActive !== undefined ? { onOffActive: o.onOffActive } : {}),
    ...(onOffUnheard !== undefined ? { onOffUnheard } : {}),
    ...(onOffAlarm !== undefined ? { onOffAlarm } : {}),
    ...(counterReset !== undefined ? { counterReset } : {}),
    ...(sent !== undefined ? { sent } : {}),
    ...(unheard !== undefined ? { unheard } : {}),
    ...(bunched !== undefined ? { bunched } : {}),
    ...(burst !== undefined ? { burst } : {}),
    ...(holeEnd !== undefined ? { holeEnd } : {}),
    ...(ownQuiet !== undefined ? { ownQuiet } : {}),
  };
}

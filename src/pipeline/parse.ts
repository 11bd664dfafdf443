/**
 * Parse stage: one MQTT message -> readings of one sensor, or rejections with a reason.
 *
 * Accepted payloads (the sensor id comes from the topic, see topic.ts):
 *   21.5                                     one reading, channel `value`, at receivedAt
 *   "21.5"                                   numeric strings are accepted wherever a number is
 *   {"value": 21.5, "ts": 1700000000000}     one reading; the time key may be `ts`, `timestamp` or `time`
 *   {"ts": ..., "temp": 21.5, "hum": 40}     one reading with channels [hum, temp]: every numeric field
 *                                            (number or numeric string) except the time keys is a channel,
 *                                            channels are sorted by name; other fields (strings, booleans,
 *                                            null, objects) are metadata and ignored
 *   {"values": [1, 2, 3], "ts": T, "interval_ms": 10}
 *                                            a burst: reading i at T + i*interval_ms (ts = the FIRST reading).
 *                                            Without ts the LAST reading is at receivedAt and earlier ones
 *                                            interval_ms apart backwards. Elements may be numbers or objects
 *                                            as above; an object's own time key overrides the computed time.
 *                                            More than one element and no interval_ms: rejected (bad_timestamp)
 *                                            unless every element carries its own time.
 *   [{"value": 1, "ts": ...}, {"ts": ..., "temp": 2}, ...]
 *                                            a burst as an array: each element needs its own time (an array
 *                                            of one element may omit it); an element without one is rejected
 *                                            by itself - there is no interval to place it with.
 *
 * Timestamps: numbers are epoch ms, except values below 1e11 which are taken as epoch SECONDS (1e11 ms is
 * 1973, 1e11 s is the year 5138, so the two never overlap for real clocks); ISO 8601 strings, where a
 * string without an offset is UTC, never the host's zone; numeric strings like numbers. A time before
 * 2000-01-01 is bad_timestamp: that is a device counting from boot, not a clock. null means absent.
 *
 * Ordering: a reading more than maxFutureMs ahead of receivedAt is future_timestamp. A reading older than
 * the sensor's newest accepted reading by more than outOfOrderToleranceMs is out_of_order; within the
 * tolerance it is accepted with its time clamped to the newest one, so every sensor's readings leave this
 * stage in non-decreasing time (the windower then merges it into the current grid step). The readings of a
 * burst are sorted by time first.
 *
 * Bursts longer than maxReadingsPerMessage are rejected whole (too_many_readings). With longBurst
 * 'truncate', a burst longer than `window` keeps only its LAST `window` elements and reports ONE
 * too_many_readings rejection saying how many were dropped (so the counters show it); with 'split' all
 * readings are kept and the windower cuts them into windows.
 *
 * Results: all good -> 'readings' with no rejections; a single reading or a whole message rejected ->
 * 'rejected'; a burst with some bad elements -> 'readings' with the good ones plus one rejection per bad
 * element (readings may then be empty when every element was bad).
 *
 * Channel sets: a sensor's channels are fixed by its first accepted reading; a later reading with a
 * different set is channel_mismatch.
 *
 * Speed: the common forms (a bare number, `{"ts": N, "value": V}` with any one time key, and
 * `{"values": [numbers], "ts": N, "interval_ms": N}`, keys in any order, any JSON whitespace) are read by a
 * byte scanner (FastScanner) that builds no JSON object graph and no string. It accepts exactly those
 * shapes when every number is a finite JSON number literal and the message would be accepted up to the
 * per-reading time and channel checks; for anything else (strings, null, other or duplicate keys, bad or
 * non-finite numbers, an empty, over-long or unplaceable burst, a bad timestamp, non-ASCII bytes,
 * truncation) it gives up before touching any state and the message takes the JSON.parse path, which owns
 * every rejection detail. Both paths give identical results (test/pipeline/parse-fast.test.ts).
 */
import { map, type OperatorFunction } from 'rxjs';
import type { ParseResult, RawMessage, Reading, RejectReason, Rejection } from '../contract/types.js';

export interface ParseOptions {
  readonly sensorOf: (topic: string) => string | null;
  readonly maxPayloadBytes: number;
  readonly maxFutureMs: number;
  readonly outOfOrderToleranceMs: number;
  readonly maxReadingsPerMessage: number;
  readonly longBurst: 'split' | 'truncate';
  /** Window length W: the number of readings 'truncate' keeps of a long burst. */
  readonly window: number;
  /**
   * Distinct sensors tracked (default 10 000). A new sensor beyond it is bad_topic: a client publishing
   * to random topics must not grow our memory without bound.
   */
  readonly maxSensors?: number;
  /**
   * false sends every payload through JSON.parse (default true). The results are the same either way;
   * this exists so the two paths can be compared, and to rule the scanner out when chasing a parse bug.
   */
  readonly fastPath?: boolean;
}

/** Every channel name is shared by all readings of a sensor, so a reading allocates no channel array. */
const VALUE_CHANNELS: readonly string[] = Object.freeze(['value']);
const NO_REJECTIONS: readonly Rejection[] = Object.freeze([]);
/** 2000-01-01T00:00:00Z. */
const MIN_TS = 946_684_800_000;
const SECONDS_BELOW = 1e11;
const PREVIEW_CHARS = 64;
const DEFAULT_MAX_SENSORS = 10_000;

const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const NON_FINITE_TOKEN = /^\s*[+-]?(?:nan|inf|infinity)\s*$/i;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

const PARSER_SNAPSHOT_FORMAT = 'anomalyd-parser/1';

/** One sensor's parser state, JSON-serialisable. Produced by `MessageParser.snapshot`, read by `restore`. */
export interface ParserSnapshot {
  readonly format: typeof PARSER_SNAPSHOT_FORMAT;
  /** The channel set fixed by the sensor's first accepted reading, or null before one. */
  readonly channels: readonly string[] | null;
  /** Time of the last accepted reading (epoch ms), or null before one. */
  readonly lastTs: number | null;
}

interface SensorState {
  channels: readonly string[] | null;
  lastTs: number;
}

/** A reading under construction; structurally a Reading. */
interface Candidate {
  readonly sensor: string;
  ts: number;
  channels: readonly string[];
  readonly values: number[];
}

interface Problem {
  readonly reason: RejectReason;
  readonly detail: string;
}

type JsonObject = Record<string, unknown>;

export class MessageParser {
  private readonly sensors = new Map<string, SensorState>();
  private readonly maxSensors: number;
  /** null when the fast path is off. One per parser, reused for every message: scanning allocates nothing. */
  private readonly scanner: FastScanner | null;

  constructor(private readonly opts: ParseOptions) {
    this.maxSensors = opts.maxSensors ?? DEFAULT_MAX_SENSORS;
    this.scanner = opts.fastPath === false ? null : new FastScanner(opts.maxReadingsPerMessage);
  }

  parse(msg: RawMessage): ParseResult {
    const sensor = this.opts.sensorOf(msg.topic);
    if (sensor === null) return rejectedMessage(msg, null, 'bad_topic', 'topic does not match the sensor pattern');
    const size = msg.payload.length;
    if (size === 0) return rejectedMessage(msg, sensor, 'empty', 'empty payload');
    if (size > this.opts.maxPayloadBytes) {
      // Only a prefix is decoded: the point of the limit is not to touch a huge payload at all.
      const head = msg.payload.toString('utf8', 0, PREVIEW_CHARS);
      return rejectedMessage(msg, sensor, 'oversize', `payload of ${size} bytes exceeds ${this.opts.maxPayloadBytes}: "${preview(head)}"`);
    }
    const state = this.stateOf(sensor);
    if (state === null) {
      return rejectedMessage(msg, sensor, 'bad_topic', `new sensor ignored: already tracking ${this.maxSensors} sensors`);
    }
    if (this.scanner !== null) {
      const fast = this.parseCommon(this.scanner, msg, sensor, state);
      if (fast !== null) return fast;
    }
    const text = msg.payload.toString('utf8');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return rejectedMessage(msg, sensor, ...unparsable(text));
    }
    if (Array.isArray(doc)) return this.parseBurst(msg, sensor, state, doc, null, NaN);
    if (isObject(doc)) {
      if (Array.isArray(doc.values)) return this.parseValuesBurst(msg, sensor, state, doc, doc.values);
      const ts = timeOf(doc, msg.receivedAt);
      if (Number.isNaN(ts)) return rejectedMessage(msg, sensor, 'bad_timestamp', badTimestampDetail(timeField(doc)));
      return this.single(msg, sensor, state, objectCandidate(doc, sensor, state.channels, ts));
    }
    return this.single(msg, sensor, state, valueCandidate(doc, sensor, msg.receivedAt));
  }

  /** Forgets a sensor's channel set and last time (e.g. after it was reconfigured). */
  forget(sensor: string): void {
    this.sensors.delete(sensor);
  }

  /**
   * What the parser remembers of a sensor (its channel set and last accepted time) as plain JSON, or null
   * for an unknown sensor. Restored after a restart, late readings are still clamped or rejected and the
   * channel set still holds, exactly as without the restart.
   */
  snapshot(sensor: string): ParserSnapshot | null {
    const state = this.sensors.get(sensor);
    if (state === undefined) return null;
    return {
      format: PARSER_SNAPSHOT_FORMAT,
      channels: state.channels === null ? null : [...state.channels],
      // JSON has no -Infinity: a sensor seen only in rejected messages has no accepted time yet.
      lastTs: Number.isFinite(state.lastTs) ? state.lastTs : null,
    };
  }

  /** Restores a sensor from `snapshot()` output (after a JSON round trip). Throws on a malformed snapshot. */
  restore(sensor: string, snapshot: unknown): void {
    const fail = (why: string): never => {
      throw new Error(`parser snapshot: ${why}`);
    };
    if (!isObject(snapshot) || snapshot.format !== PARSER_SNAPSHOT_FORMAT) return fail(`not an ${PARSER_SNAPSHOT_FORMAT} object`);
    const { channels, lastTs } = snapshot;
    if (channels !== null && (!Array.isArray(channels) || channels.length === 0 || !channels.every((c) => typeof c === 'string'))) {
      fail('channels must be null or a non-empty list of names');
    }
    if (lastTs !== null && (typeof lastTs !== 'number' || !Number.isFinite(lastTs))) fail('lastTs must be null or a finite number');
    if (!this.sensors.has(sensor) && this.sensors.size >= this.maxSensors) fail(`already tracking ${this.maxSensors} sensors`);
    const names = channels as string[] | null;
    this.sensors.set(sensor, {
      // The single-channel set is shared so that restored readings carry the same array as fresh ones.
      channels: names === null ? null : names.length === 1 && names[0] === 'value' ? VALUE_CHANNELS : Object.freeze([...names]),
      lastTs: (lastTs as number | null) ?? -Infinity,
    });
  }

  private stateOf(sensor: string): SensorState | null {
    let state = this.sensors.get(sensor);
    if (state === undefined) {
      if (this.sensors.size >= this.maxSensors) return null;
      state = { channels: null, lastTs: -Infinity };
      this.sensors.set(sensor, state);
    }
    return state;
  }

  private single(msg: RawMessage, sensor: string, state: SensorState, c: Candidate | Problem): ParseResult {
    const problem = isProblem(c) ? c : this.admit(msg, state, c);
    if (problem !== null) return rejectedMessage(msg, sensor, problem.reason, problem.detail);
    return { kind: 'readings', readings: [c as Candidate], rejections: NO_REJECTIONS };
  }

  /**
   * The common forms, read by the scanner; null (nothing touched) when the payload is not one of them or
   * would be rejected before the per-reading checks, so that the JSON.parse path decides and words it.
   * Mirrors parse -> single / parseValuesBurst -> parseBurst for those shapes step by step.
   */
  private parseCommon(scanner: FastScanner, msg: RawMessage, sensor: string, state: SensorState): ParseResult | null {
    const form = scanner.scan(msg.payload);
    if (form === 'other') return null;
    if (form === 'number') return this.single(msg, sensor, state, { sensor, ts: msg.receivedAt, channels: VALUE_CHANNELS, values: [scanner.value] });
    const ts = scanner.hasTime ? parseTimestamp(scanner.time) : msg.receivedAt;
    if (Number.isNaN(ts)) return null;
    if (!scanner.hasValues) {
      // interval_ms outside a burst is an ordinary channel, so {value, interval_ms} is a two-channel reading.
      if (!scanner.hasValue || scanner.hasInterval) return null;
      // objectCandidate gives a lone `value` field VALUE_CHANNELS whatever the sensor's set is.
      return this.single(msg, sensor, state, { sensor, ts, channels: VALUE_CHANNELS, values: [scanner.value] });
    }
    if (scanner.hasValue) return null;
    return this.valuesBurstOfNumbers(msg, sensor, state, scanner, scanner.hasTime ? ts : null);
  }

  /** parseValuesBurst + parseBurst for a `values` array of finite numbers, without the intermediate candidates. */
  private valuesBurstOfNumbers(msg: RawMessage, sensor: string, state: SensorState, scanner: FastScanner, firstTs: number | null): ParseResult | null {
    const n = scanner.count;
    if (n === 0 || n > this.opts.maxReadingsPerMessage) return null;
    if (scanner.hasInterval ? !(scanner.interval > 0) : n > 1) return null;
    const step = scanner.hasInterval ? scanner.interval : 0;
    const originTs = firstTs ?? msg.receivedAt - (n - 1) * step;
    // An absurd interval overflows to ±Infinity (and Infinity - Infinity to NaN): left to the general path.
    if (!Number.isFinite(originTs) || !Number.isFinite(originTs + (n - 1) * step)) return null;
    let rejections: Rejection[] | null = null;
    let first = 0;
    if (this.opts.longBurst === 'truncate' && n > this.opts.window) {
      first = n - this.opts.window;
      rejections = [rejection(msg, sensor, 'too_many_readings', `burst of ${n} readings truncated to the last ${this.opts.window} (${first} dropped)`)];
    }
    // step >= 0 and every time finite, so originTs + i * step never decreases with i: no sort needed.
    const values = scanner.values;
    const readings: Reading[] = [];
    if (this.admitsWhole(msg, state, originTs + first * step, originTs + (n - 1) * step)) {
      for (let i = first; i < n; i++) readings.push({ sensor, ts: originTs + i * step, channels: VALUE_CHANNELS, values: [values[i]] });
      state.channels = VALUE_CHANNELS;
      state.lastTs = originTs + (n - 1) * step;
    } else {
      for (let i = first; i < n; i++) {
        const c: Candidate = { sensor, ts: originTs + i * step, channels: VALUE_CHANNELS, values: [values[i]] };
        const problem = this.admit(msg, state, c);
        if (problem === null) readings.push(c);
        else (rejections ??= []).push(rejection(msg, sensor, problem.reason, problem.detail));
      }
    }
    if (rejections === null) return { kind: 'readings', readings, rejections: NO_REJECTIONS };
    if (readings.length === 0 && rejections.length === 1) return { kind: 'rejected', rejection: rejections[0] };
    return { kind: 'readings', readings, rejections };
  }

  /**
   * Whether admit() would pass every reading of a single-channel burst spanning [firstTs, lastTs] in
   * time order unchanged: none in the future, none before the sensor's last time (so none clamped), and
   * the sensor's channel set is (or becomes) ['value']. Then the burst is admitted in one step.
   */
  private admitsWhole(msg: RawMessage, state: SensorState, firstTs: number, lastTs: number): boolean {
    return (state.channels === null || state.channels === VALUE_CHANNELS) && firstTs >= state.lastTs && !(lastTs > msg.receivedAt + this.opts.maxFutureMs);
  }

  /** `{"values": [...], "ts"?, "interval_ms"?}` */
  private parseValuesBurst(msg: RawMessage, sensor: string, state: SensorState, doc: JsonObject, values: unknown[]): ParseResult {
    const rawTs = timeField(doc);
    const firstTs = rawTs === undefined ? undefined : parseTimestamp(rawTs);
    if (Number.isNaN(firstTs)) return rejectedMessage(msg, sensor, 'bad_timestamp', badTimestampDetail(rawTs));
    const rawInterval = doc.interval_ms;
    let interval = NaN;
    if (rawInterval !== undefined && rawInterval !== null) {
      interval = toNumber(rawInterval);
      if (!(interval > 0) || !Number.isFinite(interval)) {
        return rejectedMessage(msg, sensor, 'bad_timestamp', `interval_ms must be a positive number, got "${preview(String(JSON.stringify(rawInterval)))}"`);
      }
    }
    // Where reading 0 sits: given, or counted back from receivedAt so the last one lands there.
    const originTs = firstTs ?? msg.receivedAt - (values.length - 1) * (Number.isNaN(interval) ? 0 : interval);
    if (values.length > 1 && Number.isNaN(interval) && !values.every((v) => isObject(v) && timeField(v) !== undefined)) {
      return rejectedMessage(msg, sensor, 'bad_timestamp', `burst of ${values.length} readings without interval_ms: cannot place them in time`);
    }
    return this.parseBurst(msg, sensor, state, values, originTs, interval);
  }

  /**
   * Both burst forms. With originTs === null (a bare array) every element needs its own time; otherwise
   * element i defaults to originTs + i * interval.
   */
  private parseBurst(msg: RawMessage, sensor: string, state: SensorState, elements: unknown[], originTs: number | null, interval: number): ParseResult {
    const n = elements.length;
    if (n === 0) return rejectedMessage(msg, sensor, 'empty', 'burst with no readings');
    if (n > this.opts.maxReadingsPerMessage) {
      return rejectedMessage(msg, sensor, 'too_many_readings', `burst of ${n} readings exceeds ${this.opts.maxReadingsPerMessage}`);
    }
    if (originTs === null && n > 1 && !elements.some((e) => isObject(e) && timeField(e) !== undefined)) {
      return rejectedMessage(msg, sensor, 'bad_timestamp', `burst of ${n} readings without timestamps: use {"values": [...], "ts": ..., "interval_ms": ...}`);
    }
    const rejections: Rejection[] = [];
    let first = 0;
    if (this.opts.longBurst === 'truncate' && n > this.opts.window) {
      first = n - this.opts.window;
      rejections.push(rejection(msg, sensor, 'too_many_readings', `burst of ${n} readings truncated to the last ${this.opts.window} (${first} dropped)`));
    }
    const candidates: Candidate[] = [];
    for (let i = first; i < n; i++) {
      const defaultTs = originTs === null ? (n === 1 ? msg.receivedAt : NaN) : originTs + i * (Number.isNaN(interval) ? 0 : interval);
      const c = elementCandidate(elements[i], sensor, state.channels, defaultTs);
      if (isProblem(c)) rejections.push(rejection(msg, sensor, c.reason, `element ${i}: ${c.detail}`));
      else candidates.push(c);
    }
    if (!isSortedByTs(candidates)) candidates.sort((a, b) => a.ts - b.ts);
    const readings: Reading[] = [];
    for (const c of candidates) {
      const problem = this.admit(msg, state, c);
      if (problem === null) readings.push(c);
      else rejections.push(rejection(msg, sensor, problem.reason, problem.detail));
    }
    if (readings.length === 0 && rejections.length === 1) return { kind: 'rejected', rejection: rejections[0] };
    return { kind: 'readings', readings, rejections: rejections.length === 0 ? NO_REJECTIONS : rejections };
  }

  /** Time and channel checks against the sensor's history; commits the reading to it when it passes. */
  private admit(msg: RawMessage, state: SensorState, c: Candidate): Problem | null {
    if (c.ts > msg.receivedAt + this.opts.maxFutureMs) {
      return { reason: 'future_timestamp', detail: `timestamp ${isoOf(c.ts)} is ${Math.round(c.ts - msg.receivedAt)} ms ahead of arrival` };
    }
    if (c.ts < state.lastTs) {
      if (c.ts < state.lastTs - this.opts.outOfOrderToleranceMs) {
        return { reason: 'out_of_order', detail: `timestamp ${isoOf(c.ts)} is ${Math.round(state.lastTs - c.ts)} ms older than the sensor's last reading` };
      }
      c.ts = state.lastTs;
    }
    if (state.channels === null) {
      state.channels = c.channels;
    } else if (c.channels !== state.channels) {
      if (!sameChannels(c.channels, state.channels)) {
        return { reason: 'channel_mismatch', detail: `channels [${c.channels.join(',')}] differ from the sensor's [${state.channels.join(',')}]` };
      }
      c.channels = state.channels;
    }
    state.lastTs = c.ts;
    return null;
  }
}

/** Parse stage as an operator: RawMessage -> ParseResult, one result per message. */
export function parseMessages(parser: MessageParser): OperatorFunction<RawMessage, ParseResult> {
  return map((msg: RawMessage) => parser.parse(msg));
}

/**
 * A payload as it may appear in a log line: at most 64 characters, control characters, quotes and
 * backslashes escaped, '…' when cut.
 */
export function preview(text: string): string {
  let out = '';
  let cut = 0; // length of `out` at the last piece boundary that still leaves room for '…'
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out += needsEscape(code) ? escapeCode(code) : text[i];
    if (out.length > PREVIEW_CHARS) return `${out.slice(0, cut)}…`;
    if (out.length < PREVIEW_CHARS) cut = out.length;
  }
  return out;
}

function needsEscape(code: number): boolean {
  return code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff) || code === 0x2028 || code === 0x2029;
}

function escapeCode(code: number): string {
  switch (code) {
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    default:
      return `\\u${code.toString(16).padStart(4, '0')}`;
  }
}

/** Exact powers of ten: 10^22 is the largest a double holds exactly. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
/** Below 10^15 < 2^53 every digit string is an exact integer. */
const MAX_EXACT_DIGITS = 15;

const CH_TAB = 0x09;
const CH_LF = 0x0a;
const CH_CR = 0x0d;
const CH_SPACE = 0x20;
const CH_QUOTE = 0x22;
const CH_PLUS = 0x2b;
const CH_COMMA = 0x2c;
const CH_MINUS = 0x2d;
const CH_DOT = 0x2e;
const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_E = 0x45;
const CH_LBRACKET = 0x5b;
const CH_BACKSLASH = 0x5c;
const CH_RBRACKET = 0x5d;
const CH_e = 0x65;
const CH_LBRACE = 0x7b;
const CH_RBRACE = 0x7d;

type FastForm = 'number' | 'object' | 'other';
type FastKey = 'time' | 'value' | 'values' | 'interval' | null;

/** Whether the ASCII `word` is at b[start..]; compares bytes, so no string is made per key. */
function isWordAt(b: Buffer, start: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if (b[start + i] !== word.charCodeAt(i)) return false;
  return true;
}

function isDigit(c: number | undefined): boolean {
  // Past the end a Buffer index is undefined, and comparisons with undefined are false.
  return (c as number) >= CH_0 && (c as number) <= CH_9;
}

/**
 * Recognises the common payload forms straight from the bytes (see the module comment). It is strict JSON
 * for those shapes: whatever it accepts JSON.parse accepts with the same numbers, and whatever it is not
 * sure of it reports as 'other'. Numbers: a digit string of at most 15 digits scaled by at most 10^22 is
 * one correctly rounded operation on exact operands, so it equals the correctly rounded literal (Clinger's
 * fast path); longer ones go through Number() of the literal, which JSON.parse matches.
 */
class FastScanner {
  /** The `values` array, valid up to `count`; reused across messages. */
  readonly values: number[] = [];
  count = 0;
  /** The bare number or the `value` field. */
  value = NaN;
  time = NaN;
  interval = NaN;
  hasValue = false;
  hasTime = false;
  hasInterval = false;
  hasValues = false;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  constructor(private readonly maxValues: number) {}

  scan(buf: Buffer): FastForm {
    this.buf = buf;
    this.pos = 0;
    this.count = 0;
    this.hasValue = this.hasTime = this.hasInterval = this.hasValues = false;
    this.skipWhitespace();
    let form: FastForm;
    if (buf[this.pos] === CH_LBRACE) {
      if (!this.object()) return 'other';
      form = 'object';
    } else {
      this.value = this.number();
      if (Number.isNaN(this.value)) return 'other';
      form = 'number';
    }
    this.skipWhitespace();
    return this.pos === buf.length ? form : 'other';
  }

  private skipWhitespace(): void {
    const b = this.buf;
    let p = this.pos;
    for (let c = b[p]; c === CH_SPACE || c === CH_LF || c === CH_CR || c === CH_TAB; c = b[++p]);
    this.pos = p;
  }

  /** `{...}` of known keys with number (or, for `values`, array of numbers) values, each key at most once. */
  private object(): boolean {
    const b = this.buf;
    this.pos++;
    this.skipWhitespace();
    for (;;) {
      const key = this.key();
      if (key === null) return false;
      this.skipWhitespace();
      if (b[this.pos] !== CH_COLON) return false;
      this.pos++;
      this.skipWhitespace();
      if (!this.member(key)) return false;
      this.skipWhitespace();
      const c = b[this.pos++];
      if (c === CH_RBRACE) return true;
      if (c !== CH_COMMA) return false;
      this.skipWhitespace();
    }
  }

  private member(key: Exclude<FastKey, null>): boolean {
    switch (key) {
      case 'time':
        if (this.hasTime) return false;
        this.hasTime = true;
        this.time = this.number();
        return !Number.isNaN(this.time);
      case 'value':
        if (this.hasValue) return false;
        this.hasValue = true;
        this.value = this.number();
        return !Number.isNaN(this.value);
      case 'interval':
        if (this.hasInterval) return false;
        this.hasInterval = true;
        this.interval = this.number();
        return !Number.isNaN(this.interval);
      case 'values':
        if (this.hasValues) return false;
        this.hasValues = true;
        return this.array();
    }
  }

  /** A quoted key of plain ASCII (no escapes), as one of the keys the fast forms use, else null. */
  private key(): FastKey {
    const b = this.buf;
    if (b[this.pos] !== CH_QUOTE) return null;
    const start = ++this.pos;
    let p = start;
    for (let c = b[p]; c !== CH_QUOTE; c = b[++p]) {
      if (c === undefined || c === CH_BACKSLASH || c < CH_SPACE || c >= 0x80) return null;
    }
    this.pos = p + 1;
    const length = p - start;
    if (length === 2) return isWordAt(b, start, 'ts') ? 'time' : null;
    if (length === 4) return isWordAt(b, start, 'time') ? 'time' : null;
    if (length === 5) return isWordAt(b, start, 'value') ? 'value' : null;
    if (length === 6) return isWordAt(b, start, 'values') ? 'values' : null;
    if (length === 9) return isWordAt(b, start, 'timestamp') ? 'time' : null;
    if (length === 11) return isWordAt(b, start, 'interval_ms') ? 'interval' : null;
    return null;
  }

  /** `[number, ...]`, at most maxValues of them (a longer burst is rejected, which the slow path words). */
  private array(): boolean {
    const b = this.buf;
    if (b[this.pos] !== CH_LBRACKET) return false;
    this.pos++;
    this.skipWhitespace();
    if (b[this.pos] === CH_RBRACKET) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (this.count === this.maxValues) return false;
      const v = this.number();
      if (Number.isNaN(v)) return false;
      this.values[this.count++] = v;
      this.skipWhitespace();
      const c = b[this.pos++];
      if (c === CH_RBRACKET) return true;
      if (c !== CH_COMMA) return false;
      this.skipWhitespace();
    }
  }

  /** A JSON number literal at pos with a finite value, or NaN (pos then undefined) for anything else. */
  private number(): number {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    const negative = b[p] === CH_MINUS;
    if (negative) p++;
    let mantissa = 0;
    let digits = 0;
    let c = b[p];
    if (c === CH_0) {
      c = b[++p];
      if (isDigit(c)) return NaN; // leading zero
    } else if (isDigit(c)) {
      do {
        mantissa = mantissa * 10 + (c - CH_0);
        digits++;
        c = b[++p];
      } while (isDigit(c));
    } else {
      return NaN;
    }
    let scale = 0;
    if (c === CH_DOT) {
      c = b[++p];
      if (!isDigit(c)) return NaN;
      do {
        mantissa = mantissa * 10 + (c - CH_0);
        digits++;
        scale--;
        c = b[++p];
      } while (isDigit(c));
    }
    if (c === CH_E || c === CH_e) {
      c = b[++p];
      const negativeExp = c === CH_MINUS;
      if (c === CH_MINUS || c === CH_PLUS) c = b[++p];
      if (!isDigit(c)) return NaN;
      let exp = 0;
      do {
        // Capped: beyond it the value is 0 or Infinity anyway, and Number() below decides which.
        if (exp < 100_000) exp = exp * 10 + (c - CH_0);
        c = b[++p];
      } while (isDigit(c));
      scale += negativeExp ? -exp : exp;
    }
    this.pos = p;
    let v: number;
    if (digits <= MAX_EXACT_DIGITS && scale >= -22 && scale <= 22) {
      v = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
      if (negative) v = -v;
    } else {
      v = Number(b.toString('latin1', start, p));
    }
    return Number.isFinite(v) ? v : NaN;
  }
}

function rejection(msg: RawMessage, sensor: string | null, reason: RejectReason, detail: string): Rejection {
  return { sensor, topic: msg.topic, reason, detail, receivedAt: msg.receivedAt };
}

function rejectedMessage(msg: RawMessage, sensor: string | null, reason: RejectReason, detail: string): ParseResult {
  return { kind: 'rejected', rejection: rejection(msg, sensor, reason, detail) };
}

/** Why text that JSON.parse refused is not a reading. */
function unparsable(text: string): [RejectReason, string] {
  if (text.trim() === '') return ['empty', 'payload is only whitespace'];
  if (NON_FINITE_TOKEN.test(text)) return ['non_finite', `value is not finite: "${preview(text)}"`];
  return ['bad_json', `not JSON or a number: "${preview(text)}"`];
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isProblem(c: Candidate | Problem): c is Problem {
  return 'reason' in c;
}

/** A number, or NaN when `v` is neither a number nor a decimal string. */
function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (DECIMAL.test(v)) return Number(v);
    if (NON_FINITE_TOKEN.test(v)) return Number.POSITIVE_INFINITY;
  }
  return NaN;
}

function numberProblem(v: unknown): Problem {
  const shown = preview(typeof v === 'string' ? v : String(JSON.stringify(v)));
  if (typeof v === 'number' || (typeof v === 'string' && NON_FINITE_TOKEN.test(v))) {
    return { reason: 'non_finite', detail: `value is not finite: "${shown}"` };
  }
  return { reason: 'not_a_number', detail: `not a number: "${shown}"` };
}

function timeField(obj: JsonObject): unknown {
  return obj.ts ?? obj.timestamp ?? obj.time ?? undefined;
}

function isTimeKey(key: string): boolean {
  return key === 'ts' || key === 'timestamp' || key === 'time';
}

/** The object's own time, `fallback` without one, NaN when it has an unusable one. */
function timeOf(obj: JsonObject, fallback: number): number {
  const raw = timeField(obj);
  return raw === undefined ? fallback : parseTimestamp(raw);
}

/** Epoch ms, or NaN. See the module comment for the accepted forms. */
export function parseTimestamp(raw: unknown): number {
  let ms: number;
  if (typeof raw === 'number') {
    ms = raw;
  } else if (typeof raw === 'string') {
    if (DECIMAL.test(raw)) ms = Number(raw);
    else {
      const iso = ISO_8601.exec(raw.trim());
      if (iso === null) return NaN;
      // Date.parse reads a date-time without an offset as local time; sensors on the wire mean UTC.
      const hasTime = raw.includes(':');
      ms = Date.parse(hasTime && iso[1] === undefined ? `${raw.trim()}Z` : raw.trim());
      if (Number.isNaN(ms)) return NaN;
      return ms >= MIN_TS ? ms : NaN;
    }
  } else {
    return NaN;
  }
  if (!Number.isFinite(ms)) return NaN;
  if (ms < SECONDS_BELOW) ms *= 1000;
  return ms >= MIN_TS ? ms : NaN;
}

function badTimestampDetail(raw: unknown): string {
  return `bad timestamp "${preview(typeof raw === 'string' ? raw : String(JSON.stringify(raw)))}": want epoch ms/s after 2000 or ISO 8601`;
}

/** Beyond ±8.64e15 ms a Date is invalid and toISOString throws; a message must never make the parser throw. */
const MAX_DATE_MS = 8.64e15;

function isoOf(ts: number): string {
  return Math.abs(ts) <= MAX_DATE_MS ? new Date(ts).toISOString() : `${ts} ms`;
}

function valueCandidate(v: unknown, sensor: string, ts: number): Candidate | Problem {
  const n = toNumber(v);
  if (!Number.isFinite(n)) return numberProblem(v);
  return { sensor, ts, channels: VALUE_CHANNELS, values: [n] };
}

function elementCandidate(e: unknown, sensor: string, known: readonly string[] | null, defaultTs: number): Candidate | Problem {
  if (isObject(e)) {
    const ts = timeOf(e, defaultTs);
    if (Number.isNaN(ts)) {
      const raw = timeField(e);
      return raw === undefined ? { reason: 'bad_timestamp', detail: 'no timestamp in a burst without ts/interval_ms' } : { reason: 'bad_timestamp', detail: badTimestampDetail(raw) };
    }
    return objectCandidate(e, sensor, known, ts);
  }
  if (Number.isNaN(defaultTs)) return { reason: 'bad_timestamp', detail: 'bare value in a burst without ts/interval_ms' };
  return valueCandidate(e, sensor, defaultTs);
}

/**
 * Channels of a one-reading object. When the sensor's channel set is known, values are placed straight
 * into its order (no key array, no sort); otherwise, or on a mismatch, the found keys are sorted.
 */
function objectCandidate(obj: JsonObject, sensor: string, known: readonly string[] | null, ts: number): Candidate | Problem {
  if (known !== null) {
    const values = new Array<number>(known.length);
    let found = 0;
    let fits = true;
    for (const key in obj) {
      if (isTimeKey(key)) continue;
      const v = obj[key];
      if (!isChannelValue(v)) continue;
      const n = toNumber(v);
      if (!Number.isFinite(n)) return channelProblem(key, v);
      const idx = known.indexOf(key);
      if (idx === -1) {
        fits = false;
        break;
      }
      values[idx] = n;
      found++;
    }
    if (fits && found === known.length) return { sensor, ts, channels: known, values };
  }
  const keys: string[] = [];
  for (const key in obj) {
    if (!isTimeKey(key) && isChannelValue(obj[key])) keys.push(key);
  }
  if (keys.length === 0) return { reason: 'not_a_number', detail: `no numeric field in "${preview(JSON.stringify(obj))}"` };
  keys.sort();
  const values = new Array<number>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const v = obj[keys[i]];
    const n = toNumber(v);
    if (!Number.isFinite(n)) return channelProblem(keys[i], v);
    values[i] = n;
  }
  return { sensor, ts, channels: keys.length === 1 && keys[0] === 'value' ? VALUE_CHANNELS : Object.freeze(keys), values };
}

/** Numbers and numeric-looking strings (including "NaN", which is then rejected as non_finite) are channels. */
function isChannelValue(v: unknown): boolean {
  return typeof v === 'number' || (typeof v === 'string' && (DECIMAL.test(v) || NON_FINITE_TOKEN.test(v)));
}

function channelProblem(key: string, v: unknown): Problem {
  const p = numberProblem(v);
  return { reason: p.reason, detail: `channel ${preview(key)}: ${p.detail}` };
}

function sameChannels(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isSortedByTs(cs: readonly Candidate[]): boolean {
  for (let i = 1; i < cs.length; i++) if (cs[i].ts < cs[i - 1].ts) return false;
  return true;
}

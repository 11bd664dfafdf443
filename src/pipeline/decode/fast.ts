/**
 * The fast path's decoder: the common payload forms read straight from the bytes, with no JSON object
 * graph and no string built. Forms: a bare number; `{"ts": N, "value": V}` with any one of the time keys
 * `ts`, `time`, `timestamp`; `{"values": [numbers], "ts"?: N, "interval_ms"?: N}`; keys in any order, any
 * JSON whitespace. It accepts exactly those shapes when every number is a finite JSON number literal, and
 * reports 'other' for anything it is not sure of (strings, null, other or duplicate keys, non-ASCII keys,
 * truncation), which then takes the JSON.parse decoders. Both give identical readings
 * (test/pipeline/parse-fast.test.ts).
 */
import { outOfRange } from './text.js';

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

export type FastForm = 'number' | 'object' | 'other';
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
export class FastScanner {
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
      // Out of range: the JSON decoders say so (`out_of_range`).
      if (Number.isNaN(this.value) || outOfRange(this.value)) return 'other';
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
        return !Number.isNaN(this.value) && !outOfRange(this.value);
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
      if (Number.isNaN(v) || outOfRange(v)) return false;
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

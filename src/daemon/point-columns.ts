/**
 * Readings kept as columns (typed arrays), not as one SeriesPoint object with three arrays each: what an open
 * episode holds of its stream (SignalBook: the BEFORE_POINTS normal readings before it and up to HEAD_POINTS of its
 * first). As objects a one-channel reading took ~230 B of heap (an open episode ~193 kB, 1,000 of them ~190 MB:
 * BENCHMARKS.md, `mem1000`); here 8 B of time, 4 B (8 B once wide) per value, expectation and spread a channel, 4 B
 * (8 B once wide) of surprise and 1 B of flags. The readings come back (points) as the same SeriesPoints, number for
 * number: every number is held as it came (float32 columns only while every number held is a float32 itself, then
 * float64 for good), and so are which arrays were null and the status (with SeriesPoint.closing).
 */
import type { SeriesPoint } from '../pipeline/series.js';

/** Flag bits of a reading: its status code (2 bits), closing, expected null, spread null. */
const STATUS_MASK = 3;
const CLOSING = 4;
const NO_EXPECTED = 8;
const NO_SPREAD = 16;
const STATUS_CODE: Readonly<Record<SeriesPoint['status'], number>> = { learning: 0, ok: 1, anomalous: 2 };
const STATUS_OF: readonly SeriesPoint['status'][] = ['learning', 'ok', 'anomalous'];
/** Readings a growing column set holds room for at first (PointColumns.push doubles it when full). */
const START = 16;

type Floats = Float32Array | Float64Array;

/** Whether a float32 holds `x` as it is (NaN counts: the columns hold NaN where an array had none). */
const isFloat32 = (x: number): boolean => Number.isNaN(x) || Object.is(Math.fround(x), x);

/**
 * The readings of one stream in time order, `C` channels each (the first reading's), as columns; a reading of another
 * shape (values, expected or spread not of C numbers: a stream whose channels changed) is kept as it is, aside.
 */
export class PointColumns {
  /** Channels of each reading held in the columns (the first reading's `values.length`; 0 before it). */
  private C = 0;
  private count = 0;
  private ts: Float64Array;
  private vals: Floats;
  private exp: Floats;
  private spr: Floats;
  private surprise: Floats;
  private flags: Uint8Array;
  /** Readings of another shape than C channels, by index. */
  private odd: Map<number, SeriesPoint> | null = null;

  /**
   * @param capacity readings to hold room for at first (more are made room for by doubling: push)
   * @param max readings held at most: push refuses more (returns false)
   */
  constructor(
    capacity: number,
    readonly max: number,
  ) {
    const n = Math.max(0, Math.min(capacity, max));
    this.ts = new Float64Array(n);
    this.vals = new Float32Array(0);
    this.exp = new Float32Array(0);
    this.spr = new Float32Array(0);
    this.surprise = new Float32Array(n);
    this.flags = new Uint8Array(n);
  }

  /** Columns holding `points` (time order) and room for exactly them, or `max` (default: as many) at most. */
  static of(points: readonly SeriesPoint[], max = points.length): PointColumns {
    const out = new PointColumns(points.length, Math.max(max, points.length));
    for (const p of points) out.push(p);
    return out;
  }

  /** Readings held. */
  get length(): number {
    return this.count;
  }

  /** The time of the i-th reading (epoch ms); undefined outside 0 … length − 1. */
  tsAt(i: number): number | undefined {
    return i >= 0 && i < this.count ? this.ts[i] : undefined;
  }

  /** The time of the newest reading (epoch ms), -Infinity when none. */
  lastTs(): number {
    return this.count > 0 ? this.ts[this.count - 1] : -Infinity;
  }

  /** Channel c's value of the i-th reading (sensor units; NaN when it has none). */
  valueAt(i: number, c: number): number {
    const o = this.odd?.get(i);
    if (o !== undefined) return o.values[c] ?? Number.NaN;
    return c >= 0 && c < this.C ? this.vals[i * this.C + c] : Number.NaN;
  }

  /**
   * Appends a reading (newer than or as old as the last: the caller keeps time order). Returns false, holding
   * nothing, when `max` readings are held.
   */
  push(p: SeriesPoint): boolean {
    if (this.count >= this.max) return false;
    if (this.count === 0 && this.odd === null && this.C === 0) this.shape(p.values.length);
    const i = this.count;
    if (i === this.ts.length) this.grow();
    this.ts[i] = p.ts;
    const C = this.C;
    const exp = p.expected;
    const spr = p.spread;
    if (p.values.length !== C || (exp !== null && exp.length !== C) || (spr !== null && spr.length !== C)) {
      (this.odd ??= new Map()).set(i, p);
    } else {
      if (!this.wide() && !this.fits(p)) this.widen();
      for (let c = 0; c < C; c++) {
        this.vals[i * C + c] = p.values[c];
        this.exp[i * C + c] = exp === null ? Number.NaN : exp[c];
        this.spr[i * C + c] = spr === null ? Number.NaN : spr[c];
      }
    }
    if (!(this.surprise instanceof Float64Array) && !isFloat32(p.surprise)) this.surprise = Float64Array.from(this.surprise);
    this.surprise[i] = p.surprise;
    this.flags[i] = STATUS_CODE[p.status] | (p.closing === true ? CLOSING : 0) | (exp === null ? NO_EXPECTED : 0) | (spr === null ? NO_SPREAD : 0);
    this.count++;
    return true;
  }

  /** The readings from index `from` to `to` (exclusive; default all) as SeriesPoints, each with arrays of its own. */
  points(from = 0, to = this.count): SeriesPoint[] {
    const a = Math.max(0, from);
    const b = Math.min(this.count, to);
    const out = new Array<SeriesPoint>(Math.max(0, b - a));
    for (let i = a; i < b; i++) out[i - a] = this.point(i);
    return out;
  }

  /** The i-th reading as a SeriesPoint (0 ≤ i < length). */
  point(i: number): SeriesPoint {
    const o = this.odd?.get(i);
    if (o !== undefined) return o;
    const C = this.C;
    const f = this.flags[i];
    const values = new Array<number>(C);
    for (let c = 0; c < C; c++) values[c] = this.vals[i * C + c];
    let expected: number[] | null = null;
    if ((f & NO_EXPECTED) === 0) {
      expected = new Array<number>(C);
      for (let c = 0; c < C; c++) expected[c] = this.exp[i * C + c];
    }
    let spread: number[] | null = null;
    if ((f & NO_SPREAD) === 0) {
      spread = new Array<number>(C);
      for (let c = 0; c < C; c++) spread[c] = this.spr[i * C + c];
    }
    return { ts: this.ts[i], values, expected, spread, surprise: this.surprise[i], status: STATUS_OF[f & STATUS_MASK], ...((f & CLOSING) !== 0 ? { closing: true as const } : {}) };
  }

  /** Bytes the columns take (their typed arrays' room, not the readings kept aside). */
  get bytes(): number {
    return this.ts.byteLength + this.vals.byteLength + this.exp.byteLength + this.spr.byteLength + this.surprise.byteLength + this.flags.byteLength;
  }

  private wide(): boolean {
    return this.vals instanceof Float64Array;
  }

  /** Whether every number of `p` a float32 column would hold is a float32 already. */
  private fits(p: SeriesPoint): boolean {
    for (let c = 0; c < this.C; c++) {
      if (!isFloat32(p.values[c]) || (p.expected !== null && !isFloat32(p.expected[c])) || (p.spread !== null && !isFloat32(p.spread[c]))) return false;
    }
    return true;
  }

  /** Sets the channels (C) from the first reading and makes the per-channel columns for the room held. */
  private shape(C: number): void {
    this.C = C;
    const n = this.ts.length * C;
    this.vals = new Float32Array(n);
    this.exp = new Float32Array(n);
    this.spr = new Float32Array(n);
  }

  /** Values, expectations and spreads as float64 from now on (those held are float32s: copied exactly). */
  private widen(): void {
    this.vals = Float64Array.from(this.vals);
    this.exp = Float64Array.from(this.exp);
    this.spr = Float64Array.from(this.spr);
  }

  /** Doubles the room (START at least, `max` at most), keeping what is held. */
  private grow(): void {
    const n = Math.min(this.max, Math.max(START, this.ts.length * 2));
    const C = this.C;
    const take = <A extends Float64Array | Float32Array | Uint8Array>(from: A, to: A): A => {
      to.set(from);
      return to;
    };
    this.ts = take(this.ts, new Float64Array(n));
    const floats = (wide: boolean, len: number): Floats => (wide ? new Float64Array(len) : new Float32Array(len));
    const w = this.wide();
    this.vals = take<Floats>(this.vals, floats(w, n * C));
    this.exp = take<Floats>(this.exp, floats(w, n * C));
    this.spr = take<Floats>(this.spr, floats(w, n * C));
    this.surprise = take<Floats>(this.surprise, floats(this.surprise instanceof Float64Array, n));
    this.flags = take(this.flags, new Uint8Array(n));
  }
}

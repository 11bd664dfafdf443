/**
 * The dashboard's series: per stream, what was read, what the model expected and how surprising it was,
 * for the ranges the page offers (1 h, 24 h, 7 d), bounded in memory and in SD-card writes.
 *
 *   raw      the newest `rawPoints` scored readings of each stream (default 1800: half an hour at 1 Hz),
 *            in typed-array rings, in memory only: 13 bytes per reading + 12 per channel, ≈ 45 kB for a
 *            one-value stream that has sent 1800 readings; a ring starts at 16 readings and grows by half as its
 *            stream goes on, so streams that send a few readings and stop cost little (measured per stream in
 *            docs/SECURITY.md, "Memory"). The daemon tracks as many streams as `ingest.maxStreams` (maxStreams):
 *            every stream it scores has its ring, which its alerts' explanations are told from (tryout 25,
 *            finding 4: a cap of 1000 here left streams 1001 … 5000 alerted with no explanation and no plot).
 *            Values, expectations and spreads are float32 while the stream's readings fit one at the 7
 *            significant digits they are shown with (fitsFloat32: 20.1, 1234.5); from the first that does not
 *            (a meter's 20210701, a kWh total's 123456.101, a simulation's 20.123456789) the ring holds float64
 *            (24 bytes per channel) and the API gives them at 15 digits, not rounded to 7 (tryout 13: a
 *            meter counting 20210701 … 20210712 read 20210700 five times). Buckets likewise (SeriesBucket.stats).
 *   tier 1   1-minute buckets (mean, min, max, mean expected and spread per channel; highest surprise;
 *            readings in an episode), kept 26 h behind the stream's newest reading;
 *   tier 2   15-minute buckets, kept 8 days.
 *
 * Buckets close when a reading of the next bucket arrives and are handed to the persistence port
 * (SQLite) together, at most once per `writeIntervalMs` of wall-clock time (default 60 s): one small
 * transaction a minute, whatever the number of streams, ≈ 100 bytes per stream and minute; sooner when
 * WRITE_BATCH (10,000) are queued (writeDue: a backfill closes a bucket per reading, days of them in
 * seconds). At stop the open buckets are written as they are.
 *
 * A query takes the span ending at the stream's newest reading (not the wall clock: a stream that went
 * quiet still shows its last hour), from the raw ring when it is short, with 1-minute buckets for what
 * the ring no longer holds, and from the buckets for longer spans (up to 2 days from the minutes, their 26 h kept and
 * quarter-hours before them); then thins it to at most `maxPoints`
 * by merging neighbours. Where the model gave no expectation, a baseline band (rolling median ± robust
 * spread of the preceding normal points) stands in, flagged as such. No I/O of its own: persistence is the
 * injected port.
 */
import type { ScoredReading } from '../contract/types.js';
import { BUCKET_STATS, TIER_RETENTION_MS, TIER_WIDTH_MS, type SeriesBucket, type SeriesBucketStore, type SeriesTier } from '../contract/series.js';
import { decimalPlaces, median, quantum, robustSigma } from '../explain/robust.js';
import { readingPrecision } from '../explain/explain.js';
import { SURPRISE_SHOWN_MAX, shownSurprise, surpriseOf } from '../contract/surprise.js';

export const DEFAULT_RAW_POINTS = 1800;
/** The first bytes of a rawBlob (format 1). */
const RAW_BLOB_MAGIC = 'anomalyd-raw/1';
/**
 * Streams whose raw readings are kept at most (the daemon passes the smaller of this and ingest.maxStreams): past
 * it a new stream takes the place of the one read least recently (record). 1,000 one-value streams with full rings
 * are about 41 MB; sized to ingest.maxStreams (5,000) a flood of junk topics took the daemon past the unit's
 * MemoryMax (test/e2e/hostile.test.ts: peak 304-310 MB against 271 MB).
 */
export const DEFAULT_MAX_STREAMS = 1000;
export const DEFAULT_WRITE_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_POINTS = 800;
/** Spans up to this long come from the raw ring (and 1-minute buckets before it). */
export const RAW_SPAN_MS = 3 * 3_600_000;
/**
 * Spans up to this long come from 1-minute buckets (those kept: the newest TIER_RETENTION_MS[1], 26 h; what the span
 * asks before them from 15-minute buckets); longer ones from 15-minute buckets.
 */
export const TIER1_SPAN_MS = 2 * 86_400_000;
/** Preceding normal points the baseline band is computed from. */
export const BASELINE_POINTS = 30;
/**
 * Closed buckets queued that are written at once (writeDue, flush), whatever the time since the last write: a backfill
 * closes a minute bucket with about every reading, and a history of days loaded in seconds queued more than MAX_PENDING
 * within one writeIntervalMs (tryout 38, finding 4: 16 days of 5-minute readings of 20 weather streams, loaded over MQTT, kept
 * the quarter-hours of the streams loaded last only; `anomalyd history wx0/temperature --range 7d` gave 1 point). Live, a
 * minute of 5,000 streams at 1 Hz closes about 5,300 buckets: still one write a minute.
 */
export const WRITE_BATCH = 10_000;
/**
 * Closed buckets waiting for the database beyond this are dropped, oldest first, once WRITE_BATCH more wait (the queue
 * holds at most MAX_PENDING + WRITE_BATCH - 1): only while the database refuses them (the queue is written at
 * WRITE_BATCH), counted (droppedBuckets) and logged by the daemon.
 */
export const MAX_PENDING = 50_000;
const PRUNE_EVERY_MS = 3_600_000;
const STATS = BUCKET_STATS.length;

/**
 * Why SeriesStore.record did not keep a reading: `duplicate` identical (time and every value) to one the stream
 * holds at that time; `out_of_order` before the stream's newest reading; `malformed` no finite time, no values, or
 * values and channels of different lengths; `evicted` the raw readings in memory of a stream dropped to make room for a
 * new stream past maxStreams, the one whose newest reading was recorded least recently (counted once per stream
 * dropped; its 1- and 15-minute buckets stay, and its next reading starts its ring afresh).
 */
export type SeriesNotKept = 'duplicate' | 'out_of_order' | 'malformed' | 'evicted';

export interface SeriesStoreOptions {
  /** Raw readings kept per stream. */
  readonly rawPoints?: number;
  /**
   * Streams tracked at most (the daemon: ingest.maxStreams, so every stream it scores is tracked); a new stream past
   * it takes the place of the stream recorded least recently (counted `evicted`).
   */
  readonly maxStreams?: number;
  /** Where closed buckets go; null keeps only the raw rings and the open buckets. */
  readonly persist?: SeriesBucketStore | null;
  /** Least wall-clock time between two writes of closed buckets, ms. */
  readonly writeIntervalMs?: number;
  /** Wall clock, epoch ms (paces the writes only). */
  readonly now?: () => number;
}

export interface SeriesQuery {
  /** Length of the span, ms, ending at the stream's newest reading. */
  readonly rangeMs: number;
  /** Also drop points before this time (epoch ms). */
  readonly since?: number;
  /** Thin to at most this many points. */
  readonly maxPoints?: number;
}

/**
 * Unit breaks a stream keeps (SeriesStore.noteUnitBreak): the newest ones, as many as SignalBook keeps unit changes.
 * Past them the unit of the older readings is no longer known: they are left out of a query's answer (unitKnownFrom).
 */
export const MAX_UNIT_BREAKS = 8;

/** A span of time, epoch ms: `from <= ts < to`. */
export interface TimeSpan {
  readonly from: number;
  readonly to: number;
}

/** A raw reading as the explainer and the API see it. */
export interface SeriesPoint {
  readonly ts: number;
  readonly values: readonly number[];
  readonly expected: readonly number[] | null;
  readonly spread: readonly number[] | null;
  readonly surprise: number;
  readonly status: ScoredReading['status'];
  /**
   * True for an `anomalous` reading after its episode's end as told (SeriesStore.settleEpisode: a closing reading, not
   * shaded); absent otherwise.
   */
  readonly closing?: true;
}

/**
 * A stream's series for a span, columnar. Per-channel columns are arrays of C arrays (`value[c][i]`);
 * null where there is nothing. Sensor units; surprise and threshold on the surprise scale, -log10(1 - p).
 */
export interface SeriesView {
  readonly stream: string;
  readonly channels: readonly string[];
  /** The span asked for, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** Where the points came from. */
  readonly source: 'raw' | 'minutes' | 'quarter-hours' | 'none';
  /** Time covered by the coarsest point, ms: 0 when every point is a raw reading. */
  readonly resolutionMs: number;
  /** Point times, epoch ms (a bucket's middle). */
  readonly ts: number[];
  /** Readings merged into each point. */
  readonly count: number[];
  readonly value: (number | null)[][];
  /** Lowest and highest reading of merged points; null for a single reading. */
  readonly min: (number | null)[][];
  readonly max: (number | null)[][];
  /** The model's expectation and one spread, null where it gave none. */
  readonly expected: (number | null)[][];
  readonly spread: (number | null)[][];
  /** Where `expected` is null: rolling median and robust spread of the preceding normal points. */
  readonly baseline: (number | null)[][];
  readonly baselineSpread: (number | null)[][];
  /** Highest surprise of each point, at most SURPRISE_SHOWN_MAX (16); null while the sensor was learning (its score means nothing yet). */
  readonly surprise: (number | null)[];
  /** The threshold, as surprise. */
  readonly threshold: (number | null)[];
  /** True where readings of the point were in an open episode. */
  readonly anomalous: boolean[];
  /** The stream's newest scored reading, when it has one in memory (recorded since start, or restored: restoreLatest). */
  readonly latest: ScoredReading | null;
  /**
   * Epoch ms, present when the span asked for reaches before it: the stream's unit changed more than MAX_UNIT_BREAKS
   * times, and the readings before the newest change forgotten are in a unit no longer known, so they are left out
   * (no point is given, nor drawn, in a unit it may not be in; SeriesStore.noteUnitBreak).
   */
  readonly unitKnownFrom?: number;
}

/** The shown surprise of a score (src/contract/surprise.ts: one conversion and one cap for every output). */
export { surpriseOf } from '../contract/surprise.js';

const STATUS_CODE: Readonly<Record<ScoredReading['status'], number>> = { learning: 0, ok: 1, anomalous: 2 };
/** The bucket tiers a reading goes into, finest first (one array, not one per reading). */
const TIERS: readonly SeriesTier[] = [1, 2];
/**
 * Per code: the status a reading was scored with. Code 3 (CLOSING) is a reading scored `anomalous` (its episode was
 * open) that lies after its episode's end as told (SeriesStore.settleEpisode: the closing readings an episode is held
 * open by before its resolve): still `anomalous` to what reads the scored statuses (an explanation's normal readings),
 * not shaded by a query.
 */
const STATUS_OF: readonly ScoredReading['status'][] = ['learning', 'ok', 'anomalous', 'anomalous'];
/** Ring status code of a closing reading (STATUS_OF). */
const CLOSING = 3;

/** Readings a ring holds before its first growth: a stream that sends a few readings and stops costs little. */
const RING_START = 16;
/** A full ring's arrays grow by this factor (rounded up; at most to its `max`). */
const RING_GROWTH = 1.5;

/**
 * True when a float32 keeps `v` as it is shown at 7 significant digits, i.e. `v` has at most about 7 significant
 * digits (20.1, 1234.5, 0.001234; non-finite values, and float32 values themselves, too). False for one float32 would round: 20210701 (float32:
 * 20210700), 123456.101 (123456.1), or any value with more digits than 7.
 */
export function fitsFloat32(v: number): boolean {
  // A float32 itself fits too (a reading read back from a float32 ring's checkpoint: restoreRecent).
  if (!Number.isFinite(v)) return true;
  const f = Math.fround(v);
  return f === v || Number(f.toPrecision(7)) === v;
}

/** Whether every value fits a float32 (fitsFloat32): what a narrow ring or bucket asks of each reading, once. */
function allFitFloat32(values: readonly number[]): boolean {
  for (let i = 0; i < values.length; i++) if (!fitsFloat32(values[i])) return false;
  return true;
}

type Floats = Float32Array | Float64Array;
const floats = (wide: boolean, n: number): Floats => (wide ? new Float64Array(n) : new Float32Array(n));

/**
 * The newest `max` readings of one stream. Its arrays start at RING_START readings and grow by half when full
 * (RING_GROWTH), up to `max`: a junk or short-lived stream never takes the ≈ 45 kB of a full one-value ring,
 * and a growing one holds at most half as much room again as it has readings (doubling: up to twice).
 */
/** The widest span of times (ms) a ring holds as 32-bit offsets from its base. */
const TS_SPAN = 0xffff_ffff;
/** A time a ring may hold as an offset: a safe integer (so every sum and difference is exact), not -0. */
const wholeMs = (t: number): boolean => Number.isSafeInteger(t) && !Object.is(t, -0);

class Ring {
  /**
   * The readings' times (epoch ms) as whole ms after `tsBase`, 4 bytes a reading instead of 8, while every time the
   * ring holds is a whole ms within TS_SPAN (49.7 days) of the others (the base moves to the oldest when a newer
   * time would not fit); then, for good, the times themselves (`ts64`). Read through tsAt: the same numbers either way.
   */
  ts32: Uint32Array | null;
  ts64: Float64Array | null = null;
  tsBase = 0;
  /** Float32 until a reading does not fit one (fitsFloat32), then float64 for good (`wide`). */
  vals: Floats;
  exp: Floats;
  spr: Floats;
  wide = false;
  surprise: Float32Array;
  status: Uint8Array;
  /** Readings the arrays hold now (grows to `max`). */
  capacity: number;
  next = 0;
  size = 0;

  constructor(
    readonly max: number,
    readonly C: number,
  ) {
    this.capacity = Math.min(max, RING_START);
    this.ts32 = new Uint32Array(this.capacity);
    this.vals = new Float32Array(this.capacity * C);
    this.exp = new Float32Array(this.capacity * C);
    this.spr = new Float32Array(this.capacity * C);
    this.surprise = new Float32Array(this.capacity);
    this.status = new Uint8Array(this.capacity);
  }

  /** `fits`: allFitFloat32(r.values) when the caller knows it (else found here, while the ring is narrow). */
  push(r: ScoredReading | SeriesPoint, fits?: boolean): void {
    if (!this.wide && !(fits ?? allFitFloat32(r.values))) this.widen();
    if (this.size === this.capacity && this.capacity < this.max) this.grow();
    const i = this.next;
    this.setTs(i, r.ts);
    for (let c = 0; c < this.C; c++) {
      this.vals[i * this.C + c] = r.values[c];
      this.exp[i * this.C + c] = r.expected?.[c] ?? NaN;
      this.spr[i * this.C + c] = r.spread?.[c] ?? NaN;
    }
    this.surprise[i] = r.surprise;
    this.status[i] = 'closing' in r && r.closing === true ? CLOSING : STATUS_CODE[r.status];
    this.next = (i + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /**
   * Holds values, expectations and spreads as float64 from now on. Those already held fitted a float32 at 7
   * significant digits (fitsFloat32), so they are taken back at those digits (20.1, not 20.100000381469727).
   */
  widen(): void {
    if (this.wide) return;
    const back = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(7)) : x);
    this.vals = Float64Array.from(this.vals, back);
    this.exp = Float64Array.from(this.exp, back);
    this.spr = Float64Array.from(this.spr, back);
    this.wide = true;
  }

  /** The time of the reading at ring index i (epoch ms). */
  tsAt(i: number): number {
    return this.ts64 !== null ? this.ts64[i] : this.tsBase + this.ts32![i];
  }

  /** Writes time `t` at ring index i (the slot about to hold the newest reading). */
  private setTs(i: number, t: number): void {
    if (this.ts64 !== null) {
      this.ts64[i] = t;
      return;
    }
    const ts32 = this.ts32!;
    // The first time is the base; -0 is held as itself (an offset would give +0).
    if (this.size === 0 && wholeMs(t)) this.tsBase = t;
    const d = t - this.tsBase;
    if (wholeMs(t) && d >= 0 && d <= TS_SPAN) {
      ts32[i] = d;
      return;
    }
    // Rebase on the lowest of the times held (not counting slot i, about to be overwritten) and t, if they all fit.
    let lo = wholeMs(t) ? t : NaN;
    let hi = lo;
    for (let k = 0; k < this.size; k++) {
      const j = this.at(k);
      if (j === i && this.size === this.capacity) continue;
      const v = this.tsBase + ts32[j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo <= TS_SPAN) {
      for (let k = 0; k < this.size; k++) {
        const j = this.at(k);
        if (j === i && this.size === this.capacity) continue;
        ts32[j] = this.tsBase + ts32[j] - lo;
      }
      this.tsBase = lo;
      ts32[i] = t - lo;
      return;
    }
    // Not a whole ms, or the times span more than TS_SPAN: the times themselves from now on.
    const ts64 = new Float64Array(this.capacity);
    for (let k = 0; k < this.size; k++) {
      const j = this.at(k);
      ts64[j] = this.tsBase + ts32[j];
    }
    ts64[i] = t;
    this.ts64 = ts64;
    this.ts32 = null;
  }

  /** Grows the arrays by RING_GROWTH (at most to `max`), oldest reading first. */
  private grow(): void {
    const cap = Math.min(this.max, Math.ceil(this.capacity * RING_GROWTH));
    const C = this.C;
    // Oldest first: the ring's readings from the oldest's slot to the end of the arrays, then those from slot 0
    // (two block copies per array, not one per reading).
    const start = this.at(0);
    const first = Math.min(this.size, this.capacity - start);
    const rest = this.size - first;
    const take = <A extends Float64Array | Floats | Uint8Array | Uint32Array>(from: A, make: (n: number) => A, width: number): A => {
      const to = make(cap * width);
      to.set(from.subarray(start * width, (start + first) * width), 0);
      if (rest > 0) to.set(from.subarray(0, rest * width), first * width);
      return to;
    };
    if (this.ts64 !== null) this.ts64 = take(this.ts64, (n) => new Float64Array(n), 1);
    else this.ts32 = take(this.ts32!, (n) => new Uint32Array(n), 1);
    this.vals = take<Floats>(this.vals, (n) => floats(this.wide, n), C);
    this.exp = take<Floats>(this.exp, (n) => floats(this.wide, n), C);
    this.spr = take<Floats>(this.spr, (n) => floats(this.wide, n), C);
    this.surprise = take(this.surprise, (n) => new Float32Array(n), 1);
    this.status = take(this.status, (n) => new Uint8Array(n), 1);
    this.capacity = cap;
    this.next = this.size % cap;
  }

  /** Ring index of the k-th oldest reading. */
  at(k: number): number {
    return (this.next - this.size + k + this.capacity * 2) % this.capacity;
  }

  oldestTs(): number {
    return this.size === 0 ? Infinity : this.tsAt(this.at(0));
  }

  point(i: number): SeriesPoint {
    const C = this.C;
    // Indexed copies (Array.from of a subarray makes a view and walks an iterator: an explanation reads hundreds).
    const values = new Array<number>(C);
    const exp = new Array<number>(C);
    const spr = new Array<number>(C);
    let hasExp = false;
    for (let c = 0; c < C; c++) {
      values[c] = this.vals[i * C + c];
      exp[c] = this.exp[i * C + c];
      spr[c] = this.spr[i * C + c];
      if (Number.isFinite(exp[c])) hasExp = true;
    }
    return {
      ts: this.tsAt(i),
      values,
      expected: hasExp ? exp : null,
      spread: hasExp ? spr : null,
      surprise: this.surprise[i],
      status: STATUS_OF[this.status[i]],
      ...(this.status[i] === CLOSING ? { closing: true as const } : {}),
    };
  }
}

/**
 * The per-channel sums of one open bucket, in one buffer of BUCKET_FIELDS × C doubles (field f of channel c at
 * f · C + c): sum, min, max of the values, the sum and count of the expected values and of the spreads. Seven arrays
 * of C cost about 1.4 kB of objects per bucket for one channel; one buffer about 200 bytes.
 */
const SUM = 0;
const MIN = 1;
const MAX = 2;
const EXP_SUM = 3;
const EXP_N = 4;
const SPR_SUM = 5;
const SPR_N = 6;
const BUCKET_FIELDS = 7;

class Bucket {
  n = 0;
  private readonly acc: Float64Array;
  surpriseMax = NaN;
  threshold = NaN;
  anomalous = 0;
  /** A reading did not fit a float32 (fitsFloat32): the row's stats are float64. */
  wide = false;

  constructor(
    readonly startTs: number,
    readonly C: number,
  ) {
    this.acc = new Float64Array(BUCKET_FIELDS * C);
    this.acc.fill(Infinity, MIN * C, (MIN + 1) * C);
    this.acc.fill(-Infinity, MAX * C, (MAX + 1) * C);
  }

  /** `fits`: allFitFloat32(r.values) (SeriesStore.record finds it once for the ring and both tiers). */
  add(r: ScoredReading, fits: boolean): void {
    this.n++;
    const C = this.C;
    const a = this.acc;
    if (!fits) this.wide = true;
    for (let c = 0; c < C; c++) {
      const v = r.values[c];
      a[SUM * C + c] += v;
      if (v < a[MIN * C + c]) a[MIN * C + c] = v;
      if (v > a[MAX * C + c]) a[MAX * C + c] = v;
      const e = r.expected?.[c];
      if (e !== undefined && Number.isFinite(e)) {
        a[EXP_SUM * C + c] += e;
        a[EXP_N * C + c]++;
      }
      const s = r.spread?.[c];
      if (s !== undefined && Number.isFinite(s)) {
        a[SPR_SUM * C + c] += s;
        a[SPR_N * C + c]++;
      }
    }
    // While the sensor learns its score means nothing yet: no surprise is shown for it.
    if (r.status !== 'learning' && !(r.surprise <= this.surpriseMax)) this.surpriseMax = r.surprise;
    this.threshold = r.threshold;
    if (r.status === 'anomalous') this.anomalous++;
  }

  /**
   * Takes in the readings of `row`, the same bucket's part written before (at a stop, or when its stream was dropped
   * from memory: forget), as if they had been added here: counts and sums add, min and max widen, the highest surprise
   * and the anomalous count carry over (tryout 25, finding 5: after a restart the minute and the quarter-hour in
   * progress were written anew with only the readings since the start, 412 of 762). The row keeps means, not sums:
   * its sums are mean × count, and its expected values and spreads count as given for each of its readings (a
   * bucket's expected mean is then weighted by readings where the model gave one for only some of them: a mean of
   * means, within the bucket's own range).
   */
  merge(row: SeriesBucket): void {
    const C = this.C;
    const a = this.acc;
    const n = row.count;
    if (!(n > 0) || row.channels.length !== C) return;
    this.n += n;
    if (row.stats instanceof Float64Array) this.wide = true;
    for (let c = 0; c < C; c++) {
      const [mean, min, max, exp, spr] = [0, 1, 2, 3, 4].map((k) => row.stats[c * STATS + k]);
      a[SUM * C + c] += mean * n;
      if (min < a[MIN * C + c]) a[MIN * C + c] = min;
      if (max > a[MAX * C + c]) a[MAX * C + c] = max;
      if (Number.isFinite(exp)) {
        a[EXP_SUM * C + c] += exp * n;
        a[EXP_N * C + c] += n;
      }
      if (Number.isFinite(spr)) {
        a[SPR_SUM * C + c] += spr * n;
        a[SPR_N * C + c] += n;
      }
    }
    if (Number.isFinite(row.surpriseMax) && !(row.surpriseMax <= this.surpriseMax)) this.surpriseMax = row.surpriseMax;
    if (Number.isNaN(this.threshold)) this.threshold = row.threshold;
    this.anomalous += row.anomalous;
  }

  toRow(stream: string, tier: SeriesTier, channels: readonly string[]): SeriesBucket {
    const C = this.C;
    const a = this.acc;
    const stats = floats(this.wide, C * STATS);
    for (let c = 0; c < C; c++) {
      stats.set(
        [
          a[SUM * C + c] / this.n,
          a[MIN * C + c],
          a[MAX * C + c],
          a[EXP_N * C + c] > 0 ? a[EXP_SUM * C + c] / a[EXP_N * C + c] : NaN,
          a[SPR_N * C + c] > 0 ? a[SPR_SUM * C + c] / a[SPR_N * C + c] : NaN,
        ],
        c * STATS,
      );
    }
    return { stream, tier, startTs: this.startTs, count: this.n, channels, stats, surpriseMax: this.surpriseMax, threshold: this.threshold, anomalous: this.anomalous };
  }
}

interface StreamState {
  channels: readonly string[];
  ring: Ring;
  open: Record<SeriesTier, Bucket | null>;
  latest: ScoredReading | null;
  lastPrunedTs: number;
  /** SeriesStore's record count when the stream's newest reading was recorded (or the state made): who is evicted first. */
  used: number;
}

/** One point before thinning: a raw reading or a bucket. */
interface Pt {
  ts: number;
  /** Which stretch between the stream's unit breaks the point lies in (breaks at or before it); 0 without breaks. */
  part: number;
  count: number;
  value: number[];
  min: number[] | null;
  max: number[] | null;
  expected: number[];
  spread: number[];
  surprise: number;
  threshold: number;
  anomalous: boolean;
  /** Held as float64 (a wide ring or bucket): shown at 15 significant digits, not 7. */
  wide: boolean;
}

/** 10^d for the decimals sentDecimals counts (0 to 6). */
const POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/** Raw readings readingDecimals looks at by default: enough to meet a reading with every decimal the device sends. */
export const READING_DECIMALS_OF = 64;

export class SeriesStore {
  private readonly streams = new Map<string, StreamState>();
  private readonly rawPoints: number;
  private readonly maxStreams: number;
  private readonly persist: SeriesBucketStore | null;
  private readonly writeIntervalMs: number;
  private readonly now: () => number;
  private pending: SeriesBucket[] = [];
  /** The newest of `pending` per stream, tier and start (pendingKey): writtenPart looks a bucket up without a scan. */
  private readonly pendingByKey = new Map<string, SeriesBucket>();
  private lastWrite = -Infinity;
  /** The last write of the queue threw: writeDue waits writeIntervalMs from it (not a failing write per reading). */
  private writeFailed = false;
  private dropped = 0;
  private readonly notKeptCounts: Record<SeriesNotKept, number> = { duplicate: 0, out_of_order: 0, malformed: 0, evicted: 0 };
  /**
   * Per stream, per channel, the most decimals its readings were ever sent with (decimalPlaces, at most 6; -1 before
   * a finite one): sentDecimals. Apart from the ring, which keeps only the newest readings, and checkpointed.
   */
  private readonly sent = new Map<string, number[]>();
  /** Per stream restored at start and not read since, its readingDecimals at the stop (its noise's cap included). */
  private readonly restoredDecimals = new Map<string, number>();
  /** Per stream in restoredDecimals, the readings recorded since the start (its restored precision holds until 3). */
  private readonly readSinceRestore = new Map<string, number>();
  /** Readings recorded and states made since start: StreamState.used. */
  private uses = 0;
  /**
   * Per stream whose unit changed (noteUnitBreak), the times (epoch ms) from which its readings are in another unit,
   * oldest first, at most MAX_UNIT_BREAKS: no bucket and no thinned point takes readings from both sides of one.
   */
  private readonly breaks = new Map<string, number[]>();
  /**
   * Per stream that had more unit breaks than MAX_UNIT_BREAKS, the newest break forgotten (epoch ms): which unit its
   * readings before it are in is no longer known, and a query leaves them out. One number per stream: bounded.
   */
  private readonly unitKnownFrom = new Map<string, number>();

  constructor(opts: SeriesStoreOptions = {}) {
    this.rawPoints = positiveInt(opts.rawPoints ?? DEFAULT_RAW_POINTS, 'rawPoints');
    this.maxStreams = positiveInt(opts.maxStreams ?? DEFAULT_MAX_STREAMS, 'maxStreams');
    this.persist = opts.persist ?? null;
    this.writeIntervalMs = opts.writeIntervalMs ?? DEFAULT_WRITE_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Records one scored reading. Readings of a stream come in non-decreasing time (admission takes them so:
   * src/pipeline/admit.ts: a reading before the newest is not taken). Readings
   * sharing the stream's newest time (a hub flushing its buffer under one time stamp, a device whose clock counts
   * whole seconds sending several a second) are kept after it in arrival order, as the
   * detector scores each (a reading sharing the time, judged as a step: src/pipeline/cadence.ts); one identical to a reading already held
   * at that time (the same time and every value: a message delivered twice) adds nothing to what the series shows
   * and is not kept, counted `duplicate`. A reading before the newest is not kept, counted `out_of_order`. A
   * reading with another channel set than the stream's starts its series afresh. A new stream past maxStreams takes
   * the place of the stream recorded least recently (its raw readings dropped, counted `evicted`; its buckets stay).
   * The first reading of a stream's state (at start, after a restart, back after forget) takes its minute and
   * quarter-hour in with the part of them written before (Bucket.merge). Returns false when the reading was not
   * recorded; every such reading is counted by its reason (notRecorded).
   */
  record(r: ScoredReading): boolean {
    if (!Number.isFinite(r.ts) || r.values.length === 0 || r.values.length !== r.channels.length) return this.notKept('malformed');
    let s = this.streams.get(r.stream);
    if (s !== undefined && !sameChannels(s.channels, r.channels)) {
      this.closeOpen(r.stream, s);
      s = undefined;
    }
    if (s === undefined) {
      if (!this.streams.has(r.stream) && this.streams.size >= this.maxStreams) this.evictLeastRecent();
      s = { channels: [...r.channels], ring: new Ring(this.rawPoints, r.channels.length), open: { 1: null, 2: null }, latest: null, lastPrunedTs: -Infinity, used: this.uses++ };
      this.streams.set(r.stream, s);
    }
    if (s.latest !== null && r.ts <= s.latest.ts) {
      if (r.ts < s.latest.ts) return this.notKept('out_of_order');
      if (heldAlready(s, r)) return this.notKept('duplicate');
    }
    this.noteSent(r.stream, r.values);
    // Whether the reading fits a float32 is asked once, and only while the ring or a bucket is narrow.
    let fits: boolean | undefined;
    if (!s.ring.wide) fits = allFitFloat32(r.values);
    s.ring.push(r, fits);
    s.latest = r;
    // Counted in readings since the start, not the ring's size: the raw readings kept at the stop fill the ring at
    // once (restoreRaw), and their precision is the one checkpointed.
    if (this.restoredDecimals.size > 0 && this.restoredDecimals.has(r.stream)) {
      const read = (this.readSinceRestore.get(r.stream) ?? 0) + 1;
      if (read >= 3) {
        this.restoredDecimals.delete(r.stream);
        this.readSinceRestore.delete(r.stream);
      } else {
        this.readSinceRestore.set(r.stream, read);
      }
    }
    s.used = this.uses++;
    const breaks = this.breaks.get(r.stream);
    for (const tier of TIERS) {
      const start = bucketStart(r.ts, TIER_WIDTH_MS[tier], breaks);
      let b = s.open[tier];
      if (b !== null && b.startTs !== start) {
        this.queue(b.toRow(r.stream, tier, s.channels));
        b = null;
      } else if (b === null) {
        // The stream's first bucket of the tier since its state was made (a start, a restart, its return after
        // forget): the part of it written before, if any, is taken in, not overwritten (writtenPart).
        b = s.open[tier] = new Bucket(start, s.channels.length);
        const part = this.writtenPart(r.stream, tier, start, s.channels);
        if (part !== null) b.merge(part);
      }
      if (b === null) b = s.open[tier] = new Bucket(start, s.channels.length);
      if (!b.wide) fits ??= allFitFloat32(r.values);
      b.add(r, fits ?? true);
    }
    return true;
  }

  /**
   * Notes that `stream`'s readings from `ts` (epoch ms, the first reading in the new unit) on are in another unit than
   * those before (its hub stated a change: SignalBook.noteUnitChange, also when restored at a start). The minute and
   * quarter-hour holding `ts` are split there: the readings before it keep the bucket that starts on the tier's
   * width, those from it on go into a bucket starting at `ts` itself (SeriesBucket.startTs), so no mean, min or max
   * mixes the two units (tryout 28, finding 10: a minute of 19.5 °C and 67 °F readings stored as "42"); a query
   * never thins points from both sides into one. Keeps the newest MAX_UNIT_BREAKS; at one more (a hub that flaps
   * between °C and °F), the oldest is forgotten and with it which unit the readings before it are in: from then on a
   * query answers nothing before it (unitKnownFrom), rather than points told or thinned in a unit they may not be in.
   * Never throws.
   */
  noteUnitBreak(stream: string, ts: number): void {
    if (!Number.isFinite(ts)) return;
    const list = this.breaks.get(stream) ?? [];
    if (list.includes(ts) || ts < (this.unitKnownFrom.get(stream) ?? -Infinity)) return;
    list.push(ts);
    list.sort((a, b) => a - b);
    if (list.length > MAX_UNIT_BREAKS) this.forgetUnitsBefore(stream, list[list.length - MAX_UNIT_BREAKS - 1]);
    this.breaks.set(stream, list.slice(-MAX_UNIT_BREAKS));
  }

  /**
   * Notes that the unit of `stream`'s readings before `ts` (epoch ms) is no longer known (a unit break forgotten here,
   * or before a restart: SignalBook.restoreUnitChanges): a query leaves them out. A later time than one noted before
   * wins. Never throws.
   */
  forgetUnitsBefore(stream: string, ts: number): void {
    if (!Number.isFinite(ts)) return;
    this.unitKnownFrom.set(stream, Math.max(ts, this.unitKnownFrom.get(stream) ?? -Infinity));
  }

  /**
   * Hands the closed buckets to the database when `writeIntervalMs` has passed since the last write, when WRITE_BATCH
   * of them are queued (writeDue), or with `force`; and prunes each stream's old buckets about once an hour of its
   * data. Throws what the port throws; the buckets stay queued for the next try (bounded: past MAX_PENDING, 50,000,
   * the oldest are dropped, counted in droppedBuckets). A closed bucket already behind its tier's retention is not
   * written (kept).
   */
  flush(force = false): void {
    if (this.persist === null) {
      this.pending = [];
      this.pendingByKey.clear();
      return;
    }
    const now = this.now();
    if (!force && now - this.lastWrite < this.writeIntervalMs && !this.writeDue) return;
    this.lastWrite = now;
    if (this.pending.length > 0) {
      this.writeFailed = true;
      this.persist.writeSeriesBuckets(this.pending.filter((b) => this.kept(b)));
      this.writeFailed = false;
      this.pending = [];
      this.pendingByKey.clear();
    }
    for (const [stream, s] of this.streams) {
      const newest = s.latest?.ts ?? -Infinity;
      if (newest - s.lastPrunedTs < PRUNE_EVERY_MS) continue;
      s.lastPrunedTs = newest;
      for (const tier of [1, 2] as const) this.persist.pruneSeriesBuckets(stream, tier, newest - TIER_RETENTION_MS[tier]);
    }
  }

  /**
   * Writes these streams' buckets now, as they are: their closed ones still queued and their open ones (partial, as
   * at stop: the rest of the minute merges into the stored part, Bucket.merge, after a restart; written whole again
   * when it closes). For a transaction that must not commit without them (src/daemon/kept-readings.ts: the readings a
   * stop kept, scored at the start, before their kept rows are deleted). The queue is left as it is (its buckets are
   * written again at the next flush: the same rows), so a transaction rolled back loses none. Nothing without a
   * persistence port. Throws what the port throws.
   */
  writeStreams(streams: readonly string[]): void {
    if (this.persist === null || streams.length === 0) return;
    const mine = new Set(streams);
    const rows = this.pending.filter((b) => mine.has(b.stream));
    for (const stream of mine) {
      const s = this.streams.get(stream);
      if (s === undefined) continue;
      for (const tier of [1, 2] as const) {
        const b = s.open[tier];
        if (b !== null) rows.push(b.toRow(stream, tier, s.channels));
      }
    }
    if (rows.length > 0) this.persist.writeSeriesBuckets(rows);
  }

  /**
   * Whether a closed bucket is still within its tier's retention behind its stream's newest reading (the prune's rule:
   * a start at or after newest - TIER_RETENTION_MS), or its stream is not in memory: one a backfill closed days behind
   * its newest reading is not written only to be pruned (16 days of 5-minute readings close 4,608 minute buckets per
   * stream, of which the 26 h kept hold 312).
   */
  private kept(b: SeriesBucket): boolean {
    const newest = this.streams.get(b.stream)?.latest?.ts;
    return newest === undefined || b.startTs >= newest - TIER_RETENTION_MS[b.tier];
  }

  /** Closes every open bucket (partial) and writes everything queued: at stop. Throws what the port throws. */
  close(): void {
    for (const [stream, s] of this.streams) this.closeOpen(stream, s);
    this.flush(true);
  }

  /**
   * True when WRITE_BATCH closed buckets or more are queued and a write may be tried now: the last one did not throw,
   * or it threw `writeIntervalMs` ago or more. The caller then calls flush() (SignalBook.record does, after each
   * reading): a backfill's buckets are written as they close, not dropped past MAX_PENDING. False without a port.
   */
  get writeDue(): boolean {
    return this.persist !== null && this.pending.length >= WRITE_BATCH && (!this.writeFailed || this.now() - this.lastWrite >= this.writeIntervalMs);
  }

  /** Buckets dropped because the database did not take them (queued past MAX_PENDING), since start. */
  get droppedBuckets(): number {
    return this.dropped;
  }

  /** Readings given to record() since start and not kept, per reason (SeriesNotKept; every reason, 0 when none). */
  notRecorded(): Readonly<Record<SeriesNotKept, number>> {
    return { ...this.notKeptCounts };
  }

  private notKept(reason: SeriesNotKept): false {
    this.notKeptCounts[reason]++;
    return false;
  }

  /** Streams with readings recorded since start or a latest one restored (restoreLatest), in the order they first came. */
  streamIds(): string[] {
    return [...this.streams.keys()];
  }

  /**
   * The stream's newest recorded reading, or null: the one recorded last since start, else the one
   * restored from before a restart (restoreLatest).
   */
  latest(stream: string): ScoredReading | null {
    return this.streams.get(stream)?.latest ?? null;
  }

  /**
   * Takes back a stream's newest reading from before a restart (its checkpoint), so the stream has a latest
   * reading before its next one arrives: the sensor list shows it, queries end at its time, and a reading
   * before it, or identical to it (a message delivered again after the restart), is not kept, as it would not have
   * been without the restart (record). Its raw ring starts empty (the
   * history before the restart is in the stored buckets; an open episode's readings come back by
   * restoreRecent) and it adds to no bucket. Only for a stream with
   * nothing in memory (one recorded since start is newer); false when not taken (that, malformed, or too
   * many streams).
   */
  restoreLatest(r: ScoredReading): boolean {
    if (this.streams.has(r.stream) || this.streams.size >= this.maxStreams) return false;
    if (!Number.isFinite(r.ts) || r.values.length === 0 || r.values.length !== r.channels.length) return false;
    this.streams.set(r.stream, { channels: [...r.channels], ring: new Ring(this.rawPoints, r.channels.length), open: { 1: null, 2: null }, latest: r, lastPrunedTs: -Infinity, used: this.uses++ });
    return true;
  }

  /**
   * Takes back a stream's raw readings from before a restart (an open episode's, from its checkpoint:
   * SignalBook.restoreEpisode), into its ring as they were, so that the episode is told from the same readings
   * as without the restart. Only into an empty ring of a stream whose channels are `channels` (one restored by
   * restoreLatest, or unknown: then its newest point becomes its latest reading); the points must be in
   * non-decreasing time and none after the stream's latest reading. `wide`: the ring held float64 before the stop (isWide), so it does again. They add to no bucket (the buckets of that time were
   * written before the stop). Returns the number taken (0 when none could be).
   */
  restoreRecent(stream: string, channels: readonly string[], points: readonly SeriesPoint[], wide = false): number {
    if (points.length === 0 || channels.length === 0) return 0;
    let s = this.streams.get(stream);
    if (s !== undefined && (s.ring.size > 0 || !sameChannels(s.channels, channels))) return 0;
    const newest = points[points.length - 1].ts;
    if (s?.latest != null && newest > s.latest.ts) return 0;
    for (let k = 0; k < points.length; k++) {
      const p = points[k];
      if (!Number.isFinite(p.ts) || p.values.length !== channels.length || (k > 0 && !(p.ts >= points[k - 1].ts))) return 0;
    }
    if (s === undefined) {
      if (this.streams.size >= this.maxStreams) return 0;
      s = { channels: [...channels], ring: new Ring(this.rawPoints, channels.length), open: { 1: null, 2: null }, latest: null, lastPrunedTs: -Infinity, used: this.uses++ };
      this.streams.set(stream, s);
    }
    const from = Math.max(0, points.length - this.rawPoints);
    if (wide) s.ring.widen();
    for (let k = from; k < points.length; k++) s.ring.push(points[k]);
    if (s.latest === null) {
      const p = points[points.length - 1];
      s.latest = { stream, ts: p.ts, channels: [...channels], values: [...p.values], expected: p.expected, spread: p.spread, score: NaN, surprise: p.surprise, threshold: NaN, status: p.status, anomalyId: null, modelId: null };
    }
    return points.length - from;
  }

  /**
   * The stream's raw readings with ts >= fromTs (epoch ms) as one binary blob, copied from its ring's arrays (no
   * object per reading): RAW_BLOB_MAGIC, a flags byte (1: wide, float64 values), the channels C (uint8), the readings
   * n (uint32 LE), then the times (float64 × n), values, expectations and spreads (float32 or float64 × n·C each, NaN
   * for none), surprises (float32 × n) and statuses (uint8 × n: 0 learning, 1 ok, 2 anomalous, 3 anomalous after its episode's told end: STATUS_OF), little-endian, oldest
   * first. Per reading 25 bytes for one narrow channel (+12 per further channel; +12 per channel wide). Null for a
   * stream with no reading there. For keeping them across a clean stop (SignalBook.keepRaw; restoreRawBlob).
   */
  rawBlob(stream: string, fromTs = -Infinity): Buffer | null {
    const s = this.streams.get(stream);
    if (s === undefined) return null;
    const { ring } = s;
    const C = ring.C;
    let first = 0;
    while (first < ring.size && ring.tsAt(ring.at(first)) < fromTs) first++;
    const n = ring.size - first;
    if (n <= 0 || C > 255) return null;
    const w = ring.wide ? 8 : 4;
    const buf = Buffer.alloc(RAW_BLOB_MAGIC.length + 6 + n * (8 + 3 * C * w + 4 + 1));
    let o = buf.write(RAW_BLOB_MAGIC, 0, 'latin1');
    o = buf.writeUInt8(ring.wide ? 1 : 0, o);
    o = buf.writeUInt8(C, o);
    o = buf.writeUInt32LE(n, o);
    for (let k = 0; k < n; k++) o = buf.writeDoubleLE(ring.tsAt(ring.at(first + k)), o);
    for (const arr of [ring.vals, ring.exp, ring.spr]) {
      for (let k = 0; k < n; k++) {
        const i = ring.at(first + k);
        for (let c = 0; c < C; c++) o = ring.wide ? buf.writeDoubleLE(arr[i * C + c], o) : buf.writeFloatLE(arr[i * C + c], o);
      }
    }
    for (let k = 0; k < n; k++) o = buf.writeFloatLE(ring.surprise[ring.at(first + k)], o);
    for (let k = 0; k < n; k++) o = buf.writeUInt8(ring.status[ring.at(first + k)], o);
    return buf;
  }

  /**
   * Takes back a rawBlob of `stream` with channels `channels` (restoreRaw). Returns the readings taken.
   * @throws Error on a blob not of rawBlob's form, or of another number of channels
   */
  restoreRawBlob(stream: string, channels: readonly string[], blob: Buffer): number {
    const head = RAW_BLOB_MAGIC.length + 6;
    if (blob.length < head || blob.toString('latin1', 0, RAW_BLOB_MAGIC.length) !== RAW_BLOB_MAGIC) throw new Error('not a raw readings blob');
    let o = RAW_BLOB_MAGIC.length;
    const wide = blob.readUInt8(o++) === 1;
    const C = blob.readUInt8(o++);
    const n = blob.readUInt32LE(o);
    o += 4;
    const w = wide ? 8 : 4;
    if (C !== channels.length) throw new Error(`holds ${C} channels, the stream has ${channels.length}`);
    if (blob.length !== head + n * (8 + 3 * C * w + 4 + 1)) throw new Error('raw readings blob of the wrong length');
    const ts = new Float64Array(n);
    for (let k = 0; k < n; k++, o += 8) ts[k] = blob.readDoubleLE(o);
    const cols = [0, 1, 2].map(() => {
      const a = new Float64Array(n * C);
      for (let j = 0; j < n * C; j++, o += w) a[j] = wide ? blob.readDoubleLE(o) : blob.readFloatLE(o);
      return a;
    });
    const points: SeriesPoint[] = [];
    const surpriseAt = o;
    const statusAt = o + 4 * n;
    for (let k = 0; k < n; k++) {
      const exp = Array.from(cols[1].subarray(k * C, k * C + C));
      const hasExp = exp.some(Number.isFinite);
      const code = blob.readUInt8(statusAt + k);
      points.push({
        ts: ts[k],
        values: Array.from(cols[0].subarray(k * C, k * C + C)),
        expected: hasExp ? exp : null,
        spread: hasExp ? Array.from(cols[2].subarray(k * C, k * C + C)) : null,
        surprise: blob.readFloatLE(surpriseAt + 4 * k),
        status: STATUS_OF[code] ?? 'ok',
        ...(code === CLOSING ? { closing: true as const } : {}),
      });
    }
    return this.restoreRaw(stream, channels, points, wide);
  }

  /**
   * Takes back a stream's raw readings kept across a clean stop (SignalBook.restoreRaw), after the checkpoints'
   * (restoreLatest, an open episode's restoreRecent): into an empty ring as restoreRecent does, or, before the
   * readings a ring holds already (an open episode's newest), those of `points` older than its oldest, the ring
   * rebuilt oldest first and bounded as ever (its newest rawPoints). Points after the stream's latest reading, or of
   * other channels, are not taken. They add to no bucket (written before the stop). Returns the number taken.
   */
  restoreRaw(stream: string, channels: readonly string[], points: readonly SeriesPoint[], wide = false): number {
    const s = this.streams.get(stream);
    if (s === undefined || s.ring.size === 0) return this.restoreRecent(stream, channels, points, wide);
    if (!sameChannels(s.channels, channels)) return 0;
    const oldest = s.ring.oldestTs();
    const older = points.filter((p, k) => p.ts < oldest && Number.isFinite(p.ts) && p.values.length === channels.length && (k === 0 || p.ts >= points[k - 1].ts));
    if (older.length === 0) return 0;
    const held = this.points(stream);
    const ring = new Ring(this.rawPoints, channels.length);
    if (wide || s.ring.wide) ring.widen();
    const all = [...older, ...held];
    for (let k = Math.max(0, all.length - this.rawPoints); k < all.length; k++) ring.push(all[k]);
    s.ring = ring;
    return Math.max(0, older.length - Math.max(0, all.length - this.rawPoints));
  }

  /** The stream's raw readings in memory with fromTs <= ts <= toTs, oldest first. */
  points(stream: string, fromTs = -Infinity, toTs = Infinity): SeriesPoint[] {
    const s = this.streams.get(stream);
    if (s === undefined) return [];
    const out: SeriesPoint[] = [];
    for (let k = 0; k < s.ring.size; k++) {
      const i = s.ring.at(k);
      const ts = s.ring.tsAt(i);
      if (ts >= fromTs && ts <= toTs) out.push(s.ring.point(i));
    }
    return out;
  }

  /**
   * The newest `n` of the stream's raw readings in memory with ts <= toTs that are not anomalous, oldest first:
   * `points(stream, -Infinity, toTs).filter((p) => p.status !== 'anomalous').slice(-n)`, without building a point
   * for every reading the ring holds (n >= 1). `skip`: spans of time (epoch ms, `from <= ts < to`) whose readings
   * are left out too, scored `ok` or not (the readings of an earlier anomaly before the detector flagged it).
   */
  lastNormalPoints(stream: string, toTs: number, n: number, skip: readonly TimeSpan[] = []): SeriesPoint[] {
    const s = this.streams.get(stream);
    if (s === undefined) return [];
    const out: SeriesPoint[] = [];
    for (let k = s.ring.size - 1; k >= 0 && out.length < n; k--) {
      const i = s.ring.at(k);
      const ts = s.ring.tsAt(i);
      if (ts <= toTs && STATUS_OF[s.ring.status[i]] !== 'anomalous' && !skip.some((sp) => ts >= sp.from && ts < sp.to)) out.push(s.ring.point(i));
    }
    return out.reverse();
  }

  /**
   * The stream's reading precision (src/explain/explain.ts readingPrecision: the most decimals its readings are sent
   * with, a float32-kept `20.37` with 2, never more than its noise can show) from its first channel's newest `n` raw
   * readings in memory and its latest reading, or null when it has none since start (after a restart, until its next
   * reading: the restored latest one alone says too little of its precision). What the
   * dashboard writes its latest reading with, as the sentences write theirs (src/util/reading.ts formatReading;
   * tryout 23, finding 4).
   */
  readingDecimals(stream: string, n = READING_DECIMALS_OF): number | null {
    const s = this.streams.get(stream);
    const sent = this.sent.get(stream)?.[0];
    const before = sent !== undefined && sent >= 0 ? sent : null;
    // Only its latest reading restored after a restart (restoreLatest): its precision at the stop (checkpointed),
    // else the decimals its readings were sent with; null when those are unknown too.
    // Its precision at the stop holds until three readings since the start say again what its noise shows.
    const restored = this.restoredDecimals.size > 0 ? this.restoredDecimals.get(stream) : undefined;
    if (restored !== undefined) return restored;
    if (s === undefined || s.ring.size === 0) return before;
    const recent: number[] = [];
    for (let k = Math.max(0, s.ring.size - n); k < s.ring.size; k++) recent.push(s.ring.point(s.ring.at(k)).values[0]);
    const v0 = s.latest?.values[0];
    return readingPrecision(recent, v0 !== undefined ? [v0] : [], before);
  }

  /**
   * Per channel of the stream, the most decimals its readings were ever sent with (decimalPlaces of each recorded
   * reading, at most 6; -1 for a channel with no finite reading yet), across restarts (restoreSentDecimals); null
   * when none is known. The floor of its reading precision (readingPrecision's `sentBefore`): what the dashboard and
   * the alerts write its readings with, however long it has sent fewer (a plug's `0` for an hour after `80.3`).
   */
  sentDecimals(stream: string): readonly number[] | null {
    return this.sent.get(stream) ?? null;
  }

  /**
   * Takes back sentDecimals from before a restart (the stream's checkpoint): each channel's count at most 6, and a
   * count already noted since the start is kept when larger. Ignores a malformed list (not integers from -1 to 6).
   * `shown`: its readingDecimals at the stop (its noise's cap included), what readingDecimals says until a reading
   * of it comes.
   */
  restoreSentDecimals(stream: string, decimals: readonly number[], shown: number | null = null): void {
    if (decimals.length === 0 || !decimals.every((d) => Number.isInteger(d) && d >= -1 && d <= 6)) return;
    if (shown !== null && Number.isInteger(shown) && shown >= 0 && shown <= 6) this.restoredDecimals.set(stream, shown);
    const now = this.sent.get(stream);
    if (now !== undefined && now.length !== decimals.length) return;
    this.sent.set(stream, decimals.map((d, c) => Math.max(d, now?.[c] ?? -1)));
  }

  /** Notes the decimals of a recorded reading's values (sentDecimals); a stream whose channel count changed starts anew. */
  private noteSent(stream: string, values: readonly number[]): void {
    let d = this.sent.get(stream);
    if (d === undefined || d.length !== values.length) {
      d = new Array<number>(values.length).fill(-1);
      this.sent.set(stream, d);
    }
    for (let c = 0; c < values.length; c++) {
      const v = values[c];
      // An integer has no decimals (the common case, and cheap); a channel at 6 can go no higher.
      if (d[c] >= 6 || !Number.isFinite(v) || (Number.isInteger(v) && d[c] >= 0)) continue;
      // No more decimals than noted already (the common case), by arithmetic: decimalPlaces' toFixed costs about a
      // microsecond a reading on a loaded 2-core machine. Within 1e-9 of a whole number of its last decimal (a sum's
      // `0.30000000000000004` is one decimal); anything else is asked of decimalPlaces (a float32-kept `20.37` too).
      if (d[c] >= 0) {
        const m = v * POW10[d[c]];
        if (Math.abs(m - Math.round(m)) <= 1e-9 * Math.max(1, Math.abs(m))) continue;
      }
      const n = decimalPlaces(v);
      if (n > d[c]) d[c] = n;
    }
  }

  /** True when the stream's ring holds float64 (a reading did not fit a float32: fitsFloat32); its checkpoint says so (restoreRecent's `wide`). */
  isWide(stream: string): boolean {
    return this.streams.get(stream)?.ring.wide ?? false;
  }

  /** Time of the oldest raw reading of the stream in memory (epoch ms), Infinity when none: `points(stream)[0]?.ts ?? Infinity`. */
  oldestTs(stream: string): number {
    return this.streams.get(stream)?.ring.oldestTs() ?? Infinity;
  }

  /** The channel names of a stream (from memory, else from its newest stored bucket); null when unknown. */
  channelsOf(stream: string): readonly string[] | null {
    return this.streams.get(stream)?.channels ?? null;
  }

  /**
   * The span `q.rangeMs` long ending at the stream's newest reading (in memory or stored). Null when the
   * stream has no reading anywhere. Throws what the port throws.
   */
  query(stream: string, q: SeriesQuery): SeriesView | null {
    const s = this.streams.get(stream) ?? null;
    const newestStored = s === null ? this.newestStored(stream) : null;
    const to = s?.latest?.ts ?? newestStored?.ts ?? null;
    const channels = s?.channels ?? newestStored?.channels ?? null;
    if (to === null || channels === null) return null;
    const from = Math.max(to - q.rangeMs, q.since ?? -Infinity);
    const maxPoints = Math.max(2, Math.floor(q.maxPoints ?? DEFAULT_MAX_POINTS));
    let pts: Pt[];
    let source: SeriesView['source'];
    let resolutionMs: number;
    if (q.rangeMs <= RAW_SPAN_MS) {
      const raw = s === null ? [] : this.rawPts(s, from);
      const rawStart = raw.length > 0 ? raw[0].ts : Infinity;
      const older = this.bucketPts(stream, 1, channels.length, from, Math.min(rawStart, to + 1)).filter((p) => p.ts + TIER_WIDTH_MS[1] / 2 <= rawStart);
      pts = [...older, ...raw];
      source = raw.length > 0 ? 'raw' : older.length > 0 ? 'minutes' : 'none';
      // The coarsest point's span: a minute where older minute buckets lead the raw readings.
      resolutionMs = older.length > 0 ? TIER_WIDTH_MS[1] : 0;
    } else if (q.rangeMs <= TIER1_SPAN_MS) {
      // 1-minute buckets are kept TIER_RETENTION_MS[1] (26 h) only: a span reaching further back takes its older part
      // from the 15-minute buckets, up to the quarter-hour where the minutes held begin (tryout 27, finding 5: 48 h
      // gave the newest 26 h alone, yesterday's episode silently left out).
      const minutes = this.bucketPts(stream, 1, channels.length, from, to);
      const W2 = TIER_WIDTH_MS[2];
      const firstMinute = minutes.length > 0 ? minutes[0].ts - TIER_WIDTH_MS[1] / 2 : to + 1;
      const cut = firstMinute - from >= TIER_WIDTH_MS[1] ? Math.ceil(firstMinute / W2) * W2 : -Infinity;
      const quarters = cut === -Infinity ? [] : this.bucketPts(stream, 2, channels.length, from, cut - 1);
      // Only where the quarter-hours reach back further than the minutes (pruned), not for a stream that began in the span.
      const older = quarters.length > 0 && quarters[0].ts - W2 / 2 <= firstMinute - W2 ? quarters : [];
      pts = older.length > 0 ? [...older, ...minutes.filter((p) => p.ts >= cut)] : minutes;
      source = pts.length === 0 ? 'none' : minutes.length > 0 ? 'minutes' : 'quarter-hours';
      // The coarsest point's span: a quarter-hour where quarter-hours lead the minutes.
      resolutionMs = older.length > 0 ? W2 : TIER_WIDTH_MS[1];
    } else {
      pts = this.bucketPts(stream, 2, channels.length, from, to);
      source = pts.length === 0 ? 'none' : 'quarter-hours';
      resolutionMs = TIER_WIDTH_MS[2];
    }
    // Points whose unit is no longer known (more unit breaks than kept): none given, none thinned with the others.
    const knownFrom = this.unitKnownFrom.get(stream);
    if (knownFrom !== undefined) {
      pts = pts.filter((p) => p.ts >= knownFrom);
      if (pts.length === 0) source = 'none';
    }
    const breaks = this.breaks.get(stream);
    if (breaks !== undefined) for (const p of pts) p.part = partOf(p.ts, breaks);
    if (pts.length > maxPoints) {
      const k = Math.ceil(pts.length / maxPoints);
      pts = thin(pts, k);
      // A thinned point merges k neighbours: k of the coarsest kind (k minute buckets where they lead), or
      // the average spacing of what is left.
      resolutionMs = Math.max(resolutionMs * k, span(pts) / Math.max(1, pts.length - 1));
    }
    const answer = view(stream, channels, from, to, source, resolutionMs, pts, s?.latest ?? null);
    return knownFrom !== undefined && knownFrom > from ? { ...answer, unitKnownFrom: knownFrom } : answer;
  }

  /**
   * Shades the open or just resolved episode of `stream` over its own readings only: of its readings recorded
   * `anomalous` before `beforeTs` (epoch ms: the reading that resolved it; Infinity while it is open), those after
   * `endTs` (its end as told, epoch ms: its last reading that held it, AnomalyEvent.endTs, OpenEpisodeProgress.lastAboveTs)
   * are no longer shaded by a query (raw points, and the minute and quarter-hour buckets that hold them), and those up
   * to it are again (a told end a later reading moved on). An episode is held open by its closing readings (16 after a
   * spike, up to 47 after a lasting fault: alerts.closeAfter), each scored `anomalous`: at a reading every 30 s a
   * spike's shading ran 8 min past it (the twenty-ninth session's tryout, finding 2). The readings' scored statuses
   * are kept for what reads them (points, normalBefore: a closing reading is still `anomalous` there). Walks back from
   * the newest reading to the first at or before `endTs` that is shaded: the closing readings and those the end
   * moved over, not the whole episode. Returns how many readings changed. Never throws (a bucket the database cannot
   * give back keeps its count).
   */
  settleEpisode(stream: string, endTs: number, beforeTs = Infinity): number {
    const s = this.streams.get(stream);
    if (s === undefined) return 0;
    const { ring } = s;
    let changed = 0;
    for (let k = ring.size - 1; k >= 0; k--) {
      const i = ring.at(k);
      const ts = ring.tsAt(i);
      if (ts >= beforeTs) continue;
      const code = ring.status[i];
      const scoredAnomalous = code === STATUS_CODE.anomalous || code === CLOSING;
      // At or before its end, the first reading shaded (or not of an episode) ends the walk: the readings before it are the episode's own.
      if (ts <= endTs && code !== CLOSING) break;
      if (!scoredAnomalous) continue;
      const want = ts > endTs ? CLOSING : STATUS_CODE.anomalous;
      if (code === want) continue;
      ring.status[i] = want;
      this.shadedInBuckets(stream, s, ts, want === CLOSING ? -1 : 1);
      changed++;
    }
    return changed;
  }

  /** Adds `delta` to the anomalous count of the buckets of every tier that hold `stream`'s reading at `ts`. */
  private shadedInBuckets(stream: string, s: StreamState, ts: number, delta: number): void {
    const breaks = this.breaks.get(stream);
    for (const tier of TIERS) {
      const start = bucketStart(ts, TIER_WIDTH_MS[tier], breaks);
      const open = s.open[tier];
      if (open !== null && open.startTs === start) {
        open.anomalous = Math.max(0, open.anomalous + delta);
        continue;
      }
      // Closed: queued for the database or written; the row again, with its count moved, replaces it.
      const row = this.writtenPart(stream, tier, start, s.channels);
      if (row !== null) this.queue({ ...row, anomalous: Math.max(0, row.anomalous + delta) });
    }
  }

  private rawPts(s: StreamState, from: number): Pt[] {
    const out: Pt[] = [];
    const { ring } = s;
    const C = ring.C;
    for (let k = 0; k < ring.size; k++) {
      const i = ring.at(k);
      if (ring.tsAt(i) < from) continue;
      const latest = s.latest;
      out.push({
        ts: ring.tsAt(i),
        part: 0,
        count: 1,
        value: Array.from(ring.vals.subarray(i * C, i * C + C)),
        min: null,
        max: null,
        expected: Array.from(ring.exp.subarray(i * C, i * C + C)),
        spread: Array.from(ring.spr.subarray(i * C, i * C + C)),
        surprise: ring.status[i] === STATUS_CODE.learning ? NaN : ring.surprise[i],
        // The ring keeps no threshold per reading: it changes only with the configuration.
        threshold: latest !== null ? surpriseOf(latest.threshold) : NaN,
        anomalous: ring.status[i] === STATUS_CODE.anomalous,
        wide: ring.wide,
      });
    }
    return out;
  }

  /** Stored, queued and open buckets of a tier with from - width < start <= to, one per start (the newest source wins). */
  private bucketPts(stream: string, tier: SeriesTier, C: number, from: number, to: number): Pt[] {
    const width = TIER_WIDTH_MS[tier];
    const byStart = new Map<number, SeriesBucket>();
    const lo = from - width;
    if (this.persist !== null) for (const b of this.persist.readSeriesBuckets(stream, tier, lo + 1, to)) byStart.set(b.startTs, b);
    for (const b of this.pending) if (b.stream === stream && b.tier === tier && b.startTs > lo && b.startTs <= to) byStart.set(b.startTs, b);
    const s = this.streams.get(stream);
    const open = s?.open[tier];
    if (s !== undefined && open != null && open.startTs > lo && open.startTs <= to) byStart.set(open.startTs, open.toRow(stream, tier, s.channels));
    const rows = [...byStart.values()].filter((b) => b.channels.length === C).sort((a, b) => a.startTs - b.startTs);
    // A bucket ends where the tier's next one begins, or where a bucket split off it at a unit break begins.
    return rows.map((b, i) => {
      const whole = Math.floor(b.startTs / width) * width + width;
      const next = rows[i + 1]?.startTs ?? Infinity;
      return bucketPt(b, Math.min(whole, next));
    });
  }

  private newestStored(stream: string): { ts: number; channels: readonly string[] } | null {
    if (this.persist === null) return null;
    for (const tier of [1, 2] as const) {
      const b = this.persist.newestSeriesBucket(stream, tier);
      if (b !== null) return { ts: b.startTs + TIER_WIDTH_MS[tier] / 2, channels: b.channels };
    }
    return null;
  }

  /**
   * Drops a stream's raw ring (an idle stream evicted by the daemon); its open buckets are queued for the
   * database first, so the dashboard's 1-minute and 15-minute history of it stays.
   */
  forget(stream: string): void {
    this.sent.delete(stream);
    this.breaks.delete(stream);
    this.unitKnownFrom.delete(stream);
    this.restoredDecimals.delete(stream);
    this.readSinceRestore.delete(stream);
    const s = this.streams.get(stream);
    if (s === undefined) return;
    this.closeOpen(stream, s);
    this.streams.delete(stream);
  }

  /**
   * The bucket of `stream` in `tier` starting at `start` written before with the same channels (queued for the
   * database, else stored), or null. Null too when the database cannot be read (the bucket then starts empty and
   * replaces that part when written, as before this was merged).
   */
  private writtenPart(stream: string, tier: SeriesTier, start: number, channels: readonly string[]): SeriesBucket | null {
    const queued = this.pendingByKey.get(pendingKey(stream, tier, start));
    if (queued !== undefined) return sameChannels(queued.channels, channels) ? queued : null;
    if (this.persist === null) return null;
    try {
      const b = this.persist.readSeriesBuckets(stream, tier, start, start)[0];
      return b !== undefined && sameChannels(b.channels, channels) ? b : null;
    } catch {
      return null;
    }
  }

  /**
   * Drops the raw readings of the stream whose newest reading was recorded least recently (forget: its open buckets
   * are queued first, so its minute and quarter-hour history stays), counted `evicted`: room for a new stream past
   * maxStreams.
   */
  private evictLeastRecent(): void {
    let oldest: string | null = null;
    let used = Infinity;
    for (const [stream, s] of this.streams) {
      if (s.used < used) {
        used = s.used;
        oldest = stream;
      }
    }
    if (oldest === null) return;
    this.forget(oldest);
    this.notKeptCounts.evicted++;
  }

  private closeOpen(stream: string, s: StreamState): void {
    for (const tier of [1, 2] as const) {
      const b = s.open[tier];
      if (b !== null) this.queue(b.toRow(stream, tier, s.channels));
      s.open[tier] = null;
    }
  }

  private queue(b: SeriesBucket): void {
    if (this.persist === null) return;
    this.pending.push(b);
    this.pendingByKey.set(pendingKey(b.stream, b.tier, b.startTs), b);
    // Trimmed back to MAX_PENDING once WRITE_BATCH more wait, not by one per bucket queued: a splice of 50,000 per
    // reading while the database refused took about 0.3 ms a reading.
    if (this.pending.length >= MAX_PENDING + WRITE_BATCH) {
      const excess = this.pending.length - MAX_PENDING;
      for (const old of this.pending.splice(0, excess)) {
        const key = pendingKey(old.stream, old.tier, old.startTs);
        if (this.pendingByKey.get(key) === old) this.pendingByKey.delete(key);
      }
      this.dropped += excess;
    }
  }
}

/** A queued bucket's key: its stream, tier and start. */
function pendingKey(stream: string, tier: SeriesTier, start: number): string {
  return `${tier}\0${start}\0${stream}`;
}

/**
 * Where a reading at `ts` (epoch ms) goes in a tier `width` ms wide: the start of its width-aligned bucket, or the
 * newest unit break (SeriesStore.noteUnitBreak) within that bucket at or before `ts`, so no bucket holds readings
 * of both sides of a break.
 */
export function bucketStart(ts: number, width: number, breaks: readonly number[] | undefined): number {
  const aligned = Math.floor(ts / width) * width;
  if (breaks === undefined) return aligned;
  let start = aligned;
  for (const b of breaks) if (b > start && b <= ts) start = b;
  return start;
}

/** How many of `breaks` (oldest first) are at or before `ts`: the stretch between unit breaks a point lies in. */
function partOf(ts: number, breaks: readonly number[]): number {
  let k = 0;
  while (k < breaks.length && breaks[k] <= ts) k++;
  return k;
}

/** A bucket as a point at the middle of what it covers: from its start to `end` (epoch ms). */
function bucketPt(b: SeriesBucket, end: number): Pt {
  const C = b.channels.length;
  const col = (k: number): number[] => Array.from({ length: C }, (_, c) => b.stats[c * STATS + k]);
  return {
    part: 0,
    ts: (b.startTs + end) / 2,
    count: b.count,
    value: col(0),
    min: col(1),
    max: col(2),
    expected: col(3),
    spread: col(4),
    surprise: b.surpriseMax,
    threshold: surpriseOf(b.threshold),
    anomalous: b.anomalous > 0,
    wide: b.stats instanceof Float64Array,
  };
}

/**
 * Merges every k neighbours: count-weighted means, extreme min/max, highest surprise, any anomalous. A group never
 * reaches across a unit break (Pt.part): the last group before one is shorter.
 */
function thin(pts: readonly Pt[], k: number): Pt[] {
  const out: Pt[] = [];
  for (let a = 0; a < pts.length; ) {
    let e = a + 1;
    while (e < pts.length && e - a < k && pts[e].part === pts[a].part) e++;
    const group = pts.slice(a, e);
    a = e;
    const C = group[0].value.length;
    const n = group.reduce((t, p) => t + p.count, 0);
    const wmean = (get: (p: Pt) => number[]): number[] =>
      Array.from({ length: C }, (_, c) => {
        let sum = 0;
        let w = 0;
        for (const p of group) {
          const v = get(p)[c];
          if (Number.isFinite(v)) {
            sum += v * p.count;
            w += p.count;
          }
        }
        return w > 0 ? sum / w : NaN;
      });
    out.push({
      ts: group.reduce((t, p) => t + p.ts * p.count, 0) / n,
      part: group[0].part,
      count: n,
      value: wmean((p) => p.value),
      min: Array.from({ length: C }, (_, c) => Math.min(...group.map((p) => (p.min ?? p.value)[c]))),
      max: Array.from({ length: C }, (_, c) => Math.max(...group.map((p) => (p.max ?? p.value)[c]))),
      expected: wmean((p) => p.expected),
      spread: wmean((p) => p.spread),
      surprise: Math.max(...group.map((p) => (Number.isFinite(p.surprise) ? p.surprise : -Infinity))),
      threshold: group[group.length - 1].threshold,
      anomalous: group.some((p) => p.anomalous),
      wide: group.some((p) => p.wide),
    });
  }
  return out;
}

function span(pts: readonly Pt[]): number {
  return pts.length < 2 ? 0 : pts[pts.length - 1].ts - pts[0].ts;
}

/** Float32 values printed short (20.1, not 20.100000381469727); non-finite as null. */
function num(v: number): number | null {
  return Number.isFinite(v) ? Number(v.toPrecision(7)) : null;
}

/**
 * A float64 value (a reading, or a wide ring's or bucket's number) as the API shows it: at 15 significant digits
 * (a mean's 20210706.499999998 is 20210706.5; 20.1 stays 20.1), so a meter's 20210701 is not 20210700 as at 7.
 * Non-finite as null.
 */
export function shownValue(v: number): number | null {
  return Number.isFinite(v) ? Number(v.toPrecision(15)) : null;
}

/** A point's number as shown: 15 significant digits where the point is float64 (Pt.wide), else 7. */
function numOf(p: Pt, v: number): number | null {
  return p.wide ? shownValue(v) : num(v);
}

function view(stream: string, channels: readonly string[], from: number, to: number, source: SeriesView['source'], resolutionMs: number, pts: readonly Pt[], latest: ScoredReading | null): SeriesView {
  const C = channels.length;
  const perChannel = (get: (p: Pt, c: number) => number): (number | null)[][] => Array.from({ length: C }, (_, c) => pts.map((p) => numOf(p, get(p, c))));
  const baseline = Array.from({ length: C }, () => new Array<number | null>(pts.length).fill(null));
  const baselineSpread = Array.from({ length: C }, () => new Array<number | null>(pts.length).fill(null));
  for (let c = 0; c < C; c++) {
    const normal: number[] = [];
    /** Points that were far off the band but not flagged: an unflagged start of an anomaly, or a new normal. */
    let offRun: number[] = [];
    pts.forEach((p, i) => {
      // Readings in another unit are no normal of these: the band starts afresh after a unit break.
      if (i > 0 && p.part !== pts[i - 1].part) {
        normal.length = 0;
        offRun = [];
      }
      const v = p.value[c];
      let m = NaN;
      let sd = NaN;
      if (normal.length >= 5) {
        m = median(normal);
        sd = robustSigma(normal);
        if (!Number.isFinite(p.expected[c])) {
          baseline[c][i] = numOf(p, m);
          baselineSpread[c][i] = numOf(p, sd);
        }
      }
      // The band follows normal points only, so it shows where the readings should have been: not the
      // flagged ones, and not those far off it either unless they stay off long enough to be the new normal.
      if (p.anomalous || !Number.isFinite(v)) return;
      // A quantised signal (10, 11, 10 …) has a robust spread of 0: its resolution (of the normal points, not of the
      // point judged: a jump off a flat stretch would be its own smallest step) is the least yardstick.
      if (Number.isFinite(m) && Math.abs(v - m) > 4 * Math.max(sd, quantum(normal, [v]) / 2, 1e-9 * Math.max(1, Math.abs(m)))) {
        offRun.push(v);
        if (offRun.length < 2 * BASELINE_POINTS) return;
        normal.splice(0, normal.length, ...offRun.slice(-BASELINE_POINTS));
        offRun = [];
        return;
      }
      offRun = [];
      normal.push(v);
      if (normal.length > BASELINE_POINTS) normal.shift();
    });
  }
  return {
    stream,
    channels: [...channels],
    from,
    to,
    source,
    resolutionMs: Math.round(resolutionMs),
    ts: pts.map((p) => Math.round(p.ts)),
    count: pts.map((p) => p.count),
    value: perChannel((p, c) => p.value[c]),
    min: Array.from({ length: C }, (_, c) => pts.map((p) => (p.min === null || p.count === 1 ? null : numOf(p, p.min[c])))),
    max: Array.from({ length: C }, (_, c) => pts.map((p) => (p.max === null || p.count === 1 ? null : numOf(p, p.max[c])))),
    expected: perChannel((p, c) => p.expected[c]),
    spread: perChannel((p, c) => p.spread[c]),
    baseline,
    baselineSpread,
    // Shown capped (src/contract/surprise.ts), as every output shows it; the points keep the detector's own.
    surprise: pts.map((p) => num(shownSurprise(p.surprise))),
    threshold: pts.map((p) => num(p.threshold)),
    anomalous: pts.map((p) => p.anomalous),
    latest: latest === null || !(latest.surprise > SURPRISE_SHOWN_MAX) ? latest : { ...latest, surprise: SURPRISE_SHOWN_MAX },
  };
}

/**
 * Whether the stream already holds a reading identical to `r` (r.ts equal to the newest time held): the same time
 * and every value as one of the ring's readings at that time (the newest ones: the ring is in non-decreasing time),
 * or as the stream's latest reading when the ring holds none (restored: restoreLatest). A narrow ring's values are
 * float32: `r` is the same when its values fit one (fitsFloat32) and round to the held ones.
 */
function heldAlready(s: StreamState, r: ScoredReading): boolean {
  const { ring } = s;
  const C = ring.C;
  if (ring.size === 0) return s.latest !== null && s.latest.ts === r.ts && s.latest.values.every((v, c) => Object.is(v, r.values[c]));
  const narrow = !ring.wide;
  if (narrow && !allFitFloat32(r.values)) return false;
  for (let k = ring.size - 1; k >= 0; k--) {
    const i = ring.at(k);
    if (ring.tsAt(i) !== r.ts) return false;
    let same = true;
    for (let c = 0; c < C && same; c++) same = Object.is(ring.vals[i * C + c], narrow ? Math.fround(r.values[c]) : r.values[c]);
    if (same) return true;
  }
  return false;
}

function sameChannels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`SeriesStore ${name} must be a positive integer, got ${value}`);
  return value;
}

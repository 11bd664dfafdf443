/**
 * Cadence: where each reading of a stream falls in the stream's own time, counted in readings.
 *
 * Every duration the detector uses is counted in steps of the stream's nominal interval, so a sensor read
 * every second and one read every hour are treated alike. The interval is learnt from the stream itself:
 * the median of its last `INTERVAL_SAMPLES` positive gaps between readings, re-estimated as readings come,
 * so jitter, late and early readings, an occasional missed reading and a change of the device's report
 * period are absorbed. Placement is relative to the previous reading (not to a grid anchored at the first
 * one), so a small error in the estimate never accumulates into skipped or doubled steps.
 *
 * For each reading, given the gap g since the stream's previous reading and the interval I:
 *   - g <= 0 (same time stamp, or a reading older than the last one that admission let through): a
 *     duplicate. It is not a step: it reports what its step reported.
 *   - g < 1.5 I: the next step.
 *   - 1.5 I <= g <= (resetAfter + 1) I: k = round(g / I) - 1 missing steps, then the reading. How the
 *     missing steps are filled depends on what the stream's silences have meant so far (`periodic`):
 *       - a periodic stream (it reports every interval, and a silence is rare: a report was lost): the
 *         missing steps lie on the straight line between the previous reading and this one, both known
 *         when this one arrives (linear interpolation; nothing waits for it);
 *       - otherwise (a report-on-change sensor, whose silence means "unchanged", or a stream whose cadence
 *         is not known well enough yet): the missing steps hold the previous reading.
 *   - g > (resetAfter + 1) I: a gap. The stream's model state is reset and the reading starts a new segment.
 * Until two gaps are known the interval is not: readings are plain steps and nothing is filled.
 *
 * Periodic, by evidence counted in readings (so at any rate): a stream is periodic once PERIODIC_EVIDENCE gaps
 * have been placed and the share of silences (gaps of 1.5 I or more) among its recent gaps, an exponential mean
 * over about PERIODIC_EVIDENCE gaps, is at most PERIODIC_SILENCES (one gap in four). A report-on-change sensor
 * falls silent whenever its value rests (its interval, the median gap, is then itself a silence or a heartbeat);
 * a periodic device that loses one report in 100, or whose time stamps are whole seconds of a 1.05 s period
 * (SKAB: one gap in 20 is 2 s), is far below it.
 *
 *   readings:  r  r  r     r  r              r       (interval I, resetAfter 4)
 *   steps:     s  s  s  f  s  s  (gap: reset) s
 */

/** How many recent gaps the interval is the median of. */
export const INTERVAL_SAMPLES = 31;
/** Gaps placed before a stream can be called periodic; also the span (gaps) of the mean share of silences. */
export const PERIODIC_EVIDENCE = 64;
/** The largest share of silences (gaps of 1.5 intervals or more) among a periodic stream's recent gaps. */
export const PERIODIC_SILENCES = 0.25;

export interface CadenceOptions {
  /** Nominal interval in ms; 0 = learn it per stream (the default). */
  readonly intervalMs: number;
  /** Missing steps beyond which a silence is a gap that resets the stream (readings, >= 0). */
  readonly resetAfter: number;
}

/** Where one reading falls. */
export interface Placement {
  /** Steps filled before this reading, 0 when none. */
  readonly filled: number;
  /**
   * How the filled steps are filled: true = on the straight line from the previous reading to this one (a
   * periodic stream's lost reports), false = holding the previous reading (report-on-change, or not known yet).
   * False when nothing is filled.
   */
  readonly interpolate: boolean;
  /** True when the reading starts a new segment: the stream's first reading, or the first after a gap. */
  readonly reset: boolean;
  /** True when the reading is a duplicate of the stream's last step (it is not a step of its own). */
  readonly duplicate: boolean;
  /** The interval in force, ms (0 while unknown). */
  readonly intervalMs: number;
}

/** One stream's cadence. JSON round-trip through `toJSON` / `Cadence.fromJSON`. */
export class Cadence {
  private lastTs = Number.NaN;
  private readonly gaps: number[] = [];
  /** The same gaps in ascending order (kept in step with `gaps`, so the median needs no sort). */
  private readonly sorted: number[] = [];
  private next = 0;
  private interval: number;
  /** Gaps placed against a known interval (capped at PERIODIC_EVIDENCE). */
  private placed = 0;
  /** Exponential mean (span PERIODIC_EVIDENCE gaps) of "the gap was a silence" (1) or a step (0). */
  private silences = 0;

  constructor(private readonly opts: CadenceOptions) {
    if (!(opts.intervalMs >= 0) || !Number.isFinite(opts.intervalMs)) throw new RangeError(`intervalMs must be a finite number >= 0, got ${opts.intervalMs}`);
    if (!Number.isInteger(opts.resetAfter) || opts.resetAfter < 0) throw new RangeError(`resetAfter must be an integer >= 0, got ${opts.resetAfter}`);
    this.interval = opts.intervalMs;
  }

  /** The stream's interval in ms: the configured one, else the learnt one, else 0 (not known yet). */
  get intervalMs(): number {
    return this.interval;
  }

  /** Time of the stream's latest reading (epoch ms), NaN before the first. */
  get latestTs(): number {
    return this.lastTs;
  }

  /**
   * True when the stream's silences have been rare enough for long enough that a silence is a lost report
   * (see the module's doc): its missing steps are interpolated.
   */
  get periodic(): boolean {
    return this.placed >= PERIODIC_EVIDENCE && this.silences <= PERIODIC_SILENCES;
  }

  /** Places a reading stamped `ts` (epoch ms). */
  place(ts: number): Placement {
    const last = this.lastTs;
    if (Number.isNaN(last)) {
      this.lastTs = ts;
      return { filled: 0, interpolate: false, reset: true, duplicate: false, intervalMs: this.interval };
    }
    const gap = ts - last;
    if (!(gap > 0)) return { filled: 0, interpolate: false, reset: false, duplicate: true, intervalMs: this.interval };
    this.lastTs = ts;
    const interval = this.interval;
    this.learn(gap);
    if (interval <= 0) return { filled: 0, interpolate: false, reset: false, duplicate: false, intervalMs: this.interval };
    const steps = gap / interval;
    // Whether the stream was periodic before this gap: the gap that is being filled is no evidence of itself.
    const periodic = this.periodic;
    this.count(steps >= 1.5);
    if (steps < 1.5) return { filled: 0, interpolate: false, reset: false, duplicate: false, intervalMs: this.interval };
    const missing = Math.round(steps) - 1;
    if (missing > this.opts.resetAfter) return { filled: 0, interpolate: false, reset: true, duplicate: false, intervalMs: this.interval };
    return { filled: missing, interpolate: periodic, reset: false, duplicate: false, intervalMs: this.interval };
  }

  /** Counts one gap placed against a known interval: a silence or a step. */
  private count(silence: boolean): void {
    if (this.placed < PERIODIC_EVIDENCE) this.placed++;
    this.silences += ((silence ? 1 : 0) - this.silences) / this.placed;
  }

  private learn(gap: number): void {
    if (this.opts.intervalMs > 0) return;
    if (this.gaps.length < INTERVAL_SAMPLES) {
      this.gaps.push(gap);
      insertSorted(this.sorted, gap);
    } else {
      const old = this.gaps[this.next];
      this.gaps[this.next] = gap;
      if (old !== gap) {
        removeSorted(this.sorted, old);
        insertSorted(this.sorted, gap);
      }
    }
    this.next = (this.next + 1) % INTERVAL_SAMPLES;
    if (this.gaps.length >= 2) this.interval = medianOfSorted(this.sorted);
  }

  toJSON(): CadenceState {
    return { format: CADENCE_FORMAT, lastTs: Number.isNaN(this.lastTs) ? null : this.lastTs, gaps: [...this.gaps], next: this.next, interval: this.interval, placed: this.placed, silences: this.silences };
  }

  /** Restores a state saved by `toJSON` under the same options. Throws on anything malformed. */
  static fromJSON(json: unknown, opts: CadenceOptions): Cadence {
    const c = new Cadence(opts);
    if (typeof json !== 'object' || json === null) throw new Error('cadence state: not an object');
    const s = json as { [K in keyof CadenceState]?: unknown };
    if (s.format !== CADENCE_FORMAT) throw new Error(`cadence state: format is not ${CADENCE_FORMAT}`);
    const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (!(s.lastTs === null || finite(s.lastTs))) throw new Error('cadence state: lastTs must be a number or null');
    const gaps = s.gaps;
    if (!Array.isArray(gaps) || gaps.length > INTERVAL_SAMPLES || !gaps.every((g): g is number => finite(g) && g > 0)) throw new Error('cadence state: gaps must be positive numbers');
    if (!finite(s.next) || !Number.isInteger(s.next) || s.next < 0 || s.next >= INTERVAL_SAMPLES) throw new Error('cadence state: bad next');
    if (!finite(s.interval) || s.interval < 0) throw new Error('cadence state: bad interval');
    c.lastTs = s.lastTs ?? Number.NaN;
    for (const g of gaps) {
      c.gaps.push(g);
      insertSorted(c.sorted, g);
    }
    c.next = s.next;
    c.interval = opts.intervalMs > 0 ? opts.intervalMs : s.interval;
    // Absent from states written before they existed: no evidence of periodicity yet (fills hold, as they did).
    if (s.placed !== undefined || s.silences !== undefined) {
      if (!finite(s.placed) || !Number.isInteger(s.placed) || s.placed < 0 || s.placed > PERIODIC_EVIDENCE) throw new Error('cadence state: bad placed');
      if (!finite(s.silences) || s.silences < 0 || s.silences > 1) throw new Error('cadence state: bad silences');
      c.placed = s.placed;
      c.silences = s.silences;
    }
    return c;
  }
}

const CADENCE_FORMAT = 'anomalyd-cadence/1';

export interface CadenceState {
  readonly format: typeof CADENCE_FORMAT;
  readonly lastTs: number | null;
  readonly gaps: readonly number[];
  readonly next: number;
  readonly interval: number;
  /** Gaps placed against a known interval, at most PERIODIC_EVIDENCE (absent in states before periodic fills). */
  readonly placed?: number;
  /** Mean share of silences among them (absent in states before periodic fills). */
  readonly silences?: number;
}

/** Inserts `v` into the ascending `sorted` after any equal values (in place, no allocation beyond the growth). */
function insertSorted(sorted: number[], v: number): void {
  let i = sorted.length;
  sorted.push(v);
  while (i > 0 && sorted[i - 1] > v) {
    sorted[i] = sorted[i - 1];
    i--;
  }
  sorted[i] = v;
}

/** Removes one value equal to `v` from the ascending `sorted` (it must hold one). */
function removeSorted(sorted: number[], v: number): void {
  const i = sorted.indexOf(v);
  if (i < 0) throw new Error(`cadence: gap ${v} missing from the sorted gaps`);
  for (let k = i; k < sorted.length - 1; k++) sorted[k] = sorted[k + 1];
  sorted.pop();
}

/** Median of ascending values (the mean of the middle two for an even count), as the sorted gaps' median. */
function medianOfSorted(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The point a fraction `f` (0 < f < 1) of the way from `a` to `b`, per channel: a lost report of a periodic
 * stream, filled by linear interpolation between its known neighbours. A channel whose neighbour is not
 * finite holds `a`'s value (as a report-on-change fill does).
 */
export function between(a: ArrayLike<number>, b: ArrayLike<number>, f: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let c = 0; c < a.length; c++) out[c] = Number.isFinite(a[c]) && Number.isFinite(b[c]) ? a[c] + (b[c] - a[c]) * f : a[c];
  return out;
}

/** A recorded series as the detector steps it (see `onCadence`). */
export interface SteppedSeries {
  /** Steps x C values, time-major. */
  readonly values: Float64Array;
  /** Per step, epoch ms (a filled step: the reading's time less the missing intervals). */
  readonly timestamps: Float64Array;
  /** Steps that were filled (not readings). */
  readonly filled: number;
  /** Readings dropped as duplicates (a time stamp not after the previous reading's). */
  readonly duplicates: number;
}

/**
 * One stream's recorded readings placed on a fresh cadence as the detector places them live: a duplicate is
 * dropped (the detector steps its model once per time stamp), missing steps are filled as the detector fills
 * them (interpolated for a periodic stream, held otherwise), and a gap (more than resetAfter missing steps) is
 * left as it is. What a model trained on the series sees is then what it is run on. `ts`: n epoch ms;
 * `values`: n x C, time-major.
 *
 * @throws RangeError when `values` is not `ts.length` x C, or on bad cadence options.
 */
export function onCadence(ts: ArrayLike<number>, values: ArrayLike<number>, C: number, opts: CadenceOptions): SteppedSeries {
  if (!(C >= 1) || values.length !== ts.length * C) throw new RangeError(`values must be ${ts.length} x ${C}, got ${values.length}`);
  const cadence = new Cadence(opts);
  const outV: number[] = [];
  const outT: number[] = [];
  let filled = 0;
  let duplicates = 0;
  let held: Float64Array | null = null;
  for (let i = 0; i < ts.length; i++) {
    const place = cadence.place(ts[i]);
    if (place.duplicate) {
      duplicates++;
      continue;
    }
    const row = new Float64Array(C);
    for (let c = 0; c < C; c++) row[c] = values[i * C + c];
    if (place.filled > 0 && held !== null) {
      for (let k = place.filled; k >= 1; k--) {
        const fill = place.interpolate ? between(held, row, (place.filled + 1 - k) / (place.filled + 1)) : held;
        for (let c = 0; c < C; c++) outV.push(fill[c]);
        outT.push(ts[i] - k * place.intervalMs);
        filled++;
      }
    }
    for (let c = 0; c < C; c++) outV.push(row[c]);
    outT.push(ts[i]);
    held = row;
  }
  return { values: Float64Array.from(outV), timestamps: Float64Array.from(outT), filled, duplicates };
}

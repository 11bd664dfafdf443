/**
 * Cadence: where each reading of a stream falls in the stream's own time, counted in readings.
 *
 * Every duration the detector uses is counted in steps of the stream's nominal interval, so a sensor read
 * every second and one read every hour are treated alike. The interval is learnt from the stream itself:
 * the median of its last `INTERVAL_SAMPLES` positive gaps between readings, re-estimated as readings come,
 * so jitter, late and early readings, an occasional missed reading and a change of the device's report
 * period are absorbed. A change of the sensor's REGULAR report period marks its reading (Placement.retimed: the
 * last RETIME_READINGS readings whose values moved came at a regular spacing, RETIME_FACTOR times the one the
 * stream's spans were counted at or as many times shorter): the spans the stream learnt in readings of the old
 * period start over (the scorer). A report-on-change sensor's quiet (its value held: heartbeats), a sparse
 * stretch around an episode or a few long gaps are no such evidence. Placement is relative to the previous reading
 * (not to a grid anchored at the first one), so a small error in the estimate never accumulates into skipped or
 * doubled steps.
 *
 * For each reading, given the gap g since the stream's previous reading and the interval I:
 *   - g <= 0 (the same time stamp: admission takes no reading older than the stream's newest) with the same
 *     values as the stream's previous reading (the caller compares them: `distinct` false): a duplicate, a message
 *     delivered twice. It is not a step: it reports what its step reported.
 *   - g <= 0 with other values (`distinct`): a reading of its own that shares the previous one's time (a hub that
 *     stamps on arrival read both from its socket in one go, a device clock counting whole seconds sent several
 *     in one second, a hub flushed a buffer under one time).
 *     It is judged as a step, placed as a reading a moment after the previous one is: its gap of 0 is not learnt
 *     (it is no period of the sensor's), nothing is filled, nothing reset, and after a fill it is bunched like any
 *     reading that comes faster than the interval. Before, it was a duplicate and its values were never judged (a
 *     spike, a counter's reset or the change that ends a stuck run in the same ms as the reading before was lost:
 *     CI stop 30).
 *   - g < 1.5 I: the next step.
 *   - 1.5 I <= g <= (resetAfter + 1) I: k = round(g / I) - 1 missing steps, then the reading. The missing
 *     steps are filled by holding the previous reading (a report-on-change sensor's silence means
 *     "unchanged"; a device that missed a report most likely read about the same).
 *   - g > (resetAfter + 1) I: a gap. The stream's model state is reset and the reading starts a new segment.
 * Readings bunched after a fill (stamped on arrival, they reach the daemon late after a stall of the publisher or of
 * the daemon, then come 1–150 ms apart): each is a step for the model and every kind, in order, but the filled steps
 * already stand for the time they were sent in, so counting them makes the stream's steps run ahead of its time (by
 * one a bunched reading; a cycle's phase slipped by as many, tryout 16 finding 6). So a fill lends its k steps to the
 * readings that follow it faster than the interval: counted from the reading before the silence, the steps are kept
 * level with the time passed (in intervals), and a reading that would put them more than half a step ahead is
 * placed `bunched`: it gives one of the filled steps back, which the cycle's phase takes (src/pipeline/cycle.ts:
 * CycleProfile.advance), the rest of the detector seeing a step as any. The loan ends when its k steps are given
 * back, at the next fill or gap, or at the first reading a whole interval or more after the one before it (the
 * stream back at its pace: jitter after one missed reading never meets it). The loan is branch `cadence2`'s, whose
 * bunched readings were duplicates, dropped (their values' jump then opened `change` episodes; BENCHMARKS.md).
 * Until two gaps are known the interval is not: readings are plain steps and nothing is filled.
 *
 *   readings:  r  r  r     r  r              r       (interval I, resetAfter 4)
 *   steps:     s  s  s  f  s  s  (gap: reset) s
 */

/** How many recent gaps the interval is the median of. */
export const INTERVAL_SAMPLES = 31;

/**
 * A regular spacing this many times the one the stream's spans were counted at (or as many times shorter) is a change
 * of the device's report period (a firmware that reports every minute instead of every 5): Placement.retimed. Below it,
 * the spacing moving is jitter or a slow clock; a report period that doubles or halves is met.
 */
export const RETIME_FACTOR = 1.9;

/**
 * The evidence of a report period, counted in readings: the gaps before the stream's last RETIME_READINGS readings whose
 * values moved (differ from the reading before; learnt gaps only). A report-on-change sensor's heartbeats while its
 * value holds repeat it, so its quiet spells are no evidence of a period, however regular the heartbeat.
 */
export const RETIME_READINGS = 31;

/**
 * A spacing is regular when at least this many of the RETIME_READINGS gaps lie within RETIME_SPREAD of their median (28
 * of 31): a sensor's clock, its jitter and a missed reading now and then. A report-on-change sensor's gaps (the times
 * its value crossed a step: one minute, three, seventeen) and a window still holding the old period's are not.
 */
export const RETIME_REGULAR = 28;

/** How far (a share of the median, either way) a gap may lie from the median and count as the regular spacing. */
export const RETIME_SPREAD = 0.25;

export interface CadenceOptions {
  /** Nominal interval in ms; 0 = learn it per stream (the default). */
  readonly intervalMs: number;
  /** Missing steps beyond which a silence is a gap that resets the stream (readings, >= 0). */
  readonly resetAfter: number;
}

/** Where one reading falls. */
export interface Placement {
  /** Steps filled (by holding the previous reading) before this reading, 0 when none. */
  readonly filled: number;
  /** True when the reading starts a new segment: the stream's first reading, or the first after a gap. */
  readonly reset: boolean;
  /** True when the reading is a duplicate of the stream's last step (it is not a step of its own). */
  readonly duplicate: boolean;
  /** At a gap (a reset after a silence, not the stream's first reading): the steps the silence missed, round(g / I) - 1; else absent. */
  readonly missed?: number;
  /** The interval in force, ms (0 while unknown). */
  readonly intervalMs: number;
  /**
   * The reading with which the stream's regular report period became another (the gaps before its last RETIME_READINGS
   * readings whose values moved: RETIME_REGULAR of them within RETIME_SPREAD of their median, that median RETIME_FACTOR
   * times the spacing the stream's spans were counted at or as many times shorter, and the interval in force agreeing
   * with it): the spacing its spans were counted at and the interval in force from now on, ms. From this reading on, a
   * step is one of the new interval. Absent otherwise (and with a configured interval, which never changes).
   */
  readonly retimed?: { readonly fromMs: number; readonly toMs: number };
  /**
   * A reading bunched after a fill that gives one of its filled steps back (a step for all but the cycle's phase):
   * the readings since that fill before this one, this one not counted (>= 1; they and this one move one step
   * earlier in the cycle's held readings, in the place of a filled step). Absent otherwise.
   */
  readonly bunched?: number;
}

/** One stream's cadence. JSON round-trip through `toJSON` / `Cadence.fromJSON`. */
export class Cadence {
  private lastTs = Number.NaN;
  private readonly gaps: number[] = [];
  /** The same gaps in ascending order (kept in step with `gaps`, so the median needs no sort). */
  private readonly sorted: number[] = [];
  private next = 0;
  private interval: number;
  /** Filled steps lent to readings bunched after the latest fill, not yet given back (0: no loan). */
  private lent = 0;
  /** While a loan runs: steps counted minus time passed (in intervals) since the reading before the fill, in (-0.5, 0.5]. */
  private ahead = 0;
  /** While a loan runs: the readings since the fill (the one that came with it included). */
  private since = 0;
  /**
   * The regular spacing the stream's spans are counted at (ms): the first regular one its moving readings showed, then
   * each new report period (Placement.retimed); NaN before any (a report-on-change sensor's may never be). Checkpointed.
   */
  private base = Number.NaN;
  /** The gaps before the stream's last RETIME_READINGS readings whose values moved (a ring), and the same ascending. */
  private readonly moving: number[] = [];
  private readonly movingSorted: number[] = [];
  private movingNext = 0;
  /** A retime learn() found for the reading being placed, handed to its Placement. */
  private retime: { readonly fromMs: number; readonly toMs: number } | null = null;

  constructor(private readonly opts: CadenceOptions) {
    if (!(opts.intervalMs >= 0) || !Number.isFinite(opts.intervalMs)) throw new RangeError(`intervalMs must be a finite number >= 0, got ${opts.intervalMs}`);
    if (!Number.isInteger(opts.resetAfter) || opts.resetAfter < 0) throw new RangeError(`resetAfter must be an integer >= 0, got ${opts.resetAfter}`);
    this.interval = opts.intervalMs;
  }

  /** The stream's interval in ms: the configured one, else the learnt one, else 0 (not known yet). */
  get intervalMs(): number {
    return this.interval;
  }

  /**
   * True once the interval is known robustly: set by the options, or the median of a full window of INTERVAL_SAMPLES
   * learnt gaps (positive gaps between readings: a duplicate, a reading at the same time, a bunched or excused one
   * teach none), in which a few late, early or missed readings cannot move the median far. Before, it is the median
   * of as few as two gaps (a boot's burst of readings a second apart is a 1 s interval). Kept across a restart (the
   * gaps are checkpointed). The daemon judges the silence of a stream still in its learning period from then on only
   * (Detector.judgeSilence).
   */
  get settled(): boolean {
    return this.opts.intervalMs > 0 || this.gaps.length >= INTERVAL_SAMPLES;
  }

  /**
   * How many gaps the interval has been learnt from (0 … INTERVAL_SAMPLES: positive gaps, as `settled` counts them;
   * INTERVAL_SAMPLES once the window is full, and with a configured interval, which learns none). A young stream's
   * silence is judged from YOUNG_GAPS of them (Detector.silenceJudged).
   */
  get gapsLearnt(): number {
    return this.opts.intervalMs > 0 ? INTERVAL_SAMPLES : this.gaps.length;
  }

  /**
   * The longest of the gaps the interval is learnt from (ms; the last INTERVAL_SAMPLES), 0 before any and with a
   * configured interval. A young stream's silence is judged only once it is longer than this (Detector.silenceJudged:
   * with k exchangeable gaps, the next exceeds all k with probability 1 / (k + 1), so a silence no longer than a gap
   * the stream has already shown is no news of it).
   */
  get longestGapMs(): number {
    return this.opts.intervalMs > 0 || this.sorted.length === 0 ? 0 : this.sorted[this.sorted.length - 1];
  }

  /** Time of the stream's latest reading (epoch ms), NaN before the first. */
  get latestTs(): number {
    return this.lastTs;
  }

  /**
   * The stream's next reading begins a new recording (Detector.newRecording): it is placed as a stream's first
   * reading is (a new segment: `reset`, nothing filled, no silence counted), whenever it comes. The interval
   * learnt so far is kept (the sensor's report period); the time between the two recordings is not learnt as
   * one of its gaps.
   */
  restart(): void {
    this.lastTs = Number.NaN;
    this.lent = 0;
  }

  /**
   * Places a reading stamped `ts` (epoch ms). `learn` false: its gap is not learnt as one of the stream's (a reading
   * the caller knows came late, bunched with others: Detector.excuseGap); it is placed all the same. `distinct`: a
   * reading not later than the previous one (ts <= latestTs) has other values than it, so it is a step of its own
   * (gap 0, not learnt), not a duplicate; it does not matter for a later reading. `moved`: the reading's values differ
   * from the previous reading's (false: a value held, as a report-on-change sensor's heartbeat repeats it); only a
   * learnt gap before a reading that moved is evidence of the report period (RETIME_READINGS).
   */
  place(ts: number, learn = true, distinct = false, moved = true): Placement {
    const last = this.lastTs;
    if (Number.isNaN(last)) {
      this.lastTs = ts;
      return { filled: 0, reset: true, duplicate: false, intervalMs: this.interval };
    }
    if (!(ts > last)) return distinct ? this.step(0, false) : { filled: 0, reset: false, duplicate: true, intervalMs: this.interval };
    this.lastTs = ts;
    const placed = this.step(ts - last, learn, moved);
    if (this.retime === null) return placed;
    const retimed = this.retime;
    this.retime = null;
    return { ...placed, retimed };
  }

  /** Places a reading `gap` ms (>= 0) after the previous one, the stream's time already moved to it. */
  private step(gap: number, learn: boolean, moved = false): Placement {
    const interval = this.interval;
    if (this.lent > 0 && gap < interval && gap / interval < this.ahead + 0.5) {
      // Bunched after a fill: it gives a filled step back (the time passes, the steps do not). Its gap is the
      // receiver's, not one between the sensor's reports: not learnt (bunches after frequent stalls would otherwise
      // be most of the last gaps, and their median a few ms).
      this.ahead -= gap / interval;
      this.lent--;
      return { filled: 0, reset: false, duplicate: false, intervalMs: interval, bunched: this.since++ };
    }
    if (learn) {
      this.learn(gap);
      if (moved) this.evidence(gap);
    }
    if (interval <= 0) return { filled: 0, reset: false, duplicate: false, intervalMs: this.interval };
    const steps = gap / interval;
    if (steps < 1.5) {
      if (this.lent > 0) {
        // Counted as a step; the loan ends once the stream is back at its pace.
        if (steps >= 1) this.lent = 0;
        else {
          this.ahead += 1 - steps;
          this.since++;
        }
      }
      return { filled: 0, reset: false, duplicate: false, intervalMs: this.interval };
    }
    const missing = Math.round(steps) - 1;
    if (missing > this.opts.resetAfter) {
      this.lent = 0;
      return { filled: 0, reset: true, duplicate: false, intervalMs: this.interval, missed: missing };
    }
    this.lent = missing;
    this.ahead = missing + 1 - steps;
    this.since = 1;
    return { filled: missing, reset: false, duplicate: false, intervalMs: this.interval };
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

  /**
   * Takes a learnt gap before a reading whose values moved as evidence of the report period (RETIME_READINGS), and
   * finds a change of it: the ring full, its gaps regular (RETIME_REGULAR within RETIME_SPREAD of their median M), the
   * interval in force agreeing with M (within RETIME_SPREAD), and M RETIME_FACTOR times the base or as many times
   * shorter. The first regular spacing becomes the base without a retime (a new stream's first period).
   */
  private evidence(gap: number): void {
    if (this.opts.intervalMs > 0) return;
    const ring = this.moving;
    const sorted = this.movingSorted;
    if (ring.length < RETIME_READINGS) {
      ring.push(gap);
      insertSorted(sorted, gap);
    } else {
      const old = ring[this.movingNext];
      ring[this.movingNext] = gap;
      if (old !== gap) {
        removeSorted(sorted, old);
        insertSorted(sorted, gap);
      }
    }
    this.movingNext = (this.movingNext + 1) % RETIME_READINGS;
    if (ring.length < RETIME_READINGS) return;
    const m = medianOfSorted(sorted);
    const base = this.base;
    const known = !Number.isNaN(base);
    if (known && m < RETIME_FACTOR * base && m * RETIME_FACTOR > base) return;
    if (Math.abs(this.interval - m) > RETIME_SPREAD * m) return;
    if (countWithin(sorted, (1 - RETIME_SPREAD) * m, (1 + RETIME_SPREAD) * m) < RETIME_REGULAR) return;
    if (known) this.retime = { fromMs: base, toMs: this.interval };
    this.base = m;
  }

  toJSON(): CadenceState {
    let state: CadenceState = { format: CADENCE_FORMAT, lastTs: Number.isNaN(this.lastTs) ? null : this.lastTs, gaps: [...this.gaps], next: this.next, interval: this.interval };
    if (this.lent > 0) state = { ...state, loan: { lent: this.lent, ahead: this.ahead, since: this.since } };
    return Number.isNaN(this.base) ? state : { ...state, base: this.base };
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
    // Absent from states written before it existed, and while no regular spacing was seen: none (the first regular
    // one becomes it). The evidence ring starts empty: a change of period across a restart is found RETIME_READINGS
    // moving readings after it.
    if (s.base !== undefined) {
      if (!finite(s.base) || s.base <= 0) throw new Error('cadence state: base must be a positive number');
      if (opts.intervalMs === 0) c.base = s.base;
    }
    // Absent from states written before the loan existed, or with none running: no loan.
    if (s.loan !== undefined) {
      const loan = s.loan;
      if (typeof loan !== 'object' || loan === null) throw new Error('cadence state: loan must be an object');
      const { lent, ahead, since } = loan as { [K in keyof CadenceLoan]?: unknown };
      if (!finite(lent) || !Number.isInteger(lent) || lent < 1) throw new Error('cadence state: loan.lent must be an integer >= 1');
      if (!finite(ahead) || Math.abs(ahead) > 1) throw new Error('cadence state: loan.ahead must be a number in [-1, 1]');
      if (!finite(since) || !Number.isInteger(since) || since < 1) throw new Error('cadence state: loan.since must be an integer >= 1');
      c.lent = lent;
      c.ahead = ahead;
      c.since = since;
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
  /** A loan of filled steps to bunched readings running (absent: none; and in states written before it existed). */
  readonly loan?: CadenceLoan;
  /** The regular spacing the stream's spans are counted at, ms (Cadence.base; absent: none seen yet, and in older states). */
  readonly base?: number;
}

/** A fill's steps lent to the readings bunched after it (Cadence.place). */
export interface CadenceLoan {
  /** Filled steps not yet given back (>= 1). */
  readonly lent: number;
  /** Steps counted minus time passed since the reading before the fill, in intervals. */
  readonly ahead: number;
  /** Readings since the fill, the one that came with it included (>= 1). */
  readonly since: number;
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

/** How many of the ascending `sorted` lie in [lo, hi] (two binary searches). */
function countWithin(sorted: readonly number[], lo: number, hi: number): number {
  return upperBound(sorted, hi) - lowerBound(sorted, lo);
}

/** The first index whose value is >= v (sorted.length when none). */
function lowerBound(sorted: readonly number[], v: number): number {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (sorted[mid] < v) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** The first index whose value is > v (sorted.length when none). */
function upperBound(sorted: readonly number[], v: number): number {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (sorted[mid] <= v) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** Median of ascending values (the mean of the middle two for an even count), as the sorted gaps' median. */
function medianOfSorted(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

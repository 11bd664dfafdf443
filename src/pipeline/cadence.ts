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
 *   - 1.5 I <= g <= (resetAfter + 1) I: k = round(g / I) - 1 missing steps, then the reading. The missing
 *     steps are filled by holding the previous reading (a report-on-change sensor's silence means
 *     "unchanged"; a device that missed a report most likely read about the same).
 *   - g > (resetAfter + 1) I: a gap. The stream's model state is reset and the reading starts a new segment.
 * Until two gaps are known the interval is not: readings are plain steps and nothing is filled.
 *
 *   readings:  r  r  r     r  r              r       (interval I, resetAfter 4)
 *   steps:     s  s  s  f  s  s  (gap: reset) s
 */

/** How many recent gaps the interval is the median of. */
export const INTERVAL_SAMPLES = 31;

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
}

/** One stream's cadence. JSON round-trip through `toJSON` / `Cadence.fromJSON`. */
export class Cadence {
  private lastTs = Number.NaN;
  private readonly gaps: number[] = [];
  /** The same gaps in ascending order (kept in step with `gaps`, so the median needs no sort). */
  private readonly sorted: number[] = [];
  private next = 0;
  private interval: number;

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
   * The stream's next reading begins a new recording (Detector.newRecording): it is placed as a stream's first
   * reading is (a new segment: `reset`, nothing filled, no silence counted), whenever it comes. The interval
   * learnt so far is kept (the sensor's report period); the time between the two recordings is not learnt as
   * one of its gaps.
   */
  restart(): void {
    this.lastTs = Number.NaN;
  }

  /**
   * Places a reading stamped `ts` (epoch ms). `learn` false: its gap is not learnt as one of the stream's (a reading
   * the caller knows came late, bunched with others: Detector.excuseGap); it is placed all the same.
   */
  place(ts: number, learn = true): Placement {
    const last = this.lastTs;
    if (Number.isNaN(last)) {
      this.lastTs = ts;
      return { filled: 0, reset: true, duplicate: false, intervalMs: this.interval };
    }
    const gap = ts - last;
    if (!(gap > 0)) return { filled: 0, reset: false, duplicate: true, intervalMs: this.interval };
    this.lastTs = ts;
    const interval = this.interval;
    if (learn) this.learn(gap);
    if (interval <= 0) return { filled: 0, reset: false, duplicate: false, intervalMs: this.interval };
    const steps = gap / interval;
    if (steps < 1.5) return { filled: 0, reset: false, duplicate: false, intervalMs: this.interval };
    const missing = Math.round(steps) - 1;
    if (missing > this.opts.resetAfter) return { filled: 0, reset: true, duplicate: false, intervalMs: this.interval, missed: missing };
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

  toJSON(): CadenceState {
    return { format: CADENCE_FORMAT, lastTs: Number.isNaN(this.lastTs) ? null : this.lastTs, gaps: [...this.gaps], next: this.next, interval: this.interval };
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

/**
 * Does a young stream send changes only (send-on-delta reporting: a report-on-change sensor, zigbee2mqtt's "reportable
 * change"), though every reading so far came on time? And has it shown enough of its own pace, and of periodic
 * reporting, for its silence to be judged before its interval is settled?
 *
 * A report-on-change sensor whose value kept changing sends at its shortest reporting interval, so its first readings
 * can all come one interval apart, as a periodic sensor's do; its first quiet (its value settled) then looks like a
 * death to its arrivals (src/pipeline/arrivals.ts: every reading on time). Its values tell what its arrivals cannot:
 * it never sends the value it sent before, and it sends only once its value moved by at least its reportable change δ
 * (send-on-delta: Miśkowicz, "Send-on-delta concept: an event-based data reporting strategy", Sensors 6(1), 2006), so
 * its changes have a floor; a periodic sensor sends whatever its value did, so it repeats a coarse value often and a
 * fine-grained one moves by little as often as by much.
 *
 * Two tests, each at SEND_ON_DELTA_ALPHA, either taking the stream for one that sends changes only (changesOnly):
 * - Levels. The stream's readings (duplicates excluded) took L distinct values (tuples of its channels' values) and none
 *   of its n consecutive pairs repeated. Were its readings drawn independently from those levels with any frequencies
 *   p_i, a pair repeats with probability Σ p_i² ≥ 1 / L (Cauchy–Schwarz), so no repeat in n pairs has probability at
 *   most (1 − 1 / L)^n. Held only while L ≤ SEND_ON_DELTA_LEVELS (a fine-grained value's lack of repeats is no
 *   evidence; its levels are no longer kept).
 * - Small changes. A pair is a small change when each channel moved by less than SMALL_CHANGE of its median move over
 *   the stream's pairs (the first SEND_ON_DELTA_CHANGES). A periodic sensor's change between two readings, of noise or
 *   of a random walk (log-concave: a Gaussian's, and the difference of two independent log-concave readings is
 *   log-concave, I. A. Ibragimov, "On the composition of unimodal distributions", Theory Probab. Appl. 1(2), 1956), is
 *   unimodal and symmetric about 0, so its size has a non-increasing density and a concave distribution function F
 *   with F(0) = 0: F(c · median) ≥ c · F(median) = c / 2. A pair is then a small change with probability at least
 *   (c / 2)^C over C independent channels, and none in n pairs has probability at most (1 − (c / 2)^C)^n. A
 *   send-on-delta sensor whose value moves slowly between reports sends changes of δ or a little more: none small.
 * A repeat, a small change or a quiet of its own ends both tests (a slowly moving periodic signal repeats and moves
 * little more often than independent draws do, not less, so it is no more likely to be taken for one). A
 * report-on-change sensor whose value moves by more than twice δ between its reports can show a small change: it is then
 * not taken for one (its quiet is judged on its arrivals, as a periodic sensor's).
 *
 * It keeps more facts of the young stream, which Detector.silenceJudged asks before its interval is settled: its own
 * gaps (ms, the first INTERVAL_SAMPLES: not the caller's deafness, a backfill's or a late backlog's), from which
 * youngCadence tells a power-up burst, its interval and its arrivals; the gaps recorded when its latest repeat and its
 * latest small change came (periodic reporting, after a power-up burst or not); and whether it ended a quiet of its
 * own at the interval then known (`quiet`). The detector tracks them only while the stream learns.
 */

import { median } from '../explain/robust.js';
import { ARRIVAL_STATE } from './arrivals.js';
import { INTERVAL_SAMPLES } from './cadence.js';

/** The level of the tests (see the module comment): a conventional 1 %. Taking a periodic stream for one only delays its young death's alert to the end of its learning period. */
export const SEND_ON_DELTA_ALPHA = 0.01;

/** Distinct values beyond which the levels test no longer holds (and its values are no longer kept). */
export const SEND_ON_DELTA_LEVELS = 16;

/** Pairs whose changes the small-change test keeps per channel (the stream's first; its median move is theirs). */
export const SEND_ON_DELTA_CHANGES = 32;

/** A small change: each channel moved by less than this share of its median move (the module comment's c). */
export const SMALL_CHANGE = 0.5;

/** A stream's send-on-delta test and young facts, as checkpointed. */
export interface SendOnDeltaState {
  /** Consecutive readings (duplicates excluded) compared, none equal to the one before (>= 0). */
  readonly pairs: number;
  /** Its distinct values so far, each the channels' values joined by ',' (at most SEND_ON_DELTA_LEVELS; empty once the levels test ended). */
  readonly levels: readonly string[];
  /** True once neither test can hold (a repeat, a small change, a quiet); absent: they can. */
  readonly ended?: true;
  /** True once the levels test cannot hold (more than SEND_ON_DELTA_LEVELS values); absent: it can (or `ended`). */
  readonly levelsEnded?: true;
  /** True once a reading repeated the one before (SendOnDelta.repeated); absent: none yet. */
  readonly repeated?: true;
  /** True once the stream ended a quiet of its own (SendOnDelta.quiet); absent: not yet. */
  readonly quiet?: true;
  /** Per channel, the sizes of its first pairs' changes (sensor units, >= 0; at most SEND_ON_DELTA_CHANGES each); absent: none (states written before it). */
  readonly changes?: readonly (readonly number[])[];
  /** The stream's own gaps, ms (> 0, at most INTERVAL_SAMPLES, in order); absent: none (states written before it). */
  readonly gaps?: readonly number[];
  /** Own gaps recorded when the latest repeat came (>= 0); absent: no repeat, or one before this was kept (0 then, with `repeated`). */
  readonly repeatAt?: number;
  /** Own gaps recorded when the latest small change came (>= 0); absent: none. */
  readonly smallAt?: number;
}

/**
 * A young stream's pace from its own gaps (youngCadence): a power-up burst dropped, its interval, its arrivals.
 */
export interface YoungCadence {
  /** Leading gaps dropped as a power-up burst (>= 0): the readings 0 … burst are the burst. */
  readonly burst: number;
  /** Gaps after the burst (>= 0). */
  readonly gaps: number;
  /** Its interval, ms: the median of the gaps after the burst (0 without any). */
  readonly intervalMs: number;
  /** The longest gap after the burst, ms (0 without any). */
  readonly longestMs: number;
  /** Its arrivals counted at that interval (src/pipeline/arrivals.ts: count, Σ missed, Σ missed²; ARRIVAL_STATE numbers). */
  readonly arrivals: Float64Array;
  /** Gaps after the burst that missed a step or more at that interval (round(gap / interval) − 1 >= 1): quiet of its own. */
  readonly holes: number;
  /** The most steps missed before one of its arrivals after the burst (>= 0). */
  readonly mostMissed: number;
}

/**
 * A young stream's pace from its own gaps `gapsMs` (ms, > 0, in order). A power-up burst is dropped first: the longest
 * run of leading gaps each shorter than `burstFraction` of the median of the gaps after it (a device's boot sends a
 * few readings a second apart as its components come up, then reports at its period: ESPHome, Tasmota; those gaps are
 * no period of its, and counted in their 1 s a 5 min report is a hole of 299 steps). Its interval is the median of the
 * gaps after (robust: one late, early or missed report of five leaves it one of the on-time gaps), and each gap after
 * the burst is an arrival after round(gap / interval) − 1 missed steps (0 at least), as src/pipeline/arrivals.ts
 * counts them, but all at the interval known now (the stream's arrivals as the scorer learnt them counted each at the
 * interval known when it came: a burst's 1 s).
 * @param burstFraction in (0, 1): Detector's BURST_FRACTION
 */
export function youngCadence(gapsMs: readonly number[], burstFraction: number): YoungCadence {
  let burst = 0;
  while (burst < gapsMs.length - 1 && gapsMs[burst] < burstFraction * median(gapsMs.slice(burst + 1))) burst++;
  const own = gapsMs.slice(burst);
  const arrivals = new Float64Array(ARRIVAL_STATE);
  if (own.length === 0) return { burst, gaps: 0, intervalMs: 0, longestMs: 0, arrivals, holes: 0, mostMissed: 0 };
  const intervalMs = median(own);
  let longestMs = 0;
  let holes = 0;
  let mostMissed = 0;
  for (const g of own) {
    const x = Math.max(0, Math.round(g / intervalMs) - 1);
    arrivals[0] += 1;
    arrivals[1] += x;
    arrivals[2] += x * x;
    if (x >= 1) holes++;
    if (x > mostMissed) mostMissed = x;
    if (g > longestMs) longestMs = g;
  }
  return { burst, gaps: own.length, intervalMs, longestMs, arrivals, holes, mostMissed };
}

/** One young stream's send-on-delta test and young facts (see the module comment). */
export class SendOnDelta {
  private pairs = 0;
  private readonly levels = new Set<string>();
  private last: string | null = null;
  private lastValues: number[] | null = null;
  /** False once neither test can hold any more: a repeat, a small change, a quiet of its own. */
  private open = true;
  /** False once the levels test cannot hold: too many distinct values. */
  private levelsOpen = true;
  private repeatSeen = false;
  private quietSeen = false;
  private changes: number[][] = [];
  private readonly gapsMs: number[] = [];
  private repeatAt = -1;
  private smallAt = -1;

  /**
   * Takes one of the stream's own gaps (ms, > 0), before the reading that ended it is observed: not one of the caller's
   * deafness, a backfill's or a late backlog's (the detector leaves those out). Kept up to INTERVAL_SAMPLES (its
   * interval settled then: Cadence.settled). A non-finite or non-positive gap is ignored. True when it was kept.
   */
  gap(ms: number): boolean {
    if (!(ms > 0 && Number.isFinite(ms) && this.gapsMs.length < INTERVAL_SAMPLES)) return false;
    this.gapsMs.push(ms);
    return true;
  }

  /** How many of its own gaps are kept (0 … INTERVAL_SAMPLES). */
  get gapsKept(): number {
    return this.gapsMs.length;
  }

  /** Takes one reading's values (not a duplicate: the caller skips those; nor one that ended a quiet: quietShown). */
  observe(values: ArrayLike<number>): void {
    const key = keyOf(values);
    if (this.last !== null) {
      if (key === this.last) {
        this.repeatSeen = true;
        this.repeatAt = this.gapsMs.length;
      } else {
        this.pairs++;
        if (this.smallChange(values)) this.smallAt = this.gapsMs.length;
      }
    }
    this.last = key;
    this.lastValues = Array.from(values);
    if (!this.open) return;
    if (this.repeatSeen || this.smallAt >= 0) this.end();
    else if (this.levelsOpen) {
      this.levels.add(key);
      if (this.levels.size > SEND_ON_DELTA_LEVELS) this.endLevels();
    }
  }

  /** Keeps this pair's changes (the first SEND_ON_DELTA_CHANGES); true when each channel moved by less than SMALL_CHANGE of its median move. */
  private smallChange(values: ArrayLike<number>): boolean {
    const before = this.lastValues;
    if (before === null || before.length !== values.length) return false;
    if (this.changes.length !== values.length) this.changes = Array.from({ length: values.length }, () => []);
    let small = true;
    for (let c = 0; c < values.length; c++) {
      const d = Math.abs(values[c] - before[c]);
      if (!Number.isFinite(d)) return false;
      const kept = this.changes[c];
      if (kept.length < SEND_ON_DELTA_CHANGES) kept.push(d);
      if (!(d < SMALL_CHANGE * median(kept))) small = false;
    }
    return small;
  }

  /**
   * The stream ended a quiet of its own at the interval known then (a reading after filled steps or a gap): no longer
   * taken to send changes only, and its gaps varied (quiet). Its values are compared all the same for periodicAfter
   * (a repeat or a small change): a hole at an interval learnt from a power-up burst is none at the stream's own pace,
   * and a true quiet stays in its own gaps (youngCadence's holes).
   */
  quietShown(values: ArrayLike<number>): void {
    this.quietSeen = true;
    this.end();
    const key = keyOf(values);
    if (this.last !== null) {
      if (key === this.last) this.repeatAt = this.gapsMs.length;
      else if (this.smallChange(values)) this.smallAt = this.gapsMs.length;
    }
    this.last = key;
    this.lastValues = Array.from(values);
  }

  private end(): void {
    this.open = false;
    this.endLevels();
  }

  private endLevels(): void {
    this.levelsOpen = false;
    this.levels.clear();
  }

  /** True once a reading repeated the one before it (no quiet between: quietShown): the stream sends whether or not its value changed. */
  get repeated(): boolean {
    return this.repeatSeen;
  }

  /** True once the stream ended a quiet of its own (quietShown). */
  get quiet(): boolean {
    return this.quietSeen;
  }

  /**
   * True when the stream has shown periodic reporting after its first `after` gaps (a power-up burst's: youngCadence):
   * a reading that repeated the one before, or a small change (each channel moved by less than SMALL_CHANGE of its
   * median move), that ended one of its later gaps. A send-on-delta sensor sends neither but after a quiet.
   * @param after gaps, >= 0
   */
  periodicAfter(after: number): boolean {
    return this.repeatAt > after || this.smallAt > after || (after === 0 && this.repeatSeen);
  }

  /** The stream's pace from its own gaps (youngCadence), `burstFraction` as there. */
  cadence(burstFraction: number): YoungCadence {
    return youngCadence(this.gapsMs, burstFraction);
  }

  /**
   * True when the stream is taken to send changes only: no repeat, small change nor quiet in its pairs, improbable
   * for a periodic stream (≤ SEND_ON_DELTA_ALPHA) by the levels test (few values) or the small-change test.
   */
  get changesOnly(): boolean {
    if (!this.open || this.pairs === 0) return false;
    if (this.levelsOpen && this.levels.size > 0 && Math.pow(1 - 1 / this.levels.size, this.pairs) <= SEND_ON_DELTA_ALPHA) return true;
    const channels = this.changes.length;
    return channels > 0 && Math.pow(1 - Math.pow(SMALL_CHANGE / 2, channels), this.pairs) <= SEND_ON_DELTA_ALPHA;
  }

  /** The state to checkpoint. */
  toJSON(): SendOnDeltaState {
    return {
      pairs: this.pairs,
      levels: [...this.levels],
      ...(this.open ? {} : { ended: true as const }),
      ...(this.open && !this.levelsOpen ? { levelsEnded: true as const } : {}),
      ...(this.repeatSeen ? { repeated: true as const } : {}),
      ...(this.quietSeen ? { quiet: true as const } : {}),
      ...(this.changes.length > 0 ? { changes: this.changes.map((c) => [...c]) } : {}),
      ...(this.gapsMs.length > 0 ? { gaps: [...this.gapsMs] } : {}),
      ...(this.repeatAt >= 0 ? { repeatAt: this.repeatAt } : {}),
      ...(this.smallAt >= 0 ? { smallAt: this.smallAt } : {}),
    };
  }

  /**
   * Restores a state written by toJSON (its latest value is not kept, so the next reading is compared with none: one
   * pair fewer counted). A state written before changes, gaps, repeatAt and smallAt were kept restores without them (its
   * young silence judged once it has shown YOUNG_GAPS gaps more). Throws on anything malformed.
   */
  static fromJSON(json: unknown): SendOnDelta {
    if (typeof json !== 'object' || json === null) throw new Error('send-on-delta state: not an object');
    const { pairs, levels, ended, levelsEnded, repeated, quiet, changes, gaps, repeatAt, smallAt } = json as { [K in keyof SendOnDeltaState]?: unknown };
    const flag = (v: unknown): boolean => v === undefined || v === true;
    if (!flag(ended) || !flag(levelsEnded) || !flag(repeated) || !flag(quiet)) throw new Error('send-on-delta state: ended, levelsEnded, repeated and quiet must be true or absent');
    const count = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
    if (!count(pairs)) throw new Error('send-on-delta state: pairs must be an integer >= 0');
    if (!Array.isArray(levels) || levels.length > SEND_ON_DELTA_LEVELS || !levels.every((l): l is string => typeof l === 'string')) throw new Error(`send-on-delta state: levels must be at most ${SEND_ON_DELTA_LEVELS} strings`);
    const sizes = (v: unknown, max: number, ok: (x: number) => boolean): v is number[] => Array.isArray(v) && v.length <= max && v.every((x) => typeof x === 'number' && ok(x));
    if (changes !== undefined && !(Array.isArray(changes) && changes.every((c) => sizes(c, SEND_ON_DELTA_CHANGES, (x) => Number.isFinite(x) && x >= 0)))) throw new Error(`send-on-delta state: changes must be arrays of at most ${SEND_ON_DELTA_CHANGES} numbers >= 0`);
    if (gaps !== undefined && !sizes(gaps, INTERVAL_SAMPLES, (x) => Number.isFinite(x) && x > 0)) throw new Error(`send-on-delta state: gaps must be at most ${INTERVAL_SAMPLES} numbers > 0`);
    if ((repeatAt !== undefined && !count(repeatAt)) || (smallAt !== undefined && !count(smallAt))) throw new Error('send-on-delta state: repeatAt and smallAt must be integers >= 0 or absent');
    const t = new SendOnDelta();
    t.pairs = pairs;
    t.open = ended !== true;
    t.levelsOpen = t.open && levelsEnded !== true;
    t.repeatSeen = repeated === true;
    t.quietSeen = quiet === true;
    for (const l of levels) t.levels.add(l);
    if (changes !== undefined) t.changes = changes.map((c) => [...c]);
    if (gaps !== undefined) t.gapsMs.push(...gaps);
    t.repeatAt = repeatAt ?? (t.repeatSeen ? 0 : -1);
    t.smallAt = smallAt ?? -1;
    return t;
  }
}

/** A reading's values as one key: the channels' values joined by ','. */
function keyOf(values: ArrayLike<number>): string {
  let key = '';
  for (let i = 0; i < values.length; i++) key += i === 0 ? String(values[i]) : `,${values[i]}`;
  return key;
}

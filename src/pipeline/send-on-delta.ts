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
 * - Floor. A pair's relative move is the largest over its channels of its change over that channel's median move
 *   (over the stream's first SEND_ON_DELTA_CHANGES pairs), and s the least over its pairs. A periodic sensor's change
 *   between two readings, of noise or of a random walk (log-concave: a Gaussian's, and the difference of two
 *   independent log-concave readings is log-concave, I. A. Ibragimov, "On the composition of unimodal distributions",
 *   Theory Probab. Appl. 1(2), 1956), is unimodal and symmetric about 0, so its size has a non-increasing density and a
 *   concave distribution function F with F(0) = 0: F(c · median) ≥ c · F(median) = c / 2 for c ≤ 1. A pair moves by
 *   less than c of the medians with probability at least (c / 2)^C over C independent channels, and the least of n
 *   such probabilities is at least u but with probability (1 − u)^n (a uniform minimum's), so no pair under s has
 *   probability at most (1 − (min(s, 1) / 2)^C)^n. A send-on-delta sensor sends changes of δ or more: s is at least δ
 *   over its median move, however fast its value moves (youngdeath's test, s = SMALL_CHANGE fixed, took one whose
 *   value moved by more than 2δ between reports for periodic: branch youngdeath3).
 * A repeat or a quiet of its own ends both tests (a slowly moving periodic signal repeats and moves little more often
 * than independent draws do, not less, so it is no more likely to be taken for one); a power-up burst's (youngCadence:
 * zigbee2mqtt and Tasmota send their state 2 or 3 times a second apart at power-up) repeats, changes and pairs are left
 * out of the evidence, and the quiet that ends the tests is one at the stream's own pace (changesOnlyAfter).
 *
 * It keeps more facts of the young stream, which Detector.silenceJudged asks before its interval is settled: its own
 * gaps (ms, the first INTERVAL_SAMPLES: not the caller's deafness, a backfill's or a late backlog's), from which
 * youngCadence tells a power-up burst, its interval and its arrivals; the gaps recorded when its latest repeat and its
 * latest small change (each channel under SMALL_CHANGE of its median move) came (periodic reporting, after a power-up
 * burst or not); and whether, and when, it ended a quiet of its own at the interval then known (`quiet`). The detector tracks them only while the stream learns.
 *
 * And, over all its own gaps while it learns (not only the first INTERVAL_SAMPLES), its HEARTBEAT_TOP longest
 * (noteGap): its longest quiet, and whether that quiet recurs (heartbeat), which Detector.youngDeathMs asks. A
 * report-on-change sensor with a heartbeat (zigbee2mqtt: a report at the device's maximum reporting interval when its
 * value did not move, ZCL's "maximum reporting interval") keeps quiet up to that interval and no longer, so its longest
 * gaps pile up at it: the longest gap seen again, within HEARTBEAT_SPREAD, is its heartbeat. A stream whose quiet has
 * no bound (a door contact, a Home Assistant statestream sensor that sends on change only) rarely repeats its longest
 * gap so closely: for independent gaps with a power-law tail P(X > x) ∝ x^−α (the heaviest a quiet's), α times the log
 * ratio of the two longest is a standard exponential (the spacings of exponential order statistics: H. A. David and
 * H. N. Nagaraja, Order Statistics, 3rd ed., 2003, §2.5), so the two are within 1 + s of each other with probability
 * 1 − (1 + s)^−α: about 5 % · α at s = 5 %.
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

/** A small change, periodic evidence for a young stream's pace (periodicAfter): each channel moved by less than this share of its median move. */
export const SMALL_CHANGE = 0.5;

/** How many of its longest own gaps a young stream keeps (SendOnDelta.noteGap): the longest, and those that recur near it. */
export const HEARTBEAT_TOP = 3;

/**
 * A gap within this share of the longest is that longest gap again (SendOnDelta.heartbeat): a heartbeat timer's
 * jitter (a report 60.0 to 62.5 s after the one before in tryout 37's zigbee2mqtt publisher: 4 %), and about 5 % · α
 * of the streams with unbounded quiet (the module comment).
 */
export const HEARTBEAT_SPREAD = 0.05;

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
  /** Own gaps recorded when each kept change came (>= 0, one per kept pair, in order); absent: none (states written before it: every kept change counted as after any power-up burst). */
  readonly changeAt?: readonly number[];
  /** The least relative move of the pairs after the kept ones (relativeMove; >= 0); absent: none yet. */
  readonly floor?: number;
  /** Own gaps recorded when the latest quiet of its own ended (>= 0); absent: none, or one before this was kept (`quiet` then ends the tests whatever the burst). */
  readonly quietAt?: number;
  /** Its longest own gaps so far, ms (> 0, at most HEARTBEAT_TOP, longest first: SendOnDelta.noteGap); absent: none (states written before it: learnt again). */
  readonly longest?: readonly number[];
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

/** SendOnDelta.quietAt of a quiet restored from a state written before quietAt was kept: after any power-up burst. */
const QUIET_UNPLACED = Number.MAX_SAFE_INTEGER;

/** One young stream's send-on-delta test and young facts (see the module comment). */
export class SendOnDelta {
  private pairs = 0;
  private readonly levels = new Set<string>();
  private last: string | null = null;
  private lastValues: number[] | null = null;
  /** False only when restored from a state written as ended (before a repeat, a small change or a quiet ended the tests only after a power-up burst: changesOnlyAfter). */
  private open = true;
  /** False once the levels test cannot hold: too many distinct values. */
  private levelsOpen = true;
  private repeatSeen = false;
  private quietSeen = false;
  private changes: number[][] = [];
  /** Own gaps recorded when each kept change came (one per kept pair, aligned with each channel's `changes`). */
  private changeAt: number[] = [];
  /** The least relative move (relativeMove) of the pairs after the kept ones; Infinity: none yet. */
  private floorBeyond = Number.POSITIVE_INFINITY;
  private readonly gapsMs: number[] = [];
  /** Its HEARTBEAT_TOP longest own gaps, ms, longest first (noteGap). */
  private readonly longest: number[] = [];
  private repeatAt = -1;
  private smallAt = -1;
  /** Own gaps recorded when the latest quiet of its own ended; -1: none; QUIET_UNPLACED: restored without it. */
  private quietAt = -1;

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

  /**
   * Takes one of the stream's own gaps (ms, > 0; as `gap`: not the caller's deafness, a backfill's or a late
   * backlog's) for its longest (HEARTBEAT_TOP of them), whatever how many came before. A non-finite or non-positive
   * gap is ignored.
   */
  noteGap(ms: number): void {
    if (!(ms > 0 && Number.isFinite(ms))) return;
    if (this.longest.length === HEARTBEAT_TOP && ms <= this.longest[HEARTBEAT_TOP - 1]) return;
    this.longest.push(ms);
    this.longest.sort((a, b) => b - a);
    if (this.longest.length > HEARTBEAT_TOP) this.longest.length = HEARTBEAT_TOP;
  }

  /** Its longest own gap, ms (noteGap; 0 before any). */
  get longestGapMs(): number {
    return this.longest[0] ?? 0;
  }

  /**
   * Its heartbeat, ms: its longest own gap (noteGap) when the second longest is within HEARTBEAT_SPREAD of it (its
   * longest quiet recurs: a bound it keeps, the module comment); 0 when it does not, or with fewer than two gaps.
   */
  get heartbeat(): number {
    if (this.longest.length < 2) return 0;
    return this.longest[1] * (1 + HEARTBEAT_SPREAD) >= this.longest[0] ? this.longest[0] : 0;
  }

  /** How many of its own gaps are kept (0 … INTERVAL_SAMPLES). */
  get gapsKept(): number {
    return this.gapsMs.length;
  }

  /**
   * Takes one reading's values (not a duplicate: the caller skips those; nor one that ended a quiet: quietShown). A
   * repeat or a small change is recorded with the gaps kept when it came (repeatAt, smallAt): it ends the tests only
   * when it came after a power-up burst (changesOnlyAfter), as a boot's state sent 2 or 3 times is no periodic report.
   */
  observe(values: ArrayLike<number>): void {
    const key = keyOf(values);
    if (this.last !== null) {
      if (key === this.last) {
        this.repeatSeen = true;
        this.repeatAt = this.gapsMs.length;
      } else {
        this.pairs++;
        if (this.change(values)) this.smallAt = this.gapsMs.length;
      }
    }
    this.last = key;
    this.lastValues = Array.from(values);
    if (this.open && this.levelsOpen) {
      this.levels.add(key);
      if (this.levels.size > SEND_ON_DELTA_LEVELS) this.endLevels();
    }
  }

  /**
   * Keeps this pair's changes (the first SEND_ON_DELTA_CHANGES, each with the gaps kept when it came), or past them
   * its relative move into floorBeyond; true when each channel moved by less than SMALL_CHANGE of its median move.
   */
  private change(values: ArrayLike<number>): boolean {
    const before = this.lastValues;
    if (before === null || before.length !== values.length) return false;
    const d = Array.from(values, (v, c) => Math.abs(v - before[c]));
    if (!d.every((x) => Number.isFinite(x))) return false;
    if (this.changes.length !== values.length) {
      this.changes = Array.from({ length: values.length }, () => []);
      this.changeAt = [];
    }
    const kept = this.changeAt.length < SEND_ON_DELTA_CHANGES;
    if (kept) {
      for (let c = 0; c < d.length; c++) this.changes[c].push(d[c]);
      this.changeAt.push(this.gapsMs.length);
    }
    const medians = this.changes.map((k) => median(k));
    if (!kept) this.floorBeyond = Math.min(this.floorBeyond, relativeMove(d, medians));
    return d.every((x, c) => x < SMALL_CHANGE * medians[c]);
  }

  /**
   * The stream ended a quiet of its own at the interval known then (a reading after filled steps or a gap): no longer
   * taken to send changes only, and its gaps varied (quiet). Its values are compared all the same for periodicAfter
   * (a repeat or a small change): a hole at an interval learnt from a power-up burst is none at the stream's own pace,
   * and a true quiet stays in its own gaps (youngCadence's holes).
   */
  quietShown(values: ArrayLike<number>): void {
    this.quietSeen = true;
    this.quietAt = this.gapsMs.length;
    const key = keyOf(values);
    if (this.last !== null) {
      if (key === this.last) this.repeatAt = this.gapsMs.length;
      else if (this.change(values)) this.smallAt = this.gapsMs.length;
    }
    this.last = key;
    this.lastValues = Array.from(values);
  }

  private endLevels(): void {
    this.levelsOpen = false;
    this.levels.clear();
  }

  /** True once a reading repeated the one before it (no quiet between: quietShown), in a power-up burst or after it. */
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

  /** changesOnlyAfter(0): the tests over all its pairs (no power-up burst dropped; any quiet of its own ends them). */
  get changesOnly(): boolean {
    return this.changesOnlyAfter(0);
  }

  /**
   * True when the stream is taken to send changes only, its first `burst` gaps (a power-up burst's: youngCadence; 0:
   * none) left out: no quiet of its own, no repeat after the burst, and its n pairs after the burst improbable for a
   * periodic stream (≤ SEND_ON_DELTA_ALPHA) by the levels test (few values, the burst's among them) or the floor test
   * (the module comment: no change after the burst under the least relative move s, (1 − (min(s, 1) / 2)^C)^n). The
   * burst's pairs are left out of n, its repeats and changes out of the evidence (zigbee2mqtt, Tasmota: the state sent
   * 2 or 3 times at power-up, then only on change). A quiet is one at the stream's own pace when `holes` is given (the
   * holes of youngCadence after the burst, its gaps' median: a quiet told while its gaps were kept came at the interval
   * known then, which a burst's 1 s makes every report a hole of, for several reports), or once its gaps were all kept
   * (its interval settled); without `holes`, any quiet told.
   * @param burst gaps, >= 0
   * @param holes youngCadence's holes after the burst (>= 0); absent: any quiet told ends the tests
   */
  changesOnlyAfter(burst: number, holes?: number): boolean {
    if (!this.open || (this.repeatSeen && (burst === 0 || this.repeatAt > burst))) return false;
    if (this.quietSeen && (holes === undefined || holes > 0 || this.quietAt >= INTERVAL_SAMPLES)) return false;
    const n = this.pairs - (burst === 0 ? 0 : this.changeAt.filter((at) => at <= burst).length);
    if (n <= 0) return false;
    if (this.levelsOpen && this.levels.size > 0 && Math.pow(1 - 1 / this.levels.size, n) <= SEND_ON_DELTA_ALPHA) return true;
    const floor = this.floorAfter(burst);
    const channels = this.changes.length;
    return channels > 0 && Number.isFinite(floor) && Math.pow(1 - Math.pow(Math.min(floor, 1) / 2, channels), n) <= SEND_ON_DELTA_ALPHA;
  }

  /**
   * The least relative move (relativeMove) of the pairs after the first `burst` gaps: the kept ones against the
   * medians of the kept changes after the burst, and those past them (floorBeyond, against the medians of all kept).
   * Infinity when no kept change came after the burst.
   */
  private floorAfter(burst: number): number {
    const idx: number[] = [];
    for (let i = 0; i < this.changeAt.length; i++) if (burst === 0 || this.changeAt[i] > burst) idx.push(i);
    if (idx.length === 0) return Number.POSITIVE_INFINITY;
    const medians = this.changes.map((k) => median(idx.map((i) => k[i])));
    let floor = this.floorBeyond;
    for (const i of idx) floor = Math.min(floor, relativeMove(this.changes.map((k) => k[i]), medians));
    return floor;
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
      ...(this.changes.length > 0 ? { changes: this.changes.map((c) => [...c]), changeAt: [...this.changeAt] } : {}),
      ...(this.gapsMs.length > 0 ? { gaps: [...this.gapsMs] } : {}),
      ...(this.repeatAt >= 0 ? { repeatAt: this.repeatAt } : {}),
      ...(this.smallAt >= 0 ? { smallAt: this.smallAt } : {}),
      ...(Number.isFinite(this.floorBeyond) ? { floor: this.floorBeyond } : {}),
      ...(this.quietAt >= 0 && this.quietAt !== QUIET_UNPLACED ? { quietAt: this.quietAt } : {}),
      ...(this.longest.length > 0 ? { longest: [...this.longest] } : {}),
    };
  }

  /**
   * Restores a state written by toJSON (its latest value is not kept, so the next reading is compared with none: one
   * pair fewer counted). A state written before changes, gaps, repeatAt and smallAt were kept restores without them (its
   * young silence judged once it has shown YOUNG_GAPS gaps more); one written before changeAt was kept takes its
   * changes as after any power-up burst. Throws on anything malformed.
   */
  static fromJSON(json: unknown): SendOnDelta {
    if (typeof json !== 'object' || json === null) throw new Error('send-on-delta state: not an object');
    const { pairs, levels, ended, levelsEnded, repeated, quiet, changes, gaps, repeatAt, smallAt, changeAt, floor, quietAt, longest } = json as { [K in keyof SendOnDeltaState]?: unknown };
    const flag = (v: unknown): boolean => v === undefined || v === true;
    if (!flag(ended) || !flag(levelsEnded) || !flag(repeated) || !flag(quiet)) throw new Error('send-on-delta state: ended, levelsEnded, repeated and quiet must be true or absent');
    const count = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
    if (!count(pairs)) throw new Error('send-on-delta state: pairs must be an integer >= 0');
    if (!Array.isArray(levels) || levels.length > SEND_ON_DELTA_LEVELS || !levels.every((l): l is string => typeof l === 'string')) throw new Error(`send-on-delta state: levels must be at most ${SEND_ON_DELTA_LEVELS} strings`);
    const sizes = (v: unknown, max: number, ok: (x: number) => boolean): v is number[] => Array.isArray(v) && v.length <= max && v.every((x) => typeof x === 'number' && ok(x));
    if (changes !== undefined && !(Array.isArray(changes) && changes.every((c) => sizes(c, SEND_ON_DELTA_CHANGES, (x) => Number.isFinite(x) && x >= 0)))) throw new Error(`send-on-delta state: changes must be arrays of at most ${SEND_ON_DELTA_CHANGES} numbers >= 0`);
    if (gaps !== undefined && !sizes(gaps, INTERVAL_SAMPLES, (x) => Number.isFinite(x) && x > 0)) throw new Error(`send-on-delta state: gaps must be at most ${INTERVAL_SAMPLES} numbers > 0`);
    if ((repeatAt !== undefined && !count(repeatAt)) || (smallAt !== undefined && !count(smallAt)) || (quietAt !== undefined && !count(quietAt))) throw new Error('send-on-delta state: repeatAt, smallAt and quietAt must be integers >= 0 or absent');
    const kept = changes === undefined || changes.length === 0 ? 0 : changes[0].length;
    if (changes !== undefined && !changes.every((c) => c.length === kept)) throw new Error('send-on-delta state: changes must be as many per channel');
    if (changeAt !== undefined && !(sizes(changeAt, SEND_ON_DELTA_CHANGES, (x) => Number.isInteger(x) && x >= 0) && changeAt.length === kept)) throw new Error('send-on-delta state: changeAt must be integers >= 0, one per kept change');
    if (floor !== undefined && !(typeof floor === 'number' && Number.isFinite(floor) && floor >= 0)) throw new Error('send-on-delta state: floor must be a number >= 0 or absent');
    if (longest !== undefined && !(sizes(longest, HEARTBEAT_TOP, (x) => Number.isFinite(x) && x > 0) && longest.every((x, i) => i === 0 || x <= longest[i - 1]))) throw new Error(`send-on-delta state: longest must be at most ${HEARTBEAT_TOP} numbers > 0, longest first`);
    const t = new SendOnDelta();
    t.pairs = pairs;
    t.open = ended !== true;
    t.levelsOpen = t.open && levelsEnded !== true;
    t.repeatSeen = repeated === true;
    t.quietSeen = quiet === true;
    for (const l of levels) t.levels.add(l);
    if (changes !== undefined) t.changes = changes.map((c) => [...(c)]);
    if (gaps !== undefined) t.gapsMs.push(...gaps);
    t.changeAt = changeAt !== undefined ? [...changeAt] : Array.from({ length: kept }, () => t.gapsMs.length);
    t.repeatAt = repeatAt ?? (t.repeatSeen ? 0 : -1);
    t.smallAt = smallAt ?? -1;
    t.floorBeyond = floor ?? Number.POSITIVE_INFINITY;
    t.quietAt = quietAt ?? (t.quietSeen ? QUIET_UNPLACED : -1);
    if (longest !== undefined) t.longest.push(...longest);
    return t;
  }
}

/**
 * A pair's relative move: the largest over its channels of |change| / that channel's median move (0 for no change;
 * Infinity for a change of a channel whose median move is 0). The least over n pairs of a periodic stream is under s
 * but with probability at most (1 − (min(s, 1) / 2)^C)^n (the module comment).
 */
function relativeMove(d: readonly number[], medians: readonly number[]): number {
  let most = 0;
  for (let c = 0; c < d.length; c++) most = Math.max(most, d[c] === 0 ? 0 : d[c] / medians[c]);
  return most;
}

/** A reading's values as one key: the channels' values joined by ','. */
function keyOf(values: ArrayLike<number>): string {
  let key = '';
  for (let i = 0; i < values.length; i++) key += i === 0 ? String(values[i]) : `,${values[i]}`;
  return key;
}

/**
 * How long has a channel held its present state, against how long it has held that state before? A duty cycle's
 * dwell times (a fridge's compressor on for about 20 minutes, off for about 40, each varying by a fifth from one
 * cycle to the next as a thermostat's do) are the stream's own: a state held far longer than its past dwells there
 * (a relay stuck on, a door left open, a compressor that never starts) is an anomaly that no value is (60 W is the
 * stream's usual on level), that the cycle's profile misses where the phases vary too much to keep a period (the
 * autocorrelation decorrelates as the jitter adds up, src/pipeline/cycle.ts) and, where it has one, tells only at
 * one phase a period later and lets go as the profile learns the held level.
 *
 * States. A channel's readings are cut into segments at switches: a reading at least SWITCH typical changes (the
 * caller's `scale`, the stream's typical change in sensor units: a geometric mean, which the switches themselves do
 * not move) away from the level of the segment it would end (the segment's running mean). A segment that ends within
 * BLIP readings back at the level of the one before it (within half a switch) was a blip (a spike, a start-up surge):
 * the earlier segment goes on, counting it. An ordinary switch is taught at once (the ended dwell, its state's level,
 * the alternation below), so a blip to one of the stream's own levels (a quantised slow stream's one-step flicker,
 * 21.6 → 21.5 → 21.6 °C) teaches the hold's dwell so far, and the next one, two ends in one state in a row, breaks
 * the alternation: such a stream is judged as no duty cycle, as before spikeleft. A
 * switch to a reading at no state the channel knows (atNoState: it knows two or more, and the reading is farther
 * than half a switch from each) is taught only once the segment after it has outlasted BLIP readings or ended at a
 * switch of its own, and the return from it is judged by the noise of the segment it returns to (the spike's one
 * reading has none), so one reading away from every state inside a state (a 2100 W spike in a fridge plug's 80 ± 3 W
 * on state followed by 85 W, tryout 30 finding 1; a compressor's start-up surge, 117 W for one reading, each 45 min
 * of a plug stuck on, tryout 37 finding 2, which took the surge for a switch out of the on state whose dwell started
 * over at it, so each episode resolved one period after the state began and the next opened) neither cuts that
 * state's dwell in two nor breaks the run of alternating segments the judgement waits for. (Skipping every blip
 * so, spikeleft's first rule, joined a quantised day's cycle's flickers into one hold
 * judged against the short ones between them: a false `stuck` at 10 s, test/explain/quantised-holds.test.ts.) Each
 * segment belongs to the state whose level it is nearest (at most MAX_STATES levels; a
 * segment more than half a switch from every known level is a new state, in the place of the state seen least).
 * Dwell = readings since the segment began (filled steps count: time at the stream's cadence, the same at any
 * sampling rate).
 *
 * Judgement. The dwells that ended in each state (count, sum, sum of squares; exponentially forgotten over `horizon`
 * dwells) give its mean m and standard deviation s. Only a duty cycle is judged: the last 2 · MIN_DWELLS segments
 * that ended alternated between two states (A, B, A, B, …), so the stream's dwells are those of one cycle's phases,
 * not the visits of a signal that wanders among several levels (MSL's P-11, D-16, M-1, M-3 and SKAB's valve1 files,
 * whose short visits to one level made a later long one "rare": 11 false alarms on MSL, 1 on SKAB, BENCHMARKS.md).
 * Once a state has ended MIN_DWELLS dwells, the present dwell d is
 * judged by the one-sided normal tail of z = (d − m) / σ, σ = max(s, m / RELATIVE, 1 reading): the duration model of
 * a hidden semi-Markov model with normal state durations (Yu, "Hidden semi-Markov models", Artificial Intelligence
 * 174, 2010, section 3; Ferguson 1980), its state known from the level. The floor m / RELATIVE: a switch an eighth
 * of the dwell late (the cycle finder's slack, an eighth of the period, SWITCH_SLACK in cycle.ts) is z = 2 at most,
 * on time; the reading's own quantisation (1 reading) bounds it below. A dwell that was judged rare (at the caller's
 * hold level) is not taught when it ends (censored, as a rare run is, src/pipeline/runs.ts), nor one whose start is
 * unknown (the first segment, after a gap). Nor, judged or not, one far beyond its state's recent dwells (doubtful:
 * Hampel's identifier on their median and MAD), until two more alike confirm it (CONFIRM): one over-long dwell that
 * ended before the judgement began (a motor forced on 38 min among runs of 6 to 18.5 min, before its 8th run) would
 * have widened the state's spread so that a motor that never stopped was told at +52 min (tryout 39, finding 3).
 */

import { lnGamma } from './runs.js';

/** A switch: a reading this many typical changes from its segment's level (cycle.ts SWITCH_SCALE). */
const SWITCH = 6;
/** A segment of fewer readings than this, followed by a return to the level before it, is a blip of that segment. */
const BLIP = 3;
/** Most states (levels) a channel keeps. */
const MAX_STATES = 4;
/** Dwells a state must have ended before its present dwell is judged. */
const MIN_DWELLS = 8;
/** The standard deviation of a state's dwells is taken as at least its mean over this (see the module comment). */
const RELATIVE = 16;
/** Numbers in a snapshot's present segment (DwellSnapshot.segment; a snapshot from before `pending` holds one fewer). */
const SEGMENT_FIELDS = 15;
/**
 * A duty cycle's state whose dwells are at least this many times the other state's is its rest (DwellTracker.step): a
 * device used now and then (a kettle: 0 W for hours, 1,800 W for minutes), which rests over 90 % of the time; its rest
 * held long is a day without a use (tryout 31's kettle, not used for a day, was told `kettle 0 for 2.2 d, never longer
 * than 11 h before (stuck value)`). A fridge's off phase, about twice its on phase, is judged (its compressor that
 * never starts).
 */
const REST_RATIO = 10;
/**
 * A visit (DwellTracker.visiting) is noisy as its state is: its segment's mean absolute deviation is at most this many
 * times the state's (twice: a segment of a few readings' deviation varies by about that; a burst of noise is several).
 */
const VISIT_NOISE = 2;
/** The largest surprise returned (−log10 of a probability; the scorer's MAX_SURPRISE is 16). */
const MAX_DWELL_SURPRISE = 16;
/**
 * A state's latest taught dwells kept for the doubt rule (DwellTracker.doubtful): its median and median absolute
 * deviation (MAD) are those of the state's recent dwells, which one far dwell moves by at most one rank.
 */
const RECENT = 16;
/** Taught dwells a state must have before a dwell of it can be doubted (held back): the median and MAD of fewer say nothing. */
const FEW = 5;
/**
 * A dwell beyond the median of its state's recent dwells by more than this many robust standard deviations (1.4826 ×
 * MAD) is doubted: Hampel's identifier, at the "very conservative" 3 of Leys et al., "Detecting outliers: do not use
 * standard deviation around the mean, use absolute deviation around the median", J. Exp. Soc. Psychol. 49 (2013).
 */
const FAR = 3;
/** The MAD of a normal sample is its standard deviation over this (1 / Φ⁻¹(3/4)). */
const MAD_TO_SD = 1.4826;
/**
 * Doubted dwells of one state, each within RECENT segments of that state of the first, that are taught at last, all of
 * them: a stream whose runs really became longer is taught the new length after this many, never after one.
 */
const CONFIRM = 3;

interface DwellStateLevel {
  /** The state's level, sensor units (the mean of its segments' levels, forgotten with its dwells). */
  level: number;
  /** Forgotten count, sum and sum of squares of the dwells that ended in it, readings. */
  n: number;
  sx: number;
  sxx: number;
  /** Segments seen in this state (its place among MAX_STATES). */
  seen: number;
  /** The mean absolute deviation of its segments' readings from their level, sensor units (their noise). */
  dev: number;
  /** The longest dwell taught, ms of the readings' times (for telling; 0: none). */
  longestMs: number;
  /** The latest RECENT taught dwells, readings, oldest first (the doubt rule's sample; empty in a snapshot from before it). */
  recent: number[];
  /**
   * Doubted dwells not taught yet (DwellTracker.doubtful), as triples: the dwell (readings), its length (ms of the
   * readings' times) and the state's `seen` when it ended; at most CONFIRM − 1 of them.
   */
  doubts: number[];
}

/** A channel's dwell state, as a snapshot (DwellTracker.toJSON). */
export interface DwellSnapshot {
  /** Segments in a row that ended alternating between two states, and the last two's states (indices of `states`, −1: none). */
  readonly alternating?: number;
  readonly oneBack?: number;
  readonly twoBack?: number;
  /**
   * The present segment and the one before it (a blip returns to it), SEGMENT_FIELDS numbers (NaN as null: no level
   * yet; booleans as 0 / 1; the last: the one before is pending, not yet taught, absent in a snapshot from before it).
   * Absent: the present segment starts over (its start unknown).
   */
  readonly segment?: readonly (number | null)[];
  /** Each state; `recent` and `doubts` (DwellStateLevel's) absent in a snapshot from before the doubt rule: none. */
  readonly states: readonly { readonly level: number; readonly n: number; readonly sx: number; readonly sxx: number; readonly seen: number; readonly dev: number; readonly longestMs: number; readonly recent?: readonly number[]; readonly doubts?: readonly number[] }[];
}

/** One channel's segments and its states' dwells (see the module comment). */
export class DwellTracker {
  private states: DwellStateLevel[] = [];
  /** The present segment: its running mean level, readings (dwell), whether its start is known (it began at a switch). */
  private level = Number.NaN;
  private dwell = 0;
  private known = false;
  /** Readings of the present segment counted into the mean (its level), and the sum of their absolute deviations from it. */
  private count = 0;
  private absDev = 0;
  /** The time of the present segment's first reading (epoch ms). */
  private startTs = 0;
  /** The present dwell reached the hold level (not taught when it ends). */
  private rare = false;
  /** The segment before the present one: its level, dwell, whether known and rare (a blip returns to it). */
  private prevLevel = Number.NaN;
  private prevDwell = 0;
  private prevKnown = false;
  private prevRare = false;
  private prevCount = 0;
  private prevAbsDev = 0;
  private prevStartTs = 0;
  /**
   * The segment before the present one ended at a switch and is not yet taught (the present segment may still be a
   * blip of it): taught once the present one outlasts BLIP readings or ends at a switch (see the module comment).
   */
  private pending = false;
  /** The dwell memory of the latest step (dwells), for teaching a pending end at a gap. */
  private horizon = 2;
  /**
   * The states of the last two segments that ended (null: none), and how many segments in a row ended alternating
   * between two states (A, B, A, B, …: each in the state two before it, not the one before).
   */
  private oneBack: DwellStateLevel | null = null;
  private twoBack: DwellStateLevel | null = null;
  private alternating = 0;
  /** The scale of the latest step (the stream's typical change). */
  private scale = 0;
  /** Set by step(): the present state and its surprise (0 when not judged). */
  private surpriseNow = 0;

  /**
   * Takes the next reading `x` (sensor units) and the `filled` steps before it (they held the previous value), with
   * the stream's typical change `scale` (sensor units, > 0; 0 or NaN: no scale yet, nothing is judged or taught) and
   * the dwell memory `horizon` (dwells, >= 2); `ts`: the reading's time (epoch ms; only for telling, held). Returns the
   * present dwell's surprise, −log10 P(a dwell in its state lasts at least this long), 0 when not judged (a state with fewer than MIN_DWELLS ended dwells, no scale).
   */
  step(x: number, filled: number, scale: number, horizon: number, ts = 0): number {
    this.surpriseNow = 0;
    this.scale = scale;
    this.horizon = horizon;
    if (!Number.isFinite(x)) return 0;
    const steps = 1 + Math.max(0, filled);
    if (this.level !== this.level || !(scale > 0)) {
      if (this.level !== this.level) this.startSegment(x, false, steps, ts);
      else this.extend(x, steps);
      return 0;
    }
    // A switch is large against the stream's typical change and against the noise of the state it leaves (a duty
    // cycle's on state is noisier than its off state, whose repeats set most of the typical change).
    const here = this.stateOf(this.level, scale);
    const jump = SWITCH * Math.max(scale, this.count > 1 ? this.absDev / (this.count - 1) : 0, here === null ? 0 : here.dev);
    if (Math.abs(x - this.level) >= jump) {
      // A blip: the present segment is short and the reading is back at the level before it, within half a switch of
      // that level as its own noise sets one (a spike's one reading has no noise: judged by its own, the return of a
      // noisy on state to its level, 85 W to 80.8 W, was no return, and the spike cut the on state's dwell in two).
      // A pending segment before (the present one began at a reading at no known state, atNoState) is judged so;
      // after a switch to a known state the return is judged by the present segment's switch, as ever.
      if (this.dwell < BLIP && this.prevLevel === this.prevLevel && Math.abs(x - this.prevLevel) < (this.pending ? this.prevJump(scale) : jump) / 2) {
        this.level = this.prevLevel;
        this.dwell = this.prevDwell + this.dwell + steps;
        this.count = this.prevCount;
        this.absDev = this.prevAbsDev;
        this.startTs = this.prevStartTs;
        this.known = this.prevKnown;
        this.rare = this.prevRare;
        this.prevLevel = Number.NaN;
        // A blip's switch to no known state never happened: the segment it left is not taught (an ordinary one's was, at it).
        this.pending = false;
      } else if (this.dwell < BLIP && this.known) {
        // A short segment that began at a switch and is not back at the level before it: its readings were the
        // switch's way to the new level (a reading averaged across the switch) or the new state's first noisy
        // readings, set apart by a threshold that knew only the quiet state's noise. The segment goes on from its
        // start, its level taken afresh from this reading.
        this.dwell += steps;
        this.level = x;
        this.count = 1;
        this.absDev = 0;
      } else {
        this.settle();
        const waits = this.atNoState(x, scale);
        this.end();
        this.startSegment(x, true, steps, ts);
        // A switch to one of the channel's states (a one-step flicker of a quantised stream between two of its levels
        // included) is taught at once; one to a reading at no state it knows (a compressor's start-up surge inside a
        // held on state, a reading out of the stream's normal) waits to see whether it was a blip.
        if (!waits) this.settle();
      }
    } else this.extend(x, steps);
    if (this.dwell >= BLIP) this.settle();
    const st = this.stateOf(this.level, scale);
    if (st === null || !this.known || st.n < MIN_DWELLS || this.alternating < 2 * MIN_DWELLS) return 0;
    const m = st.sx / st.n;
    // A rest: the state held REST_RATIO times as long as the other state of the cycle (the one the last segment ended
    // in) is a device's rest between uses, held long when it is not used, not a fault (OnOffDwell judges only its
    // active state alike).
    const other = this.oneBack;
    if (other !== null && other !== st && other.n > 0 && m >= REST_RATIO * (other.sx / other.n)) return 0;
    const s = Math.sqrt(Math.max(0, st.sxx / st.n - m * m));
    const sigma = Math.max(s, m / RELATIVE, 1);
    const z = (this.dwell - m) / sigma;
    this.surpriseNow = z > 0 ? Math.min(MAX_DWELL_SURPRISE, normalTailSurprise(z)) : 0;
    return this.surpriseNow;
  }

  /**
   * Whether a switch to reading `x` (sensor units) waits before it is taught: the channel knows at least two states
   * and `x` is at none of them (farther than half a switch from each, stateOf). A fridge plug's start-up surge (120 W
   * for one reading, its states 0.5 W and 80 W) is; its return to 80 W, within BLIP readings and half a switch of the
   * level it left as that segment's noise sets one, is then a blip of the on state, whose dwell goes on (tryout 37,
   * finding 2: the surge each 45 min of a plug stuck on cut its dwell, the episode resolved and opened again). A
   * quantised stream's flicker between two of its levels does not wait (its states' alternation is taught at once).
   */
  private atNoState(x: number, scale: number): boolean {
    return this.states.length >= 2 && this.stateOf(x, scale) === null;
  }

  /**
   * A switch away from the segment before the present one (SWITCH times the largest of the stream's typical change
   * `scale`, that segment's noise and its state's noise), sensor units.
   */
  private prevJump(scale: number): number {
    const there = this.stateOf(this.prevLevel, scale);
    return SWITCH * Math.max(scale, this.prevCount > 1 ? this.prevAbsDev / (this.prevCount - 1) : 0, there === null ? 0 : there.dev);
  }

  /** Marks the present dwell rare when its surprise reached `hold` (it is then not taught when it ends). */
  censorAt(hold: number): void {
    if (this.surpriseNow >= hold) this.rare = true;
  }

  /**
   * Whether reading `x` (sensor units; the latest step's) is an ordinary visit of the duty cycle's present state: the
   * present dwell is judged (it began at a switch, its state has ended MIN_DWELLS dwells, the last 2 · MIN_DWELLS
   * segments alternated between two states, as step requires) and its surprise is below `hold` (the caller's hold
   * level), `x` is at the state's level (within half a switch of it, as stateOf finds a state) and the present
   * segment's noise is the state's (at most VISIT_NOISE times its mean absolute deviation). Such a reading is
   * how the stream moves, however far it is from the stream's mean: a kettle's plug at 1,800 W for 4 minutes a few
   * times a day, whose off state is 0 W, is at one of its two levels, and whether it is held too long is this
   * tracker's judgement, not the level's (the caller's scorer lets the level-like kinds pass it by: StreamScorer,
   * visitOnly). False while the present dwell is not judged: a plug's first switch-ons (0 → 80 W after a day flat)
   * are judged as ever, and so is every visit before the dwells could tell a left-on.
   */
  visiting(x: number, hold: number): boolean {
    if (!(this.surpriseNow < hold) || !this.known || !(this.scale > 0) || this.alternating < 2 * MIN_DWELLS) return false;
    const st = this.stateOf(this.level, this.scale);
    if (st === null || st.n < MIN_DWELLS || this.stateOf(x, this.scale) !== st) return false;
    // Its noise is the state's own: the present segment's mean absolute deviation from its level at most VISIT_NOISE
    // times the state's (or the typical change, where the state is quiet): a burst of noise in a known state is no visit.
    const noise = this.count > 1 ? this.absDev / (this.count - 1) : 0;
    return noise <= VISIT_NOISE * Math.max(st.dev, this.scale);
  }

  /**
   * The present state held since when (epoch ms, its first reading) and the longest the state was held before (ms),
   * while the present dwell's surprise (step) is at least `hold`; else null.
   */
  held(hold: number): { readonly since: number; readonly longestMs: number } | null {
    if (!(this.surpriseNow >= hold) || this.surpriseNow === 0) return null;
    const st = this.stateOf(this.level, this.scale);
    return st === null ? null : { since: this.startTs, longestMs: st.longestMs };
  }

  /**
   * The duty cycle's present state, as the relation check reads it (src/pipeline/relation.ts): 0 when the present
   * segment is at the lower of the two states the last 2 · MIN_DWELLS ended segments alternated between, 1 at the
   * higher; null while the channel is no duty cycle (fewer alternations, no scale yet) or the present segment is at
   * neither state. Reads only; nothing here moves what step judges.
   */
  get dutyState(): 0 | 1 | null {
    const a = this.oneBack;
    const b = this.twoBack;
    if (a === null || b === null || a === b || this.alternating < 2 * MIN_DWELLS || !(this.scale > 0) || this.level !== this.level) return null;
    const st = this.stateOf(this.level, this.scale);
    if (st !== a && st !== b) return null;
    const other = st === a ? b : a;
    return st.level > other.level ? 1 : 0;
  }

  /** The level of the duty cycle's state `state` (0 lower, 1 higher; dutyState), sensor units; NaN while it has none. */
  dutyLevel(state: 0 | 1): number {
    const a = this.oneBack;
    const b = this.twoBack;
    if (a === null || b === null || a === b) return Number.NaN;
    return state === 1 ? Math.max(a.level, b.level) : Math.min(a.level, b.level);
  }

  /** The surprise of the present dwell at the latest reading (step; 0: not judged). */
  get surprise(): number {
    return this.surpriseNow;
  }

  /** The present dwell, in readings (0 before the first reading). */
  get current(): number {
    return this.dwell;
  }

  /**
   * The standard deviation of one cycle's length (readings; the two states' dwell variances added: a thermostat's on
   * and off phases vary independently) while the channel is a duty cycle: the last MIN_DWELLS segments that ended
   * alternated between two states, each of which has ended at least MIN_DWELLS / 2 dwells. NaN otherwise (not a duty
   * cycle, or not enough dwells yet). Read by the scorer to tell whether a profile of fixed phase can stand for the
   * cycle (src/pipeline/scorer.ts, cycleEvidence).
   */
  cycleJitter(): number {
    const a = this.oneBack;
    const b = this.twoBack;
    if (a === null || b === null || a === b || this.alternating < MIN_DWELLS) return Number.NaN;
    if (!(a.n >= MIN_DWELLS / 2 && b.n >= MIN_DWELLS / 2)) return Number.NaN;
    const variance = (st: DwellStateLevel): number => Math.max(0, st.sxx / st.n - (st.sx / st.n) ** 2);
    return Math.sqrt(variance(a) + variance(b));
  }

  /** The mean dwell of the present segment's state, in readings (NaN: no state, or none ended). */
  usual(scale: number): number {
    const st = this.stateOf(this.level, scale);
    return st === null || !(st.n > 0) ? Number.NaN : st.sx / st.n;
  }

  /**
   * Forgets the present segment (a gap: its start and length are not known); the states' dwells are kept, and a
   * segment that ended at a switch before it is taught.
   */
  restart(): void {
    this.settle();
    this.level = Number.NaN;
    this.dwell = 0;
    this.count = 0;
    this.known = false;
    this.rare = false;
    this.prevLevel = Number.NaN;
  }

  /** Forgets everything (a new normal). */
  clear(): void {
    this.pending = false;
    this.restart();
    this.states = [];
    this.oneBack = null;
    this.twoBack = null;
    this.alternating = 0;
  }

  private extend(x: number, steps: number): void {
    this.dwell += steps;
    this.absDev += Math.abs(x - this.level);
    this.count++;
    this.level += (x - this.level) / this.count;
  }

  private startSegment(x: number, known: boolean, steps: number, ts: number): void {
    this.level = x;
    this.startTs = ts;
    this.dwell = steps;
    this.count = 1;
    this.absDev = 0;
    this.known = known;
    this.rare = false;
  }

  /** The present segment ends (a switch): it becomes the segment before, pending (taught by settle, unless a blip returns to it). */
  private end(): void {
    this.prevLevel = this.level;
    this.prevDwell = this.dwell;
    this.prevKnown = this.known;
    this.prevRare = this.rare;
    this.prevCount = this.count;
    this.prevAbsDev = this.absDev;
    this.prevStartTs = this.startTs;
    this.pending = true;
  }

  /**
   * Teaches the pending segment before the present one (end), if any, ended at the present segment's first reading:
   * its state (found or made), the alternation, the state's level and noise, and its dwell unless its start is
   * unknown or it was rare.
   */
  private settle(): void {
    if (!this.pending || this.prevLevel !== this.prevLevel) {
      this.pending = false;
      return;
    }
    this.pending = false;
    const scale = this.scale;
    const horizon = this.horizon;
    let st = this.stateOf(this.prevLevel, scale);
    if (st === null) {
      st = { level: this.prevLevel, n: 0, sx: 0, sxx: 0, seen: 0, dev: 0, longestMs: 0, recent: [], doubts: [] };
      if (this.states.length < MAX_STATES) this.states.push(st);
      else {
        let least = 0;
        for (let i = 1; i < this.states.length; i++) if (this.states[i].seen < this.states[least].seen) least = i;
        this.states[least] = st;
      }
    }
    st.seen++;
    this.alternating = st === this.twoBack && st !== this.oneBack ? this.alternating + 1 : 0;
    this.twoBack = this.oneBack;
    this.oneBack = st;
    const keep = 1 - 1 / Math.max(2, horizon);
    st.level += (this.prevLevel - st.level) / Math.min(st.seen, horizon);
    if (this.prevCount > 1) st.dev += (this.prevAbsDev / (this.prevCount - 1) - st.dev) / Math.min(st.seen, horizon);
    if (this.prevKnown && !this.prevRare) {
      const d = this.prevDwell;
      const ms = this.startTs - this.prevStartTs;
      // Doubts older than RECENT segments of the state are forgotten: they were not confirmed.
      while (st.doubts.length > 0 && st.seen - st.doubts[2] > RECENT) st.doubts.splice(0, 3);
      if (!doubtful(st.recent, d)) teach(st, d, ms, keep);
      else if (st.doubts.length < 3 * (CONFIRM - 1)) st.doubts.push(d, ms, st.seen);
      else {
        // Confirmed: CONFIRM dwells alike far beyond the state's others, the stream's new length; all are taught.
        for (let i = 0; i < st.doubts.length; i += 3) teach(st, st.doubts[i], st.doubts[i + 1], keep);
        st.doubts = [];
        teach(st, d, ms, keep);
      }
    }
  }

  /**
   * The state whose level is nearest `level`, within half a switch of it (SWITCH / 2 times the larger of the stream's
   * typical change `scale` and the state's own noise), or null.
   */
  private stateOf(level: number, scale: number): DwellStateLevel | null {
    let best: DwellStateLevel | null = null;
    let dist = Infinity;
    for (const st of this.states) {
      const d = Math.abs(st.level - level);
      if (d < dist && d < (SWITCH / 2) * Math.max(scale, st.dev)) {
        dist = d;
        best = st;
      }
    }
    return best;
  }

  toJSON(): DwellSnapshot {
    const at = (s: DwellStateLevel | null): number => (s === null ? -1 : this.states.indexOf(s));
    const segment = [this.level, this.dwell, this.known ? 1 : 0, this.count, this.absDev, this.startTs, this.rare ? 1 : 0, this.prevLevel, this.prevDwell, this.prevKnown ? 1 : 0, this.prevRare ? 1 : 0, this.prevCount, this.prevAbsDev, this.prevStartTs, this.pending ? 1 : 0];
    return {
      states: this.states.map((s) => ({ ...s, recent: [...s.recent], doubts: [...s.doubts] })),
      alternating: this.alternating,
      oneBack: at(this.oneBack),
      twoBack: at(this.twoBack),
      segment: segment.map((v) => (Number.isFinite(v) ? v : null)),
    };
  }

  /**
   * A tracker from its snapshot (toJSON): the states' dwells and the present segment (without one, a snapshot from
   * before it, the present segment starts over, its start unknown).
   *
   * @throws Error when the snapshot is not one (not an object with at most MAX_STATES states of finite numbers).
   */
  static fromJSON(x: unknown): DwellTracker {
    const o = x as Partial<DwellSnapshot> | null;
    if (o === null || typeof o !== 'object' || !Array.isArray(o.states) || o.states.length > MAX_STATES) throw new Error(`dwell snapshot: states must be at most ${MAX_STATES}`);
    const t = new DwellTracker();
    for (const s of o.states as unknown[]) {
      const v = s as Partial<DwellStateLevel> | null;
      const keys = ['level', 'n', 'sx', 'sxx', 'seen', 'dev', 'longestMs'] as const;
      if (v === null || typeof v !== 'object' || !keys.every((k) => typeof v[k] === 'number' && Number.isFinite(v[k]))) throw new Error('dwell snapshot: a state must hold finite level, n, sx, sxx, seen, dev, longestMs');
      const numbers = (a: unknown, what: string, of: number): number[] => {
        if (a === undefined) return [];
        if (!Array.isArray(a) || a.length % of !== 0 || !a.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error(`dwell snapshot: a state's ${what} must be finite numbers, in ${of === 1 ? 'ones' : 'triples'}`);
        return [...(a as number[])];
      };
      const recent = numbers(v.recent, 'recent', 1).slice(-RECENT);
      const doubts = numbers(v.doubts, 'doubts', 3).slice(-3 * (CONFIRM - 1));
      t.states.push({ level: v.level as number, n: v.n as number, sx: v.sx as number, sxx: v.sxx as number, seen: v.seen as number, dev: v.dev as number, longestMs: v.longestMs as number, recent, doubts });
    }
    const back = (i: unknown): DwellStateLevel | null => (typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < t.states.length ? t.states[i] : null);
    t.oneBack = back(o.oneBack);
    t.twoBack = back(o.twoBack);
    t.alternating = typeof o.alternating === 'number' && Number.isInteger(o.alternating) && o.alternating >= 0 ? o.alternating : 0;
    const g = o.segment;
    if (g !== undefined) {
      if (!Array.isArray(g) || (g.length !== SEGMENT_FIELDS && g.length !== SEGMENT_FIELDS - 1) || !g.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))) throw new Error(`dwell snapshot: segment must be ${SEGMENT_FIELDS} (or, from before its pending end, ${SEGMENT_FIELDS - 1}) finite numbers or null`);
      const v = (g as (number | null)[]).map((x) => (x === null ? Number.NaN : x));
      [t.level, t.dwell] = [v[0], v[1] || 0];
      t.known = v[2] === 1;
      [t.count, t.absDev, t.startTs] = [v[3] || 0, v[4] || 0, v[5] || 0];
      t.rare = v[6] === 1;
      [t.prevLevel, t.prevDwell] = [v[7], v[8] || 0];
      t.prevKnown = v[9] === 1;
      t.prevRare = v[10] === 1;
      [t.prevCount, t.prevAbsDev, t.prevStartTs] = [v[11] || 0, v[12] || 0, v[13] || 0];
      // A snapshot from before `pending` taught the segment before at its switch.
      t.pending = v[14] === 1;
    }
    return t;
  }
}

/** Teaches state `st` a dwell `d` (readings) that lasted `ms` (ms of its readings' times), its moments forgotten by `keep`. */
function teach(st: DwellStateLevel, d: number, ms: number, keep: number): void {
  st.n = st.n * keep + 1;
  st.sx = st.sx * keep + d;
  st.sxx = st.sxx * keep + d * d;
  st.longestMs = Math.max(st.longestMs, ms);
  st.recent.push(d);
  if (st.recent.length > RECENT) st.recent.shift();
}

/**
 * Whether a dwell `d` (readings) that ended is far beyond the `recent` taught dwells of its state (readings), so that
 * it is held back, not taught, until CONFIRM like it come (a doubt): it is longer than each of them and beyond their
 * median by more than FAR robust standard deviations, σ = max(MAD_TO_SD × MAD, median / RELATIVE, 1 reading) (the
 * judgement's floors, DwellTracker.step). Hampel's identifier: the median and MAD of a few dwells are moved by one far
 * dwell by one rank at most, as the mean and standard deviation the judgement keeps are not. A motor forced on 38 min
 * among runs of 6 to 18.5 min (median 13.5, MAD 4.0: beyond 31 min) taught as a run made the run state's spread so
 * wide that a motor that never stopped was told at 52 min (tryout 39, finding 3). False with fewer than FEW dwells.
 * A held-back ordinary dwell costs little: it is taught with the next two alike (CONFIRM).
 */
function doubtful(recent: readonly number[], d: number): boolean {
  if (recent.length < FEW) return false;
  let longest = 0;
  for (const x of recent) if (x > longest) longest = x;
  if (!(d > longest)) return false;
  const med = median(recent);
  const mad = median(recent.map((x) => Math.abs(x - med)));
  const sigma = Math.max(MAD_TO_SD * mad, med / RELATIVE, 1);
  return d > med + FAR * sigma;
}

/** The median of `xs` (non-empty). */
function median(xs: readonly number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const h = v.length >> 1;
  return v.length % 2 === 1 ? v[h] : (v[h - 1] + v[h]) / 2;
}

/**
 * −log10 of the standard normal's upper tail Q(z) for z >= 0: by erfc (Numerical Recipes' Chebyshev fit, relative
 * error below 1.2e-7) up to z = 8, by the asymptotic series beyond (Abramowitz and Stegun 26.2.12).
 */
export function normalTailSurprise(z: number): number {
  if (!(z > 0)) return Math.log10(2);
  if (z < 8) return -Math.log10(0.5 * erfc(z / Math.SQRT2));
  const lnQ = -0.5 * z * z - Math.log(z) - 0.5 * Math.log(2 * Math.PI) + Math.log(1 - 1 / (z * z) + 3 / z ** 4);
  return -lnQ / Math.LN10;
}

/** The complementary error function erfc(x) for x >= 0 (Numerical Recipes, erfcc). */
function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const y =
    t *
    Math.exp(
      -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851626 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return y;
}

/**
 * Ended dwells of an on/off stream's active state before its present dwell is judged (OnOffDwell). Its judgement is
 * the predictive tail of the next dwell given the n seen (OnOffDwell's class comment), which allows for how little n
 * dwells say of the spread: with n = 8 a surprise of 5 takes a dwell 10.1 (Student's t with 7 degrees of freedom at
 * 1e-5) predictive standard deviations beyond their mean, against 4.3 once the spread is known. Fewer than 8 rest
 * the judgement on the floor ln 2 alone as soon as a few dwells happen to be alike (two door openings of 3 s each say
 * nothing of how long the third may be), and by exchangeability the chance that the next of n + 1 dwells is the
 * longest of all is 1 / (n + 1) whatever their distribution: at 8, 1 in 9, so the tail model, not the ranking, must
 * carry the rest of the 1e-5.
 */
export const MIN_ONOFF_DWELLS = 8;
/** Switches in a row with no repeated state heard between them for a stream to report on change only (OnOffDwell.reportsChangesOnly). */
export const CHANGES_ONLY_SWITCHES = 32;
/** The log-spread of an on/off state's dwells is taken as at least ln 2: a dwell twice its usual length is one σ. */
const MIN_LOG_SPREAD = Math.LN2;

/** An on/off dwell's snapshot (OnOffDwell.toJSON): its active state's taught dwells, and the present dwell. */
export interface OnOffDwellSnapshot {
  /** Forgotten count, sum and sum of squares of ln(dwell ms) of the active state's taught dwells; the longest (ms). */
  readonly n: number;
  readonly sl: number;
  readonly sll: number;
  readonly longestMs: number;
  /** Active dwells taught (not forgotten; absent in a snapshot from before it: the forgotten count, rounded). */
  readonly taught?: number;
  /** The present state (1, 0; null: none yet), since when (epoch ms), whether it began at a switch, and was judged rare. */
  readonly state: number | null;
  readonly since: number;
  readonly known: boolean;
  /** The present dwell began at a switch not heard at its time: judged as a lower bound, never taught (absent: false). */
  readonly bounded?: boolean;
  readonly rare: boolean;
  /** The latest reading's time (epoch ms; absent in a snapshot from before it: `since`). */
  readonly lastTs?: number;
  /** The present dwell's time not heard (ms: the daemon's deafness within it; absent: 0). */
  readonly unheardMs?: number;
  /** Switches since the stream last repeated its state in a heard reading (absent: 0). */
  readonly changesOnly?: number;
  /** The state judged (absent: 1). */
  readonly active?: 0 | 1;
  /** The present dwell began in the learning period, never judged (OnOffDwell.spare; absent: false). */
  readonly spared?: boolean;
}

/**
 * How long has an on/off stream (1 and 0: a door's contact, a motion sensor's occupancy) held its active state (the
 * one a use puts it in: a door open, motion detected), against how long it held it before? The duty cycle's question
 * (DwellTracker above) asked in time, not readings: an on/off device reports at each change and checks in now and then
 * (every 50 min for an Aqara contact, every few seconds for others, never for an ESPHome binary_sensor), so a dwell in
 * readings is a dwell in check-ins (a door open 2 min and one open 45 min are both one reading), while its time
 * between the switches is the device's own. Its states are its values (no levels to find), and only the active state
 * is judged: the rest state held long (a door shut for a week, no motion at night) is the absence of use, not a fault,
 * and its silence is judged apart (arrivals.ts).
 *
 * Judgement. Each dwell of the active state that ended at a switch (began at one too: not the first after a start or
 * a gap) teaches ln(dwell ms), exponentially forgotten over `horizon` dwells: a log-normal duration, the usual model
 * of human activity durations and of a hidden semi-Markov model's state durations where they spread over orders of
 * magnitude (Yu, "Hidden semi-Markov models", Artificial Intelligence 174, 2010, section 3.3). Once MIN_ONOFF_DWELLS
 * are taught, the present dwell d of the active state is judged, at each reading, by the chance that the next dwell
 * is at least that long given the n taught (logNormalPredictiveSurprise): the larger of the predictive tail (Student's
 * t with n − 1 degrees of freedom of (ln d − m) / (s √(1 + 1/n)), m and s the taught logs' mean and standard
 * deviation: exact for log-normal dwells however few, so 8 dwells are judged as soundly as 32, only less sharply) and
 * the normal tail with the spread taken as its floor ln 2 (a dwell twice its usual length is one σ: the bound when the
 * few dwells seen happen to be alike). Its state
 * known from the value. A dwell no longer than the longest taught is never judged (it has been seen). A dwell judged
 * rare at the caller's hold level is not taught when it ends (censored, as DwellTracker's). Scale-free: the same in
 * ms, s or readings of any rate.
 *
 * Between readings (judgeAt: the daemon's silence tick). A device that reports only on change (an ESPHome or Home
 * Assistant binary_sensor, many zigbee contacts) sends nothing while a state holds, so a door left open on it is
 * judged at no reading: the present dwell is judged on the tick too, as long as it has lasted by then. A dwell that the
 * daemon did not hear all of (a restart, a broker outage: `unheard` readings, or a tick after a deafness) is measured
 * without the time not heard: the time from the last reading before the deafness to the first after it (or to the end
 * of the deafness, on the tick) is left out, so the length judged is never more than the state surely held (had it
 * changed and changed back meanwhile, its present dwell began after the deafness, and is still at least that long).
 * Such a dwell's length is not known, so it is not taught when it ends; a switch not heard at its time ends and
 * begins no dwell of known length (the state after it starts unknown: tryout 24, finding 1), and the dwell it begins
 * is never taught; it is judged as a lower bound, from the reading that showed it (`bounded`): the state surely held
 * from then, so a dwell judged rare from then is at least that rare (a door opened while the daemon was restarting,
 * or reported first after it, and left open for hours was never judged: tryout 38, finding 3).
 *
 * At its end (ended): the switch out of the active state judges the dwell it ends, as long as it lasted by the readings'
 * own times, so a dwell that no reading or tick judged while it lasted (a history loaded with its times, a replay, a
 * device whose check-ins did not come then) is still judged; one that reached the caller's hold level is not taught.
 *
 * Reports on change only (reportsChangesOnly): the stream's last CHANGES_ONLY_SWITCHES switches came with no heard reading
 * between them that repeated the state (no check-in, no periodic report): its quiet is its state held, not a sign of
 * its death (the caller does not judge its silence).
 */
export class OnOffDwell {
  private n = 0;
  private sl = 0;
  private sll = 0;
  private longestMs = 0;
  /** Active dwells taught, not forgotten (the judgement's readiness, MIN_ONOFF_DWELLS; the operator's count). */
  private taught = 0;
  private state: number | null = null;
  private since = 0;
  private known = false;
  /** The present dwell began at a switch not heard at its time: judged from its first reading (a lower bound), never taught. */
  private bounded = false;
  private rare = false;
  /** The present dwell began in the stream's learning period (spare): taught when it ends, never judged. */
  private spared = false;
  private surpriseNow = 0;
  private lastTs = 0;
  private unheardMs = 0;
  private changesOnly = 0;
  /** The state judged (the latest step's `active`). */
  private active: 0 | 1 = 1;
  /** The active dwell the latest step's switch ended, judged at its end (ended()); null: none, or not judged. */
  private endedNow: { readonly since: number; readonly longestMs: number; readonly level: number; readonly surprise: number } | null = null;

  /**
   * Takes the next reading `x` (1 or 0; anything else is ignored) at `ts` (epoch ms), `active` the state judged (1 or
   * 0), `horizon` the dwell memory (dwells, >= 2); `unheard`: the reading is the first heard after the daemon's
   * deafness (its time since the reading before was not all heard: see the class comment); `hold`: the surprise (−log10
   * P) from which an active dwell this reading ends is judged rare at its end (ended(), not taught; default: never).
   * Returns the present dwell's surprise, −log10 P(a dwell of the active state lasts at least this long), 0 when not
   * judged (the rest state, fewer than MIN_ONOFF_DWELLS taught, no longer than the longest taught, its start unknown).
   */
  step(x: number, ts: number, active: number, horizon: number, unheard = false, hold = Number.POSITIVE_INFINITY): number {
    this.surpriseNow = 0;
    this.endedNow = null;
    this.active = active === 0 ? 0 : 1;
    if (x !== 0 && x !== 1) return 0;
    if (this.state === null) return this.begin(x, ts, false);
    if (x === this.state) {
      if (unheard) this.unheardMs += Math.max(0, ts - this.lastTs);
      else this.changesOnly = 0;
      this.lastTs = Math.max(this.lastTs, ts);
      return this.judge(this.lastTs - this.since - this.unheardMs, active);
    }
    // A switch not heard at its time: the dwell it ends and the one it begins have no known length; the one it begins
    // has lasted at least since this reading (bounded).
    if (unheard) {
      this.begin(x, ts, false);
      this.bounded = true;
      return 0;
    }
    this.changesOnly++;
    // The dwell this switch ends, judged at its end as long as it lasted by the readings' own times (a door held open
    // 4 h with no check-in between, or one read from a history: no tick judged it while it lasted). Kept for
    // ended() until the next reading; one that reached `hold` is not taught (censored, as one judged rare while it
    // lasted).
    const endedSurprise = this.judge(ts - this.since - this.unheardMs, active);
    this.surpriseNow = 0;
    const ended = endedSurprise > 0 ? { since: this.since, longestMs: this.longestMs, level: this.state, surprise: endedSurprise } : null;
    if (endedSurprise >= hold) this.rare = true;
    if (this.state === active && this.known && !this.rare && this.unheardMs === 0 && ts > this.since) {
      const keep = 1 - 1 / Math.max(2, horizon);
      const l = Math.log(ts - this.since);
      this.n = this.n * keep + 1;
      this.sl = this.sl * keep + l;
      this.sll = this.sll * keep + l * l;
      this.longestMs = Math.max(this.longestMs, ts - this.since);
      this.taught++;
    }
    this.begin(x, ts, true);
    this.endedNow = ended;
    return 0;
  }

  /** Begins a dwell in state `x` (0 or 1) at `ts` (ms); `known`: its start was heard, so its length counts. Returns 0. */
  private begin(x: number, ts: number, known: boolean): number {
    this.state = x;
    this.since = ts;
    this.lastTs = ts;
    this.unheardMs = 0;
    this.known = known;
    this.bounded = false;
    this.rare = false;
    this.spared = false;
    return 0;
  }

  /**
   * The present dwell is in the stream's learning period (the caller's, at each of its readings then): it is never
   * judged, also once the learning period is over (a door held open as the learning period ends was open while its
   * normal was being learnt), and taught as any when it ends.
   */
  spare(): void {
    this.spared = true;
  }

  /**
   * Judges the present dwell between readings (the daemon's silence tick): as long as it has surely lasted when the
   * latest reading was heard `heardMs` ms ago (>= 0; the time since then the daemon heard the stream: a deafness since
   * is left out). Returns its surprise as step does (0 when not judged), kept for held() and censorAt() until the next
   * reading. The state judged is the latest step's `active`.
   */
  judgeAt(heardMs: number): number {
    this.surpriseNow = 0;
    this.endedNow = null;
    if (this.state === null) return 0;
    return this.judge(this.lastTs - this.since - this.unheardMs + Math.max(0, heardMs), this.active);
  }

  /** Whether the stream reports on change only (see the class comment): its silence says nothing of its death. */
  get reportsChangesOnly(): boolean {
    return this.changesOnly >= CHANGES_ONLY_SWITCHES;
  }

  /**
   * How far the held-state judgement is: `have` active dwells taught (ended at a switch, begun at one, not judged
   * rare), `needed` MIN_ONOFF_DWELLS before the present dwell is judged. The operator's count (`learning its openings
   * 3 / 8`, src/contract/held-state.ts).
   */
  get progress(): { readonly have: number; readonly needed: number } {
    return { have: this.taught, needed: MIN_ONOFF_DWELLS };
  }

  /** The state judged (the latest step's `active`: 1 or 0). */
  get judged(): 0 | 1 {
    return this.active;
  }

  /** The present state (1, 0; null before the first reading). */
  get present(): number | null {
    return this.state;
  }

  /** The present dwell `d` (ms) of the present state judged (surprise), 0 when not judged (see step and the class comment). */
  private judge(d: number, active: number): number {
    this.surpriseNow = 0;
    if (this.state !== active || !(this.known || this.bounded) || this.spared || this.taught < MIN_ONOFF_DWELLS) return 0;
    if (!(d > this.longestMs)) return 0;
    this.surpriseNow = logNormalPredictiveSurprise(this.n, this.sl, this.sll, Math.log(d));
    return this.surpriseNow;
  }

  /** Marks the present dwell rare when its surprise reached `hold` (it is then not taught when it ends). */
  censorAt(hold: number): void {
    if (this.surpriseNow >= hold) this.rare = true;
  }

  /** The present state held since when (epoch ms), the longest the active state was held before (ms) and the state (`level`, 1 or 0), while its surprise is at least `hold`; else null. */
  held(hold: number): { readonly since: number; readonly longestMs: number; readonly level: number } | null {
    return this.surpriseNow > 0 && this.surpriseNow >= hold && this.state !== null ? { since: this.since, longestMs: this.longestMs, level: this.state } : null;
  }

  /**
   * The active dwell that the latest step's switch ended, judged at its end as long as it lasted by the readings' own
   * times (ts of the switch less its start, the time not heard left out), when that is at least `hold`: its start
   * (`since`, epoch ms), the longest active dwell taught before it (ms), its state (`level`, 1 or 0) and its surprise
   * (−log10 P, as step's); else null (no switch at the latest step, a dwell not judged: see judge). Such a dwell is not
   * taught (step's `hold`). The caller tells it when no episode held it while it lasted (a history, a replay, a device
   * whose check-ins did not come while it lasted: StreamScorer's ended held state).
   */
  ended(hold: number): { readonly since: number; readonly longestMs: number; readonly level: number; readonly surprise: number } | null {
    return this.endedNow !== null && this.endedNow.surprise >= hold ? this.endedNow : null;
  }

  /** The surprise of the present dwell at the latest reading (step; 0: not judged). */
  get surprise(): number {
    return this.surpriseNow;
  }

  /** Forgets the present dwell's start (a gap in the stream: its length is not known); the taught dwells are kept. */
  restart(): void {
    this.known = false;
    this.bounded = false;
    this.rare = false;
  }

  toJSON(): OnOffDwellSnapshot {
    return { n: this.n, sl: this.sl, sll: this.sll, longestMs: this.longestMs, taught: this.taught, state: this.state, since: this.since, known: this.known, ...(this.bounded ? { bounded: true } : {}), rare: this.rare, lastTs: this.lastTs, unheardMs: this.unheardMs, changesOnly: this.changesOnly, active: this.active, spared: this.spared };
  }

  /**
   * An on/off dwell from its snapshot (toJSON).
   *
   * @throws Error when the snapshot is not one (finite n, sl, sll, longestMs, since; state 0, 1 or null).
   */
  static fromJSON(x: unknown): OnOffDwell {
    const o = x as Partial<OnOffDwellSnapshot> | null;
    const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (o === null || typeof o !== 'object' || !finite(o.n) || !finite(o.sl) || !finite(o.sll) || !finite(o.longestMs) || !finite(o.since) || !(o.state === null || o.state === 0 || o.state === 1)) {
      throw new Error('on/off dwell snapshot: n, sl, sll, longestMs, since must be finite and state 0, 1 or null');
    }
    const t = new OnOffDwell();
    [t.n, t.sl, t.sll, t.longestMs, t.since] = [o.n, o.sl, o.sll, o.longestMs, o.since];
    t.state = o.state ?? null;
    t.known = o.known === true;
    t.bounded = o.bounded === true;
    t.rare = o.rare === true;
    t.lastTs = finite(o.lastTs) ? o.lastTs : o.since;
    t.unheardMs = finite(o.unheardMs) && o.unheardMs >= 0 ? o.unheardMs : 0;
    t.changesOnly = finite(o.changesOnly) && o.changesOnly >= 0 ? o.changesOnly : 0;
    t.active = o.active === 0 ? 0 : 1;
    t.spared = o.spared === true;
    t.taught = finite(o.taught) && o.taught >= 0 ? Math.round(o.taught) : Math.round(o.n);
    return t;
  }
}

/**
 * −log10 of the chance that the next log-dwell is at least `l` (ln ms), given `n` log-dwells seen (a forgotten count,
 * > 1) with sum `sl` and sum of squares `sll`: the larger of two upper tails, each a valid bound in its own case (the
 * larger probability is valid in both):
 *  - the predictive tail of a normal sample of unknown mean and spread: (l − m) / (s √(1 + 1/n)) is Student's t with
 *    n − 1 degrees of freedom, s the sample standard deviation (divisor n − 1) (the prediction interval for one more
 *    observation: Hahn and Meeker, "Statistical Intervals", Wiley 1991, section 4.7; Geisser, "Predictive
 *    Inference", Chapman and Hall 1993, section 2.1; the Bayesian predictive under the reference prior, Gelman et al.,
 *    "Bayesian Data Analysis", 3rd ed., section 3.2). Exact for log-normal dwells at any n: few dwells widen it.
 *  - the normal tail of (l − m) / (ln 2 √(1 + 1/n)): the spread taken as the floor ln 2 (a dwell twice its usual
 *    length is one σ), the mean's own uncertainty added. The bound where the dwells happen to be alike (a sample
 *    spread of about 0 would make the t tail 0).
 * 0 for l at or below the mean; at most MAX_DWELL_SURPRISE.
 */
export function logNormalPredictiveSurprise(n: number, sl: number, sll: number, l: number): number {
  if (!(n > 1)) return 0;
  const m = sl / n;
  if (!(l > m)) return 0;
  const inflate = Math.sqrt(1 + 1 / n);
  const s = Math.sqrt(Math.max(0, (sll - n * m * m) / (n - 1)));
  const floor = normalTailSurprise((l - m) / (MIN_LOG_SPREAD * inflate));
  const t = s > 0 ? studentTailSurprise((l - m) / (s * inflate), n - 1) : Infinity;
  return Math.min(MAX_DWELL_SURPRISE, floor, t);
}

/**
 * −log10 P(T ≥ t) of Student's t with `nu` (> 0, not necessarily whole) degrees of freedom, t > 0: P = I_x(ν/2, 1/2) / 2,
 * x = ν / (ν + t²), the regularised incomplete beta by its continued fraction in logs (Numerical Recipes, 2nd ed.,
 * section 6.4, betai and betacf), so tails far below 1e-16 stay exact.
 */
export function studentTailSurprise(t: number, nu: number): number {
  if (!(t > 0)) return Math.log10(2);
  const a = nu / 2;
  const b = 0.5;
  const x = nu / (nu + t * t);
  const lnFront = a * Math.log(x) + b * Math.log1p(-x) - (lnGamma(a) + lnGamma(b) - lnGamma(a + b));
  let lnI: number;
  if (x < (a + 1) / (a + b + 2)) lnI = lnFront + Math.log(betaContinuedFraction(a, b, x)) - Math.log(a);
  else lnI = Math.log(Math.max(Number.MIN_VALUE, 1 - Math.exp(lnFront + Math.log(betaContinuedFraction(b, a, 1 - x)) - Math.log(b))));
  return -(lnI + Math.log(0.5)) / Math.LN10;
}

/** The continued fraction of the incomplete beta function (Numerical Recipes, 2nd ed., betacf; modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

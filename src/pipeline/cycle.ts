/**
 * A channel's cycle, counted in readings: the period found from the channel's own autocorrelation, and the
 * profile of one period (the expected value at each phase), for the scorer's `cycle` evidence (the short mean
 * of the residual against the profile: a level shift that a cycle's amplitude hides from `level` and `shift`,
 * and that a model driven by its input follows within a few readings, src/pipeline/scorer.ts).
 *
 * Period. Every ESTIMATE_EVERY readings, the autocorrelation function r(k) of the last (up to) RING readings is
 * computed (the biased estimator: divided by the whole sum of squares, so r(2P) < r(P) for a clean cycle) for
 * lags up to half of them, all at once by the FFT (Wiener–Khinchin: src/pipeline/autocorrelation.ts; the same sums
 * as the direct ones up to rounding, and two values of r within R_ROUNDING are equal, so no choice below hangs on
 * the rounding); the period is the lag of its highest value after its first zero crossing (Wang,
 * Smith and Hyndman, "Characteristic-based clustering for time series data", DMKD 2006), accepted when that
 * value is at least ACCEPT_R: there the seasonal naive forecast x[t - P] starts to beat the mean (its residual
 * variance 2 (1 - r) sigma^2 < sigma^2). A trend, a random walk that does not come back, white noise: no
 * crossing or no peak that high, no period, no evidence. The period is in readings (filled steps count), so it
 * is the same at any sampling rate; at most RING / 2 readings. At the end of a stream's learning period, when no
 * estimate was made yet, the period is estimated from what is held (warmStart), so the cycle speaks from the first
 * judged reading.
 *
 * Profile. When a period is accepted (or changes), the profile is built from the held readings: the mean of
 * those at each phase. Then each normal reading moves its phase's value by 1 / PROFILE_PERIODS of its residual
 * (an exponential mean over about that many periods: the seasonal component of Holt-Winters, Winters 1960),
 * so a slow change of the cycle is followed, and a fault, which is not taught (the owners of an open episode),
 * is neither followed nor echoed one period later (as a seasonal naive residual x[t] - x[t - P] would be).
 *
 * Longer cycles (a day read every 10 s: 8,640 readings). When the ring is full (RING readings, where a period of up
 * to MAX_PERIOD would have been found), a coarser level is made: a CycleProfile of the means of COARSE readings (its
 * ring seeded with the held ones' block means), finding periods of MIN_PERIOD to MAX_PERIOD block means the same way
 * (an estimate every ESTIMATE_EVERY readings), and its own full ring makes the next (LEVELS in all: periods to
 * 262,144 readings). A level's period counts only while the finer ones have none, and it exists only then; its
 * profile is interpolated between the middles of its blocks and taught 1 / COARSE per level of what a reading teaches
 * a profile of one value per reading. `period` is always in readings. On block means the autocorrelation's peak is
 * located on the mean squared difference (the variogram, Matheron 1962), which the ends of a few periods held do not
 * skew. Multi-resolution by temporal aggregation: Kourentzes, Petropoulos and Trapero, IJF 2014.
 */
import { lagProducts } from './autocorrelation.js';

/** Longest period (readings) looked for; the ring holds twice as many readings. */
export const MAX_PERIOD = 1024;
const RING = 2 * MAX_PERIOD;
/** A full ring (below RING) grows by this factor, rounded up. */
const RING_GROWTH = 1.5;
/** Shortest period (readings): below, a "cycle" is the short-term dynamics the model and `change` judge. */
const MIN_PERIOD = 8;
/** Autocorrelation at the period needed to accept it. */
const ACCEPT_R = 0.5;
/**
 * Two autocorrelations this close are equal. The autocorrelation is a sum of up to 2,048 products (by the FFT: rounding
 * of about 1e-15 of the sum of squares at 2,048 values; directly, as before, about the same, rounded otherwise), so
 * where two lags are equal in exact arithmetic, or r equals ACCEPT_R or 0 (a noise-free cycle held exactly twice has
 * r(P) = 0.5 exactly), the rounding alone chose: this settles those cases the same way whatever the arithmetic (a
 * tie goes to the shorter lag, ACCEPT_R accepts, 0 is a crossing). Far below any difference that means something:
 * neighbouring lags around the peak of a cycle of up to 1,024 readings differ by 1e-6 or more.
 */
const R_ROUNDING = 1e-12;
/** Readings between two estimates of the period. */
const ESTIMATE_EVERY = 512;
/**
 * A period this much (relative) off the one before is another cycle. Another cycle of the same readings is a
 * multiple or a harmonic of it (2P, P/2, 3P/2: a factor of 1.5 at least); the same cycle estimated again moves by
 * the error of locating the peak of a cycle held two or three times (a few readings of 600).
 */
const NEW_CYCLE = 0.2;
/** The profile's memory, in periods. */
const PROFILE_PERIODS = 8;
/** Held values of one level whose mean is one held value of the next coarser level (a block). */
export const COARSE = 16;
/** Coarser levels below the finest: periods up to MAX_PERIOD · COARSE^LEVELS readings (262,144). */
const LEVELS = 2;
/**
 * A switch of the profile (a duty cycle's on or off, CycleProfile.nearest): a step between two neighbouring phases of
 * at least SWITCH_SCALE standard deviations of the residual against the profile, and at least SWITCH_PLATEAU times
 * the profile's median step: a step between plateaus. A reading a phase off a switch is off by the whole step, where a
 * reading a phase off a smooth cycle is off by its slope; a sine's largest step is 1.41 times its median one, a
 * triangle's 1, so smooth cycles have no switch and are judged as before, and a switch the profile spread over a few
 * phases (rebuilt from readings whose switches came a few readings apart) is still one.
 */
const SWITCH_SCALE = 6;
const SWITCH_PLATEAU = 4;
/** A reading within this many residual standard deviations of the profile at its own place is at its place. */
const SWITCH_NEAR = 3;
/**
 * A switch is a step between plateaus (CycleProfile.isSwitch): the profile crosses the middle of the switch (between
 * its values SWITCH_HOLD phases before the step and SWITCH_HOLD − 1 after it: the levels either side, beyond a switch
 * the rebuilt profile spread over a few phases) at the step, and the SWITCH_HOLD values before the step stay on one
 * side of that middle and the SWITCH_HOLD from it on the other. A surge at each switch-on (a compressor's or a motor's
 * inrush: one reading 40 W above a plug's 80 W on level) is a level of one or two phases, not a plateau, and the
 * steps of a switch spread over a few phases are one switch, at the phase where it crosses its middle: taken for
 * switches, the on level's own noise matched the surge's edges (a reading step across the middle of one of them), and
 * the phase lock (realign) moved the phase by up to the slack at every such step (tryout 37, finding 5).
 */
const SWITCH_HOLD = 3;
/**
 * How early or late a switch may come and still be on time, as a share of the period: a compressor's on and off
 * phases vary in length from one cycle to the next (a fridge's by minutes), and a switch a few readings off the
 * profile's is timing, not a level off the cycle. An eighth: on and off phases of 25 to 35 readings on a period of
 * 60 (±5) are on time; a plug that stays on for a quarter of a period longer than usual is not.
 */
const SWITCH_SLACK = 1 / 8;

/**
 * Scratch of estimate() (shared: estimates run synchronously, one at a time, and none calls another): the held values
 * less their mean, and the lag products of the autocorrelation.
 */
const scratchD = new Float64Array(RING);
const scratchS = new Float64Array(MAX_PERIOD + 1);

export interface CycleState {
  readonly ring: number[];
  readonly period: number;
  readonly phase: number;
  readonly profile: number[] | null;
  readonly since: number;
  readonly cycles: number;
  /** The next coarser level, once this level's ring was full (absent before, and in snapshots written before it). */
  readonly coarse?: CycleState;
  /** With `coarse`: the sum and count of this level's held values in the coarser level's block being filled. */
  readonly blockSum?: number;
  readonly blockN?: number;
  /**
   * The held readings (indices into `ring`, oldest first, ascending) that were an open episode's own (advance's
   * `frozen` at the finest level): no normal operation for unreturned. Absent: none (and in snapshots written before it).
   */
  readonly fault?: number[];
}

/** One channel's period and profile. */
/**
 * Readings from a step's onset over which its size is its smallest departure (CycleProfile.unreturned): a step that
 * overshot at its onset reading and settled at the next is judged by where it settled.
 */
export const UNDONE_ONSET = 3;
/** Prefix sums of the held readings (CycleProfile.unreturned), shared by every profile: one is judged at a time. */
let PREFIX = new Float64Array(0);
/** Prefix counts of the held readings that were an open episode's own (CycleProfile.unreturned), shared as PREFIX. */
let FAULTS = new Float64Array(0);

export class CycleProfile {
  /** The last readings, oldest first once full (ring buffer; allocated at the first reading). */
  private ring: Float64Array | null = null;
  /** The only reading held while the ring is not made yet. */
  private first = 0;
  /**
   * Per place of `ring`: 1 where the held reading was an open episode's own (advance's `frozen`, at the finest level
   * only), 0 for a normal one. unreturned judges a step against normal operation only (null with the ring).
   */
  private fault: Uint8Array | null = null;
  /** The mark of `first`. */
  private firstFault = false;
  /** The mark put() gives the readings it holds (advance's `frozen` at the finest level). */
  private marking = false;
  private held = 0;
  private pos = 0;
  /** Readings since the last estimate of the period. */
  private since = 0;
  /** Times another cycle was found (or lost): the residuals of the one before say nothing of it. */
  cycles = 0;
  /** This level's own period, in its held values (readings at the finest level), to a fraction of one (0: none accepted). */
  private own = 0;
  /** The phase of the next reading, in [0, period): its profile value is at floor(phase). */
  private phase = 0;
  private profile: Float64Array | null = null;
  /** Scratch of weight(): the bins either side of a phase. */
  private bin = 0;
  private next = 0;
  /** 0: the finest level (its held values are readings); L: block means of COARSE^L readings. */
  private readonly level: number;
  /**
   * The next coarser level (its held values: means of COARSE of this level's), made when this level's ring is
   * full; its period counts when this level has none (null before, and after clear()).
   */
  private coarse: CycleProfile | null = null;
  /** This level's held values in the coarser level's block being filled: their sum and count. */
  private blockSum = 0;
  private blockN = 0;
  /** Set by advance(): no estimate at this level (an episode is open, or a finer level has a period). */
  private frozen = false;
  /** The profile's median step between neighbouring phases, recomputed once a period (spanAge: readings since). */
  private span = 0;
  private spanAge = Infinity;
  /**
   * Per profile bin j, recomputed with `span`: 1 where the step into j is between plateaus (SWITCH_HOLD values on
   * either side of its middle), and the profile's own roughness about it (the larger of the median steps over the
   * slack's bins before it and after it: a noisy state's plateau is as rough as its noise left it after the mean).
   */
  private plateau: Uint8Array | null = null;
  private rough: Float64Array | null = null;
  /**
   * A switch the readings made that matched one of the profile's beyond the slack (realign): its offset from the
   * reading's phase, its sign, and the readings since (NaN: none pending). A second switch of the other sign at the
   * same offset confirms it (the whole cycle moved), a single one does not (a spike up to the other level and back).
   */
  private pendingShift = Number.NaN;
  private pendingSign = 0;
  private pendingAge = 0;

  /** @param level 0 (the default): the finest level, fed readings; coarser levels are made by the finer ones. */
  constructor(level = 0) {
    this.level = level;
  }

  /**
   * The period in readings, to a fraction of one (0: none accepted): this level's own, else the coarser levels'
   * (their period in block means times COARSE per level).
   */
  get period(): number {
    return this.own > 0 ? this.own : this.coarse === null ? 0 : this.coarse.period * COARSE;
  }

  /** Forgets everything (a gap: the phase is lost; a new normal: the held readings are the old one's). */
  clear(): void {
    if (this.period > 0) this.cycles++;
    this.coarse = null;
    this.blockSum = 0;
    this.blockN = 0;
    this.held = 0;
    this.pos = 0;
    this.since = 0;
    this.own = 0;
    this.phase = 0;
    this.profile = null;
    this.spanAge = Infinity;
    this.pendingShift = Number.NaN;
  }

  /** The value the profile expects of the next reading, or NaN without a period. */
  expected(): number {
    if (this.profile === null) return this.coarse === null ? Number.NaN : this.coarse.valueAt(this.coarseOffset(0));
    const w = this.weight(this.phase);
    return (1 - w) * this.profile[this.bin] + w * this.profile[this.next];
  }

  /**
   * What the profile expects of a reading bunched after a fill (advance with `bunched`): it takes the latest held
   * reading's place in the cycle, one before the next (it was sent before now, and after the reading before the
   * fill; the place of the latest time is the only one known). NaN without a period.
   */
  expectedBunched(): number {
    return this.valueAt(-1);
  }

  /**
   * What the profile expects `d` held values after the next reading (0: the next reading; −1: the latest held one,
   * a bunched reading's place, expectedBunched). NaN without a period.
   */
  expectedAt(d: number): number {
    return d === 0 ? this.expected() : this.valueAt(d);
  }

  /**
   * Where a reading `x` of the next place (`bunched`: of the latest held reading's, expectedBunched) stands in the
   * cycle: the offset d, in held values from the next reading (expectedAt(d) is what it is judged against), of the
   * phase within the slack (SWITCH_SLACK of the period) whose expected value is nearest x, when a switch of the profile
   * (SWITCH_SCALE `scale`, SWITCH_PLATEAU times its median step) lies within the slack; else the reading's own place (0, or −1
   * bunched). So a duty cycle's switch that comes a few readings early or late is on time: the readings before it are
   * at the level the profile has a few phases away, and nothing else moves (a level between or beyond the profile's,
   * or a level held past the slack, is off as before). `scale`: the residual's long-term standard deviation (0 or NaN:
   * not learnt yet, no slack). Only at the finest level (a profile of one value per reading); a coarser level's
   * cycle (a day's) has no switches at the scale of readings.
   */
  nearest(x: number, scale: number, bunched: boolean): number {
    const base = bunched ? -1 : 0;
    const profile = this.profile;
    if (profile === null || !(scale > 0) || !Number.isFinite(x)) return base;
    const P = this.own;
    const B = profile.length;
    const D = this.slack();
    const j0 = Math.floor((((this.phase + base) % P) + P) % P);
    // The largest switch within the slack (0: none).
    let step = 0;
    for (let k = -D; k <= D + 1; k++) {
      const j = (((j0 + k) % B) + B) % B;
      if (this.isSwitch(j, scale)) {
        const [lo, hi] = this.switchEnds(j);
        step = Math.max(step, Math.abs(hi - lo));
      }
    }
    if (!(step > 0)) return base;
    // The reading's own place unless it is off there by more than the residual's winsorising bound (CYCLE_CLIP in the
    // scorer): a reading on a plateau stays where it is. Else the place within the slack where it is least off (a late
    // switch: the level before it; the nearer place of two equally near).
    let err = Math.abs(x - this.valueAt(base));
    if (err <= SWITCH_NEAR * scale) return base;
    let best = base;
    for (let d = 1; d <= D; d++) {
      const late = Math.abs(x - this.valueAt(base - d));
      if (late < err) {
        err = late;
        best = base - d;
      }
      const early = Math.abs(x - this.valueAt(base + d));
      if (early < err) {
        err = early;
        best = base + d;
      }
    }
    return best;
  }

  /**
   * Moves the phase onto a switch the readings made (call before `advance`, with the reading `x`, the one before it
   * `prev`, and the steps `filled` between them): a step from one level of the profile to the next, matching a switch
   * of the profile (same sign, `prev` within half the step of the level before it and `x` of the level after), puts
   * the reading at that switch's phase. Within the slack at once; beyond it when the next switch of the other sign is
   * off by the same (the whole cycle moved: a defrost, a door left open, the device paused), not at a single one (a
   * spike to the other level and back). A duty cycle's phases vary in length, and a profile of fixed phase would
   * otherwise see every later switch a few readings off, for good (tryout 20 finding 2: a plug's 60 W / 5 W cycle
   * whose phase moved by a few readings once was "off the usual cycle" at every switch after, 35 minutes until the
   * new normal). A phase-locked loop on the switches, as a receiver recovers a clock from a signal's transitions.
   * Nothing moves without a profile with switches (a smooth cycle), nor for a reading bunched after a fill.
   */
  realign(prev: number, x: number, filled: number, scale: number): void {
    const profile = this.profile;
    if (profile !== null && this.pendingShift === this.pendingShift && (this.pendingAge += 1 + filled) > this.own) this.pendingShift = Number.NaN;
    if (profile === null || !(scale > 0) || !Number.isFinite(prev) || !Number.isFinite(x)) return;
    const dx = x - prev;
    if (!(Math.abs(dx) >= SWITCH_SCALE * scale)) return;
    const P = this.own;
    const B = profile.length;
    const at = (this.phase + filled) % P;
    const mid = (x + prev) / 2;
    let shift = Number.NaN;
    for (let j = 0; j < B; j++) {
      // The profile crosses the middle of the readings' step, the same way, at a switch: the reading is the first
      // after that switch (a step from 5 to 3,000 W crosses nothing of a 5 / 60 W profile).
      // The readings' step crosses the switch's own middle (between its plateaus: switchMiddle), the same way: the
      // whole switch, not a step of the profile's within a level (its surge, its noise).
      const before = profile[(j - 1 + B) % B];
      if ((before - mid) * (profile[j] - mid) > 0 || (profile[j] - before) * dx <= 0 || !this.isSwitch(j, scale)) continue;
      const middle = this.switchMiddle(j);
      if ((prev - middle) * (x - middle) > 0) continue;
      let d = (((j - at) % P) + P) % P;
      if (d > P / 2) d -= P;
      if (!(Math.abs(d) >= Math.abs(shift))) shift = d;
    }
    if (shift !== shift) return;
    const D = this.slack();
    let move = Number.NaN;
    if (Math.abs(shift) <= D) move = shift;
    else if (this.pendingShift === this.pendingShift && this.pendingSign !== Math.sign(dx) && Math.abs(shift - this.pendingShift) <= D) move = shift;
    else {
      this.pendingShift = shift;
      this.pendingSign = Math.sign(dx);
      this.pendingAge = 0;
      return;
    }
    this.pendingShift = Number.NaN;
    const k = Math.round(move);
    if (k !== 0) this.phase = (((this.phase + k) % P) + P) % P;
  }

  /**
   * The slack of a switch, in readings (SWITCH_SLACK of the finest level's own period, at least one): how early or late
   * a switch may come and be on time. NaN when the finest level has no period of its own (none, or a coarser level's:
   * a day's cycle has no switches at the scale of readings).
   */
  get slackReadings(): number {
    return this.own > 0 ? this.slack() : Number.NaN;
  }

  /** The periods of the finest level's own cycle its held readings span (0 without a period of its own). */
  get periodsHeld(): number {
    return this.own > 0 ? this.held / this.own : 0;
  }

  /** The slack of a switch, in readings (SWITCH_SLACK of the period, at least one). */
  private slack(): number {
    return Math.max(1, Math.round(SWITCH_SLACK * this.own));
  }

  /** Whether the step into profile bin `j` (from the one before it, on the circle) is a switch at residual scale `scale`. */
  private isSwitch(j: number, scale: number): boolean {
    const p = this.profile as Float64Array;
    const step = Math.abs(p[j] - p[(j - 1 + p.length) % p.length]);
    if (!(step >= SWITCH_SCALE * scale && step >= SWITCH_PLATEAU * this.medianStep())) return false;
    // A step between plateaus, and large against the profile's own roughness either side of it: the residual's
    // long-term scale is one for the whole cycle, and a quiet state (a plug's 0.002 A off) sets it far below a noisy
    // one's (80 ± 3 W on), whose noise it would otherwise take for switches.
    return (this.plateau as Uint8Array)[j] === 1 && step >= SWITCH_PLATEAU * (this.rough as Float64Array)[j];
  }

  /** The profile's median step between neighbouring phases (recomputed once a period: teaching moves it by an eighth of a residual a period). */
  private medianStep(): number {
    const p = this.profile as Float64Array;
    if (this.spanAge >= this.own) {
      const B = p.length;
      const steps = new Float64Array(B);
      for (let j = 0; j < B; j++) steps[j] = Math.abs(p[j] - p[(j - 1 + B) % B]);
      this.switchTables(steps);
      steps.sort();
      this.span = steps[B >> 1];
      this.spanAge = 0;
    }
    return this.span;
  }

  /** The plateaus' values either side of the step into bin `j` (SWITCH_HOLD, or `H`, phases before it and H − 1 after it). */
  private switchEnds(j: number, H = Math.min(SWITCH_HOLD, Math.floor((this.profile as Float64Array).length / 2))): [number, number] {
    const p = this.profile as Float64Array;
    const B = p.length;
    return [p[(j - H + 2 * B) % B], p[(j + H - 1) % B]];
  }

  /** The middle of the switch into bin `j`: between the plateaus either side of it (switchEnds). */
  private switchMiddle(j: number, H?: number): number {
    const [lo, hi] = this.switchEnds(j, H);
    return (lo + hi) / 2;
  }

  /**
   * Fills `plateau` and `rough` (per bin, see there) from the profile and its steps (`steps[j]`: |p[j] − p[j − 1]| on
   * the circle). Once a period, with the median step: O(B · slack log slack).
   */
  private switchTables(steps: Float64Array): void {
    const p = this.profile as Float64Array;
    const B = p.length;
    if (this.plateau === null || this.plateau.length !== B) {
      this.plateau = new Uint8Array(B);
      this.rough = new Float64Array(B);
    }
    const plateau = this.plateau;
    const rough = this.rough as Float64Array;
    const H = Math.min(SWITCH_HOLD, Math.floor(B / 2));
    const W = Math.max(1, Math.min(this.slack(), Math.floor((B - 1) / 2)));
    const side = new Float64Array(W);
    const median = (from: number): number => {
      for (let i = 0; i < W; i++) side[i] = steps[(((from + i) % B) + B) % B];
      side.sort();
      return side[W >> 1];
    };
    for (let j = 0; j < B; j++) {
      const mid = this.switchMiddle(j, H);
      const dir = Math.sign(p[j] - p[(j - 1 + B) % B]);
      let ok = dir !== 0;
      for (let h = 0; h < H && ok; h++) ok = (p[(j - 1 - h + 2 * B) % B] - mid) * dir < 0 && (p[(j + h) % B] - mid) * dir > 0;
      plateau[j] = ok ? 1 : 0;
      // The steps before the switch's (into j − W … j − 1) and after it (into j + 1 … j + W).
      rough[j] = ok ? Math.max(median(j - W), median(j + 1)) : 0;
    }
  }

  /**
   * Where a point `d` held values after this level's next one (d in (−1, 1), 0: the next) sits in the coarser
   * level, counted from its next held value: a block's mean stands for the block's middle, so the bins of a coarser
   * profile are interpolated between the middles of its blocks.
   */
  private coarseOffset(d: number): number {
    return (this.blockN + d + 0.5) / COARSE - 0.5;
  }

  /** This level's expected value `d` held values after its next one (NaN without a period here or coarser). */
  private valueAt(d: number): number {
    if (this.profile === null) return this.coarse === null ? Number.NaN : this.coarse.valueAt(this.coarseOffset(d));
    const P = this.own;
    const w = this.weight((((this.phase + d) % P) + P) % P);
    return (1 - w) * this.profile[this.bin] + w * this.profile[this.next];
  }

  /** Moves the profile values around the point `d` held values after the next one by `rate` of `e` (per unit of weight). */
  private learn(d: number, e: number, rate: number): void {
    if (this.profile === null) {
      // A bin of the coarser level stands for COARSE of this level's held values, and each teaches it.
      this.coarse?.learn(this.coarseOffset(d), e, rate / COARSE);
      return;
    }
    const P = this.own;
    const w = this.weight((((this.phase + d) % P) + P) % P);
    this.profile[this.bin] += (1 - w) * e * rate;
    this.profile[this.next] += w * e * rate;
  }

  /** bin and next: the two bins around `phase`; returns the weight of next (linear interpolation on the circle). */
  private weight(phase: number): number {
    const B = (this.profile as Float64Array).length;
    const j = Math.min(B - 1, Math.floor(phase));
    this.bin = j;
    // The bins sit at 0, 1, …, B − 1 on a circle of length period: the last gap (back to 0) is shorter than a reading
    // when the period is not a whole number of readings.
    const width = j + 1 < B ? 1 : this.own - j;
    this.next = j + 1 < B ? j + 1 : 0;
    return width > 0 ? Math.min(1, (phase - j) / width) : 0;
  }

  /**
   * Teaches the profile the next reading (a normal one), its residual clipped to ±`clip` (winsorised: a departure
   * that has not opened an episode yet moves the profile no more than an ordinary one). Call before `advance`.
   */
  teach(x: number, clip: number, d = 0): void {
    if (!Number.isFinite(x)) return;
    if (this.profile === null) {
      const m = this.expected();
      if (Number.isFinite(m)) this.coarse?.learn(this.coarseOffset(0), Math.max(-clip, Math.min(clip, x - m)), 1 / (PROFILE_PERIODS * COARSE));
      return;
    }
    if (d !== 0) {
      // At the place the reading stands (nearest): a switch a few readings late teaches the level it was at.
      this.learn(d, Math.max(-clip, Math.min(clip, x - this.valueAt(d))), 1 / PROFILE_PERIODS);
      return;
    }
    const e = Math.max(-clip, Math.min(clip, x - this.expected()));
    const w = this.weight(this.phase);
    this.profile[this.bin] += ((1 - w) * e) / PROFILE_PERIODS;
    this.profile[this.next] += (w * e) / PROFILE_PERIODS;
  }

  /**
   * Replaces the latest `k` held values (readings, filled steps counted) by what the profile expects at their places,
   * as a fault's readings are held (the scorer: the onset of an episode, readings it had taken for a switch late or
   * early). Only where this level has a profile (one value per reading); nothing otherwise. Call before `advance`.
   */
  reimpute(k: number): void {
    const ring = this.ring;
    if (this.profile === null || ring === null) return;
    const L = ring.length;
    const n = Math.min(Math.floor(k), this.held);
    for (let i = 1; i <= n; i++) ring[(this.pos - i + L) % L] = this.valueAt(-i);
  }

  /**
   * Moves past one reading `x` and the `filled` steps before it (holding the previous value): the ring takes
   * them and the phase moves on. Every ESTIMATE_EVERY readings the period is estimated again, unless `frozen`
   * (an episode is open: its readings would shape a new profile); a new period rebuilds the profile.
   *
   * `bunched` (> 0: Placement.bunched, src/pipeline/cadence.ts): the reading came bunched after a fill, `bunched`
   * readings after it, and gives one of the filled steps back: those readings and this one move one held value
   * earlier, in the place of the filled step before them (a fill holds one value throughout), and the phase and the
   * count towards the next estimate stay where they are. So the held readings and the phase follow the stream's time
   * (readings sent during a stall of the receiver, stamped at its end, each in the place it was sent at once the
   * bunch is over), where counting each as a step slipped the phase by one (tryout 16 finding 6), while the model
   * and the other kinds see every reading as a step, in order. A ring that does not hold the fill (cleared since)
   * takes the reading as a step.
   */
  advance(x: number, filled: number, frozen: boolean, bunched = 0): void {
    this.frozen = frozen;
    this.marking = frozen && this.level === 0;
    const v = Number.isFinite(x) ? x : this.held > 0 ? this.at(this.held - 1) : 0;
    if (bunched > 0 && filled === 0 && this.ring !== null && this.held > bunched) {
      this.giveBack(v, bunched);
      return;
    }
    const prev = this.held > 0 ? this.at(this.held - 1) : v;
    for (let k = 0; k < filled; k++) this.push(prev);
    this.push(v);
    if (this.own > 0) this.phase = (this.phase + 1 + filled) % this.own;
    this.spanAge += 1 + filled;
    this.since += 1 + filled;
    if (this.since >= this.estimateEvery && !frozen) {
      this.since = 0;
      const p = this.estimate();
      // Another cycle (none before, none now, or a period more than NEW_CYCLE off) starts its residuals over; the
      // same one, estimated again, only rebuilds the profile at the refined period from the held readings.
      if (p === 0 || this.own === 0 || Math.abs(p - this.own) > NEW_CYCLE * this.own) {
        if (p !== this.own) this.cycles++;
      }
      this.own = p;
      this.dropCoarse();
      if (p > 0) this.rebuild(this.held);
      else {
        this.profile = null;
        this.phase = 0;
      }
    }
  }

  /**
   * A bunched reading `v` in the place of the filled step before the last `back` held readings: they move one
   * earlier and `v` is the latest. The coarser level's block being filled takes the difference (its block count is
   * time, as the phase; a block already passed on keeps the filled value).
   */
  private giveBack(v: number, back: number): void {
    const ring = this.ring as Float64Array;
    const L = ring.length;
    const start = this.pos - back - 1;
    const filledValue = ring[(start + L) % L];
    for (let i = 0; i < back; i++) ring[(start + i + L) % L] = ring[(start + i + 1 + L) % L];
    ring[(this.pos - 1 + L) % L] = v;
    const fault = this.fault;
    if (fault !== null) {
      for (let i = 0; i < back; i++) fault[(start + i + L) % L] = fault[(start + i + 1 + L) % L];
      fault[(this.pos - 1 + L) % L] = this.marking ? 1 : 0;
    }
    if (this.coarse !== null && this.blockN > 0) this.blockSum += v - filledValue;
  }

  /**
   * The end of a learning period (docs/SCORING.md section 6): when no period has been estimated since the channel
   * (re)started (the first estimate comes at ESTIMATE_EVERY readings, long after a learning period of a few
   * hundred), the period is estimated now from the held readings (periods of up to half of them, in readings),
   * the profile built from them, and their residuals against it returned, oldest first, so the caller can learn
   * the residuals' scale and history from the learning period itself: leave-one-out residuals (the residual over
   * 1 − its reading's own weight in its profile values, exact for a mean at each phase), as a reading after the
   * learning period will stand against a profile it is not part of. Null (and nothing changes) when a period was
   * estimated before, or none is accepted.
   */
  warmStart(): Float64Array | null {
    if (this.own > 0 || this.since !== this.held || this.held < 2 * MIN_PERIOD) return null;
    // The regular estimates keep their schedule (every ESTIMATE_EVERY readings from the channel's start): moving
    // it moved which readings a later profile is rebuilt from (dev weekly_cycle_noise_10m: 7 false alarms).
    const p = this.estimate();
    if (p === 0) return null;
    this.cycles++;
    this.own = p;
    this.dropCoarse();
    const num = this.rebuild(this.held);
    const profile = this.profile as Float64Array;
    const n = this.held;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const w = this.weight((((i - n) % p) + p) % p);
      const own = (num[this.bin] > 0 ? (1 - w) * (1 - w) / num[this.bin] : 0) + (num[this.next] > 0 ? (w * w) / num[this.next] : 0);
      const e = this.at(i) - ((1 - w) * profile[this.bin] + w * profile[this.next]);
      out[i] = own < 1 ? e / (1 - own) : e;
    }
    return out;
  }

  /**
   * Held values between two estimates at this level: ESTIMATE_EVERY at the finest (512 readings), a quarter of
   * ESTIMATE_EVERY at a coarser one (128 block means: 2,048 readings at the first coarse level). An estimate costs
   * the same at any level (two FFTs of 4,096 points on a full ring; directly, as first built, RING · MAX_PERIOD
   * · 3 / 4 products); a coarse level's periods are at least MIN_PERIOD · COARSE readings long, so estimating it
   * as often as the finest (every 32 block means) doubled the finder's cost on every stream without a short cycle
   * for no earlier period.
   */
  private get estimateEvery(): number {
    return this.level === 0 ? ESTIMATE_EVERY : ESTIMATE_EVERY / 4;
  }

  /**
   * Holds one more value (a reading at the finest level), and passes the mean of every COARSE of them to the coarser
   * level, which is made, from the held values, when the ring is full (the finest's 2,048 readings: then a period
   * of up to 1,024 readings would have been found) and no period was found in it. A coarser level exists only while
   * this one has no period (dropped when one is found, made again from the held values when it is lost).
   */
  private push(v: number): void {
    this.put(v);
    if (this.coarse !== null) {
      this.blockSum += v;
      if (++this.blockN === COARSE) {
        const before = this.coarse.cycles;
        this.coarse.advance(this.blockSum / COARSE, 0, this.frozen);
        this.blockSum = 0;
        this.blockN = 0;
        // Another coarser cycle is another cycle of this level's only while this level has none of its own.
        if (this.own === 0 && this.coarse.cycles !== before) this.cycles++;
      }
    } else if (this.level < LEVELS && this.held === RING && this.own === 0) this.seedCoarse();
  }

  /** Drops the coarser levels while this one has a period of its own (they would not count): made again from the held values when it has none. */
  private dropCoarse(): void {
    if (this.own === 0) return;
    this.coarse = null;
    this.blockSum = 0;
    this.blockN = 0;
  }

  /** Makes the coarser level from the held values (RING / COARSE block means, the newest block ending at the newest). */
  private seedCoarse(): void {
    const coarse = new CycleProfile(this.level + 1);
    for (let b = 0; b < RING / COARSE; b++) {
      let sum = 0;
      for (let i = 0; i < COARSE; i++) sum += this.at(b * COARSE + i);
      coarse.advance(sum / COARSE, 0, true);
    }
    this.coarse = coarse;
    this.blockSum = 0;
    this.blockN = 0;
  }

  private put(v: number): void {
    // The ring grows with the readings (by half, from 64 to RING, made at the second), so a stream that sent one or
    // a few costs little, and a growing one holds at most half as much room again as it has readings.
    if (this.ring === null) {
      if (this.held === 0) {
        this.first = v;
        this.firstFault = this.marking;
        this.held = 1;
        return;
      }
      this.ring = new Float64Array(64);
      this.fault = new Uint8Array(64);
      this.ring[0] = this.first;
      this.fault[0] = this.firstFault ? 1 : 0;
      this.pos = 1;
    } else if (this.held === this.ring.length && this.held < RING) {
      const grown = new Float64Array(Math.min(RING, Math.ceil(RING_GROWTH * this.ring.length)));
      const marks = new Uint8Array(grown.length);
      for (let i = 0; i < this.held; i++) {
        grown[i] = this.at(i);
        marks[i] = this.faultAt(i);
      }
      this.ring = grown;
      this.fault = marks;
      this.pos = this.held;
    }
    const L = this.ring.length;
    this.ring[this.pos] = v;
    (this.fault as Uint8Array)[this.pos] = this.marking ? 1 : 0;
    this.pos = (this.pos + 1) % L;
    if (this.held < L) this.held++;
  }

  /** Readings the ring has room for now (memory; 0 before its second reading). */
  get capacity(): number {
    return this.ring === null ? 0 : this.ring.length;
  }

  /** The held readings, oldest first (at most 2 · MAX_PERIOD; filled steps count, holding the value before them). */
  readings(): Float64Array {
    const out = new Float64Array(this.held);
    for (let i = 0; i < this.held; i++) out[i] = this.at(i);
    return out;
  }

  /**
   * Whether a lasting departure is still off the level it left, judged against the held readings (docs/SCORING.md
   * section 5, "A step that was not undone holds its episode"). The departure began `n` readings ago (n >= 2: the
   * episode's onset was the (n − 1)-th newest held reading, and `x`, the n-th, is not held yet); its level is the mean
   * of its last w = min(`span`, n − 1) readings (x and the w − 1 held before it: the onset reading itself left out, so
   * a spike, whose next reading is back, holds nothing), the level it left the mean of the
   * `span` held readings before its onset, and its direction the side its onset reading fell on. It is still off
   * while its level is further from the one it left, in that direction, than the normal held readings before the
   * onset ever moved over the same lag: the largest difference, in that direction, between a mean of w readings and
   * the mean of the `span` readings ending n readings before its end, over every such pair held before the onset
   * (a variogram's lag, the largest instead of the mean square). Only a step: the onset reading's own change must be
   * larger, in that direction, than any one-reading change held before it (a departure that came gradually, or an
   * episode some other evidence opened, is not judged here: a slow cycle's trend steeper than the ring has held, at
   * 10 s where the ring holds a quarter of a day, held a noise episode for 995 readings). Counted in readings, so the same at any sampling
   * rate; a slow signal's own movement over the lag (a day's cycle) is what the departure must exceed, so the
   * judgement weakens as the lag grows, and ends where the held readings run out. False (no evidence) with fewer
   * than `minPositions` such pairs, or a flat onset (or an onset misplaced: `n` not counting the filled steps since
   * it, as the scorer did before tryout 29, finding 2, put it among the departure's own readings). False too once
   * the step is undone: its level nearer the one it left than its size (its smallest departure over its first
   * UNDONE_ONSET readings) less the largest move normal operation made the other way over the lag (tryout 28,
   * finding 1: 85.0 read three times held 210 readings back at 12 by a tenth of a degree of wander).
   *
   * The departure's own readings are taken as they came (`came`), not as the ring holds them: the ring holds an open
   * episode's readings as the profile expected them (advance, for the profile's sake), so judged from the ring a
   * spike's onset was the profile's value at its phase, and the readings after it the profile's course. Where the
   * stream wandered off its profile (a room's slow drift, ± 0.25 °C in the simulator), that held value fell below the
   * reading before the spike on a falling cycle: a "downward step" the spike never made, held through the cycle's
   * fall for 33 to 144 readings and told `drift` (the demo's temperature spikes, BENCHMARKS.md). Without `came` (a
   * checkpoint written before the episode kept them), the ring's held readings are judged as before.
   * @param x the departure's newest reading (sensor units)
   * @param n held steps since the onset, the onset and x included (>= 2): a reading and the filled steps before it
   *   count (the scorer's Episode.steps), so a report-on-change stream's onset is found where the ring holds it
   * @param span readings in each mean (the short means' boxcar, shortSpan(score.smooth))
   * @param minPositions fewest pairs of normal readings to judge by (score.learnReadings)
   * @param came the departure's readings as they came, oldest first, x last (Episode.came: its first UNDONE_ONSET
   *   readings and its last `span`, the ones between dropped, so min(n, UNDONE_ONSET + span) of them); absent: the
   *   ring's held readings
   * @param k readings since the onset, the onset and x included (Episode.readings; default n): `came` is counted in
   *   readings where `n` counts held steps (a report-on-change stream's filled steps are in n, not in k)
   */
  unreturned(x: number, n: number, span: number, minPositions: number, came?: readonly number[], k: number = n): boolean {
    const H = this.held;
    const b = H - n; // the last held reading before the onset
    const first = span - 1 + n; // the earliest end of a normal pair's later mean
    if (!(n >= 2) || !Number.isFinite(x) || b - first + 1 < minPositions) return false;
    if (PREFIX.length < H + 1) PREFIX = new Float64Array(Math.max(H + 1, 2 * RING + 1));
    if (FAULTS.length < H + 1) FAULTS = new Float64Array(Math.max(H + 1, 2 * RING + 1));
    const P = PREFIX;
    const F = FAULTS;
    P[0] = 0;
    F[0] = 0;
    for (let i = 0; i < H; i++) {
      P[i + 1] = P[i] + this.at(i);
      F[i + 1] = F[i] + this.faultAt(i);
    }
    const mean = (end: number, len: number): number => (P[end + 1] - P[end + 1 - len]) / len;
    // Whether the held readings end − len + 1 … end were all normal operation (none an open episode's own).
    const normal = (end: number, len: number): boolean => F[end + 1] - F[end + 1 - len] === 0;
    const base = mean(b, span);
    // The departure's i-th reading (0: its onset) as it came, for i < k − 1 or among its first and last ones.
    const own = came !== undefined && k >= 2 && came.length === Math.min(k, UNDONE_ONSET + span) && came.every(Number.isFinite) ? came : null;
    const onset = own === null ? this.at(b + 1) : own[0];
    const dir = Math.sign(onset - base);
    if (dir === 0) return false;
    // A step: the onset reading's change is larger, in its direction, than any one-reading change of normal operation
    // held before it (a spike's or another fault's changes, which an episode owned, are no yardstick of normal
    // operation: tryout 26, finding 1, a +6 °C spike 200 readings before a +3 °C step left the step unheld).
    const step = dir * (onset - this.at(b));
    for (let j = 0; j < b; j++) if (normal(j + 1, 2) && dir * (this.at(j + 1) - this.at(j)) >= step) return false;
    // A spike: the reading after the onset is back on the stream's course, its change from the reading before the onset
    // within the changes normal operation made over two readings (both ways; held before the onset). Its readings
    // after it are the stream's own, not the level it left: on a cycle they move on by the cycle's slope and the
    // stream's wander, and judged against the level before the onset a spike on the simulator's temperature (± 2.5
    // °C a 600-reading day, ± 0.25 °C wander) was held 47 readings on the day's rise (1 of 80 spikes, two seeds, five phases).
    if (own !== null) {
      let up = -Infinity;
      let down = Infinity;
      for (let j = 0; j + 2 <= b; j++) {
        if (!normal(j + 2, 3)) continue;
        const d = dir * (this.at(j + 2) - this.at(j));
        if (d > up) up = d;
        if (d < down) down = d;
      }
      const back = dir * (own[1] - this.at(b));
      if (back <= up && back >= down) return false;
    }
    const w = Math.min(span, n - 1);
    let level: number;
    if (own === null) level = (x + P[H] - P[H - w + 1]) / w;
    else {
      const wk = Math.min(span, k - 1);
      let sum = 0;
      for (let i = own.length - wk; i < own.length; i++) sum += own[i];
      level = sum / wk;
    }
    const off = dir * (level - base);
    if (!(off > 0)) return false;
    // The step's own size: its smallest departure from the level it left over its first readings (held ones, up to
    // UNDONE_ONSET: a step that overshot at its onset reading is judged by where it settled).
    let size = Infinity;
    if (own === null) for (let i = b + 1; i < Math.min(b + 1 + UNDONE_ONSET, H); i++) size = Math.min(size, dir * (this.at(i) - base));
    else for (let i = 0; i < Math.min(UNDONE_ONSET, k - 1); i++) size = Math.min(size, dir * (own[i] - base));
    // The pairs of short means of normal operation only (both of a pair's stretches free of an episode's readings).
    let pairs = 0;
    let against = 0;
    for (let j = first; j <= b; j++) {
      if (!normal(j, w) || !normal(j - n, span)) continue;
      const moved = dir * (mean(j, w) - mean(j - n, span));
      if (moved >= off) return false;
      if (moved < against) against = moved;
      pairs++;
    }
    // Undone: its level came back towards the one it left by more than normal operation ever moved the other way over
    // the same lag (a 73 °C step of a DS18B20's 85.0, its readings back a tenth of a degree above the level before as
    // the stream wanders: tryout 28, finding 1). The step with the stream's own movement added cannot be that near.
    if (off < size + against) return false;
    return pairs >= minPositions;
  }

  /** 1 where the i-th held reading (oldest first) was an open episode's own, else 0. */
  private faultAt(i: number): number {
    const fault = this.fault;
    if (fault === null) return this.firstFault ? 1 : 0;
    const L = fault.length;
    return fault[(this.pos - this.held + i + L) % L];
  }

  /**
   * The held value `k` readings before the newest held one (k = 0: the newest; a fractional k is linear between the
   * two held values around it), or NaN where the ring does not hold it (k < 0 or k > held − 1). Filled steps count,
   * holding the value before them; an open episode's own readings are held as the profile expected them (teach,
   * advance). Used by the drift of the cycle's level (src/pipeline/drift.ts): readings one period back.
   */
  back(k: number): number {
    if (!(k >= 0) || k > this.held - 1) return Number.NaN;
    const j = Math.floor(k);
    const f = k - j;
    const a = this.at(this.held - 1 - j);
    return f === 0 || j + 1 > this.held - 1 ? a : (1 - f) * a + f * this.at(this.held - 2 - j);
  }

  /** Readings held (at most 2 · MAX_PERIOD). */
  get heldCount(): number {
    return this.held;
  }

  /** The i-th held reading, oldest first. */
  private at(i: number): number {
    const ring = this.ring;
    if (ring === null) return this.first;
    const L = ring.length;
    return ring[(this.pos - this.held + i + L) % L];
  }

  /** The period of the held readings (0: none). */
  estimate(): number {
    const n = this.held;
    const maxLag = Math.min(MAX_PERIOD, Math.floor(n / 2));
    if (maxLag < MIN_PERIOD) return 0;
    const d = scratchD;
    let m = 0;
    for (let i = 0; i < n; i++) m += d[i] = this.at(i);
    m /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      d[i] -= m;
      ss += d[i] * d[i];
    }
    if (!(ss > 0)) return 0;
    // The lag products of every lag at once, by the FFT (Wiener–Khinchin, src/pipeline/autocorrelation.ts): the same
    // sums as Σ d[i] d[i + k] up to rounding, in O(n log n) instead of O(n · maxLag).
    lagProducts(d, n, maxLag, scratchS);
    let crossed = false;
    let best = 0;
    let bestR = -Infinity;
    for (let k = 1; k <= maxLag; k++) {
      const r = scratchS[k] / ss;
      if (!crossed) {
        if (r <= R_ROUNDING) crossed = true;
        continue;
      }
      if (r > bestR + R_ROUNDING) {
        bestR = r;
        best = k;
      }
    }
    if (!(crossed && best >= MIN_PERIOD && bestR >= ACCEPT_R - R_ROUNDING)) return 0;
    // The biased estimator chose between a period and its multiples; it also tilts the peak towards shorter lags
    // (by (n - k) / n), and a period is rarely a whole number of readings. So the peak is located on the unbiased
    // estimate (each lag's sum over its own n - k products) around it, to a fraction of a reading by a parabola
    // through the best lag and its neighbours: a profile whose period is a reading off slips a reading per cycle,
    // and its residual then swings with the phase (on a cycle of 240 readings, as much as the noise).
    const unbiased = (k: number): number => {
      let t = 0;
      for (let i = 0; i + k < n; i++) t += d[i] * d[i + k];
      return t / (n - k);
    };
    // On block means (a coarser level) the peak is located on the mean squared difference between the values a lag
    // apart instead (negated: a peak), the variogram's estimate (Matheron 1962): the unbiased autocorrelation of a
    // few periods of a smooth cycle is skewed by the window's ends (a sine over n − k products keeps a term of
    // relative size P / (2π (n − k)) that moves its peak by 1 % of the period: 2,880 readings found as 2,860 to
    // 2,915, a profile slipping by a tenth of a cycle's amplitude), and the difference cancels it at its minimum.
    // The finest level keeps the autocorrelation (its short cycles held many times over).
    const squared = (k: number): number => {
      let t = 0;
      for (let i = 0; i + k < n; i++) t += (d[i + k] - d[i]) ** 2;
      return -t / (n - k);
    };
    const fit = this.level === 0 ? unbiased : squared;
    // From the best of a few lags either side, a coarser level climbs on to the nearest peak of `fit` (where the
    // biased autocorrelation's peak was more than a few lags off it).
    const climb = (k: number, r: number, lo: number, hi: number): [number, number] => {
      if (this.level === 0) return [k, r];
      for (;;) {
        const rm = k - 1 >= lo ? fit(k - 1) : -Infinity;
        const rp = k + 1 <= hi ? fit(k + 1) : -Infinity;
        if (!(Math.max(rm, rp) > r)) return [k, r];
        if (rp > rm) [k, r] = [k + 1, rp];
        else [k, r] = [k - 1, rm];
      }
    };
    let k0 = best;
    let r0 = fit(best);
    for (let k = Math.max(MIN_PERIOD, best - 3); k <= Math.min(maxLag - 1, best + 3); k++) {
      const r = fit(k);
      if (r > r0) {
        r0 = r;
        k0 = k;
      }
    }
    [k0, r0] = climb(k0, r0, Math.max(MIN_PERIOD, Math.ceil(0.9 * best)), Math.min(maxLag - 1, Math.floor(1.1 * best)));
    const peak = (k: number, r: number): number => {
      const rm = fit(k - 1);
      const rp = fit(k + 1);
      const curve = rm - 2 * r + rp;
      return k + (curve < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (rm - rp)) / curve)) : 0);
    };
    const first = peak(k0, r0);
    // Then on the furthest multiple of it that still has a period's worth of products: an error of a fraction of
    // a reading there is that fraction over the multiple per period.
    const mult = Math.floor(n / first) - 1;
    if (mult < 2) return first;
    const around = Math.round(mult * first);
    let km = around;
    let rmax = -Infinity;
    for (let k = around - 3; k <= around + 3; k++) {
      if (k + 1 >= n) continue;
      const r = fit(k);
      if (r > rmax) {
        rmax = r;
        km = k;
      }
    }
    [km, rmax] = climb(km, rmax, around - 3 * mult, Math.min(n - 2, around + 3 * mult));
    // A cycle the profile can stand for keeps its phase: its autocorrelation is still ACCEPT_R at that multiple. A
    // duty cycle whose phases vary in length (a thermostat's) decorrelates from one period to the next as the
    // jitter adds up: against a profile of fixed phase, its residual would be timing, not level.
    if ((unbiased(km) * n) / ss < ACCEPT_R - R_ROUNDING) return 0;
    const refined = peak(km, rmax) / mult;
    return Math.abs(refined - first) <= 1 ? refined : first;
  }

  /**
   * The profile from the last `count` held readings: the mean at each phase (the next reading has phase 0).
   * Returns the weight of readings each phase's mean holds.
   */
  private rebuild(count: number): Float64Array {
    const P = this.own;
    const bins = Math.ceil(P);
    const sum = new Float64Array(bins);
    const num = new Float64Array(bins);
    const n = this.held;
    this.profile = sum;
    for (let i = n - count; i < n; i++) {
      const w = this.weight((((i - n) % P) + P) % P);
      const x = this.at(i);
      num[this.bin] += 1 - w;
      num[this.next] += w;
      sum[this.bin] += (1 - w) * x;
      sum[this.next] += w * x;
    }
    const profile = new Float64Array(bins);
    // A bin no held reading weighs on (the last, when the period is a fraction of a reading longer) takes its
    // neighbour's mean.
    for (let j = 0; j < bins; j++) profile[j] = num[j] > 0 ? sum[j] / num[j] : j > 0 ? profile[j - 1] : Number.NaN;
    if (!(num[0] > 0)) profile[0] = profile[bins - 1];
    this.profile = profile;
    this.phase = 0;
    this.spanAge = Infinity;
    return num;
  }

  toJSON(): CycleState {
    const ring: number[] = [];
    const fault: number[] = [];
    for (let i = 0; i < this.held; i++) {
      ring.push(this.at(i));
      if (this.faultAt(i) === 1) fault.push(i);
    }
    const state = { ring, period: this.own, phase: this.phase, profile: this.profile === null ? null : Array.from(this.profile), since: this.since, cycles: this.cycles, ...(fault.length > 0 ? { fault } : {}) };
    return this.coarse === null ? state : { ...state, coarse: this.coarse.toJSON(), blockSum: this.blockSum, blockN: this.blockN };
  }

  /**
   * A profile from its snapshot (toJSON). One written before the coarser levels existed, with a full ring, makes
   * its coarser level from the held readings, as a full ring does.
   *
   * @throws Error when the snapshot is not one (a field of the wrong type or out of range).
   */
  static fromJSON(x: unknown, level = 0): CycleProfile {
    const o = x as Partial<CycleState> | null;
    const c = new CycleProfile(level);
    if (o === null || typeof o !== 'object' || !Array.isArray(o.ring) || o.ring.length > RING || !o.ring.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new Error('cycle snapshot: ring must be at most 2048 finite numbers');
    const period = o.period;
    if (typeof period !== 'number' || !(period === 0 || (period >= MIN_PERIOD && period <= MAX_PERIOD + 0.5))) throw new Error('cycle snapshot: period must be 0 or in [8, 1024.5]');
    const profile = o.profile ?? null;
    if (period > 0 && (!Array.isArray(profile) || profile.length !== Math.ceil(period) || !profile.every((v) => v === null || typeof v === 'number'))) throw new Error('cycle snapshot: profile must hold one number per phase');
    const phase = o.phase;
    if (typeof phase !== 'number' || !(phase >= 0) || (period > 0 ? phase >= period : phase !== 0)) throw new Error('cycle snapshot: phase out of range');
    const since = o.since;
    if (typeof since !== 'number' || !Number.isInteger(since) || since < 0) throw new Error('cycle snapshot: since must be a non-negative integer');
    const fault = o.fault ?? [];
    if (!Array.isArray(fault) || !fault.every((i, k) => typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < (o.ring as number[]).length && (k === 0 || i > fault[k - 1]))) throw new Error('cycle snapshot: fault must be ascending indices into ring');
    let next = 0;
    for (let i = 0; i < o.ring.length; i++) {
      c.marking = next < fault.length && fault[next] === i;
      if (c.marking) next++;
      c.put(o.ring[i]);
    }
    c.marking = false;
    c.own = period;
    c.phase = phase;
    c.profile = period > 0 ? Float64Array.from(profile as number[], (v) => (v === null ? Number.NaN : v)) : null;
    c.since = since;
    const cycles = o.cycles;
    if (typeof cycles !== 'number' || !Number.isInteger(cycles) || cycles < 0) throw new Error('cycle snapshot: cycles must be a non-negative integer');
    c.cycles = cycles;
    if (o.coarse !== undefined) {
      if (level >= LEVELS || c.held !== RING || c.own > 0) throw new Error('cycle snapshot: a coarser level only below a full ring without a period, at most two');
      const { blockSum, blockN } = o;
      if (typeof blockSum !== 'number' || !Number.isFinite(blockSum) || typeof blockN !== 'number' || !Number.isInteger(blockN) || blockN < 0 || blockN >= COARSE) throw new Error('cycle snapshot: blockSum must be finite and blockN an integer in [0, 16)');
      c.coarse = CycleProfile.fromJSON(o.coarse, level + 1);
      c.blockSum = blockSum;
      c.blockN = blockN;
    } else if (level < LEVELS && c.held === RING && c.own === 0) c.seedCoarse();
    return c;
  }
}

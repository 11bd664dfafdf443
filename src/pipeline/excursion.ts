/**
 * A steady stream's level leaving everything it has shown, and going on leaving it (docs/SCORING.md section 2, "A
 * level that leaves everything the stream has shown"; tryout 29 finding 1: a 1 Hz room temperature at 21 ± 0.2 °C
 * drifting +12 °C over three hours, and one read every 5 min drifting +4.3 °C over a day and a half, never told).
 *
 * Every learner that adapts (the running normalisation, the short means' histories, the value histogram) takes a
 * drift slower than its own horizon in as it comes, so no kind speaks. This tracker keeps what the others forget:
 *
 * - **Block means.** The readings are summed in blocks of `span` readings (the short means' span); each block gives
 *   its mean and its within-block variance.
 * - **The envelope** [lo, hi]: the lowest and highest block mean the stream has shown in normal operation (every
 *   block of its learning period, every later block inside the envelope, and the furthest block of an excursion that
 *   came back without alarming: a wander larger than any seen was normal). A block beyond it is held aside while the
 *   excursion lasts (SPOT's censoring, Siffer et al. KDD 2017, as src/pipeline/drift.ts does for a band), so a drift
 *   never widens the envelope as it comes.
 * - **The stream's own spread** σ: the standard deviation of its readings over the held blocks (the within-block
 *   variance, a running mean over the last RING blocks held, plus the variance of the held block means), floored at
 *   its resolution.
 * - **The walk bound** A(L): how far the stream's own history moves its level in L blocks. From the held block means
 *   (at most RING of them) at each lag ℓ = 1, 2, 4, … up to half of them, D = B[t] − B[t − ℓ]: its mean μ (a trend:
 *   a counter, a filling tank) and its standard deviation s; A(L) is the largest over the lags of
 *   Z · s · √(L' / ℓ) + 2 |μ| · L' / ℓ with L' = max(L, ℓ) (the short lags are the stream's noise, the long ones
 *   its wander: the bound never trusts a long lag's few and overlapping differences alone): a
 *   random walk's displacement grows with √L (Feller 1951, the range of cumulative sums), a trend's with L. A stream
 *   whose history wanders (a walk, a wandering weather, a counter) has a wide bound; one whose history stood still
 *   (white noise about a level) a narrow one. A history that came back (a cycle's: the root mean square of its
 *   differences rose and fell to BACK of its largest at a longer lag, with no trend) has at most the range of its held block means
 *   (cameBack): a cycle's short lags only look like a walk.
 * - **The timeline**: every block's mean in time order (the last LONG; a block of another kind's episode, or of an
 *   excursion that was a fault, a gap; the open excursion's judged only once it came back). Its variogram low at a lag
 *   P and again at 2P is a cycle that repeats (cycleOf): its differences at P (the level at the same phase a period
 *   apart, which the cycle does not move) bound the walk bound and the spread too (cycleBound; the spread about the
 *   cycle). A drift beyond a daily cycle's range was held by the cycle's own swing: σ counted it (8σ = 11 °C on a room
 *   at 20 ± 2 °C), and the range bounded the growth (tryout 31, test/replay/room-cycle-drift.test.ts).
 *
 * - **A walk its latest motion carries** (finding `firstday4`: a new room read every 10 s, whose learning period is 43
 *   minutes of its day, was told a drift as its day walked down from the peak at twice the pace of its held blocks,
 *   whose rise and fall cancelled each other's trend): a normal block beyond the envelope that lies no further than the
 *   quadratic trend of the timeline's last MOTION judged blocks carries the level by now (carried: at its lower
 *   confidence bound of Z standard errors, at most as many blocks on as it was fitted on; src/pipeline/motion.ts, the
 *   motion `rarity` carries its learnt range by) is taken in as a block inside the envelope is, the envelope widened to
 *   it: a walk that goes on as the stream was going is its normal operation. A history that stood still carries
 *   nothing.
 *
 * An excursion begins at the first block beyond the envelope (after the learning period) and ends at the first back
 * inside it. It is a drift when, at once, its distance d beyond the envelope (the block mean's) is
 * far against the stream's own spread (d > K · σ), beyond the walk bound of its age (d > A(L)), and still growing
 * (d − d(L/2) > A(L/2) and > K/2 · σ, with d(L/2) the distance at half its age). Once told it holds while d > K · σ.
 * An excursion that meets another kind's open episode of the channel before it alarms never alarms (that fault's own
 * level: a level shift held, a sentinel on a counter's way up), with one exception: one the episode met within its first
 * MIN_AGE blocks and not yet far in that block or the next (a drift whose first readings another kind caught) is judged
 * inside that episode only (`inside`: it holds and tells that episode, never opens one, `opens` false; its first block
 * wholly outside an episode ends its telling for good);
 * a new normal (the episode resolved as such) starts the tracker over, its first `seed` blocks setting the envelope
 * again. Counted in readings and the stream's own spread: no time unit. Checkpointed (toJSON / fromJSON).
 *
 * What it tells (`told`, while drifting): the side, the envelope it left and `since`, the time of the first reading of
 * the excursion's first block (the explainer tells the episode it holds as a drift since then, by how far beyond
 * anything seen: src/explain/explain.ts). And whether, told, it is still growing (`growing`): its distance beyond the
 * envelope now beyond that `blocks` blocks earlier (told fewer blocks ago: growing, as its telling found) by the margin
 * its alarm asks of its growth (more than K/2 · σ and the walk bound of that lag); the scorer does not take a level still
 * growing as the new normal.
 */
import { MAD_TO_SIGMA, median } from '../explain/robust.js';
import { quadraticTrend, trendReach, type QuadraticTrend } from './motion.js';

/** Block means held for the walk bound (at `span` 31: 7,936 readings). */
const RING = 256;
/**
 * Blocks of the timeline whose variogram finds a repeating cycle (cycleOf; at `span` 31: 63,488 readings, four
 * periods of a daily cycle read every 10 s, where RING's 22 hours held no period).
 */
const LONG = 2048;
/** The timeline buffer's first size (block means), doubled as it fills, up to LONG. */
const LINE_FIRST = 64;
/**
 * The held block means' buffer's first size, doubled as it fills, up to RING: a stream holds a block a `span` of
 * readings, so RING's 2 kB made at the first block sat mostly empty for its first 256 · span readings (1,000 sensors
 * × 128 readings: 16 blocks each, BENCHMARKS.md "mem1000").
 */
const MEANS_FIRST = 16;
/** Far: beyond the envelope by this many of the stream's own standard deviations. */
const K = 8;
/** The walk bound's number of standard deviations of the history's displacement. */
const Z = 5;
/**
 * The least age (blocks) of an excursion that may be a drift: its growth is judged from half its age, at least 4 blocks
 * in, so a step (which straddles at most two blocks) has reached its full distance there and does not grow.
 */
const MIN_AGE = 8;
/** Distances kept at ages 1, 2, 4, … 2^(LOG_AGES − 1) blocks. */
const LOG_AGES = 24;
/**
 * A history came back (a cycle's, bounded) when, at a lag beyond the one of its largest root mean square difference,
 * that fell to this share of it or less: a cycle's differences at a multiple of its period are its noise's, a walk's grow
 * with the lag (Matheron's variogram: a sill and a hole effect, against a power law). A walk's sample variogram dips by
 * chance (its long lags hold few independent differences): with 0.5 and the differences' spread about their mean (not
 * their root mean square), 8 of 1,000 walks of 2,016 readings were told, against 2 on main (tryout's walk, blocks of
 * 31; test/replay/cyclic-drift.test.ts seed 2 among them); with these, 3 (BENCHMARKS.md, branch cycfix).
 */
const BACK = 0.4;

/**
 * Blocks of the timeline whose quadratic trend is the stream's latest motion (LevelExcursion.carried): as many as the
 * walk bound holds (RING; at `span` 31 and 10 s, 22 hours).
 */
const MOTION = RING;

/** What the timeline's variogram tells of a cycle that repeats (LevelExcursion.cycleOf). */
interface Cycle {
  /** Its period (blocks): the variogram's first low point after its largest, low again at twice the lag. */
  readonly period: number;
  /** The mean and standard deviation of the block means' differences at the period (sensor units). */
  readonly mu: number;
  readonly sd: number;
  /** Half their mean square (sensor units²): Matheron's semivariogram at the period. */
  readonly semi: number;
}

/**
 * How far a stream whose cycle repeats moves its level in L blocks beyond what its cycle does (sensor units): the walk
 * bound (module docs) of its differences at the period P alone (the level at the same phase a period apart, which the
 * cycle does not move): Z · sd · √(L' / P) + 2 |μ| · L' / P with L' = max(L, P). Infinity with no cycle.
 */
function cycleBound(cyc: Cycle | null, L: number): number {
  if (cyc === null) return Infinity;
  const l = Math.max(L, cyc.period);
  return Z * cyc.sd * Math.sqrt(l / cyc.period) + 2 * Math.abs(cyc.mu) * (l / cyc.period);
}

/** A LevelExcursion's checkpoint (JSON-safe finite numbers; null where none). */
export interface ExcursionState {
  readonly span: number;
  /** Blocks still to seed the envelope freely (a learning period or a new normal's). */
  readonly seed: number;
  /** The open block: readings in it, their sum and their sum of squares about its first reading, whether all were normal. */
  readonly open: { readonly n: number; readonly first: number; readonly sum: number; readonly sum2: number; readonly normal: boolean };
  /**
   * Held block means in the ring's own order (at most RING; the next block goes to `pos`, so a new block changes one
   * entry: a checkpoint written against a base stays small).
   */
  readonly means: number[];
  readonly pos: number;
  /** The held blocks' mean within-block variance (a running mean over the last RING of them). */
  readonly within: number;
  /** The envelope, or null before a block is held. */
  readonly envelope: { readonly lo: number; readonly hi: number } | null;
  /** The open excursion, or null. */
  readonly excursion: {
    readonly up: boolean;
    readonly ext: number;
    readonly age: number;
    readonly ds: number[];
    readonly fault: boolean;
    readonly alarmed: boolean;
    readonly far: boolean;
    readonly inEpisode: boolean;
    /** Epoch ms of the first reading of its first block; absent: not known (a checkpoint written before it was kept). */
    readonly since?: number;
    /** Its distances beyond the envelope at each block since it was told, oldest first (at most RING); absent: none. */
    readonly recent?: number[];
    /** Told: the stream's own spread at its latest block (sensor units); absent: 0 until the next block. */
    readonly sigma?: number;
    /** Told inside another kind's episode it met first (LevelExcursion.opens); absent: false. */
    readonly inside?: boolean;
    /** Its age (blocks) when it first met another kind's episode; absent: 0 (never met one, or met at its start). */
    readonly metAt?: number;
    /** Far in the block that met another kind's episode or the next (never told inside it); absent: false. */
    readonly stepped?: boolean;
  } | null;
  /**
   * The timeline: every block's mean since the start or the last new normal, in the ring's own order (at most LONG,
   * the next at `linePos`), null for a block of another kind's episode or of an excursion that was a fault; its last
   * `pending` the open excursion's. Absent (a checkpoint written before it was kept): empty.
   */
  readonly line?: (number | null)[];
  readonly linePos?: number;
  readonly pending?: number;
}

/** What a drifting LevelExcursion tells of itself (LevelExcursion.told). */
export interface ExcursionTold {
  /** The level went above the envelope (true) or below it. */
  readonly up: boolean;
  /** Epoch ms of the first reading of the excursion's first block beyond the envelope; NaN when not known. */
  readonly since: number;
  /** The envelope it left: the lowest and highest block mean shown in normal operation (sensor units). */
  readonly lo: number;
  readonly hi: number;
}

/**
 * One channel's level excursion beyond everything it has shown (module docs). `update` with every reading;
 * `drifting` before the next reading is judged.
 */
export class LevelExcursion {
  private span: number;
  private seed: number;
  private n = 0;
  private first = 0;
  private sum = 0;
  private sum2 = 0;
  /** Whether every reading of the open block was normal (no open episode of the channel). */
  private blockNormal = true;
  /**
   * The ring of held block means, made when the first block is held (a stream heard a few times holds none), MEANS_FIRST
   * long and doubled while it fills (until then the next place `pos` is `held`), RING long once full.
   */
  private means: Float64Array | null = null;
  /** The held blocks' within-block variance, a running mean over the last RING blocks held (sensor units²). */
  private within = 0;
  private pos = 0;
  private held = 0;
  private lo = Number.NaN;
  private hi = Number.NaN;
  private inExcursion = false;
  private up = false;
  private ext = Number.NaN;
  private age = 0;
  private ds: number[] = [];
  private fault = false;
  private alarmed = false;
  private far = false;
  private inEpisode = false;
  /** Epoch ms of the open block's first reading (NaN: not given, or not checkpointed). */
  private blockTs = Number.NaN;
  /** Epoch ms of the excursion's first block's first reading (NaN: none, or not known). */
  private since = Number.NaN;
  /** A told excursion's distance beyond the envelope at each block since its telling, oldest first (at most RING). */
  private recent: number[] = [];
  /** The stream's own spread at the latest block judged (sensor units). */
  private sigma = 0;
  /**
   * Told inside another kind's episode it met before it was told (its blocks held by that episode): it holds that
   * episode and tells it, but never opens one (LevelExcursion.opens).
   */
  private inside = false;
  /** The excursion's age (blocks) when it first met another kind's episode (inEpisode); 0 when it never did. */
  private metAt = 0;
  /** Far (d > K · σ) in the block that met another kind's episode or the next: a step, never told inside it. */
  private stepped = false;
  /**
   * The timeline (module docs of cycleOf): every block's mean in time order (NaN: a gap, a block of another kind's
   * episode or of an excursion that was a fault), at most LONG, the next at linePos; its last `pending` are the open
   * excursion's (not judged until it comes back). Grown as blocks come (doubling from LINE_FIRST up to LONG): a
   * stream that never fills it (one heard a few times, 100,000 junk topics) does not hold 16 kB a channel for it.
   */
  private line = new Float64Array(0);
  private linePos = 0;
  private lineN = 0;
  private pending = 0;
  /** The timeline's cycle (cycleOf), computed at most once for each change of its judged part; undefined: not since. */
  private cycle: Cycle | null | undefined = undefined;
  /** The timeline's latest motion (motionOf), computed at most once for each change of its judged part; undefined: not since. */
  private motion: QuadraticTrend | null | undefined = undefined;
  /** The mean of the blocks the motion was fitted on (its intercept in the orthogonal basis, sensor units). */
  private motionLevel = 0;

  /**
   * @param span readings in a block (the short means' span, ≥ 1)
   * @param seed blocks after the learning period that still set the envelope freely (0 for a new stream: its
   *   learning period's blocks do; a new normal's ceil(learnReadings / span))
   */
  constructor(span: number, seed: number) {
    this.span = Math.max(1, Math.round(span));
    this.seed = Math.max(0, Math.round(seed));
  }

  /** Whether the stream's level is drifting away from everything it has shown now (module docs). */
  get drifting(): boolean {
    return this.inExcursion && this.alarmed && this.far;
  }

  /**
   * Whether its drift may open an episode (the scorer's floor on its `cycle` surprise): drifting, and not told inside
   * another kind's episode (that one holds only the episode it is told in).
   */
  get opens(): boolean {
    return this.drifting && !this.inside;
  }

  /** While drifting: its side, the envelope it left and since when (ExcursionTold); null otherwise. */
  get told(): ExcursionTold | null {
    return this.drifting ? { up: this.up, since: this.since, lo: this.lo, hi: this.hi } : null;
  }

  /**
   * Whether a drifting excursion (told, and far) is still growing: its distance beyond the envelope now exceeds that
   * `blocks` blocks before (told fewer blocks ago: growing, as its telling found it) by more than K/2 of the stream's
   * own standard deviations and the walk bound of that lag (the margin its alarm asks of its growth). False when not
   * drifting (one that met another kind's episode is never told: tried, it held MSL's episodes past their new normal,
   * BENCHMARKS.md).
   * @param blocks the lag (blocks of `span` readings, ≥ 1; at most RING − 1 are kept: a longer lag is that)
   */
  growing(blocks: number): boolean {
    if (!this.drifting) return false;
    const lag = Math.min(RING - 1, Math.max(1, Math.round(blocks)));
    // Told fewer blocks ago: growing, as its telling found it.
    if (this.recent.length <= lag) return true;
    const last = this.recent.length - 1;
    const from = last - lag;
    return this.recent[last] - this.recent[from] > Math.max(this.bound(Math.max(1, last - from)), (K / 2) * this.sigma);
  }

  /**
   * Whether a step from `left` to `x` (raw readings, sensor units) falls back from the open excursion into the
   * envelope: an excursion is open (its latest blocks beyond the envelope, told or not) from an envelope of 2 · MIN_AGE
   * held blocks or more (as many as the walk bound needs: before, no excursion may be told a drift, and one is as likely
   * the stream's own unseen phase: the garage at 1 Hz stuck at 12.5 °C from its cycle's first trough at 11.9 °C below
   * an envelope of 10 held blocks, test/replay/lasting-state.test.ts; tryout 30's garage fell back after 96 held),
   * `left` lies beyond the envelope on its side and `x` inside [lo, hi]. Such a step undoes a level the stream took beyond everything it had
   * shown (a drift, told or not): the level it comes to is its long-run normal, not a fault against the level it left
   * (tryout 30 finding 3). False with no excursion open: after a new normal the envelope is the new level's
   * (`restart`), so a step from it into the old range is judged as any step. Not finite: false.
   */
  fellBack(left: number, x: number): boolean {
    if (!this.inExcursion || this.held < 2 * MIN_AGE || !Number.isFinite(left) || !Number.isFinite(x)) return false;
    const beyond = this.up ? left > this.hi : left < this.lo;
    return beyond && x >= this.lo && x <= this.hi;
  }

  /** Starts over (a new normal): the next `seed` blocks set the envelope again; the open block is kept. */
  restart(seed: number): void {
    this.seed = Math.max(1, Math.round(seed));
    this.pos = 0;
    this.held = 0;
    this.linePos = 0;
    this.lineN = 0;
    this.pending = 0;
    this.cycle = undefined;
    this.motion = undefined;
    this.lo = Number.NaN;
    this.hi = Number.NaN;
    this.clearExcursion();
  }

  private clearExcursion(): void {
    this.inExcursion = false;
    this.ext = Number.NaN;
    this.age = 0;
    this.ds = [];
    this.fault = false;
    this.alarmed = false;
    this.far = false;
    this.inEpisode = false;
    this.since = Number.NaN;
    this.recent = [];
    this.inside = false;
    this.metAt = 0;
    this.stepped = false;
  }

  /**
   * Takes one reading. `x`: the raw reading (sensor units; not finite: ignored), `normal`: the reading is no open
   * episode's of the channel, `learning`: the stream is in its learning period, `quantum`: the channel's resolution
   * (sensor units, 0: none known), `ts`: its time (epoch ms; only told back as `since`, never judged; default NaN).
   */
  update(x: number, normal: boolean, learning: boolean, quantum: number, ts = Number.NaN): void {
    if (!Number.isFinite(x)) return;
    if (this.n === 0) {
      this.first = x;
      this.blockTs = ts;
    }
    const u = x - this.first;
    this.n++;
    this.sum += u;
    this.sum2 += u * u;
    if (!normal) this.blockNormal = false;
    if (this.n < this.span) return;
    const m = this.sum / this.n;
    const mean = this.first + m;
    const v = Math.max(0, this.sum2 / this.n - m * m);
    this.n = 0;
    this.sum = 0;
    this.sum2 = 0;
    const whole = this.blockNormal;
    this.blockNormal = true;
    this.block(mean, v, whole, learning, quantum);
  }

  private hold(mean: number, v: number): void {
    // Until the ring is full its next place is `held` (pos = held): grow before writing past its buffer.
    if (this.means === null || this.pos >= this.means.length) this.meansRoom(this.pos + 1);
    this.means![this.pos] = mean;
    this.within += (v - this.within) / Math.min(this.held + 1, RING);
    this.pos = (this.pos + 1) % RING;
    if (this.held < RING) this.held++;
  }

  /** Grows the held block means' buffer to hold at least `n` (n ≤ RING), keeping what it holds. */
  private meansRoom(n: number): void {
    const had = this.means?.length ?? 0;
    let size = Math.max(had, MEANS_FIRST);
    while (size < n) size *= 2;
    size = Math.min(size, RING);
    if (this.means !== null && size <= had) return;
    const grown = new Float64Array(size);
    if (this.means !== null) grown.set(this.means);
    this.means = grown;
  }

  private at(i: number): number {
    // Only called for i < held: a block was held, so the ring was made.
    return this.means![(this.pos - this.held + i + RING) % RING];
  }

  /** The stream's own standard deviation over the held blocks, floored at its resolution. */
  private spread(quantum: number): number {
    let sm = 0;
    for (let i = 0; i < this.held; i++) {
      sm += this.at(i);
    }
    const mm = sm / this.held;
    let b = 0;
    for (let i = 0; i < this.held; i++) b += (this.at(i) - mm) ** 2;
    // A cycle that repeats: the spread of its level about the cycle (the semivariogram at its period), when less.
    const cyc = this.cycleOf();
    return Math.max(Math.sqrt(this.within + Math.min(b / this.held, cyc === null ? Infinity : cyc.semi)), quantum);
  }

  /** Appends a block's mean to the timeline (NaN: a gap); `pending`: the open excursion's. */
  private lineAdd(mean: number, pending: boolean): void {
    // Until the ring is full its next place is its length (linePos = lineN): grow before writing past it.
    if (this.linePos >= this.line.length) this.lineRoom(this.linePos + 1);
    this.line[this.linePos] = mean;
    this.linePos = (this.linePos + 1) % LONG;
    if (this.lineN < LONG) this.lineN++;
    if (pending) this.pending = Math.min(this.pending + 1, this.lineN);
    else {
      this.cycle = undefined;
      this.motion = undefined;
    }
  }

  /** Grows the timeline's buffer to hold at least `n` block means (n ≤ LONG), keeping what it holds. */
  private lineRoom(n: number): void {
    let size = Math.max(this.line.length, LINE_FIRST);
    while (size < n) size *= 2;
    size = Math.min(size, LONG);
    if (size <= this.line.length) return;
    const grown = new Float64Array(size);
    grown.set(this.line);
    this.line = grown;
  }

  /** The open excursion ended: its blocks on the timeline are the stream's own (`keep`) or gaps. */
  private settle(keep: boolean): void {
    if (this.pending === 0) return;
    if (!keep) for (let i = 1; i <= this.pending; i++) this.line[(this.linePos - i + LONG) % LONG] = Number.NaN;
    this.pending = 0;
    this.cycle = undefined;
    this.motion = undefined;
  }

  /** The i-th of the timeline's judged blocks (all but the open excursion's), oldest first. */
  private lineAt(i: number, n: number): number {
    return this.line[(this.linePos - this.pending - n + i + 2 * LONG) % LONG];
  }

  /**
   * Whether the stream's level follows a cycle that repeats (Cycle), from the timeline (every block in time order, gaps
   * skipped; the held block means of RING are not: a block beyond the envelope is held only once it came back, so their
   * lags are not the time's): the root mean square of its block means' differences (the variogram's square root,
   * Matheron 1962) at lags of 1 … n / 2 blocks rose to a largest value and fell to BACK of it or less, its first low
   * point after that at lag P (the period), and is at BACK of the largest or less again at 2P (± 1: a walk's chance
   * dip does not come back twice), with no lag's differences' mean beyond their spread (no trend). Null otherwise, or
   * with fewer than 4 · MIN_AGE blocks judged. Computed once for each change of the judged timeline (cached).
   */
  private cycleOf(): Cycle | null {
    if (this.cycle !== undefined) return this.cycle;
    this.cycle = null;
    const n = this.lineN - this.pending;
    if (n < 4 * MIN_AGE) return null;
    const half = Math.floor(n / 2);
    const rms = new Float64Array(half + 2).fill(Number.NaN);
    let top = 0;
    let P = 0;
    for (let lag = 1; lag <= half; lag++) {
      let s1 = 0;
      let s2 = 0;
      let N = 0;
      for (let i = lag; i < n; i++) {
        const d = this.lineAt(i, n) - this.lineAt(i - lag, n);
        if (Number.isNaN(d)) continue;
        s1 += d;
        s2 += d * d;
        N++;
      }
      if (N < MIN_AGE) continue;
      const mu = s1 / N;
      const sd = Math.sqrt(Math.max(0, s2 / N - mu * mu));
      if (Math.abs(mu) > sd) return null;
      rms[lag] = Math.hypot(mu, sd);
      if (P === 0) {
        if (rms[lag] > top) top = rms[lag];
        else if (rms[lag] <= BACK * top) P = lag;
      } else if (P === lag - 1 && rms[lag] < rms[P]) P = lag;
    }
    if (P === 0) return null;
    let again = Infinity;
    for (let lag = 2 * P - 1; lag <= Math.min(2 * P + 1, half); lag++) if (!Number.isNaN(rms[lag])) again = Math.min(again, rms[lag]);
    if (!(again <= BACK * top)) return null;
    // Its differences at the period, robustly (their median, and 1.4826 times their median absolute deviation from it,
    // Hampel 1974): a drift's own first blocks, still inside the envelope and so judged, are a few of them that would
    // inflate a standard deviation (a room at 60 s drifting from its cycle's trough: 4 of its cycle's standard deviations).
    const ds: number[] = [];
    for (let i = P; i < n; i++) {
      const d = this.lineAt(i, n) - this.lineAt(i - P, n);
      if (!Number.isNaN(d)) ds.push(d);
    }
    const mu = median(ds);
    const sd = MAD_TO_SIGMA * median(ds.map((d) => Math.abs(d - mu)));
    this.cycle = { period: P, mu, sd, semi: (mu * mu + sd * sd) / 2 };
    return this.cycle;
  }

  /**
   * How far beyond the envelope the stream's own latest motion carries its level by `h` blocks after the timeline's
   * last judged block (sensor units, [down, up], each >= 0): the quadratic trend of its last MOTION judged blocks (fewer
   * after a gap: the blocks since it, at least MIN_AGE; src/pipeline/motion.ts), carried on h blocks (at most as many as
   * it was fitted on) at its lower confidence bound of Z standard errors (the walk bound's Z), from the trend's last
   * fitted level, less what of that carried level is still inside [lo, hi]. [0, 0] with no motion.
   */
  private carried(h: number): readonly [number, number] {
    const m = this.motionOf();
    if (m === null) return [0, 0];
    const [down, up] = trendReach(m, h, Z);
    const x1 = (m.w - 1) / 2;
    const end = this.motionLevel + m.b1 * x1 + m.b2 * (x1 * x1 - m.m2);
    return [Math.max(0, this.lo - (end - down)), Math.max(0, end + up - this.hi)];
  }

  /** The quadratic trend of the judged timeline's latest contiguous blocks (carried), cached as cycleOf is. */
  private motionOf(): QuadraticTrend | null {
    if (this.motion !== undefined) return this.motion;
    const n = this.lineN - this.pending;
    const vals: number[] = [];
    for (let i = n - 1; i >= 0 && vals.length < MOTION; i--) {
      const v = this.lineAt(i, n);
      if (Number.isNaN(v)) break;
      vals.push(v);
    }
    vals.reverse();
    this.motion = vals.length < MIN_AGE ? null : quadraticTrend(vals);
    this.motionLevel = vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length);
    return this.motion;
  }

  /**
   * The walk bound A(L) for an age of L blocks (module docs): the largest over the lags ℓ = 1, 2, 4, … up to half the
   * held blocks; Infinity while fewer than 2 · MIN_AGE blocks are held.
   */
  private bound(L: number): number {
    if (this.held < 2 * MIN_AGE) return Infinity;
    let most = 0;
    for (let lag = 1; lag <= this.held / 2; lag *= 2) {
      const [mu, sd] = this.lagged(lag);
      const l = Math.max(L, lag);
      most = Math.max(most, Z * sd * Math.sqrt(l / lag) + 2 * Math.abs(mu) * (l / lag));
    }
    return Math.min(most, this.cameBack(most), cycleBound(this.cycleOf(), L));
  }

  /** The mean and standard deviation of the held block means' differences at `lag` blocks. */
  private lagged(lag: number): [number, number] {
    let s1 = 0;
    let s2 = 0;
    const N = this.held - lag;
    for (let i = lag; i < this.held; i++) {
      const d = this.at(i) - this.at(i - lag);
      s1 += d;
      s2 += d * d;
    }
    const mu = s1 / N;
    return [mu, Math.sqrt(Math.max(0, s2 / N - mu * mu))];
  }

  /**
   * The walk bound of a history that came back (a cycle's, or a stationary stream's; sensor units): the range of its
   * held block means, when the root mean square of their differences (the variogram's square root) at lags of 1 …
   * held / 2 blocks rose to a largest value and fell back to BACK of it or less at a longer lag, and no lag's differences have a mean
   * beyond their spread (no trend); Infinity otherwise. Its level moved by at most that range at every lag held: a
   * cycle's short lags only look like a walk (a sine's block-to-block change extrapolated by √L made a drift of 4.3 °C
   * over a daily cycle of ±0.5 °C its own wander, test/replay/level-excursion.test.ts (b)). `most`: the walk bound
   * otherwise (no smaller: Infinity, the variogram not computed, when it is within the range already).
   */
  private cameBack(most: number): number {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < this.held; i++) {
      lo = Math.min(lo, this.at(i));
      hi = Math.max(hi, this.at(i));
    }
    // Nothing to bound (the walk bound is within the range already): the variogram is not needed.
    if (most <= hi - lo) return Infinity;
    let top = 0;
    let back = false;
    for (let lag = 1; lag <= this.held / 2; lag++) {
      const [mu, sd] = this.lagged(lag);
      if (Math.abs(mu) > sd) return Infinity;
      // The variogram's own estimate (Matheron 1962): the root mean square difference, its mean included (a walk's
      // long-lag differences share a mean of the one or two excursions they span; a cycle's at its period do not).
      const rms = Math.hypot(mu, sd);
      if (rms > top) {
        top = rms;
        back = false;
      } else if (rms <= BACK * top) back = true;
    }
    return back ? hi - lo : Infinity;
  }

  private block(mean: number, v: number, normal: boolean, learning: boolean, quantum: number): void {
    if (learning || this.seed > 0 || Number.isNaN(this.lo)) {
      this.lineAdd(!normal && !learning ? Number.NaN : mean, false);
      if (!normal && !learning) return;
      if (!learning && this.seed > 0) this.seed--;
      this.hold(mean, v);
      this.lo = Number.isNaN(this.lo) ? mean : Math.min(this.lo, mean);
      this.hi = Number.isNaN(this.hi) ? mean : Math.max(this.hi, mean);
      return;
    }
    let inside = mean >= this.lo && mean <= this.hi;

    // Beyond the envelope, but no further than the stream's own latest motion carries it by now (carried): a walk that
    // goes on as the stream was going (a day's cycle seen in part) is its normal operation, taken in as a block inside
    // the envelope is, and the envelope widened to it. Only a normal block, and not an excursion already told or one
    // that met another kind's episode (those are judged as before).
    if (!inside && normal && !this.alarmed && !this.fault) {
      const [down, upBy] = this.carried(this.pending + 1);
      if (mean >= this.lo - down && mean <= this.hi + upBy) {
        inside = true;
        this.lo = Math.min(this.lo, mean);
        this.hi = Math.max(this.hi, mean);
      }
    }
    if (inside) {
      // Back inside: an excursion that never alarmed and met no episode was the stream's own wander.
      if (this.inExcursion && !this.fault) {
        if (this.up) this.hi = Math.max(this.hi, this.ext);
        else this.lo = Math.min(this.lo, this.ext);
      }
      this.settle(this.inExcursion && !this.fault);
      this.clearExcursion();
      this.lineAdd(normal ? mean : Number.NaN, false);
      if (normal) this.hold(mean, v);
      return;
    }
    const up = mean > this.hi;
    if (this.inExcursion && this.up !== up) {
      this.settle(false);
      this.clearExcursion();
    }
    this.lineAdd(mean, true);
    if (!this.inExcursion) {
      this.inExcursion = true;
      this.up = up;
      this.since = this.blockTs;
    }
    // An excursion that meets another kind's open episode of the channel (begins in it, or goes through it before it
    // is told here) never alarms: the level is that fault's (a level shift held, a sentinel on a counter's way up).
    if (!normal) {
      this.fault = true;
      if (!this.alarmed && !this.inEpisode) {
        this.inEpisode = true;
        this.metAt = this.age;
      }
    }
    const d = up ? mean - this.hi : this.lo - mean;
    this.ext = Number.isNaN(this.ext) ? mean : up ? Math.max(this.ext, mean) : Math.min(this.ext, mean);
    this.age++;
    // The distance at ages 1, 2, 4, …: the one at half the age is the latest power of two at most age / 2.
    const j = Math.log2(this.age);
    if (Number.isInteger(j) && j < LOG_AGES) this.ds.push(d);
    const sigma = this.spread(quantum);
    this.sigma = sigma;
    const far = d > K * sigma;
    this.far = far;
    // An excursion that met another kind's episode and is drifting inside it: a block wholly outside an episode
    // (that episode ended, recovered) ends its telling; it is never told again (inEpisode stays).
    if (this.alarmed && this.inside && normal) {
      this.alarmed = false;
      this.inside = false;
      this.recent = [];
      return;
    }
    if (this.alarmed) this.keep(d);
    // One that met another kind's episode is judged only while an episode holds its block (the level is that
    // episode's: a drift caught first by another kind is told a drift in it, never one that opens an episode).
    // Only one the episode met within its first MIN_AGE blocks (before it could have been told: the drift's first
    // readings), not a long excursion an episode met on its way (a sentinel on a counter's way up, tried: held the
    // sentinel's episode for the counter's whole rise).
    // Nor one already far in the block that met the episode or the next (a step straddles at most two blocks: a
    // level shift, whose level then wanders on; tried without: held 3 MSL episodes up to 1,851 readings longer).
    if (this.inEpisode && this.age <= this.metAt + 2 && far) this.stepped = true;
    if (this.alarmed || (this.inEpisode && (normal || this.metAt >= MIN_AGE || this.stepped)) || this.age < MIN_AGE || !far) return;
    const half = Math.floor(Math.log2(this.age / 2));
    const dHalf = this.ds[Math.min(half, this.ds.length - 1)];
    const halfAge = 2 ** half;
    if (d > this.bound(this.age) && d - dHalf > Math.max(this.bound(this.age - halfAge), (K / 2) * sigma)) {
      this.alarmed = true;
      this.fault = true;
      this.inside = this.inEpisode;
      this.keep(d);
    }
  }

  /** Keeps a told excursion's distance at this block (the last RING of them: growing). */
  private keep(d: number): void {
    this.recent.push(d);
    if (this.recent.length > RING) this.recent.shift();
  }

  /** The checkpoint (ExcursionState). */
  toJSON(): ExcursionState {
    // Held entries sit at 0 … held − 1 until the ring is full (held = RING): the ring's own order, pos included.
    const means = this.means === null ? [] : Array.from(this.means.subarray(0, this.held));
    return {
      span: this.span,
      seed: this.seed,
      open: { n: this.n, first: this.first, sum: this.sum, sum2: this.sum2, normal: this.blockNormal },
      means,
      within: this.within,
      pos: this.pos,
      envelope: Number.isNaN(this.lo) ? null : { lo: this.lo, hi: this.hi },
      excursion: this.inExcursion
        ? {
            up: this.up,
            ext: this.ext,
            age: this.age,
            ds: [...this.ds],
            fault: this.fault,
            alarmed: this.alarmed,
            far: this.far,
            inEpisode: this.inEpisode,
            ...(Number.isFinite(this.since) ? { since: this.since } : {}),
            ...(this.alarmed ? { recent: [...this.recent], sigma: this.sigma } : {}),
            ...(this.inside ? { inside: true } : {}),
            ...(this.metAt > 0 ? { metAt: this.metAt } : {}),
            ...(this.stepped ? { stepped: true } : {}),
          }
        : null,
      ...(this.lineN > 0 ? { line: Array.from(this.line.subarray(0, this.lineN), (x) => (Number.isNaN(x) ? null : x)), linePos: this.linePos, pending: this.pending } : {}),
    };
  }

  /**
   * A tracker from its checkpoint.
   * @throws Error when a field is missing or not a finite number / boolean, or more than RING blocks are held
   */
  static fromJSON(v: ExcursionState): LevelExcursion {
    const num = (x: unknown, name: string): number => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`excursion: ${name} must be a finite number`);
      return x;
    };
    const bool = (x: unknown, name: string): boolean => {
      if (typeof x !== 'boolean') throw new Error(`excursion: ${name} must be a boolean`);
      return x;
    };
    const t = new LevelExcursion(num(v.span, 'span'), 1);
    t.seed = num(v.seed, 'seed');
    if (typeof v.open !== 'object' || v.open === null) throw new Error('excursion: open must be an object');
    t.n = num(v.open.n, 'open.n');
    t.first = num(v.open.first, 'open.first');
    t.sum = num(v.open.sum, 'open.sum');
    t.sum2 = num(v.open.sum2, 'open.sum2');
    t.blockNormal = bool(v.open.normal, 'open.normal');
    if (!Array.isArray(v.means) || v.means.length > RING) throw new Error(`excursion: means must hold at most ${RING} block means`);
    if (v.means.length > 0) t.meansRoom(v.means.length);
    v.means.forEach((m, i) => {
      t.means![i] = num(m, `means[${i}]`);
    });
    t.held = v.means.length;
    t.within = num(v.within, 'within');
    const pos = num(v.pos, 'pos');
    if (!Number.isInteger(pos) || pos < 0 || pos >= RING || (t.held < RING && pos !== t.held % RING)) throw new Error('excursion: pos must be the ring’s next place');
    t.pos = pos;
    if (v.envelope !== null) {
      if (typeof v.envelope !== 'object') throw new Error('excursion: envelope must be an object or null');
      t.lo = num(v.envelope.lo, 'envelope.lo');
      t.hi = num(v.envelope.hi, 'envelope.hi');
    }
    if (v.line !== undefined) {
      if (!Array.isArray(v.line) || v.line.length > LONG) throw new Error(`excursion: line must hold at most ${LONG} block means`);
      t.lineRoom(v.line.length);
      v.line.forEach((m, i) => {
        t.line[i] = m === null ? Number.NaN : num(m, `line[${i}]`);
      });
      t.lineN = v.line.length;
      const lp = num(v.linePos, 'linePos');
      if (!Number.isInteger(lp) || lp < 0 || lp >= LONG || (t.lineN < LONG && lp !== t.lineN % LONG)) throw new Error('excursion: linePos must the line’s next place');
      t.linePos = lp;
      const pd = num(v.pending, 'pending');
      if (!Number.isInteger(pd) || pd < 0 || pd > t.lineN) throw new Error('excursion: pending must be a count of the line’s blocks');
      t.pending = pd;
    }
    const e = v.excursion;
    if (e !== null) {
      if (typeof e !== 'object' || !Array.isArray(e.ds)) throw new Error('excursion: excursion must be an object or null');
      t.inExcursion = true;
      t.up = bool(e.up, 'excursion.up');
      t.ext = num(e.ext, 'excursion.ext');
      t.age = num(e.age, 'excursion.age');
      t.ds = e.ds.map((d, i) => num(d, `excursion.ds[${i}]`));
      t.fault = bool(e.fault, 'excursion.fault');
      t.alarmed = bool(e.alarmed, 'excursion.alarmed');
      t.far = bool(e.far, 'excursion.far');
      t.inEpisode = bool(e.inEpisode, 'excursion.inEpisode');
      // Absent from checkpoints written before they were kept: not known (told without its onset), none kept.
      if (e.since !== undefined) t.since = num(e.since, 'excursion.since');
      if (e.recent !== undefined) {
        if (!Array.isArray(e.recent) || e.recent.length > RING) throw new Error(`excursion: recent must hold at most ${RING} distances`);
        t.recent = e.recent.map((d, i) => num(d, `excursion.recent[${i}]`));
      }
      if (e.sigma !== undefined) t.sigma = num(e.sigma, 'excursion.sigma');
      if (e.inside !== undefined) t.inside = bool(e.inside, 'excursion.inside');
      if (e.metAt !== undefined) t.metAt = num(e.metAt, 'excursion.metAt');
      if (e.stepped !== undefined) t.stepped = bool(e.stepped, 'excursion.stepped');
    }
    return t;
  }
}

/** Where a history's level first left everything it had shown and went on leaving it (driftedFrom). */
export interface DriftedAt {
  /** Row of the history (0-based) whose reading made the tracker tell a drift. */
  readonly row: number;
  /** Its channel (0-based). */
  readonly channel: number;
}

/**
 * Whether a stored history (time-major rows of `channels` values, sensor units; NaN: missing) is drifting away from
 * everything it had shown in its recent part: each channel through a fresh LevelExcursion, its first `learnReadings`
 * rows setting the envelope as a new stream's learning period does, every row taken as normal (no episode); a drift
 * told at a row at or after `from` (an excursion that came back before it, a long cycle's first swing, is the
 * stream's own). The own-model learner (src/learn/learner.ts) does not learn such a history as normal (tryout 29
 * finding 1: a drifting room temperature was learnt and its model passed the gate). Null when no channel drifts there.
 * @param span readings in a block (the short means' span, shortSpan(score.smooth))
 * @param learnReadings readings of the learning period (score.learnReadings)
 * @param from the first row (0-based) at which a drift counts
 */
export function driftedFrom(values: Float32Array | Float64Array, channels: number, span: number, learnReadings: number, from: number): DriftedAt | null {
  const rows = Math.floor(values.length / channels);
  let found: DriftedAt | null = null;
  for (let c = 0; c < channels; c++) {
    const t = new LevelExcursion(span, 0);
    for (let i = 0; i < rows && (found === null || i < found.row); i++) {
      t.update(values[i * channels + c], true, i < learnReadings, 0);
      if (t.drifting && i >= from) {
        found = { row: i, channel: c };
        break;
      }
    }
  }
  return found;
}

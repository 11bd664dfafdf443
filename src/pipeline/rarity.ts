/**
 * The value histogram behind the scorer's `rarity` evidence: how much of the stream's own recent normal
 * operation had a value near this one? A histogram-based outlier score (HBOS, Goldstein and Dengel,
 * "Histogram-based Outlier Score (HBOS): A fast Unsupervised Anomaly Detection Algorithm", KI 2012) of one
 * channel, kept as a stream: −ln p(x), p the share of the history's values in x's bin and its two neighbours.
 * It catches a value that sits where the stream's value distribution has (almost) no mass, such as a level
 * in the gap between the two modes of a duty cycle, which is close to the running mean of a bimodal signal
 * (so `level` says nothing) and which a model that follows the last readings predicts like persistence.
 *
 * Edges. A value at the frontier of the mass (a drift, a random walk reaching new ground, a day's peak a little
 * higher than before) is not in a gap: its rarity fades out linearly near the edge of the mass (bins holding at
 * least one value), within EDGE of the gap's width from the nearer mass, or, beyond every mass, within EDGE_OUT of
 * the range's width. −ln p counts in full in the middle of a gap and far beyond the range. A histogram filled with a
 * short learning period at its end may carry that period's own motion (learnMotion): beyond every mass the edge is
 * then where the period's quadratic trend carries it by now, at the lower confidence bound of that motion (reach).
 *
 * Scale. Bins are 2^e wide, e the nearest integer to log2 of the scale the caller gives with each value (the
 * stream's typical change: any sampling rate and any unit), so bins are as wide as the noise of one mode,
 * whatever the stream's range; the width follows that scale in steps of a factor 2 (merging pairs of bins,
 * exactly, or splitting each in two halves) once it is two steps off, and doubles when the histogram holds more
 * than MAX_BINS bins (a smooth or drifting signal: memory stays O(MAX_BINS) per channel).
 *
 * Memory. Exponential forgetting with horizon `horizon` values (each value weighs 1/(1 - 1/horizon) times the
 * previous one, as in tail.ts); bins whose mass falls below PRUNE of one value are dropped. A guard band: a
 * value enters the histogram `lag` values after it was added, so a fault's first readings are judged against
 * what came before them, and an episode's onset can be dropped (`discardPending`).
 */
import { quadraticTrend, trendReach, type QuadraticTrend } from './motion.js';

/** No reach beyond the learnt range (ValueHistogram.reach). */
const NO_REACH: readonly [number, number] = [0, 0];
/** Most bins held; beyond it the bins are made twice as wide. */
export const MAX_BINS = 512;
/**
 * Between two masses (bins holding at least one value), the rarity counts in full from this share of the gap's
 * width away from the nearer one, and fades linearly to 0 at its edge.
 */
export const EDGE = 0.1;
/** Beyond every mass, the rarity counts in full from this share of the range's width beyond it. */
export const EDGE_OUT = 0.3;
/**
 * Most distinct values a channel may take and still be a discrete one (a state, a mode, a code) for `novel`; past
 * it the channel's values are a quantised continuum, whose range `level` judges, and the set is dropped.
 */
export const LEVELS_MAX = 8;
/** Bins lighter than this (in values) are dropped. */
const PRUNE = 1e-3;
/** Renormalise the weights when a value weighs more than this. */
const RESCALE = 1e100;

export interface ValueHistogramState {
  /** log2 of the bin width, or null before the first value entered. */
  readonly exp: number | null;
  /** [bin index, mass] pairs; the mass is in units of `weight`. */
  readonly bins: readonly (readonly [number, number])[];
  /** What the next value that enters weighs. */
  readonly weight: number;
  /** Values (in `weight` units) held. */
  readonly total: number;
  /** Values waiting in the guard band, oldest first, with the scale each was given. */
  readonly pending: readonly (readonly [number, number])[];
  /** Filled with a whole learning period's readings at its end (ValueHistogram.ready). Absent: false. */
  readonly ready?: boolean;
  /**
   * The distinct values that entered, ascending (at most LEVELS_MAX), or null once there were more; and how many
   * values entered (`novel`). Absent (a checkpoint from before): none yet, learnt again from the next values.
   */
  readonly levels?: { readonly values: readonly number[] | null; readonly seen: number };
  /** The learning period's motion (ValueHistogram.learnMotion). Absent: none (beyond the mass the frozen range judges). */
  readonly motion?: LearntMotion;
}

/**
 * The learning period's own motion of one channel (ValueHistogram.learnMotion): the quadratic trend of its last `w`
 * readings (src/pipeline/motion.ts; slope in sensor units per reading, curvature per reading²).
 */
export interface LearntMotion extends QuadraticTrend {
  /** The standard normal quantile the motion's lower confidence bound is taken at (the threshold's). */
  readonly z: number;
  /** The caller's reading count at the fit's last reading (`since` in reach and rarity counts from it). */
  readonly from: number;
}

/** Bin indices found by one walk over the mass (ValueHistogram.scanMass). */
interface MassScan {
  near: number;
  far: number;
  lo: number;
  hi: number;
}

export class ValueHistogram {
  private exp: number | null = null;
  private bins = new Map<number, number>();
  private weight = 1;
  private total = 0;
  /**
   * The guard band: a ring of [value, scale] pairs at [2i, 2i + 1], the oldest at pendHead, pendLen of them; room
   * for lag + 2 (a restored state may hold lag + 1 before the next value comes). Made with the first value (a
   * stream that sends one reading, or a junk topic, costs no ring).
   */
  private pend: Float64Array | null = null;
  private readonly room: number;
  private pendHead = 0;
  private pendLen = 0;
  private readonly decay: number;
  private readonly scan: MassScan = { near: -Infinity, far: Infinity, lo: Infinity, hi: -Infinity };
  /**
   * The mass (bins holding at least one value: mass >= weight), ascending, and a lower bound of their masses; null
   * when not known. Kept across values: a value adds mass to one bin only (which may join), and a bin leaves only
   * when the weight of one value grows past its mass, which cannot happen while the weight stays at or below
   * `massMin`; past it, and after anything that moves every bin (rescale, coarsen, refine, prune, clear, restore),
   * it is found again by a walk over the bins. So scanMass needs no walk for most readings, with the same answer.
   */
  private mass: number[] | null = null;
  private massMin = Infinity;
  /**
   * True once the histogram was filled with a whole learning period's readings at its end (the scorer's
   * warmKinds): rarity speaks from it then, though with forgetting its `count` is a little below the number of
   * values it took. Cleared with the histogram.
   */
  ready = false;
  /**
   * The distinct values that entered since the histogram was last cleared, ascending, or null once there were more
   * than LEVELS_MAX (not a discrete channel); never forgotten otherwise (a level seen once is a level the channel
   * takes). `seen`: how many values entered (not faded).
   */
  private levels: number[] | null = [];
  private seen = 0;
  /** The learning period's motion (learnMotion), or null; forgotten with the histogram (clear). */
  private motion: LearntMotion | null = null;

  /**
   * @param horizon effective memory, values (>= 2)
   * @param lag values in the guard band (>= 0)
   */
  constructor(
    horizon: number,
    readonly lag: number,
  ) {
    this.decay = 1 / (1 - 1 / Math.max(2, horizon));
    this.room = Math.max(0, Math.floor(lag)) + 2;
  }

  /** Values the histogram holds (effective, at most about `horizon`). */
  get count(): number {
    return this.total / this.weight;
  }

  /** Bins held (memory). */
  get size(): number {
    return this.bins.size;
  }

  /** Width of a bin (NaN before the first value entered). */
  get width(): number {
    return this.exp === null ? Number.NaN : Math.pow(2, this.exp);
  }

  /**
   * −ln of the share of the history near x (x's bin and half of each neighbour, over two bins' worth), with
   * the rule of succession: a value in an empty region gets ln(2 (count + 1)), not infinity. NaN when empty.
   * `times`: the histogram stands for one `times` as large of the same shape (its masses and count multiplied;
   * default 1): half of a sample judging the other half as the whole sample would. `since`: the caller's count of
   * readings now (learnMotion's `from` counts on it); given, a value beyond every mass is faded from the edge the
   * learning period's motion carries the range to by now (reach); absent, from the mass's own edge.
   */
  rarity(x: number, times = 1, since?: number): number {
    if (this.exp === null || this.total <= 0 || !Number.isFinite(x)) return Number.NaN;
    const b = Math.floor(x / Math.pow(2, this.exp));
    const m = (times * ((this.bins.get(b) ?? 0) + 0.5 * ((this.bins.get(b - 1) ?? 0) + (this.bins.get(b + 1) ?? 0)))) / this.weight;
    const r = -Math.log((m + 1) / (2 * (times * this.count + 1)));
    // A value at the frontier of the history's mass is not in a gap: a drift, a random walk that reaches new
    // ground, a day's peak a little higher than before are level's and shift's (their rarity is a matter of how
    // far the walk has gone). The rarity fades out near the edge of the mass (bins holding at least one value):
    // between two masses within EDGE of the gap's width from the nearer one, beyond all of them within
    // EDGE_OUT of the range's width.
    const { near, far, lo, hi } = this.scanMass(b);
    let t: number;
    if (Number.isFinite(near) && Number.isFinite(far)) t = Math.min(b - near, far - b) / (far - near) / EDGE;
    else if (hi > lo) {
      // Beyond every mass: from the edge the learning period's own motion carries the range to by now (reach), in
      // bins, over the width of the mass itself (a motion down does not widen the scale a value above is judged by).
      const [down, up] = since === undefined ? NO_REACH : this.reach(since);
      const w = Math.pow(2, this.exp);
      const lo2 = lo - Math.floor(down / w);
      const hi2 = hi + Math.floor(up / w);
      t = Math.max(0, Number.isFinite(near) ? b - near - (hi2 - hi) : far - b - (lo - lo2)) / (hi - lo) / EDGE_OUT;
    } else t = 1;
    const gate = Math.min(1, t);
    return r * gate;
  }

  /**
   * Learns the motion of the learning period that filled the histogram (the scorer's warmKinds): a least-squares
   * quadratic trend (level, slope, curvature) of `values` (its readings, oldest first, one a reading; at least 8, and
   * at least 2 distinct x² values), `from` the caller's count of readings at the last of them, `z` the standard
   * normal quantile of the threshold. Beyond every mass, `rarity` then judges a value against the learnt range carried
   * on by that trend (reach). Ignored (no motion) for fewer than 8 values or a non-finite one.
   */
  learnMotion(values: ArrayLike<number>, from: number, z: number): void {
    this.motion = null;
    if (!(z >= 0) || !Number.isFinite(from)) return;
    const q = quadraticTrend(values);
    if (q !== null) this.motion = { ...q, z, from };
  }

  /**
   * How far beyond the learnt range the learning period's own motion carries by `since` (the caller's count of
   * readings, as learnMotion's `from`), sensor units, [down, up], each >= 0: the quadratic trend's movement from the
   * fit's last reading to h = since − from readings after it (h at most the fit's own length w: a trend is not carried
   * further than it was seen), less z standard errors of that movement (the lower confidence bound of the motion the
   * learning period showed: the variance of a difference of the fitted polynomial at two points, s² (Δx² / Σx² +
   * Δp² / Σp²) in the orthogonal basis, the least-squares prediction variance without the level's and the noise's
   * terms, which a difference cancels). [0, 0] without a motion.
   */
  reach(since: number): readonly [number, number] {
    const m = this.motion;
    if (m === null) return NO_REACH;
    return trendReach(m, since - m.from, m.z);
  }

  /**
   * Whether x is a value this discrete channel has never taken, by a margin of its own (the `level` evidence of such
   * a reading counts without the Bonferroni share: scorer.ts, fuse): the values that entered are at least 2 and at
   * most LEVELS_MAX distinct ones, at least `minSeen` of them entered, and x lies beyond their range by at least the
   * range's width (so by at least one step between levels, the channel's resolution): a code or state outside the
   * set the channel has taken, as far from it as its whole set spans. A value that creeps out a level at a time
   * (a quantised temperature's new high, one step above the last) is never that far beyond the range it has
   * reached; a channel of one value has no width to judge by. False for a non-finite x.
   */
  novel(x: number, minSeen: number): boolean {
    const lv = this.levels;
    if (lv === null || lv.length < 2 || this.seen < minSeen || !Number.isFinite(x)) return false;
    const lo = lv[0];
    const hi = lv[lv.length - 1];
    // The tolerance: a level's value written in decimals (0.1 + 0.2 is not 0.3).
    const margin = (hi - lo) * (1 - 1e-9);
    return x - hi >= margin || lo - x >= margin;
  }

  /**
   * Takes x as a level the channel has taken (its first sight: the scorer calls it for a reading `novel` judged
   * never seen, whatever that reading's episode, so only the first reading of a new level is news and a level
   * that comes back is judged by `level` alone; an ordinary value is taken as it enters). Not counted in `seen`.
   */
  sawLevel(x: number): void {
    const lv = this.levels;
    if (lv === null || !Number.isFinite(x)) return;
    const at = lowerBound(lv, x);
    if (lv[at] === x) return;
    if (lv.length >= LEVELS_MAX) this.levels = null;
    else lv.splice(at, 0, x);
  }

  /**
   * Whether x lies beyond the range of the history's mass (bins holding at least one value), by more than a
   * bin: where the stream has never been, as opposed to a gap between places it has been. False when empty.
   */
  outside(x: number): boolean {
    if (this.exp === null || !Number.isFinite(x)) return false;
    const b = Math.floor(x / Math.pow(2, this.exp));
    const { lo, hi } = this.scanMass(b);
    return lo <= hi && (b < lo - 1 || b > hi + 1);
  }

  /**
   * One walk over the bins holding at least one value (the mass), relative to bin b: the range of the mass
   * (lo, hi; Infinity and -Infinity when there is none) and the nearest mass bins below b - 1 and above b + 1
   * (near, far; -Infinity and Infinity when there is none). Fills and returns the histogram's scratch record.
   */
  private scanMass(b: number): MassScan {
    const m = this.scan;
    const mass = this.massBins();
    const n = mass.length;
    m.lo = n > 0 ? mass[0] : Infinity;
    m.hi = n > 0 ? mass[n - 1] : -Infinity;
    // near: the largest mass bin below b - 1; far: the smallest above b + 1 (binary searches in the ascending list).
    const below = lowerBound(mass, b - 1);
    m.near = below > 0 ? mass[below - 1] : -Infinity;
    const above = lowerBound(mass, b + 2);
    m.far = above < n ? mass[above] : Infinity;
    return m;
  }

  /** The bins holding at least one value, ascending (see `mass`). */
  private massBins(): number[] {
    if (this.mass !== null && this.massMin >= this.weight) return this.mass;
    const mass: number[] = [];
    let min = Infinity;
    for (const [i, w] of this.bins) {
      if (w < this.weight) continue;
      mass.push(i);
      if (w < min) min = w;
    }
    mass.sort((a, b) => a - b);
    this.mass = mass;
    this.massMin = min;
    return mass;
  }

  /**
   * Adds a value (it enters after the guard band). `scale`: the stream's typical change at this value, sensor
   * units (> 0); the bin width follows it.
   */
  add(x: number, scale: number): void {
    if (!Number.isFinite(x) || !(scale > 0) || !Number.isFinite(scale)) return;
    const room = this.room;
    const pend = (this.pend ??= new Float64Array(2 * room));
    const at = (this.pendHead + this.pendLen) % room;
    pend[2 * at] = x;
    pend[2 * at + 1] = scale;
    this.pendLen++;
    while (this.pendLen > this.lag) {
      const head = this.pendHead;
      this.pendHead = (head + 1) % room;
      this.pendLen--;
      this.enter(pend[2 * head], pend[2 * head + 1]);
    }
  }

  /** Moves the values in the guard band into the histogram now, oldest first (known normal: the end of learning). */
  commitPending(): void {
    const pend = this.pend;
    for (let i = 0; pend !== null && i < this.pendLen; i++) {
      const at = (this.pendHead + i) % this.room;
      this.enter(pend[2 * at], pend[2 * at + 1]);
    }
    this.pendHead = 0;
    this.pendLen = 0;
  }

  /** Drops the values still in the guard band (an episode's onset). */
  discardPending(): void {
    this.pendHead = 0;
    this.pendLen = 0;
  }

  /** Forgets everything (a new normal starts the histogram over). */
  clear(): void {
    this.ready = false;
    this.motion = null;
    this.exp = null;
    this.bins.clear();
    this.mass = null;
    this.weight = 1;
    this.total = 0;
    this.pendHead = 0;
    this.pendLen = 0;
    this.levels = [];
    this.seen = 0;
  }

  private enter(x: number, scale: number): void {
    this.seen++;
    this.sawLevel(x);
    const target = Math.round(Math.log2(scale));
    if (this.exp === null) this.exp = target;
    else if (target >= this.exp + 2) while (this.exp < target) this.coarsen();
    else if (target <= this.exp - 2 && this.bins.size * 4 <= MAX_BINS) while (this.exp > target && this.bins.size * 2 <= MAX_BINS) this.refine();
    const b = Math.floor(x / Math.pow(2, this.exp));
    const held = (this.bins.get(b) ?? 0) + this.weight;
    this.bins.set(b, held);
    this.total += this.weight;
    this.weight *= this.decay;
    // The bin that gained mass may join the mass (the others only lose standing as the weight grows: massBins).
    const mass = this.mass;
    if (mass !== null && held >= this.weight) {
      const at = lowerBound(mass, b);
      if (mass[at] !== b) mass.splice(at, 0, b);
      if (held < this.massMin) this.massMin = held;
    }
    if (this.weight > RESCALE) this.rescale();
    if (this.bins.size > MAX_BINS) {
      this.prune();
      while (this.bins.size > MAX_BINS) this.coarsen();
    }
  }

  /** Bins twice as wide: pairs merge (exact). */
  private coarsen(): void {
    this.mass = null;
    const next = new Map<number, number>();
    for (const [b, m] of this.bins) {
      const h = Math.floor(b / 2);
      next.set(h, (next.get(h) ?? 0) + m);
    }
    this.bins = next;
    this.exp = (this.exp ?? 0) + 1;
  }

  /** Bins half as wide: each splits into two halves of its mass. */
  private refine(): void {
    this.mass = null;
    const next = new Map<number, number>();
    for (const [b, m] of this.bins) {
      next.set(2 * b, m / 2);
      next.set(2 * b + 1, m / 2);
    }
    this.bins = next;
    this.exp = (this.exp ?? 0) - 1;
  }

  private rescale(): void {
    this.mass = null;
    const f = 1 / this.weight;
    for (const [b, m] of this.bins) this.bins.set(b, m * f);
    this.total *= f;
    this.weight = 1;
    this.prune();
  }

  private prune(): void {
    this.mass = null;
    const floor = PRUNE * this.weight;
    let total = 0;
    for (const [b, m] of this.bins) {
      if (m < floor) this.bins.delete(b);
      else total += m;
    }
    this.total = total;
  }

  toJSON(): ValueHistogramState {
    return { exp: this.exp, bins: [...this.bins.entries()], weight: this.weight, total: this.total, pending: this.pendingPairs(), ...(this.ready ? { ready: true } : {}), levels: { values: this.levels === null ? null : [...this.levels], seen: this.seen }, ...(this.motion !== null ? { motion: this.motion } : {}) };
  }

  /** The guard band's values, oldest first, as [value, scale]. */
  private pendingPairs(): (readonly [number, number])[] {
    const out: (readonly [number, number])[] = [];
    const pend = this.pend;
    for (let i = 0; pend !== null && i < this.pendLen; i++) {
      const at = (this.pendHead + i) % this.room;
      out.push([pend[2 * at], pend[2 * at + 1]]);
    }
    return out;
  }

  /** @throws Error on a malformed state */
  static fromJSON(v: unknown, horizon: number, lag: number): ValueHistogram {
    const h = new ValueHistogram(horizon, lag);
    const s = v as Partial<ValueHistogramState> | null;
    const fin = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    const pairs = (x: unknown): x is [number, number][] => Array.isArray(x) && x.every((p) => Array.isArray(p) && p.length === 2 && fin(p[0]) && fin(p[1]));
    if (typeof s !== 'object' || s === null) throw new Error('value histogram: not an object');
    if (!(s.exp === null || (Number.isInteger(s.exp) && Math.abs(s.exp as number) < 2000))) throw new Error('value histogram: exp must be an integer or null');
    if (!pairs(s.bins) || !pairs(s.pending) || !fin(s.weight) || !(s.weight > 0) || !fin(s.total) || s.total < 0) throw new Error('value histogram: malformed');
    if (s.bins.length > MAX_BINS || s.pending.length > Math.max(lag, 0) + 1) throw new Error('value histogram: too many bins or pending values');
    if (s.ready !== undefined && typeof s.ready !== 'boolean') throw new Error('value histogram: ready must be a boolean');
    h.ready = s.ready === true;
    if (s.levels !== undefined) {
      const l = s.levels as Partial<{ values: unknown; seen: unknown }> | null;
      if (typeof l !== 'object' || l === null || !fin(l.seen) || l.seen < 0) throw new Error('value histogram: malformed levels');
      const vs = l.values;
      if (!(vs === null || (Array.isArray(vs) && vs.length <= LEVELS_MAX && vs.every(fin) && vs.every((x, i) => i === 0 || vs[i - 1] < x)))) throw new Error('value histogram: levels must be null or at most LEVELS_MAX ascending numbers');
      h.levels = vs === null ? null : [...vs];
      h.seen = l.seen;
    }
    if (s.motion !== undefined) {
      const m = s.motion as Partial<LearntMotion> | null;
      if (typeof m !== 'object' || m === null || !fin(m.w) || !(m.w >= 8) || !fin(m.b1) || !fin(m.b2) || !fin(m.sxx) || !(m.sxx > 0) || !fin(m.spp) || !(m.spp > 0) || !fin(m.m2) || !fin(m.s2) || !(m.s2 >= 0) || !fin(m.z) || !(m.z >= 0) || !fin(m.from)) {
        throw new Error('value histogram: malformed motion');
      }
      h.motion = { w: m.w, b1: m.b1, b2: m.b2, sxx: m.sxx, spp: m.spp, m2: m.m2, s2: m.s2, z: m.z, from: m.from };
    }
    h.exp = s.exp ?? null;
    h.bins = new Map(s.bins.map((p) => [p[0], p[1]]));
    h.mass = null;
    h.weight = s.weight;
    h.total = s.total;
    for (const [v, sc] of s.pending) {
      const pend = (h.pend ??= new Float64Array(2 * h.room));
      pend[2 * h.pendLen] = v;
      pend[2 * h.pendLen + 1] = sc;
      h.pendLen++;
    }
    return h;
  }
}

/** The first index of the ascending `a` whose value is >= x (a.length when none). */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

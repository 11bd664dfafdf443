/**
 * Is an open episode's latest stretch of readings one stable new segment? The evidence behind "the new normal"
 * (src/pipeline/scorer.ts, docs/SCORING.md section 5): a lasting change is accepted once its latest `blocks` ·
 * `block` readings (a span counted in readings, the stream's learning period) are explained by one constant level
 * as well as by any split into a before and an after, in every channel the episode is about.
 *
 * The test is the CUSUM test of a constant mean on block means (Brown, Durbin and Evans, JRSS B 1975; as a
 * test of a change in the mean with the statistic below: Ploberger and Krämer, Econometrica 1992): the span's
 * `block`-reading means m_1 … m_K (each channel's level in the stream's normalisation, z), their mean m̄ and
 * standard deviation s, and the largest absolute partial sum of the deviations, max_k |Σ_{j≤k} (m_j − m̄)| / (s √K).
 * With one constant level it is the supremum of a Brownian bridge, Kolmogorov-distributed: above 1.358 one time
 * in 20. A further step in the span, a drift, a ramp, a level still settling or a cycle slower than the span push
 * it up (one step in the middle of 16 blocks gives 2.0, a straight ramp 1.7): those stay open. Block means,
 * not readings: a reading's neighbours are correlated in most signals, the means of blocks of readings much
 * less, and the test scales by the blocks' own spread, so the segment's noise level is its own (a change of
 * noise level with its level is one segment). The CUSUM is weak against a level that goes away and comes back
 * within the span (a cycle's trough straddled by the span sums to little), so the order of the block means must
 * also look random: the Wald-Wolfowitz runs test (Wald and Wolfowitz, Ann. Math. Stat. 1940) of the block means
 * above and below their median, too few runs (one-sided, 5 %: z below −1.645) being a level that wanders. Nothing
 * of the old normal enters: the question is only whether
 * the new readings are one level. A stuck value is never judged here (the scorer starts the segment over at
 * every stuck reading: a stuck value is a fault, never a new normal).
 *
 * Memory: (blocks + 1) numbers per channel, made when an episode opens, gone when it ends. Counted in readings
 * only, so it holds at any sampling rate.
 */

/** The 95 % quantile of the supremum of the absolute Brownian bridge (the Kolmogorov distribution). */
export const STABLE_CRITICAL = 1.358;
/** The one-sided 5 % quantile of the standard normal: the runs test's bound on too few runs. */
export const RUNS_CRITICAL = -1.645;

/** A segment's state in a checkpoint: the running block's sums and count, and the full blocks' means, oldest first. */
export interface SegmentSnapshot {
  readonly sum: readonly number[];
  readonly n: number;
  /** Per full block (oldest first), one mean per channel. */
  readonly means: readonly (readonly number[])[];
}

export class StableSegment {
  /** Per channel, the sum of the running block's levels. */
  private readonly sum: Float64Array;
  /** Readings in the running block. */
  private n = 0;
  /** The last `blocks` full blocks' means, a ring: block i's channel c at ((head + i) % blocks) * C + c. */
  private readonly means: Float64Array;
  private head = 0;
  private held = 0;

  /**
   * @param C channels
   * @param block readings a block (≥ 1)
   * @param blocks full blocks the segment holds at most (≥ 2): the longest span it can judge is block · blocks readings
   * @throws RangeError on a size out of range
   */
  constructor(
    readonly C: number,
    readonly block: number,
    readonly blocks: number,
  ) {
    if (!(Number.isInteger(C) && C >= 1 && Number.isInteger(block) && block >= 1 && Number.isInteger(blocks) && blocks >= 2)) {
      throw new RangeError(`segment: C ${C}, block ${block}, blocks ${blocks}`);
    }
    this.sum = new Float64Array(C);
    this.means = new Float64Array(C * blocks);
  }

  /** Readings in the span so far (at most block · blocks + block − 1). */
  get readings(): number {
    return this.held * this.block + this.n;
  }

  /** Starts over (a stuck reading, a reading without a warm normalisation). */
  clear(): void {
    this.sum.fill(0);
    this.n = 0;
    this.head = 0;
    this.held = 0;
  }

  /**
   * Adds one reading's levels (z, one per channel, in the stream's normalisation). Returns true when it completes
   * a block (the moment the test has something new to judge). A non-finite level starts the segment over.
   */
  push(z: ArrayLike<number>): boolean {
    for (let c = 0; c < this.C; c++) {
      if (!Number.isFinite(z[c])) {
        this.clear();
        return false;
      }
    }
    for (let c = 0; c < this.C; c++) this.sum[c] += z[c];
    if (++this.n < this.block) return false;
    let slot: number;
    if (this.held < this.blocks) slot = (this.head + this.held++) % this.blocks;
    else {
      // Full: the oldest block gives way.
      slot = this.head;
      this.head = (this.head + 1) % this.blocks;
    }
    for (let c = 0; c < this.C; c++) this.means[slot * this.C + c] = this.sum[c] / this.block;
    this.sum.fill(0);
    this.n = 0;
    return true;
  }

  /**
   * The CUSUM statistic of channel c over the newest `K` full blocks (default all held; 0 when they are all equal;
   * NaN with fewer than 2 or more than held).
   */
  statistic(c: number, K = this.held): number {
    if (K < 2 || K > this.held) return Number.NaN;
    const from = this.held - K;
    let mean = 0;
    for (let i = 0; i < K; i++) mean += this.at(from + i, c);
    mean /= K;
    let ss = 0;
    let s = 0;
    let top = 0;
    for (let i = 0; i < K; i++) {
      const d = this.at(from + i, c) - mean;
      ss += d * d;
      s += d;
      if (Math.abs(s) > top) top = Math.abs(s);
    }
    const sd = Math.sqrt(ss / (K - 1));
    // Every block the same level: one segment (a stuck value never gets here; a quantised plateau may).
    if (!(sd > 0)) return 0;
    return top / (sd * Math.sqrt(K));
  }

  /**
   * The runs test's z of channel c over the newest `K` full blocks (default all held): the runs of block means above
   * and below their median (means equal to it left out) against the count expected in a random order. 0 when all
   * are on one side (every block the same level); NaN with fewer than 2 blocks or more than held.
   */
  runs(c: number, K = this.held): number {
    if (K < 2 || K > this.held) return Number.NaN;
    const from = this.held - K;
    const sorted = Array.from({ length: K }, (_, i) => this.at(from + i, c)).sort((a, b) => a - b);
    const median = K % 2 === 1 ? sorted[(K - 1) / 2] : (sorted[K / 2 - 1] + sorted[K / 2]) / 2;
    let above = 0;
    let below = 0;
    let runs = 0;
    let side = 0;
    for (let i = 0; i < K; i++) {
      const v = this.at(from + i, c);
      const now = v > median ? 1 : v < median ? -1 : 0;
      if (now === 0) continue;
      if (now > 0) above++;
      else below++;
      if (now !== side) runs++;
      side = now;
    }
    const n = above + below;
    if (above === 0 || below === 0) return 0;
    const expected = (2 * above * below) / n + 1;
    const variance = (2 * above * below * (2 * above * below - n)) / (n * n * (n - 1));
    return variance > 0 ? (runs - expected) / Math.sqrt(variance) : 0;
  }

  /**
   * True when, in every channel with `owners[c]`, the newest `spanOf(c)` full blocks (default: as many as the segment
   * holds at most) are held and one constant level: the CUSUM statistic at most STABLE_CRITICAL and the runs test's
   * z at least RUNS_CRITICAL. A channel whose span is more blocks than the segment can hold is never stable.
   */
  stable(owners: readonly boolean[], spanOf: (c: number) => number = () => this.blocks): boolean {
    for (let c = 0; c < this.C; c++) {
      if (!owners[c]) continue;
      const K = spanOf(c);
      if (!(K >= 2 && K <= this.held)) return false;
      if (!(this.statistic(c, K) <= STABLE_CRITICAL) || !(this.runs(c, K) >= RUNS_CRITICAL)) return false;
    }
    return true;
  }

  private at(i: number, c: number): number {
    return this.means[((this.head + i) % this.blocks) * this.C + c];
  }

  toJSON(): SegmentSnapshot {
    return {
      sum: Array.from(this.sum),
      n: this.n,
      means: Array.from({ length: this.held }, (_, i) => Array.from({ length: this.C }, (_, c) => this.at(i, c))),
    };
  }

  /**
   * A segment from its checkpoint. Blocks beyond `blocks` (a checkpoint of a longer span) keep the newest.
   *
   * @throws Error on a malformed snapshot (wrong lengths, non-finite numbers)
   */
  static fromJSON(v: unknown, C: number, block: number, blocks: number): StableSegment {
    const seg = new StableSegment(C, block, blocks);
    const x = v as Partial<SegmentSnapshot> | null;
    const ok = (a: unknown): a is number[] => Array.isArray(a) && a.length === C && a.every((y) => typeof y === 'number' && Number.isFinite(y));
    if (typeof x !== 'object' || x === null || !ok(x.sum) || !Array.isArray(x.means) || !x.means.every(ok) || typeof x.n !== 'number' || !Number.isInteger(x.n) || x.n < 0 || x.n >= block) {
      throw new Error('scorer snapshot: bad episode segment');
    }
    seg.sum.set(x.sum);
    seg.n = x.n;
    const means = x.means.slice(-blocks);
    means.forEach((m, i) => seg.means.set(m, i * C));
    seg.held = means.length;
    return seg;
  }
}

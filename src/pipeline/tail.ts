/**
 * Tail calibration of one non-negative error stream: how rare is an error this large, against the stream's
 * own recent normal history? The answer is a tail probability q = P(E >= e), reported as surprise
 * -log10(q): 0.3 is ordinary, 3 is one reading in a thousand, and it keeps growing for larger errors, so
 * scores never pile up at 1.0 and a threshold can always separate them.
 *
 * History. The errors' logarithms (base 10) are counted in fixed bins of BIN_WIDTH over [LOG_MIN, LOG_MAX)
 * with exponential forgetting (each new error weighs 1/(1 - 1/horizon) times the previous one, so the
 * effective memory is `horizon` errors). Memory and time are O(bins) per stream, whatever the rate.
 *
 * Tail. Where the history has seen errors as large, q is read off the histogram. Above the `TAIL_QUANTILE`
 * quantile t, where it holds few errors, q is extrapolated: the excess e - t follows a generalised Pareto
 * distribution fitted to the history's excesses (the peaks-over-threshold of extreme value theory, used for
 * streaming thresholds by Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory", KDD
 * 2017, SPOT): exponential for squared normal errors, a power law for heavy-tailed ones.
 *
 * Cold start. Until the history holds `minCount` errors the calibrator does not know the stream: it reports
 * q = 0.5 (surprise 0.3) and `ready` is false. A prior (mean and std of log10 e, e.g. from a model's
 * validation errors) can be given: it enters the history as `priorWeight` errors spread as a normal.
 */

const BIN_WIDTH = 0.1;
const LOG_MIN = -12;
const LOG_MAX = 12;
const BINS = Math.round((LOG_MAX - LOG_MIN) / BIN_WIDTH);
/** Quantile above which the tail is extrapolated. */
const TAIL_QUANTILE = 0.9;
/** Largest surprise reported (q = 1e-30). */
export const MAX_SURPRISE = 30;

export interface TailOptions {
  /** Effective memory in errors (>= 2). */
  readonly horizon: number;
  /** Errors (weighted) the history must hold before the calibrator speaks (>= 1). */
  readonly minCount: number;
}

/** Normal prior of log10(error). */
export interface LogPrior {
  readonly mean: number;
  readonly std: number;
  /** How many errors the prior counts as. */
  readonly weight: number;
}

export class TailCalibrator {
  private readonly bins = new Float64Array(BINS);
  /** Weight of the next error; grows by 1/(1 - 1/horizon) per error, rescaled before it overflows. */
  private w = 1;
  private total = 0;
  private readonly growth: number;
  /** Unweighted count of errors added (for `ready`). */
  private count = 0;
  /** Highest bin that ever held mass: the walks down the tail start there. */
  private top = -1;

  constructor(
    private readonly opts: TailOptions,
    prior: LogPrior | null = null,
  ) {
    if (!(opts.horizon >= 2)) throw new RangeError(`horizon must be >= 2, got ${opts.horizon}`);
    if (!(opts.minCount >= 1)) throw new RangeError(`minCount must be >= 1, got ${opts.minCount}`);
    this.growth = 1 / (1 - 1 / opts.horizon);
    if (prior !== null && prior.weight > 0) this.addPrior(prior);
  }

  /** True once the history is worth `minCount` errors (the prior counts). */
  get ready(): boolean {
    return this.count >= this.opts.minCount;
  }

  /** Errors added so far (the prior counts as its weight). */
  get size(): number {
    return this.count;
  }

  /**
   * Surprise -log10 P(E >= e) of an error `e` against the history (0.301 while not ready). A non-finite or
   * negative e is scored as the largest surprise: a model or a reading that produced it is worth a look.
   * Cost: a walk down the bins from the largest error seen to e's bin or to the tail threshold, whichever
   * is lower (a few tens of bins for ordinary errors). Nothing is cached: the answer depends on the history
   * alone, so a restored calibrator answers exactly as the one it was saved from.
   */
  surprise(e: number): number {
    if (!this.ready) return Math.log10(2);
    if (!(e >= 0) || !Number.isFinite(e)) return MAX_SURPRISE;
    const y = logOf(e);
    const b = binOf(y);
    const target = (1 - TAIL_QUANTILE) * this.total;
    // Walk down from the top: the mass above e's bin, and the tail threshold t with the excesses above it.
    let above = 0;
    let aboveY = -1;
    let tb = -1;
    let tailMass = 0;
    let tailValues: number[] | null = null;
    for (let k = this.top; k >= 0; k--) {
      if (k === b) aboveY = above;
      if (tb < 0) {
        if (above + this.bins[k] >= target || k === 0) tb = k;
        else if (this.bins[k] > 0) {
          tailMass += this.bins[k];
          (tailValues ??= []).push(k);
        }
      }
      if (tb >= 0 && aboveY >= 0) break;
      above += this.bins[k];
    }
    if (aboveY < 0) aboveY = b > this.top ? 0 : above;
    // Empirical: the mass at or above y, the bin holding y counted in proportion. Where the history has
    // seen errors this large, that is what they say (a few rare but normal events in a mostly quiet stream
    // are not a smooth tail); beyond, the extreme-value tail above t.
    const frac = (LOG_MIN + (b + 1) * BIN_WIDTH - y) / BIN_WIDTH;
    let q = (aboveY + (b <= this.top ? this.bins[b] * frac : 0)) / this.total;
    const t = Math.pow(10, LOG_MIN + (Math.max(tb, 0) + 1) * BIN_WIDTH);
    if (e > t) q = Math.max(q, this.gpdTail(e, t, tailMass, tailValues));
    return Math.min(MAX_SURPRISE, -Math.log10(Math.max(q, 1e-300)));
  }

  /**
   * P(E >= e) for e above the tail threshold t: a generalised Pareto distribution of the excess e - t
   * (Pickands 1975; the peaks-over-threshold of SPOT, Siffer et al. KDD 2017), its shape and scale from the
   * method of moments on the history's excesses (Hosking & Wallis 1987), blended with an exponential of
   * scale t/2 worth TAIL_PRIOR_MASS errors, so that a history with (almost) nothing above t neither makes
   * a larger error impossible nor ordinary. Squared normal errors have an exponential tail (shape 0); the
   * shape grows for heavier tails, up to 0.9.
   */
  private gpdTail(e: number, t: number, tailMass: number, tailBins: readonly number[] | null): number {
    let m1 = 0;
    let m2 = 0;
    if (tailBins !== null) {
      // Bins whose weight has decayed to nothing say nothing (but a huge value there would swamp the moments).
      const negligible = 1e-6 * this.total;
      for (const k of tailBins) {
        if (this.bins[k] < negligible) {
          tailMass -= this.bins[k];
          continue;
        }
        const x = Math.pow(10, LOG_MIN + (k + 0.5) * BIN_WIDTH) - t;
        m1 += this.bins[k] * x;
        m2 += this.bins[k] * x * x;
      }
    }
    const prior = TAIL_PRIOR_MASS * this.w / this.growth;
    const s0 = t / 2;
    // Moments of the excess, the prior's (exponential of scale s0: mean s0, second moment 2 s0^2) mixed in.
    const mass = tailMass + prior;
    const mean = (m1 + prior * s0) / mass;
    const second = (m2 + prior * 2 * s0 * s0) / mass;
    const variance = Math.max(second - mean * mean, 1e-300);
    const ratio = (mean * mean) / variance;
    const shape = Math.min(0.9, Math.max(0, 0.5 * (1 - ratio)));
    const scale = Math.max(0.5 * mean * (1 + ratio), 1e-300);
    // At least one error's worth above t: a history that never exceeded t does not make exceeding it impossible.
    const qt = Math.max(tailMass, this.w / this.growth) / this.total;
    const x = e - t;
    const tail = shape > 1e-6 ? Math.pow(1 + (shape * x) / scale, -1 / shape) : Math.exp(-x / scale);
    return Math.min(1, qt) * tail;
  }

  /** Adds an error of normal operation to the history, with a relative weight (default 1). Non-finite errors are ignored. */
  add(e: number, weight = 1): void {
    if (!(e >= 0) || !Number.isFinite(e) || !(weight > 0)) return;
    const b = binOf(logOf(e));
    const w = this.w * weight;
    this.bins[b] += w;
    this.total += w;
    this.count++;
    if (b > this.top) this.top = b;
    this.w *= this.growth;
    if (this.w > 1e100) this.rescale();
  }

  /** The history's quantile of the error (e.g. 0.5 for the median), or NaN when empty. */
  quantile(q: number): number {
    if (this.total <= 0) return Number.NaN;
    let acc = 0;
    const target = q * this.total;
    for (let b = 0; b <= this.top; b++) {
      acc += this.bins[b];
      if (acc >= target) return Math.pow(10, LOG_MIN + (b + 0.5) * BIN_WIDTH);
    }
    return Math.pow(10, LOG_MIN + (this.top + 0.5) * BIN_WIDTH);
  }

  toJSON(): TailState {
    // Sparse (most bins are empty) and exact: the weights as they are, with the current weight and total.
    const bins: [number, number][] = [];
    for (let b = 0; b <= this.top; b++) if (this.bins[b] > 0) bins.push([b, this.bins[b]]);
    return { format: TAIL_FORMAT, bins, count: this.count, w: this.w, total: this.total, top: this.top };
  }

  /** Restores a state saved by `toJSON` (nothing in it is trusted). */
  static fromJSON(json: unknown, opts: TailOptions): TailCalibrator {
    if (typeof json !== 'object' || json === null) throw new Error('tail state: not an object');
    const s = json as Partial<TailState>;
    if (s.format !== TAIL_FORMAT) throw new Error(`tail state: format is not ${TAIL_FORMAT}`);
    const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (!finite(s.count) || s.count < 0) throw new Error('tail state: bad count');
    if (!finite(s.w) || s.w <= 0 || !finite(s.total) || s.total < 0) throw new Error('tail state: bad weights');
    if (!finite(s.top) || !Number.isInteger(s.top) || s.top < -1 || s.top >= BINS) throw new Error('tail state: bad top');
    if (!Array.isArray(s.bins)) throw new Error('tail state: bins must be an array');
    const c = new TailCalibrator(opts);
    for (const entry of s.bins) {
      if (!Array.isArray(entry) || entry.length !== 2) throw new Error('tail state: bad bin');
      const [b, v] = entry as [unknown, unknown];
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > s.top || !finite(v) || v < 0) throw new Error('tail state: bad bin');
      c.bins[b] = v;
    }
    c.count = s.count;
    c.w = s.w;
    c.total = s.total;
    c.top = s.top;
    return c;
  }

  private addPrior(prior: LogPrior): void {
    const std = Math.max(prior.std, BIN_WIDTH);
    for (let b = 0; b < BINS; b++) {
      const lo = (LOG_MIN + b * BIN_WIDTH - prior.mean) / std;
      const hi = (LOG_MIN + (b + 1) * BIN_WIDTH - prior.mean) / std;
      // Within 3 std: the prior is a guess of the bulk, not a statement about the far tail.
      if (hi < -3 || lo > 3) continue;
      const mass = (normalCdf(Math.min(hi, 3)) - normalCdf(Math.max(lo, -3))) * prior.weight;
      if (mass > 1e-9) {
        this.bins[b] += mass;
        this.total += mass;
        if (b > this.top) this.top = b;
      }
    }
    this.count += prior.weight;
  }

  private rescale(): void {
    const s = 1 / this.w;
    for (let b = 0; b <= this.top; b++) this.bins[b] *= s;
    this.total *= s;
    this.w = 1;
  }
}

/** How many errors above t the default (exponential) tail counts as. */
const TAIL_PRIOR_MASS = 5;

const TAIL_FORMAT = 'anomalyd-tail/2';

export interface TailState {
  readonly format: typeof TAIL_FORMAT;
  /** Non-empty bins as [index, weight]. */
  readonly bins: readonly (readonly [number, number])[];
  readonly count: number;
  /** The next error's weight, the total weight, the highest bin that held mass. */
  readonly w: number;
  readonly total: number;
  readonly top: number;
}

function logOf(e: number): number {
  return Math.log10(Math.max(e, 1e-12));
}

function binOf(y: number): number {
  const b = Math.floor((y - LOG_MIN) / BIN_WIDTH);
  return b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 via erf), accurate to ~1e-7: enough for a prior's bins. */
function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(x * x) / 2);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

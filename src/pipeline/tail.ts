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
 * Tail. Below the `TAIL_QUANTILE` quantile t of the history, q is read off the histogram. Above it, where
 * the history holds few errors, it is extrapolated: the excess of log10(e) over t is taken as exponential
 * with the mean excess m measured on the history: q = (1 - TAIL_QUANTILE) * exp(-(log10 e - t) / m), a
 * generalised-Pareto tail with shape 0 on the log scale (a power law on the error itself). This is
 * the peaks-over-threshold idea of extreme value theory used for streaming thresholds by Siffer et al.,
 * "Anomaly Detection in Streams with Extreme Value Theory" (KDD 2017, SPOT), applied to log errors.
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
/** Floor on the mean excess (log10 units), so a history of identical errors cannot make any larger error infinitely rare. */
const MIN_EXCESS = 0.05;
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
    // Walk down from the top: the mass above e's bin, and the tail threshold t with the excess above it.
    let above = 0;
    let aboveY = -1;
    let tb = -1;
    let tailMass = 0;
    let tailMoment = 0;
    for (let k = this.top; k >= 0; k--) {
      if (k === b) aboveY = above;
      if (tb < 0) {
        if (above + this.bins[k] >= target || k === 0) {
          tb = k;
        } else {
          tailMass += this.bins[k];
          tailMoment += this.bins[k] * (LOG_MIN + (k + 0.5) * BIN_WIDTH);
        }
      }
      if (tb >= 0 && aboveY >= 0) break;
      above += this.bins[k];
    }
    if (aboveY < 0) aboveY = b > this.top ? 0 : above;
    // Empirical: the mass at or above y, the bin holding y counted in proportion. Where the history has
    // seen errors this large, that is what they say (a few rare but normal events in a mostly quiet stream
    // are not an exponential tail); beyond, the extreme-value tail above t.
    const frac = (LOG_MIN + (b + 1) * BIN_WIDTH - y) / BIN_WIDTH;
    let q = (aboveY + (b <= this.top ? this.bins[b] * frac : 0)) / this.total;
    const t = LOG_MIN + (Math.max(tb, 0) + 1) * BIN_WIDTH;
    if (y > t) {
      // At least one error's worth above t: a history that never exceeded t does not make exceeding it impossible.
      const qt = Math.max(tailMass, this.w / this.growth) / this.total;
      const excess = tailMass > 0 ? tailMoment / tailMass - t : 0;
      // Few errors above t say little about the tail's shape: blend towards a default, so a history of
      // identical errors neither makes the next larger one infinitely rare nor ordinary.
      const m = Math.max(MIN_EXCESS, (tailMass * excess + TAIL_PRIOR_MASS * DEFAULT_EXCESS) / (tailMass + TAIL_PRIOR_MASS));
      q = Math.max(q, Math.min(1, qt) * Math.exp(-(y - t) / m));
    }
    return Math.min(MAX_SURPRISE, -Math.log10(Math.max(q, 1e-300)));
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
      const mass = (normalCdf(hi) - normalCdf(lo)) * prior.weight;
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

/** Default mean excess above the tail threshold (log10 units: a factor 10^0.25 per e-fold). */
const DEFAULT_EXCESS = 0.25;
/** How many errors above t the default excess counts as. */
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

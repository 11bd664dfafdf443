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
const LOG_MIN = -10;
const LOG_MAX = 10;
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
  private readonly bins = new Float32Array(BINS);
  /** Weight of the next error; grows by 1/(1 - 1/horizon) per error, rescaled before it overflows. */
  private w = 1;
  private total = 0;
  private readonly growth: number;
  /** Unweighted count of errors added (for `ready`). */
  private count = 0;
  /** Cached tail fit, recomputed every REFIT errors. */
  private fit: { t: number; qt: number; m: number; cdfAbove: Float64Array } | null = null;
  private sinceFit = 0;

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
   */
  surprise(e: number): number {
    if (!this.ready) return Math.log10(2);
    if (!(e >= 0) || !Number.isFinite(e)) return MAX_SURPRISE;
    const y = logOf(e);
    const fit = this.tail();
    // Empirical: the mass at or above y (the bin holding y counted in proportion). Where the history has
    // seen errors this large, that is what they say, however the tail fit would put it (a few rare but
    // normal events in a mostly quiet stream are not an exponential tail). Above its largest error, the fit.
    const b = binOf(y);
    const frac = (LOG_MIN + (b + 1) * BIN_WIDTH - y) / BIN_WIDTH;
    let q = (fit.cdfAbove[b + 1] + this.bins[b] * frac) / this.total;
    if (y > fit.t) q = Math.max(q, fit.qt * Math.exp(-(y - fit.t) / fit.m));
    return Math.min(MAX_SURPRISE, -Math.log10(Math.max(q, 1e-300)));
  }

  /** Adds an error of normal operation to the history, with a relative weight (default 1). Non-finite errors are ignored. */
  add(e: number, weight = 1): void {
    if (!(e >= 0) || !Number.isFinite(e) || !(weight > 0)) return;
    const w = this.w * weight;
    this.bins[binOf(logOf(e))] += w;
    this.total += w;
    this.count++;
    this.w *= this.growth;
    if (this.w > 1e20) this.rescale();
    if (++this.sinceFit >= REFIT) this.fit = null;
  }

  /** The history's quantile of the error (e.g. 0.5 for the median), or NaN when empty. */
  quantile(q: number): number {
    if (this.total <= 0) return Number.NaN;
    let acc = 0;
    const target = q * this.total;
    for (let b = 0; b < BINS; b++) {
      acc += this.bins[b];
      if (acc >= target) return Math.pow(10, LOG_MIN + (b + 0.5) * BIN_WIDTH);
    }
    return Math.pow(10, LOG_MAX);
  }

  toJSON(): TailState {
    // Stored normalised (the current weight scaled to 1), sparse: most bins are empty.
    const scale = 1 / this.w;
    const bins: [number, number][] = [];
    for (let b = 0; b < BINS; b++) if (this.bins[b] > 0) bins.push([b, this.bins[b] * scale]);
    return { format: TAIL_FORMAT, bins, count: this.count };
  }

  /** Restores a state saved by `toJSON` (nothing in it is trusted). */
  static fromJSON(json: unknown, opts: TailOptions): TailCalibrator {
    if (typeof json !== 'object' || json === null) throw new Error('tail state: not an object');
    const s = json as Partial<TailState>;
    if (s.format !== TAIL_FORMAT) throw new Error(`tail state: format is not ${TAIL_FORMAT}`);
    if (typeof s.count !== 'number' || !Number.isFinite(s.count) || s.count < 0) throw new Error('tail state: bad count');
    if (!Array.isArray(s.bins)) throw new Error('tail state: bins must be an array');
    const c = new TailCalibrator(opts);
    for (const entry of s.bins) {
      if (!Array.isArray(entry) || entry.length !== 2) throw new Error('tail state: bad bin');
      const [b, v] = entry as [unknown, unknown];
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b >= BINS || typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error('tail state: bad bin');
      c.bins[b] = v;
      c.total += v;
    }
    c.count = s.count;
    return c;
  }

  private addPrior(prior: LogPrior): void {
    const std = Math.max(prior.std, BIN_WIDTH);
    for (let b = 0; b < BINS; b++) {
      const lo = (LOG_MIN + b * BIN_WIDTH - prior.mean) / std;
      const hi = (LOG_MIN + (b + 1) * BIN_WIDTH - prior.mean) / std;
      const mass = (normalCdf(hi) - normalCdf(lo)) * prior.weight;
      if (mass > 0) this.bins[b] += mass;
    }
    this.total += prior.weight;
    this.count += prior.weight;
  }

  private rescale(): void {
    const s = 1 / this.w;
    for (let b = 0; b < BINS; b++) this.bins[b] *= s;
    this.total *= s;
    this.w = 1;
  }

  /** The tail threshold t (log10), the mass above it qt, the mean excess m, and the cumulative mass above each bin. */
  private tail(): { t: number; qt: number; m: number; cdfAbove: Float64Array } {
    if (this.fit !== null) return this.fit;
    const cdfAbove = new Float64Array(BINS + 1);
    for (let b = BINS - 1; b >= 0; b--) cdfAbove[b] = cdfAbove[b + 1] + this.bins[b];
    const target = (1 - TAIL_QUANTILE) * this.total;
    // t: the upper edge of the first bin (from the top) where the mass above reaches the target.
    let tb = BINS - 1;
    while (tb > 0 && cdfAbove[tb] < target) tb--;
    const t = LOG_MIN + (tb + 1) * BIN_WIDTH;
    const qt = Math.max(cdfAbove[tb + 1], 1e-12 * this.total) / this.total;
    let excess = 0;
    let mass = 0;
    for (let b = tb + 1; b < BINS; b++) {
      if (this.bins[b] <= 0) continue;
      excess += this.bins[b] * (LOG_MIN + (b + 0.5) * BIN_WIDTH - t);
      mass += this.bins[b];
    }
    // The floor keeps the extrapolation finite (and steep) when the history has (almost) nothing above t.
    const m = Math.max(mass > 0 ? excess / mass : MIN_EXCESS, MIN_EXCESS);
    this.fit = { t, qt, m, cdfAbove };
    this.sinceFit = 0;
    return this.fit;
  }
}

/** Tail fits are recomputed after this many new errors (the fit moves slowly with a long horizon). */
const REFIT = 16;

const TAIL_FORMAT = 'anomalyd-tail/1';

export interface TailState {
  readonly format: typeof TAIL_FORMAT;
  /** Non-empty bins as [index, weight], normalised so the next error weighs 1. */
  readonly bins: readonly (readonly [number, number])[];
  readonly count: number;
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

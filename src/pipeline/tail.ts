/**
 * Tail calibration of one non-negative error stream: how rare is an error this large, against the stream's
 * own recent normal history? The answer is a tail probability q = P(E >= e), reported as surprise
 * -log10(q): 0.3 is ordinary, 3 is one reading in a thousand, and it keeps growing for larger errors, so
 * scores never pile up at 1.0 and a threshold can always separate them.
 *
 * History. The errors' logarithms (base 10) are counted in fixed bins of BIN_WIDTH over [LOG_MIN, LOG_MAX)
 * with exponential forgetting (each new error weighs 1/(1 - 1/horizon) times the previous one, so the
 * effective memory is `horizon` errors). Memory and time are O(bins) per stream, whatever the rate; no bins
 * are allocated before the first error or prior, and then only a window of them: the bins from the lowest to
 * the highest that ever held mass (every other bin is 0), and WINDOW_SLACK more either side when the window
 * grows: a median of 46 bins of the 200 after 320 readings of scripts/detector-hash.mjs's streams, 74 after
 * 3,000.
 *
 * Tail. Below the `TAIL_QUANTILE` quantile u of the history, q is read off the histogram. Above it, where
 * the history holds few errors, it is extrapolated by peaks over threshold (Pickands-Balkema-de Haan): the
 * excess e - u of the errors above u follows a generalised Pareto distribution, q = q_u (1 + xi (e - u) /
 * sigma)^(-1/xi) (q_u the mass above u; xi = 0: q_u exp(-(e - u) / sigma)). Shape xi and scale sigma are
 * fitted by the method of moments on the history's excesses (Hosking and Wallis, "Parameter and quantile
 * estimation for the generalized Pareto distribution", Technometrics 1987), with xi kept in [0, MAX_SHAPE]:
 * an exponential tail (the squared error of a normal variable) or a heavier one, never a bounded one that
 * would call anything beyond the largest error seen infinitely rare. This is the streaming threshold of
 * Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory" (KDD 2017, SPOT), fitted on the
 * error itself. (A power law in the error, an exponential tail of log e, was tried first: it made even a
 * five-sigma departure of a normal signal only about 1 in 100 rare.)
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
/** Largest GPD shape: heavier tails than this are not extrapolated further (the moments need xi < 0.5). */
const MAX_SHAPE = 0.45;
/**
 * Floor on the GPD scale relative to the threshold u, so a history of (nearly) identical errors cannot make a
 * slightly larger error infinitely rare: an error twice u is then at most e^-10 less likely than u.
 */
const MIN_SCALE = 0.1;
/** Largest surprise reported (q = 1e-30). */
export const MAX_SURPRISE = 30;

export interface TailOptions {
  /** Effective memory in errors (>= 2). */
  readonly horizon: number;
  /** Errors (weighted) the history must hold before the calibrator speaks (>= 1). */
  readonly minCount: number;
  /**
   * Errors judged against the history as it was this many errors ago (a guard band, default 0): an error
   * enters the history only `lag` errors after it was added, so a change that creeps in slowly is measured
   * against what came before it rather than against its own last steps.
   */
  readonly lag?: number;
  /**
   * Keep one error in this many (default 1). For an error that is itself a short mean over k readings,
   * consecutive values are nearly the same: keeping one in k makes the history's count its effective
   * sample size, so the tail is fitted (and the rule of succession applied) on what it really knows.
   */
  readonly thin?: number;
}

/**
 * Where `surprise` writes the posterior predictive surprise beside the fitted one it returns: the same below the
 * tail threshold; above it, the GPD's shape gains 1 / n, n the excesses over the threshold the history holds
 * (see fitGpd), so a short history's extrapolation is as uncertain as its few excesses make it.
 */
export interface PredictiveOut {
  surprise: number;
}

/** Where `surpriseAt` writes its answers: the fitted surprise and (when asked) the posterior predictive one. */
export interface SurpriseOut {
  fitted: number;
  predictive: number;
}

/** surprise's and add's scratch: their error (and its logarithm) handed to surpriseAt and addAt in an array. */
const ARG = new Float64Array(2);
/** surprise's answers from surpriseAt (read back at once). */
const OUT: SurpriseOut = { fitted: 0, predictive: 0 };

/** Normal prior of log10(error). */
export interface LogPrior {
  readonly mean: number;
  readonly std: number;
  /** How many errors the prior counts as. */
  readonly weight: number;
}

/**
 * Per bin t, 10^(LOG_MIN + (t + 1) BIN_WIDTH) (its upper edge: the tail threshold u when t is the threshold's
 * bin) and 10^(LOG_MIN + (t + 0.5) BIN_WIDTH) (its centre), computed once by the same expressions.
 */
const UPPER_EDGE = Float64Array.from({ length: BINS }, (_, t) => Math.pow(10, LOG_MIN + (t + 1) * BIN_WIDTH));
const CENTRE = Float64Array.from({ length: BINS }, (_, t) => Math.pow(10, LOG_MIN + (t + 0.5) * BIN_WIDTH));

/**
 * Where a calibrator's numbers that are not whole (its weights, its tail fit) are held in `d`, before its window of
 * bins from BINS_AT: one array of doubles stored as themselves, where eleven fields of the object each pointed to a
 * boxed double (a heap number of 16 bytes, its slot 8) and the bins were a second array (BENCHMARKS.md, branch `memheap`).
 */
/** The weight of the next error; grows by `GROWTH` = 1/(1 - 1/horizon) per error, rescaled before it overflows. */
const W = 0;
/** The history's total weight. */
const TOTAL = 1;
const GROWTH = 2;
/** The mass above the tail threshold bin (fitTb) as the walk down from the top summed it. */
const FIT_ABOVE = 3;
/** The mass above resumeTb as the walk down from the top summed it. */
const RESUME_ABOVE = 4;
/** The tail fit (gpdTail): the mass above the threshold, the GPD's shape and scale (NaN: not fitted), ... */
const FIT_QU = 5;
const FIT_XI = 6;
/** ... what the predictive tail adds to the fitted shape (1 / the excesses the history holds), ... */
const FIT_XI_UNCERTAINTY = 7;
const FIT_SIGMA = 8;
/** ... the mean excess over the threshold (its exponential's scale: lightSurprise). */
const FIT_MEAN_EXCESS = 9;
/** The last mass-above walk's sum (massAbove; see sumK). */
const SUM_S = 10;
/** d[BINS_AT + i] is the weight of bin base + i. */
const BINS_AT = 11;

/** While lightSurprise asks (it is not re-entered): the tail above the threshold is the exponential of the fit's mean excess. */
let lightTail = false;
/** Bins added beyond the one that falls outside the window when it grows (a tenth of a decade each). */
const WINDOW_SLACK = 4;

export class TailCalibrator {
  /**
   * The calibrator's doubles at the slots W .. SUM_S, then from BINS_AT the history's weight per bin for the window
   * of bins [base, base + d.length - BINS_AT): empty until the first mass (a prior or an error), so a stream that
   * never feeds a kind of evidence (no model, a single reading) costs no bins for it, and grown (cover) when a bin
   * outside it gains mass. Every bin outside the window is 0 (read through `at`). Invariant: whenever top >= 0 the
   * window holds [min(bottom, top), top]. A plain array of doubles, not a Float64Array: on the JavaScript heap, with
   * 48 bytes of objects besides its values rather than about 180 (a typed array, its ArrayBuffer and the buffer's
   * own allocation outside the heap).
   */
  private d: number[];
  /** The bin index of d[BINS_AT]. */
  private base = 0;
  /** Unweighted count of errors added (for `ready`). */
  private count = 0;
  /** Highest bin that ever held mass: the walks down the tail start there. */
  private top = -1;
  /**
   * Lowest bin that ever held mass (BINS while none): every bin below it is 0, so the walks up from bin 0 and
   * down below it may stop there (adding zeros changes no sum). Not saved: restore finds it from the bins.
   */
  private bottom = BINS;
  /**
   * Errors added but not yet in the history (the guard band): a ring of `lag` [error, relative weight] slots,
   * pairs at [2i, 2i + 1], the oldest at slot `bandHead`, `bandLength` of them held; null until the first.
   */
  private band: number[] | null = null;
  private bandHead = 0;
  private bandLength = 0;
  /** Errors offered to add() (for thinning). */
  private offered = 0;
  /**
   * The history's tail threshold bin (-1: not known since the history last changed) and the mass above it as
   * the walk down from the top sums it (d[FIT_ABOVE]); then the GPD fit above it (d[FIT_QU] .. d[FIT_MEAN_EXCESS];
   * NaN scale: not fitted yet). They depend on
   * the history alone and are dropped whenever it changes (commit), so an answer is the same, bit for bit,
   * with or without them; a history that learns one error in `thin` (the short means) is walked once per change.
   */
  private fitTb = -1;
  /**
   * Where the next search for the threshold bin may start (-1: at the top), and the mass above that bin as the
   * walk down from the top summed it (d[RESUME_ABOVE]). Set by a commit below the known threshold bin (no rescale): the bins at
   * and above it did not change and the target (a share of the total) did not fall, so the walk from the top
   * would pass them with the same partial sums and the same (false) comparisons; it goes on from there.
   */
  private resumeTb = -1;
  /**
   * The last mass-above walk's end (massAbove): the bin `sumK` (-1: none) and d[SUM_S], the bins' weights from the
   * top down to sumK summed in that order (from +0). A commit at or above sumK, or a rescale, drops it; one below
   * it leaves every bin it summed as it was. The next walk to a bin at or below sumK goes on from there, so a
   * short mean's history (changed once in `thin` readings, asked at every reading about nearly the same value) is
   * walked once per change rather than per reading; the sum is the same, bit for bit, as a walk from the top.
   */
  private sumK = -1;
  /**
   * Errors the history must hold to be ready: `minCount`, or fewer once a learning period has ended on what it
   * gave the history (settle).
   */
  private need: number;

  constructor(
    private readonly opts: TailOptions,
    prior: LogPrior | null = null,
  ) {
    if (!(opts.horizon >= 2)) throw new RangeError(`horizon must be >= 2, got ${opts.horizon}`);
    if (!(opts.minCount >= 1)) throw new RangeError(`minCount must be >= 1, got ${opts.minCount}`);
    const d = zeros(BINS_AT);
    d[W] = 1;
    d[GROWTH] = 1 / (1 - 1 / opts.horizon);
    d[FIT_SIGMA] = Number.NaN;
    d[FIT_MEAN_EXCESS] = Number.NaN;
    this.d = d;
    this.need = opts.minCount;
    if (prior !== null && prior.weight > 0) this.addPrior(prior);
  }

  /** True once the history is worth `minCount` errors (the prior counts), or was settled (see settle). */
  get ready(): boolean {
    return this.count >= this.need;
  }

  /**
   * The end of a learning period: the history is ready from now on if it holds at least `floor` errors (the
   * prior counts). `minCount` is what a history needs when it is fed from a stream's first reading; a kind
   * whose values start later (after a normalisation's warm-up, or once a short mean has filled) holds fewer
   * when the learning period ends, and would stay silent, and be taught whatever comes, until it caught up: a
   * fault that starts then would be learnt as normal. What the learning period gave it is what it knows. A
   * history with fewer than `floor` errors keeps `minCount`. Call commitPending first for the guard band's
   * errors to count. Persisted by toJSON.
   */
  settle(floor: number): void {
    if (this.count >= floor && this.count < this.need) this.need = this.count;
  }

  /** True while nothing was ever offered to it (no prior, no error, nothing restored): as fresh as a new one. */
  get untouched(): boolean {
    return this.count === 0 && this.offered === 0 && this.top < 0 && this.band === null;
  }

  /** Errors added so far, in the history or still in its guard band (the prior counts as its weight). */
  get held(): number {
    return this.count + this.bandLength;
  }

  /** Errors added so far (the prior counts as its weight). */
  get size(): number {
    return this.count;
  }

  /**
   * Surprise -log10 P(E >= e) of an error `e` against the history (0.301 while not ready). A non-finite or
   * negative e is scored as the largest surprise: a model or a reading that produced it is worth a look.
   * Cost: a walk down the bins from the largest error seen to the tail threshold (once per change of the
   * history: the threshold and the tail fit are kept until the next error is committed), then to e's bin
   * when it is lower (a few tens of bins for ordinary errors; from where the last walk ended when that is nearer,
   * see massAbove). The answer depends on the history alone, so a
   * calibrator restored from a checkpoint answers exactly as the one it was saved from. With `predictive`, the
   * posterior predictive surprise (PredictiveOut) is written there too, from the same walk. `logE`, when given,
   * must be logError(e) (a caller that asks several histories about one error computes it once).
   */
  surprise(e: number, predictive?: PredictiveOut, logE?: number): number {
    ARG[0] = e;
    ARG[1] = logE ?? logOf(e);
    this.surpriseAt(ARG, 0, ARG, 1, OUT, predictive !== undefined);
    if (predictive !== undefined) predictive.surprise = OUT.predictive;
    return OUT.fitted;
  }

  /**
   * The fitted `surprise` of `e` with the tail above the threshold taken as an exponential (GPD shape 0) of the
   * excesses' mean, whatever shape their moments fit: for a history of a few discrete values whose spread the
   * moments read as a heavy tail that is not there (the run lengths 1, 2, 3, 4 of a busy state, which fall
   * geometrically: src/pipeline/runs.ts; StreamScorer's silence). Below the threshold, and where the history has
   * seen values this large, the same as `surprise`.
   */
  lightSurprise(e: number): number {
    lightTail = true;
    try {
      return this.surprise(e);
    } finally {
      lightTail = false;
    }
  }

  /**
   * `surprise` of the error values[i], whose logError is logs[j], written to `out` (`fitted`, and `predictive`
   * when asked; else out.predictive is left as it was). The same answer as surprise(values[i], ..., logs[j]): for
   * callers that score many errors, whose values then stay in their arrays (a double passed to a method that is
   * not inlined is boxed, one heap number per argument and per result).
   */
  surpriseAt(values: ArrayLike<number>, i: number, logs: ArrayLike<number>, j: number, out: SurpriseOut, predictive: boolean): void {
    if (!this.ready) {
      out.fitted = Math.log10(2);
      if (predictive) out.predictive = Math.log10(2);
      return;
    }
    const e = values[i];
    if (!(e >= 0) || !Number.isFinite(e)) {
      out.fitted = MAX_SURPRISE;
      if (predictive) out.predictive = MAX_SURPRISE;
      return;
    }
    const y = logs[j];
    const b = binOf(y);
    // The tail threshold's bin tb: the highest bin at which the mass walked down from the top reaches the
    // target (or bin 0); `fitAbove` is the mass above it, summed from the top down.
    if (this.fitTb < 0) {
      const target = (1 - TAIL_QUANTILE) * this.d[TOTAL];
      let above = 0;
      let k = this.top;
      if (this.resumeTb >= 0) {
        k = this.resumeTb;
        above = this.d[RESUME_ABOVE];
      }
      // The window read directly (every bin from the top down to its base is in it). Below the base every bin is 0:
      // the walk there adds nothing, so it stops at its first bin if it stops there at all (above + 0 >= target),
      // else it runs down to bin 0, as at() would have it.
      const d = this.d;
      const base = this.base;
      const at = BINS_AT - base;
      let stopped = false;
      for (const lo = Math.max(base, 1); k >= lo; k--) {
        const v = d[k + at];
        if (above + v >= target) {
          stopped = true;
          break;
        }
        above += v;
      }
      if (!stopped && k > 0 && !(above + 0 >= target)) k = 0;
      this.fitTb = Math.max(k, 0);
      this.d[FIT_ABOVE] = above;
      this.d[FIT_SIGMA] = Number.NaN;
    }
    const tb = this.fitTb;
    // The mass above e's bin, summed from the top down as before: above tb by a walk from the top, below it
    // by going on from the mass above tb.
    // The walks read the window directly (at() less its bounds test): every bin they add lies in it but those
    // below its base, which are 0 and leave the sum as it is (a sum of non-negative weights from +0 is never -0).
    const aboveY = b < this.top ? this.massAbove(b + 1, tb) : 0;
    // Empirical: the mass at or above y (the bin holding y counted in proportion). Where the history has
    // seen errors this large, that is what they say, however the tail fit would put it (a few rare but
    // normal events in a mostly quiet stream are not an exponential tail). Above, the fit.
    // (An error below the lowest bin, e.g. an exact 0, has all of that bin at or above it: at most 1.)
    const frac = Math.min(1, (LOG_MIN + (b + 1) * BIN_WIDTH - y) / BIN_WIDTH);
    let q = (aboveY + (b <= this.top ? this.at(b) * frac : 0)) / this.d[TOTAL];
    const u = UPPER_EDGE[tb];
    if (e <= u) {
      // Below the threshold both tails are the empirical one: one logarithm for both answers.
      const s = Math.min(MAX_SURPRISE, -Math.log10(Math.max(q, 1e-300)));
      out.fitted = s;
      if (predictive) out.predictive = s;
      return;
    }
    if (predictive) out.predictive = Math.min(MAX_SURPRISE, -Math.log10(Math.max(Math.max(q, this.gpdTail(e, u, tb, true)), 1e-300)));
    q = Math.max(q, this.gpdTail(e, u, tb, false));
    out.fitted = Math.min(MAX_SURPRISE, -Math.log10(Math.max(q, 1e-300)));
  }

  /**
   * The history's weight in bins j..top (j <= top, tb the known threshold bin), summed from the top down from +0,
   * as the walk from the top has always summed it: from the nearest point at or above j whose sum is known (the
   * last walk's end, the threshold's bin + 1 with fitAbove, or the top) on down. Bins below the window's base (and
   * below `bottom`) are 0 and are not added: adding +0 to a sum of non-negative weights leaves it as it is. Keeps
   * where it stopped (sumK, sumS) for the next walk.
   */
  private massAbove(j: number, tb: number): number {
    let k = this.top + 1;
    let s = 0;
    if (j <= tb + 1) {
      k = tb + 1;
      s = this.d[FIT_ABOVE];
    }
    if (this.sumK >= j && this.sumK < k) {
      k = this.sumK;
      s = this.d[SUM_S];
    }
    const d = this.d;
    const base = this.base;
    const at = BINS_AT - base;
    const lo = Math.max(j, base);
    if (k <= lo) return s;
    for (k--; k >= lo; k--) s += d[k + at];
    this.sumK = lo;
    this.d[SUM_S] = s;
    return s;
  }

  /**
   * P(E >= e) for e above the threshold u under a GPD fitted by the method of moments to the history's
   * excesses over u (bins above tb), each bin's errors taken at its centre (geometric). Bins whose weight has
   * decayed to (numerically) nothing are left out: a huge value there would swamp the moments. The fit is
   * kept until the history changes.
   */
  private gpdTail(e: number, u: number, tb: number, predictive: boolean): number {
    if (Number.isNaN(this.d[FIT_SIGMA])) this.fitGpd(u, tb);
    if (lightTail) return this.d[FIT_QU] * Math.exp(-(e - u) / Math.max(this.d[FIT_MEAN_EXCESS], MIN_SCALE * u));
    const xi = predictive ? this.d[FIT_XI] + this.d[FIT_XI_UNCERTAINTY] : this.d[FIT_XI];
    const x = (e - u) / this.d[FIT_SIGMA];
    return this.d[FIT_QU] * (xi < 1e-6 ? Math.exp(-x) : Math.pow(1 + xi * x, -1 / xi));
  }

  private fitGpd(u: number, tb: number): void {
    const negligible = 1e-9 * this.d[TOTAL];
    let mass = 0;
    let s1 = 0;
    let s2 = 0;
    // Bins below the window are 0, at most `negligible`: skipped as the loop would skip them.
    for (let k = Math.max(tb + 1, this.base); k <= this.top; k++) {
      const w = this.d[BINS_AT + k - this.base];
      if (w <= negligible) continue;
      const x = CENTRE[k] - u;
      mass += w;
      s1 += w * x;
      s2 += w * x * x;
    }
    // With nothing above u (a history of one value), an error above it is still given the chance of one error
    // in the history (the rule of succession), not zero.
    const qu = Math.max(mass, this.d[W]) / this.d[TOTAL];
    // A few excesses say little about the tail's shape: the moments are blended with those of an exponential
    // of scale u worth TAIL_PRIOR_MASS errors, so a short history neither makes a value a little beyond
    // what it has seen impossible nor ordinary; with many excesses the data decides.
    const prior = TAIL_PRIOR_MASS * (this.d[TOTAL] / Math.max(this.count, 1));
    const s0 = u;
    const m = (s1 + prior * s0) / (mass + prior);
    const second = (s2 + prior * 2 * s0 * s0) / (mass + prior);
    const v = Math.max(second - m * m, 0);
    // Method of moments: xi = (1 - m^2/v) / 2, sigma = m (1 + m^2/v) / 2; v = 0 (one bin): exponential.
    const r = v > 0 ? (m * m) / v : Infinity;
    const xi = Number.isFinite(r) ? Math.min(MAX_SHAPE, Math.max(0, 0.5 * (1 - r))) : 0;
    // With xi fixed by the clamp, sigma = m (1 - xi) keeps the fitted mean excess.
    // The predictive tail (surprise's `predictive`): the scale is estimated from n excesses, not known. For an
    // exponential tail with a conjugate (gamma) posterior on its rate after n excesses of mean sigma, the
    // posterior predictive of a new excess is P(X > x) = (1 + x / (n sigma))^(-n): a GPD of the same scale and
    // shape 1/n (a Lomax; e.g. Bernardo and Smith, "Bayesian Theory", 1994, the exponential-gamma model). So
    // the fitted shape gains 1/n, n the excesses the history holds (its effective count, forgetting included,
    // plus the prior's): a short history cannot call a value a little beyond what it has seen a million times
    // rarer than a long one would; with many excesses nothing changes.
    const excesses = (mass / this.d[TOTAL]) * Math.min(this.count, this.opts.horizon) + TAIL_PRIOR_MASS;
    this.d[FIT_XI] = xi;
    this.d[FIT_MEAN_EXCESS] = m;
    this.d[FIT_XI_UNCERTAINTY] = 1 / excesses;
    this.d[FIT_SIGMA] = Math.max(m * (1 - xi), MIN_SCALE * u);
    this.d[FIT_QU] = Math.min(1, qu);
  }

  /**
   * Adds an error of normal operation to the history, with a relative weight (default 1); with a lag it
   * enters the history `lag` errors later. Non-finite errors are ignored.
   */
  add(e: number, weight = 1): void {
    ARG[0] = e;
    this.addAt(ARG, 0, weight);
  }

  /**
   * `add` of the error values[i] (weight default 1): the value stays in its array (see surpriseAt).
   */
  addAt(values: ArrayLike<number>, i: number, weight = 1): void {
    const e = values[i];
    if (!(e >= 0) || !Number.isFinite(e) || !(weight > 0)) return;
    const thin = this.opts.thin ?? 1;
    if (thin > 1 && this.offered++ % thin !== 0) return;
    const lag = this.opts.lag ?? 0;
    if (lag > 0) {
      const band = (this.band ??= zeros(2 * lag));
      if (this.bandLength < lag) {
        const at = (this.bandHead + this.bandLength) % lag;
        band[2 * at] = e;
        band[2 * at + 1] = weight;
        this.bandLength++;
        return;
      }
      // Full: the oldest leaves the band for the history, the new error takes its slot.
      const at = this.bandHead;
      this.commitAt(band, 2 * at, band[2 * at + 1]);
      band[2 * at] = e;
      band[2 * at + 1] = weight;
      this.bandHead = (at + 1) % lag;
      return;
    }
    this.commitAt(values, i, weight);
  }

  /** Commits the error values[i] with a relative weight to the history. */
  private commitAt(values: ArrayLike<number>, i: number, weight: number): void {
    const b = binOf(logOf(values[i]));
    const w = this.d[W] * weight;
    this.cover(b, b);
    this.d[BINS_AT + b - this.base] += w;
    this.d[TOTAL] += w;
    this.count++;
    if (b > this.top) this.top = b;
    if (b < this.bottom) this.bottom = b;
    this.d[W] *= this.d[GROWTH];
    if (b >= this.sumK) this.sumK = -1;
    // The history changed: its tail threshold and fit are found again at the next surprise. Below a known
    // threshold bin (and without a rescale) the search goes on from that bin (resumeTb); a commit at or above
    // it, or a rescale, starts it from the top. A resume point kept from an earlier commit stays valid: this
    // commit is below it too, since it is at most the threshold bin found from it.
    if (this.fitTb >= 0 && b < this.fitTb) {
      this.resumeTb = this.fitTb;
      this.d[RESUME_ABOVE] = this.d[FIT_ABOVE];
    } else if (this.fitTb >= 0 || b >= this.resumeTb) this.resumeTb = -1;
    if (this.d[W] > 1e100) {
      this.rescale();
      this.resumeTb = -1;
    }
    this.fitTb = -1;
  }

  /**
   * Moves the errors in the guard band into the history now, oldest first (they are known to be normal: the
   * end of a learning period), as if `lag` more errors had come.
   */
  commitPending(): void {
    const band = this.band;
    if (band === null) return;
    const lag = band.length / 2;
    for (let i = 0; i < this.bandLength; i++) {
      const at = (this.bandHead + i) % lag;
      this.commitAt(band, 2 * at, band[2 * at + 1]);
    }
    this.bandHead = 0;
    this.bandLength = 0;
  }

  /** Drops the errors in the guard band (added but not yet in the history): they will never enter it. */
  discardPending(): void {
    this.bandHead = 0;
    this.bandLength = 0;
  }

  /** The history's quantile of the error (e.g. 0.5 for the median), or NaN when empty. */
  quantile(q: number): number {
    if (this.d[TOTAL] <= 0) return Number.NaN;
    let acc = 0;
    const target = q * this.d[TOTAL];
    // Below `bottom` every bin is 0 and cannot reach a positive target.
    for (let b = target > 0 ? Math.min(this.bottom, this.top) : 0; b <= this.top; b++) {
      acc += this.at(b);
      if (acc >= target) return Math.pow(10, LOG_MIN + (b + 0.5) * BIN_WIDTH);
    }
    return Math.pow(10, LOG_MIN + (this.top + 0.5) * BIN_WIDTH);
  }

  toJSON(): TailState {
    // Sparse (most bins are empty) and exact: the weights as they are, with the current weight and total.
    const bins: [number, number][] = [];
    const d = this.d;
    const at = BINS_AT - this.base;
    for (let b = this.base; b <= this.top; b++) if (d[b + at] > 0) bins.push([b, d[b + at]]);
    const out: TailState = { format: TAIL_FORMAT, bins, count: this.count, w: this.d[W], total: this.d[TOTAL], top: this.top, pending: this.pendingPairs(), offered: this.offered };
    // Written only when settled below minCount: a checkpoint of any other history is as before.
    return this.need < this.opts.minCount ? { ...out, need: this.need } : out;
  }

  /** The guard band's errors, oldest first, as [error, relative weight]. */
  private pendingPairs(): [number, number][] {
    const pairs: [number, number][] = [];
    const band = this.band;
    if (band === null) return pairs;
    const lag = band.length / 2;
    for (let i = 0; i < this.bandLength; i++) {
      const at = (this.bandHead + i) % lag;
      pairs.push([band[2 * at], band[2 * at + 1]]);
    }
    return pairs;
  }

  /** Restores a state saved by `toJSON` (nothing in it is trusted). */
  static fromJSON(json: unknown, opts: TailOptions): TailCalibrator {
    if (typeof json !== 'object' || json === null) throw new Error('tail state: not an object');
    const s = json as { [K in keyof TailState]?: unknown };
    if (s.format !== TAIL_FORMAT) throw new Error(`tail state: format is not ${TAIL_FORMAT}`);
    const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (!finite(s.count) || s.count < 0) throw new Error('tail state: bad count');
    if (!finite(s.w) || s.w <= 0 || !finite(s.total) || s.total < 0) throw new Error('tail state: bad weights');
    if (!finite(s.top) || !Number.isInteger(s.top) || s.top < -1 || s.top >= BINS) throw new Error('tail state: bad top');
    if (!Array.isArray(s.bins)) throw new Error('tail state: bins must be an array');
    const c = new TailCalibrator(opts);
    const top = s.top;
    const entries = (s.bins as unknown[]).map((entry) => {
      if (!Array.isArray(entry) || entry.length !== 2) throw new Error('tail state: bad bin');
      const [b, v] = entry as [unknown, unknown];
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > top || !finite(v) || v < 0) throw new Error('tail state: bad bin');
      return [b, v] as const;
    });
    if (top >= 0) c.cover(entries.reduce((lo, [b]) => Math.min(lo, b), top), top);
    for (const [b, v] of entries) {
      c.d[BINS_AT + b - c.base] = v;
      if (b < c.bottom) c.bottom = b;
    }
    c.count = s.count;
    c.d[W] = s.w;
    c.d[TOTAL] = s.total;
    c.top = s.top;
    if (s.offered !== undefined) {
      if (!finite(s.offered) || !Number.isInteger(s.offered) || s.offered < 0) throw new Error('tail state: bad offered');
      c.offered = s.offered;
    }
    if (s.need !== undefined) {
      if (!finite(s.need) || s.need < 0) throw new Error('tail state: bad need');
      c.need = Math.min(s.need, opts.minCount);
    }
    const pending = s.pending ?? [];
    const lag = opts.lag ?? 0;
    if (!Array.isArray(pending) || pending.length > lag) throw new Error('tail state: bad pending errors');
    for (const entry of pending as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2 || !finite(entry[0]) || !finite(entry[1])) throw new Error('tail state: bad pending error');
      const band = (c.band ??= zeros(2 * lag));
      band[2 * c.bandLength] = entry[0];
      band[2 * c.bandLength + 1] = entry[1];
      c.bandLength++;
    }
    return c;
  }

  private addPrior(prior: LogPrior): void {
    const std = Math.max(prior.std, BIN_WIDTH);
    const within = (b: number): boolean => {
      const lo = (LOG_MIN + b * BIN_WIDTH - prior.mean) / std;
      const hi = (LOG_MIN + (b + 1) * BIN_WIDTH - prior.mean) / std;
      return !(hi < -3 || lo > 3);
    };
    // The window is made once for the bins the prior may reach (those within 3 std), not grown bin by bin.
    let first = 0;
    while (first < BINS && !within(first)) first++;
    let last = BINS - 1;
    while (last >= first && !within(last)) last--;
    if (first <= last) this.cover(first, last);
    for (let b = 0; b < BINS; b++) {
      const lo = (LOG_MIN + b * BIN_WIDTH - prior.mean) / std;
      const hi = (LOG_MIN + (b + 1) * BIN_WIDTH - prior.mean) / std;
      // Within 3 std: the prior is a guess of the bulk, not a statement about the far tail.
      if (hi < -3 || lo > 3) continue;
      const mass = (normalCdf(Math.min(hi, 3)) - normalCdf(Math.max(lo, -3))) * prior.weight;
      if (mass > 1e-9) {
        this.cover(b, b);
        this.d[BINS_AT + b - this.base] += mass;
        this.d[TOTAL] += mass;
        if (b > this.top) this.top = b;
        if (b < this.bottom) this.bottom = b;
      }
    }
    this.count += prior.weight;
  }

  /** Bin k's weight: 0 outside the window. */
  private at(k: number): number {
    const i = k - this.base;
    return i >= 0 && i < this.d.length - BINS_AT ? this.d[BINS_AT + i] : 0;
  }

  /**
   * Makes the window hold the bins lo..hi (0 <= lo <= hi < BINS): the first window is lo..hi with WINDOW_SLACK
   * bins either side; one that does not hold them grows, by WINDOW_SLACK beyond on each side it grows, keeping
   * its weights where they were.
   */
  private cover(lo: number, hi: number): void {
    const n = this.d.length - BINS_AT;
    if (n > 0 && lo >= this.base && hi < this.base + n) return;
    const from = Math.max(0, n === 0 ? lo - WINDOW_SLACK : lo < this.base ? lo - WINDOW_SLACK : this.base);
    const to = Math.min(BINS - 1, n === 0 ? hi + WINDOW_SLACK : hi >= this.base + n ? hi + WINDOW_SLACK : this.base + n - 1);
    const grown = zeros(BINS_AT + to - from + 1);
    for (let i = 0; i < BINS_AT; i++) grown[i] = this.d[i];
    for (let i = 0; i < n; i++) grown[BINS_AT + this.base - from + i] = this.d[BINS_AT + i];
    this.d = grown;
    this.base = from;
  }

  /** Bins held in memory (the window's length; 0 before any mass). */
  get windowBins(): number {
    return this.d.length - BINS_AT;
  }

  private rescale(): void {
    const s = 1 / this.d[W];
    for (let b = this.base; b <= this.top; b++) this.d[BINS_AT + b - this.base] *= s;
    this.d[TOTAL] *= s;
    this.d[W] = 1;
    this.sumK = -1;
  }
}

/** How many errors above the tail threshold the default (exponential) tail counts as. */
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
  /** Errors in the guard band, not yet in the history: [error, relative weight]. */
  readonly pending?: readonly (readonly [number, number])[];
  /** Errors offered so far (thinning). */
  readonly offered?: number;
  /** Errors it needs to be ready, when a learning period settled it below minCount (TailCalibrator.settle). */
  readonly need?: number;
}

/** A plain array of n zeros (its backing store exactly n long, as `push` would not make it). */
function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}

function logOf(e: number): number {
  return Math.log10(Math.max(e, 1e-12));
}

/** The logarithm of an error as the histories bin it (what `surprise`'s `logE` takes). */
export const logError = logOf;

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

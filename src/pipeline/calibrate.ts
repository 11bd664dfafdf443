/**
 * Per-sensor score calibration: turns a window's raw reconstruction (and/or prediction) error into an
 * anomaly score in [0, 1] that means the same for every sensor: 0.5 ordinary, near 1 rare.
 *
 * Method (docs/SCORING.md has the why and the references):
 *   x  = ln(error)                                  errors of a good model are roughly log-normal
 *   z  = (x − μ) / σ                                μ, σ: the model's validation prior blended with the
 *                                                   sensor's own recent non-anomalous history
 *   z̄  = mean of the last k z                       the short moving average (Ahmad et al. 2017)
 *   score = Φ(z̄ · √(k / ρ))                         ρ ≥ 1: variance inflation of a k-average of
 *                                                   correlated windows, measured on the history
 * With independent windows ρ = 1 and this is Φ(z̄·√k), the Gaussian tail of z̄ against its own
 * distribution. Overlapping windows (hop < window) make consecutive errors correlated; ρ keeps the
 * false-alarm rate at its nominal value there too.
 *
 * Everything is O(1) per window: running sums over ring buffers, re-summed exactly every
 * `longWindow` pushes so rounding cannot drift.
 */
import type { WindowResult } from '../contract/types.js';

export type ScoreMode = 'reconstruction' | 'prediction' | 'both';

export interface ScoreOptions {
  readonly mode: ScoreMode;
  /** k: windows in the short moving average of z. */
  readonly shortWindow: number;
  /** Windows of the sensor's own (non-anomalous) history kept for μ, σ and ρ. */
  readonly longWindow: number;
  /** How many windows of history the validation prior counts as (it ages out as the long window fills). */
  readonly priorWeight: number;
}

/** Numerical guards. The defaults suit the log-MSE of normalised data; they are not config knobs. */
export interface ScoreGuards {
  /** Floor on σ (log units): a flat-lining error must not turn noise into huge z. */
  readonly minSigma: number;
  /** Errors below this count as this: guards ln(0). */
  readonly minError: number;
  /** |z| is capped here so one absurd window cannot dominate the short average for long. */
  readonly zCap: number;
  /** History entries are winsorised to μ ± historyClampZ·σ, so a window just before an episode opens teaches little. */
  readonly historyClampZ: number;
  /** A channel without a prior scores 0.5 until it has this many windows of history. */
  readonly minHistory: number;
}

export const DEFAULT_SCORE_OPTIONS: ScoreOptions = { mode: 'reconstruction', shortWindow: 3, longWindow: 500, priorWeight: 50 };

export const DEFAULT_SCORE_GUARDS: ScoreGuards = { minSigma: 0.05, minError: 1e-12, zCap: 10, historyClampZ: 4, minHistory: 30 };

/** Log-normal prior of one error channel. `Calibration` from the model sidecar is one. */
export interface LogErrorPrior {
  readonly logErrMean: number;
  readonly logErrStd: number;
}

export interface CalibratorExtras {
  /**
   * Prior for the next-step prediction error. The sidecar does not carry one yet, so without it the
   * prediction channel learns from the sensor alone (neutral 0.5 for its first `minHistory` windows).
   */
  readonly predictionPrior?: LogErrorPrior | null;
  readonly guards?: Partial<ScoreGuards>;
}

const STATE_FORMAT = 'anomalyd-score-calibrator';

export interface TrackState {
  readonly hist: number[];
  readonly avg: number[];
  readonly recent: number[];
  readonly histSum: number;
  readonly histSumSq: number;
  readonly avgSum: number;
  readonly avgSumSq: number;
  readonly lastKSum: number;
  readonly recentSum: number;
  readonly sinceResum: number;
}

export interface CalibratorState {
  readonly format: typeof STATE_FORMAT;
  readonly version: 1;
  readonly options: ScoreOptions;
  readonly guards: ScoreGuards;
  readonly prior: LogErrorPrior;
  readonly predictionPrior: LogErrorPrior | null;
  readonly reconstruction: TrackState;
  readonly prediction: TrackState;
}

export class ScoreCalibrator {
  private readonly recon: ErrorTrack;
  private readonly pred: ErrorTrack;

  constructor(
    private readonly prior: LogErrorPrior,
    private readonly options: ScoreOptions,
    extras: CalibratorExtras = {},
  ) {
    assertOptions(options);
    assertPrior(prior, 'prior');
    const guards = { ...DEFAULT_SCORE_GUARDS, ...extras.guards };
    const predictionPrior = extras.predictionPrior ?? null;
    if (predictionPrior) assertPrior(predictionPrior, 'predictionPrior');
    this.recon = new ErrorTrack(prior, options, guards);
    this.pred = new ErrorTrack(predictionPrior, options, guards);
  }

  /**
   * Scores one window and, unless it is excluded, adds its error to the sensor's history.
   * A window is kept out of the history when `excludeFromHistory` (an episode is open) or its own score
   * is >= `excludeAtScore` (it is above threshold itself), so an anomaly does not teach itself normal.
   * While the sensor is still `learning`, every window enters the history regardless: otherwise a sensor
   * whose normal is far from the validation prior would never learn it.
   */
  update(result: WindowResult, excludeFromHistory: boolean, excludeAtScore = Number.POSITIVE_INFINITY): number {
    const score = this.observe(result);
    const include = !excludeFromHistory && score < excludeAtScore;
    this.recon.commit(include);
    this.pred.commit(include);
    return score;
  }

  /** True until the active channels have their own history worth `priorWeight` windows (at least `minHistory`). */
  get learning(): boolean {
    switch (this.options.mode) {
      case 'reconstruction':
        return this.recon.learning;
      case 'prediction':
        return this.pred.learning;
      case 'both':
        return this.recon.learning || this.pred.learning;
    }
  }

  /** Forgets the sensor's own history (back to the prior, learning again): for an operator-confirmed new normal. */
  relearn(): void {
    this.recon.clear();
    this.pred.clear();
  }

  toJSON(): CalibratorState {
    return {
      format: STATE_FORMAT,
      version: 1,
      options: { ...this.options },
      guards: this.recon.guards,
      prior: { logErrMean: this.prior.logErrMean, logErrStd: this.prior.logErrStd },
      predictionPrior: this.pred.prior,
      reconstruction: this.recon.toJSON(),
      prediction: this.pred.toJSON(),
    };
  }

  /** Restores a calibrator saved with `toJSON()` (after a JSON round trip). Throws on anything malformed. */
  static fromJSON(json: unknown): ScoreCalibrator {
    const state = parseState(json);
    const calibrator = new ScoreCalibrator(state.prior, state.options, {
      predictionPrior: state.predictionPrior,
      guards: state.guards,
    });
    calibrator.recon.restore(state.reconstruction, 'reconstruction');
    calibrator.pred.restore(state.prediction, 'prediction');
    return calibrator;
  }

  private observe(result: WindowResult): number {
    switch (this.options.mode) {
      case 'reconstruction':
        return this.recon.observe(result.reconError);
      case 'prediction':
        return result.predError === null ? this.pred.currentScore() : this.pred.observe(result.predError);
      case 'both': {
        const r = this.recon.observe(result.reconError);
        if (result.predError === null) return r;
        return combineIndependent(r, this.pred.observe(result.predError));
      }
    }
  }
}

/**
 * Šidák-combined maximum: if each score is uniform on [0, 1] under normal operation and the two are
 * independent, max(a, b)² is uniform too, so 0.5 stays "ordinary" and the tail rate at a threshold stays
 * nominal. When the two errors are correlated it is conservative (fewer alarms), never more.
 */
export function combineIndependent(a: number, b: number): number {
  const m = Math.max(a, b);
  return m * m;
}

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Complementary error function, fractional error < 1.2e-7 everywhere (Numerical Recipes, erfcc). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Fixed-capacity FIFO of doubles. */
class Ring {
  private readonly buf: Float64Array;
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.buf = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  /** i = 0 is the oldest. */
  at(i: number): number {
    return this.buf[(this.start + i) % this.capacity];
  }

  /** Appends; when full, the oldest value is overwritten (read it first with `at(0)`). */
  push(v: number): void {
    if (this.size < this.capacity) {
      this.buf[(this.start + this.size) % this.capacity] = v;
      this.size++;
    } else {
      this.buf[this.start] = v;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  clear(): void {
    this.start = 0;
    this.size = 0;
  }

  toArray(): number[] {
    const out = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.at(i);
    return out;
  }
}

interface Moments {
  /** Blended mean and std of x (centred log error). */
  readonly mu: number;
  readonly sigma: number;
  /** Variance inflation of a k-average, in [1, k]. */
  readonly rho: number;
}

interface Pending {
  /** Centred log error, or NaN when the error was not a finite number. */
  readonly x: number;
  readonly moments: Moments | null;
}

/**
 * One error channel (reconstruction or prediction) of one sensor. Log errors are stored centred on the
 * prior mean so the running sums stay small (sum-of-squares cancellation is then harmless).
 */
class ErrorTrack {
  private readonly centre: number;
  private readonly k: number;
  private readonly hist: Ring;
  /** k-averages of consecutive history entries: their spread measures how correlated windows are. */
  private readonly avg: Ring;
  /** The last k z of every window, anomalous or not. */
  private readonly recent: Ring;
  private histSum = 0;
  private histSumSq = 0;
  private avgSum = 0;
  private avgSumSq = 0;
  private lastKSum = 0;
  private recentSum = 0;
  private sinceResum = 0;
  private pending: Pending | null = null;

  constructor(
    readonly prior: LogErrorPrior | null,
    private readonly options: ScoreOptions,
    readonly guards: ScoreGuards,
  ) {
    this.centre = prior ? prior.logErrMean : 0;
    this.k = options.shortWindow;
    this.hist = new Ring(options.longWindow);
    this.avg = new Ring(options.longWindow);
    this.recent = new Ring(options.shortWindow);
  }

  get learning(): boolean {
    const needed = Math.max(this.options.priorWeight, this.guards.minHistory);
    return this.hist.length < Math.min(needed, this.options.longWindow);
  }

  /** Scores an error against the current moments and remembers it for `commit`. */
  observe(error: number): number {
    const finite = Number.isFinite(error);
    const x = finite ? Math.log(Math.max(error, this.guards.minError)) - this.centre : Number.NaN;
    const moments = this.moments();
    this.pending = { x, moments };
    this.pushRecent(this.zOf(x, moments));
    return this.scoreOfRecent(moments);
  }

  /** Score of the short average as it stands, for a window that brings no new error of this channel. */
  currentScore(): number {
    return this.scoreOfRecent(this.moments());
  }

  private scoreOfRecent(moments: Moments | null): number {
    const m = this.recent.length;
    if (m === 0) return 0.5;
    const rho = Math.min(moments?.rho ?? 1, m);
    return normalCdf((this.recentSum / m) * Math.sqrt(m / rho));
  }

  commit(include: boolean): void {
    const pending = this.pending;
    this.pending = null;
    if (pending === null || Number.isNaN(pending.x)) return;
    if (this.learning) {
      this.pushHistory(pending.x);
      if (!this.learning) this.winsorizeHistory();
    } else if (include) {
      const m = pending.moments;
      const limit = m ? this.guards.historyClampZ * m.sigma : Number.POSITIVE_INFINITY;
      this.pushHistory(m ? clamp(pending.x, m.mu - limit, m.mu + limit) : pending.x);
    }
  }

  /**
   * At the end of the learning period: everything seen so far entered the history unchecked (a new sensor's
   * normal is not known yet), including the first windows, measured against a half-learnt normalisation, and
   * anything odd that happened while learning. Drop the entries beyond median ± historyClampZ robust sigmas
   * (MAD × 1.4826) once, so a bad start cannot inflate σ for the next longWindow windows. (Clamping them
   * instead still leaves a few at the band's edge, which measurably inflates σ.)
   */
  private winsorizeHistory(): void {
    const values = this.hist.toArray();
    const sorted = Float64Array.from(values).sort();
    const median = quantileSorted(sorted, 0.5);
    const deviations = Float64Array.from(values, (v) => Math.abs(v - median)).sort();
    const robustSigma = Math.max(1.4826 * quantileSorted(deviations, 0.5), this.guards.minSigma);
    const limit = this.guards.historyClampZ * robustSigma;
    const recent = this.recent.toArray();
    const recentSum = this.recentSum;
    this.clear();
    for (const v of values) if (Math.abs(v - median) <= limit) this.pushHistory(v);
    for (const z of recent) this.recent.push(z);
    this.recentSum = recentSum;
  }

  clear(): void {
    this.hist.clear();
    this.avg.clear();
    this.recent.clear();
    this.histSum = this.histSumSq = this.avgSum = this.avgSumSq = this.lastKSum = this.recentSum = 0;
    this.sinceResum = 0;
    this.pending = null;
  }

  toJSON(): TrackState {
    return {
      hist: this.hist.toArray(),
      avg: this.avg.toArray(),
      recent: this.recent.toArray(),
      histSum: this.histSum,
      histSumSq: this.histSumSq,
      avgSum: this.avgSum,
      avgSumSq: this.avgSumSq,
      lastKSum: this.lastKSum,
      recentSum: this.recentSum,
      sinceResum: this.sinceResum,
    };
  }

  restore(state: TrackState, what: string): void {
    const lengthOk =
      state.hist.length <= this.hist.capacity && state.avg.length <= this.avg.capacity && state.recent.length <= this.recent.capacity;
    if (!lengthOk) throw new Error(`calibrator state: ${what} holds more entries than its windows allow`);
    this.clear();
    for (const v of state.hist) this.hist.push(v);
    for (const v of state.avg) this.avg.push(v);
    for (const v of state.recent) this.recent.push(v);
    // The sums are restored as saved, not re-summed, so a restored calibrator continues bit for bit.
    this.histSum = state.histSum;
    this.histSumSq = state.histSumSq;
    this.avgSum = state.avgSum;
    this.avgSumSq = state.avgSumSq;
    this.lastKSum = state.lastKSum;
    this.recentSum = state.recentSum;
    this.sinceResum = state.sinceResum;
  }

  /** Current μ, σ, ρ; null while a channel without a prior has too little history to say anything. */
  private moments(): Moments | null {
    const n = this.hist.length;
    // The prior fills the oldest slots of the long window and is pushed out as the sensor's own history
    // fills it: once the history is full, the score depends on the sensor alone.
    const priorWeight = this.prior ? Math.max(0, Math.min(this.options.priorWeight, this.options.longWindow - n)) : 0;
    if (this.prior === null && n < this.guards.minHistory) return null;
    const weight = priorWeight + n;
    if (weight <= 0) return null;
    const histMean = n > 0 ? this.histSum / n : 0;
    const histVar = n > 0 ? Math.max(0, this.histSumSq / n - histMean * histMean) : 0;
    // The prior sits at x = 0 (we centre on its mean): a two-component mixture's mean and variance.
    const mu = (n * histMean) / weight;
    const priorVar = this.prior ? this.prior.logErrStd * this.prior.logErrStd : 0;
    const variance = (priorWeight * (priorVar + mu * mu) + n * (histVar + (histMean - mu) ** 2)) / weight;
    const sigma = Math.max(Math.sqrt(variance), this.guards.minSigma);
    return { mu, sigma, rho: this.inflation(priorWeight, histVar) };
  }

  /** ρ = Var(k-average) / (Var(single)/k) from the history, blended with the prior's "independent" (ρ = 1). */
  private inflation(priorWeight: number, histVar: number): number {
    const na = this.avg.length;
    if (na < 2 || histVar <= 0) return 1;
    const avgMean = this.avgSum / na;
    const avgVar = Math.max(0, this.avgSumSq / na - avgMean * avgMean);
    const measured = (avgVar * this.k) / histVar;
    return clamp((priorWeight + na * measured) / (priorWeight + na), 1, this.k);
  }

  private zOf(x: number, moments: Moments | null): number {
    if (Number.isNaN(x)) return this.guards.zCap; // a model that returns garbage is worth a look
    if (moments === null) return 0;
    return clamp((x - moments.mu) / moments.sigma, -this.guards.zCap, this.guards.zCap);
  }

  private pushRecent(z: number): void {
    if (this.recent.full) this.recentSum -= this.recent.at(0);
    this.recent.push(z);
    this.recentSum += z;
  }

  private pushHistory(x: number): void {
    const n = this.hist.length;
    // The entry k back leaves the running k-sum; read it before a full ring overwrites it.
    const leaving = n >= this.k ? this.hist.at(n - this.k) : 0;
    if (this.hist.full) {
      const old = this.hist.at(0);
      this.histSum -= old;
      this.histSumSq -= old * old;
    }
    this.hist.push(x);
    this.histSum += x;
    this.histSumSq += x * x;
    this.lastKSum += x - leaving;
    if (this.hist.length >= this.k) this.pushAverage(this.lastKSum / this.k);
    if (++this.sinceResum >= this.hist.capacity) this.resum();
  }

  private pushAverage(a: number): void {
    if (this.avg.full) {
      const old = this.avg.at(0);
      this.avgSum -= old;
      this.avgSumSq -= old * old;
    }
    this.avg.push(a);
    this.avgSum += a;
    this.avgSumSq += a * a;
  }

  /** Exact re-summation (amortised O(1)): running add/subtract sums would otherwise drift over months. */
  private resum(): void {
    this.sinceResum = 0;
    let s = 0;
    let s2 = 0;
    let last = 0;
    const n = this.hist.length;
    for (let i = 0; i < n; i++) {
      const v = this.hist.at(i);
      s += v;
      s2 += v * v;
      if (i >= n - this.k) last += v;
    }
    this.histSum = s;
    this.histSumSq = s2;
    this.lastKSum = last;
    let a = 0;
    let a2 = 0;
    for (let i = 0; i < this.avg.length; i++) {
      const v = this.avg.at(i);
      a += v;
      a2 += v * v;
    }
    this.avgSum = a;
    this.avgSumSq = a2;
  }
}

function assertOptions(o: ScoreOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.shortWindow) || o.shortWindow < 1) problems.push(`shortWindow must be an integer >= 1, got ${o.shortWindow}`);
  if (!Number.isInteger(o.longWindow) || o.longWindow < 2) problems.push(`longWindow must be an integer >= 2, got ${o.longWindow}`);
  if (o.shortWindow > o.longWindow) problems.push(`shortWindow (${o.shortWindow}) must be at most longWindow (${o.longWindow})`);
  if (!(o.priorWeight >= 0) || !Number.isFinite(o.priorWeight)) problems.push(`priorWeight must be a finite number >= 0, got ${o.priorWeight}`);
  if (problems.length > 0) throw new RangeError(`score options: ${problems.join('; ')}`);
}

function assertPrior(p: LogErrorPrior, what: string): void {
  if (!Number.isFinite(p.logErrMean) || !Number.isFinite(p.logErrStd) || p.logErrStd <= 0) {
    throw new RangeError(`${what}: logErrMean must be finite and logErrStd > 0, got ${p.logErrMean}, ${p.logErrStd}`);
  }
}

// ---- state parsing: the JSON comes from disk, so nothing is trusted ----

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finiteNumber(o: Json, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`calibrator state: ${where}.${key} must be a finite number`);
  return v;
}

function numberArray(o: Json, key: string, where: string): number[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x): x is number => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`calibrator state: ${where}.${key} must be an array of finite numbers`);
  }
  return v;
}

function object(o: Json, key: string, where: string): Json {
  const v = o[key];
  if (!isObject(v)) throw new Error(`calibrator state: ${where}.${key} must be an object`);
  return v;
}

function parsePrior(o: Json, where: string): LogErrorPrior {
  return { logErrMean: finiteNumber(o, 'logErrMean', where), logErrStd: finiteNumber(o, 'logErrStd', where) };
}

function parseTrack(o: Json, where: string): TrackState {
  return {
    hist: numberArray(o, 'hist', where),
    avg: numberArray(o, 'avg', where),
    recent: numberArray(o, 'recent', where),
    histSum: finiteNumber(o, 'histSum', where),
    histSumSq: finiteNumber(o, 'histSumSq', where),
    avgSum: finiteNumber(o, 'avgSum', where),
    avgSumSq: finiteNumber(o, 'avgSumSq', where),
    lastKSum: finiteNumber(o, 'lastKSum', where),
    recentSum: finiteNumber(o, 'recentSum', where),
    sinceResum: finiteNumber(o, 'sinceResum', where),
  };
}

function parseMode(v: unknown): ScoreMode {
  if (v === 'reconstruction' || v === 'prediction' || v === 'both') return v;
  throw new Error(`calibrator state: options.mode must be reconstruction, prediction or both`);
}

function parseState(json: unknown): CalibratorState {
  if (!isObject(json) || json.format !== STATE_FORMAT) throw new Error(`calibrator state: not an ${STATE_FORMAT} object`);
  if (json.version !== 1) throw new Error(`calibrator state: unknown version ${String(json.version)}`);
  const options = object(json, 'options', 'state');
  const guards = object(json, 'guards', 'state');
  const predictionPrior = json.predictionPrior;
  return {
    format: STATE_FORMAT,
    version: 1,
    options: {
      mode: parseMode(options.mode),
      shortWindow: finiteNumber(options, 'shortWindow', 'options'),
      longWindow: finiteNumber(options, 'longWindow', 'options'),
      priorWeight: finiteNumber(options, 'priorWeight', 'options'),
    },
    guards: {
      minSigma: finiteNumber(guards, 'minSigma', 'guards'),
      minError: finiteNumber(guards, 'minError', 'guards'),
      zCap: finiteNumber(guards, 'zCap', 'guards'),
      historyClampZ: finiteNumber(guards, 'historyClampZ', 'guards'),
      minHistory: finiteNumber(guards, 'minHistory', 'guards'),
    },
    prior: parsePrior(object(json, 'prior', 'state'), 'prior'),
    predictionPrior: predictionPrior === null ? null : parsePrior(object(json, 'predictionPrior', 'state'), 'predictionPrior'),
    reconstruction: parseTrack(object(json, 'reconstruction', 'state'), 'reconstruction'),
    prediction: parseTrack(object(json, 'prediction', 'state'), 'prediction'),
  };
}

function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

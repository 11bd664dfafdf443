import type { SidecarInput } from '../model/onnx-export.js';
/**
 * On-device training of the seq2seq autoencoder (docs/MODEL.md, "Training protocol").
 * Pure computation on an in-memory series: no I/O, no clock except the injectable `now`.
 */
import type { Calibration, CellKind, LogNormalPrior, ModelSidecar, Normalisation, Seq2SeqParams } from '../model/spec.js';
import { batchGradient, createBackwardScratch, type BackwardScratch } from './backprop.js';
import { evaluateStream, normalise, persistenceErrors, predVsPersistence, shortMeanErrors, type RowRange, type StreamRange } from './evaluate.js';
import { ADAM_DEFAULTS, adamStep, clipGlobalNorm, createAdam } from './optim.js';
import { mulberry32, randInt, shuffle, type Rng } from './rng.js';
import {
  copyParams,
  createWorkspace,
  fromSeq2SeqParams,
  encode,
  encodePair,
  initParams,
  layerViews,
  pairOf,
  toSeq2SeqParams,
  zeroParams,
  type EncodeArgs,
  type Seq2SeqParams64,
  type Workspace,
} from './seq2seq.js';

export interface TrainSeries {
  readonly channels: readonly string[];
  /** N*C, time-major raw values. */
  readonly values: Float64Array;
  /** N epoch-ms timestamps, for the record only. */
  readonly timestamps?: Float64Array;
  /**
   * First row of each independent segment (e.g. one per sensor), strictly increasing from 0; default one
   * segment. No window, burn-in or carried state crosses a segment boundary, and each segment is split in
   * time on its own (its last valFraction of rows is validation).
   */
  readonly segments?: Int32Array;
}

export interface TrainOptions {
  readonly cell?: CellKind;
  readonly hidden?: number;
  /**
   * Window length W: the steps a reconstruction covers. Shortened when the series is short
   * (fitWindow, docs/MODEL.md "Learning from little"); TrainResult.window is the one used.
   */
  readonly window?: number;
  /** Steps between two reconstructions, as the detector decodes every hop steps (default window/4); scaled with a shortened window. */
  readonly hop?: number;
  /**
   * Maximum epochs. Raised to ⌈minSteps / batches per epoch⌉ when a series has so few training windows that
   * `epochs` would give fewer than `minSteps` optimiser steps (TrainResult.maxEpochs is the one used).
   */
  readonly epochs?: number;
  /**
   * The training budget's floor, in optimiser (Adam) steps: a series whose windows fill fewer than
   * ⌈minSteps / epochs⌉ batches gets more epochs, so every training takes at least this many steps unless early
   * stopping ends it (which it cannot before `minStepsBeforeStop`). 0 keeps the budget in epochs alone.
   * Default 300 (TRAIN_DEFAULTS; on since budget5, 2026-12-05: 20 steps at lr 3e-3 leave a model worse than
   * persistence, modelq; BENCHMARKS.md "trainbudget", "budget5").
   */
  readonly minSteps?: number;
  /**
   * Early stopping may end a training only after this many optimiser steps (capped at the budget): a tiny
   * validation tail plateaus before a drop, and patience in epochs of one batch is a handful of steps.
   * Default 150 (TRAIN_DEFAULTS, with minSteps 300). Prechelt (1998), "Early stopping - but when?": stop on a criterion only
   * after a minimum training length, and keep the weights of the lowest validation error.
   */
  readonly minStepsBeforeStop?: number;
  /**
   * Patience counted in optimiser steps as well as epochs: early stopping waits max(patience epochs,
   * ⌈patienceSteps / batches per epoch⌉ epochs) without a significant improvement. Default 30 (TRAIN_DEFAULTS,
   * with minSteps 300): a series of one batch per epoch waits 30 epochs, not 4.
   */
  readonly patienceSteps?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  /** Maximum global gradient norm. */
  readonly clip?: number;
  /** Epochs without a significant improvement of the validation loss (see minImprovement) before stopping. */
  readonly patience?: number;
  /**
   * Relative improvement of the validation loss that counts for early stopping: an epoch improves
   * significantly when its loss is below (1 − minImprovement) × the loss of the last significant improvement
   * (Keras' min_delta, relative). The returned weights are still those of the lowest loss seen.
   */
  readonly minImprovement?: number;
  /** Fraction of the rows, at the END of each segment, held out for validation and calibration. */
  readonly valFraction?: number;
  /** Weight λ of the mean per-step next-reading prediction MSE in the loss (docs/MODEL.md, "Loss"). */
  readonly predWeight?: number;
  readonly seed?: number;
  /** Rows between consecutive training windows (default: the hop used). */
  readonly stride?: number;
  /** Cap on training windows; beyond it an evenly spaced subset is used. */
  readonly maxTrainWindows?: number;
  /** Fraction of training windows truncated to a random L < T, as at a start or after a gap. */
  readonly truncateFraction?: number;
  /** Fraction of training windows started from a zero state, as after a reset. */
  readonly zeroStateFraction?: number;
  /** Floor for the per-channel std, in raw units, so a flat channel does not divide by zero. */
  readonly minStd?: number;
  /** Floor for the calibration's logErrStd, so an unusually regular validation split does not make scores hair-trigger. */
  readonly minLogErrStd?: number;
  /**
   * Residuals (readings) in each short mean of the calibration's `bias` prior (Calibration.bias): the detector's
   * score.smooth, default 16 (the shipped config's). The detector rescales a prior measured over another span.
   */
  readonly biasSpan?: number;
  /** Default threshold on the anomaly score. */
  readonly threshold?: number;
  /** Recorded as ModelSidecar.training.source. */
  readonly source?: string;
  /**
   * Weights to start from instead of a random initialisation (fine-tuning a trained model, e.g. the shipped
   * generic one, on this series): its cell, hidden size and channel count must be the training's. Early stopping
   * keeps the weights of the lowest validation loss seen, these included (epoch 0), so the result is never worse
   * on the validation tail than the model it started from. Default: none (a fresh initialisation from `seed`).
   */
  readonly init?: Seq2SeqParams;
  /** Clock in ms, injectable for tests (default performance.now). */
  readonly now?: () => number;
}

export type ResolvedTrainOptions = Required<Omit<TrainOptions, 'now' | 'init'>> & { readonly now: () => number; readonly init?: Seq2SeqParams };

export const TRAIN_DEFAULTS = {
  cell: 'gru',
  hidden: 32,
  window: 64,
  epochs: 12,
  // On: at least 300 Adam steps, no stop before 150, patience at least 30 steps (Prechelt 1998). With budget5's settled
  // normalisation: SKAB point F1 0.830 -> 0.834, MSL event P 0.741 -> 0.833 (BENCHMARKS.md, trainbudget, budgetskab,
  // budgetdev, budget5).
  minSteps: 300,
  minStepsBeforeStop: 150,
  patienceSteps: 30,
  batchSize: 32,
  lr: 3e-3,
  clip: 1,
  patience: 4,
  minImprovement: 0.02,
  valFraction: 0.2,
  predWeight: 0.5,
  seed: 1,
  maxTrainWindows: 8192,
  truncateFraction: 0.15,
  zeroStateFraction: 0.1,
  minStd: 1e-6,
  minLogErrStd: 0.1,
  biasSpan: 16,
  threshold: 0.999,
  source: 'memory',
} as const;

export interface TrainProgress {
  /** 1-based epoch being run. */
  readonly epoch: number;
  readonly maxEpochs: number;
  /** Batches finished in this epoch. */
  readonly batch: number;
  readonly batches: number;
  /** Mean training loss over this epoch's batches so far. */
  readonly trainLoss: number;
  /** Validation loss of the last finished epoch (the initial model's before the first). */
  readonly valLoss: number;
  readonly bestValLoss: number;
  /** True on the one report sent after an epoch's validation. */
  readonly epochDone: boolean;
  readonly elapsedMs: number;
  /** Estimate to the maximum epoch count; early stopping can only shorten it. */
  readonly etaMs: number;
}

export interface EpochLoss {
  readonly epoch: number;
  readonly train: number;
  readonly val: number;
  readonly ms: number;
}

export interface TrainResult {
  readonly params: Seq2SeqParams;
  readonly normalisation: Normalisation;
  readonly calibration: Calibration;
  readonly losses: readonly EpochLoss[];
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  /** The epoch budget used: options.epochs, or more when a series is too small for minSteps (trainingBudget). */
  readonly maxEpochs: number;
  /** Optimiser (Adam) steps taken: batches over all epochs run. */
  readonly steps: number;
  /**
   * The best model's next-reading prediction MSE on the validation tail divided by persistence's (x[t+1]
   * predicted as x[t]) on the same readings (predVsPersistence); above 1 the model predicts worse than
   * repeating the last reading. NaN when the tail does not move (persistence's error 0).
   */
  readonly predVsPersistence: number;
  /** What a caller should log about this training: today only a model worse than persistence (persistenceWarning). */
  readonly warnings: readonly string[];
  /** The window W used: the requested one, or shorter for a short series (fitWindow). */
  readonly window: number;
  readonly hop: number;
  /** The window asked for (options or default). */
  readonly requestedWindow: number;
  readonly channels: readonly string[];
  readonly training: ModelSidecar['training'];
}

export function resolveTrainOptions(opts: TrainOptions): ResolvedTrainOptions {
  const window = opts.window ?? TRAIN_DEFAULTS.window;
  const hop = opts.hop ?? Math.max(1, Math.floor(window / 4));
  const r: ResolvedTrainOptions = {
    ...TRAIN_DEFAULTS,
    ...stripUndefined(opts),
    window,
    hop,
    stride: opts.stride ?? hop,
    now: opts.now ?? (() => performance.now()),
  };
  const problems = [
    checkInt('hidden', r.hidden, 1),
    checkInt('window', r.window, 2),
    checkInt('hop', r.hop, 1, r.window),
    checkInt('epochs', r.epochs, 1),
    checkInt('minSteps', r.minSteps, 0),
    checkInt('minStepsBeforeStop', r.minStepsBeforeStop, 0),
    checkInt('patienceSteps', r.patienceSteps, 0),
    checkInt('batchSize', r.batchSize, 1),
    checkInt('patience', r.patience, 1),
    checkInt('stride', r.stride, 1),
    checkInt('maxTrainWindows', r.maxTrainWindows, 1),
    checkInt('seed', r.seed, 0, 2 ** 32 - 1),
    checkRange('lr', r.lr, 0, 1, false),
    checkRange('clip', r.clip, 0, Infinity, false),
    checkRange('valFraction', r.valFraction, 0, 1, false),
    checkRange('predWeight', r.predWeight, 0, Infinity, true),
    checkRange('minImprovement', r.minImprovement, 0, 1, true),
    checkRange('truncateFraction', r.truncateFraction, 0, 1, true),
    checkRange('zeroStateFraction', r.zeroStateFraction, 0, 1, true),
    checkRange('minStd', r.minStd, 0, Infinity, false),
    checkRange('minLogErrStd', r.minLogErrStd, 0, Infinity, true),
    checkInt('biasSpan', r.biasSpan, 1),
    checkRange('threshold', r.threshold, 0, 1, false),
    r.cell === 'gru' || r.cell === 'lstm' ? null : `cell: must be 'gru' or 'lstm', got ${String(r.cell)}`,
  ].filter((p): p is string => p !== null);
  if (problems.length > 0) throw new RangeError(`invalid training options:\n  ${problems.join('\n  ')}`);
  return r;
}

function stripUndefined(opts: TrainOptions): Partial<TrainOptions> {
  const defined: Partial<TrainOptions> = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  return defined;
}

function checkInt(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): string | null {
  return Number.isInteger(v) && v >= min && v <= max ? null : `${name}: must be an integer in ${min}..${max}, got ${v}`;
}

/** (lo, hi] or [lo, hi] when loInclusive; hi always inclusive. */
function checkRange(name: string, v: number, lo: number, hi: number, loInclusive: boolean): string | null {
  const ok = Number.isFinite(v) && (loInclusive ? v >= lo : v > lo) && v <= hi;
  return ok ? null : `${name}: must be in ${loInclusive ? '[' : '('}${lo}, ${hi}], got ${v}`;
}

/** Per-channel mean and std over rows [0, rows), or over the union of the given row ranges. */
export function fitNormalisation(values: Float64Array, C: number, rows: number | readonly RowRange[], minStd: number): Normalisation {
  const ranges = typeof rows === 'number' ? [{ from: 0, to: rows }] : rows;
  const n = ranges.reduce((k, r) => k + r.to - r.from, 0);
  const mean = new Array<number>(C).fill(0);
  const sq = new Array<number>(C).fill(0);
  for (const r of ranges) for (let t = r.from; t < r.to; t++) for (let c = 0; c < C; c++) mean[c] += values[t * C + c];
  for (let c = 0; c < C; c++) mean[c] /= n;
  for (const r of ranges) for (let t = r.from; t < r.to; t++) for (let c = 0; c < C; c++) sq[c] += (values[t * C + c] - mean[c]) ** 2;
  const std = sq.map((s) => Math.max(Math.sqrt(s / n), minStd));
  return { mean, std };
}

/** Linear-interpolation quantile of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The log-normal prior of a set of (squared) errors: mean and std (floored at minLogErrStd) of ln(error),
 * errors below 1e-12 counted as 1e-12. Throws RangeError for an empty set.
 */
export function logNormalPrior(errors: Float64Array, minLogErrStd: number): LogNormalPrior {
  const n = errors.length;
  if (n === 0) throw new RangeError('no errors to calibrate on');
  const logs = Float64Array.from(errors, (e) => Math.log(Math.max(e, 1e-12)));
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  const sorted = logs.slice().sort();
  return {
    logErrMean: mean,
    logErrStd: Math.max(Math.sqrt(variance), minLogErrStd),
    quantiles: { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted[n - 1] },
    count: n,
  };
}

/**
 * Reconstruction errors (one per decode) and prediction errors (one per step) -> the score calibration of
 * src/model/spec.ts; with `bias` (the squared short means of `span` signed residuals, shortMeanErrors of
 * src/train/evaluate.ts) its `bias` prior too, when there is at least one. Throws RangeError when recon or pred
 * errors are empty.
 */
export function calibrate(
  reconErrors: Float64Array,
  predErrors: Float64Array,
  minLogErrStd: number,
  threshold: number,
  bias?: { readonly errors: Float64Array; readonly span: number },
): Calibration {
  const out = { recon: logNormalPrior(reconErrors, minLogErrStd), pred: logNormalPrior(predErrors, minLogErrStd), threshold };
  return bias !== undefined && bias.errors.length > 0 ? { ...out, bias: { ...logNormalPrior(bias.errors, minLogErrStd), span: bias.span } } : out;
}

/** The shortest window a series may force (unless a shorter one is asked for). */
export const MIN_WINDOW = 8;
/** A series needs this many readings per window step: W ≤ rows / ROWS_PER_WINDOW. */
export const ROWS_PER_WINDOW = 8;

/** The fewest readings (in one segment) that train a model for a requested window. */
export function minTrainRows(window: number): number {
  return ROWS_PER_WINDOW * Math.min(window, MIN_WINDOW);
}

/**
 * Learning from little (docs/MODEL.md): the window W and hop used for a series whose longest segment has
 * `rows` readings. W = min(window, floor(rows / 8)), so there are enough training windows (about 20 at the
 * least) and a validation tail at least 1.6·W long; the hop keeps the requested hop/window ratio (at least 1).
 * Throws RangeError, saying how many readings are needed, when W would fall below min(window, 8).
 */
export function fitWindow(rows: number, window: number, hop: number): { readonly window: number; readonly hop: number } {
  const W = Math.min(window, Math.floor(rows / ROWS_PER_WINDOW));
  if (W < Math.min(window, MIN_WINDOW)) {
    throw new RangeError(
      `series too short: ${rows} readings${rows === 0 ? '' : ' in its longest segment'}; a model needs at least ${minTrainRows(window)} ` +
        `(window ${Math.min(window, MIN_WINDOW)}, ${ROWS_PER_WINDOW} readings per window step)`,
    );
  }
  return W === window ? { window, hop } : { window: W, hop: Math.max(1, Math.floor((W * hop) / window)) };
}

/** One segment's rows [start, end), split in time: training rows [start, trainEnd), validation [trainEnd, end). */
export interface SegmentSplit {
  readonly start: number;
  readonly trainEnd: number;
  readonly end: number;
}

/** The per-segment time split; checks the segment starts against the row count. */
export function splitSegments(rows: number, segments: Int32Array | undefined, valFraction: number): SegmentSplit[] {
  const starts = segments ?? Int32Array.of(0);
  if (starts.length === 0 || starts[0] !== 0) throw new RangeError('segments must start with row 0');
  const out: SegmentSplit[] = [];
  for (let k = 0; k < starts.length; k++) {
    const start = starts[k];
    const end = k + 1 < starts.length ? starts[k + 1] : rows;
    if (!(end > start) || end > rows) {
      throw new RangeError(`segments must be strictly increasing row numbers below ${rows}; segment ${k} is [${start}, ${end})`);
    }
    out.push({ start, trainEnd: end - Math.round((end - start) * valFraction), end });
  }
  return out;
}

/** Training windows: each one's first row, and the rows of burn-in before it (at most T, never before its segment's start). */
export interface TrainWindows {
  readonly starts: Int32Array;
  readonly burnIn: Int32Array;
}

/**
 * Starts of training windows every `stride` rows inside each segment's training rows, evenly thinned to
 * at most `max` over all segments. A window and the next reading its prediction head is trained on lie
 * inside one segment's training rows, so the model never learns a jump between segments as normal.
 */
export function planTrainWindows(splits: readonly SegmentSplit[], T: number, stride: number, max: number): TrainWindows {
  const perSegment = splits.map((s) => {
    // The last row is kept for the window's next-reading target.
    const usable = s.trainEnd - 1 - s.start;
    return usable >= T ? Math.floor((usable - T) / stride) + 1 : 0;
  });
  const count = perSegment.reduce((a, b) => a + b, 0);
  const candidates = new Int32Array(count);
  const origins = new Int32Array(count);
  let i = 0;
  splits.forEach((s, k) => {
    for (let j = 0; j < perSegment[k]; j++, i++) {
      candidates[i] = s.start + j * stride;
      origins[i] = s.start;
    }
  });
  const n = Math.min(count, max);
  const starts = new Int32Array(n);
  const burnIn = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const c = Math.floor((k * count) / n);
    starts[k] = candidates[c];
    burnIn[k] = Math.min(T, candidates[c] - origins[c]);
  }
  return { starts, burnIn };
}

interface Layout {
  readonly rows: number;
  readonly splits: readonly SegmentSplit[];
  readonly windows: TrainWindows;
  /** Each segment's validation tail, its state burnt in over (up to) W training rows before it. */
  readonly valRanges: readonly StreamRange[];
  /** Options with the window, hop and stride fitted to the series. */
  readonly o: ResolvedTrainOptions;
}

function layout(series: TrainSeries, resolved: ResolvedTrainOptions, strideGiven: boolean): Layout {
  const C = series.channels.length;
  if (C === 0) throw new RangeError('series has no channels');
  if (series.values.length % C !== 0) {
    throw new RangeError(`series has ${series.values.length} values, not a multiple of ${C} channels`);
  }
  const rows = series.values.length / C;
  const splits = splitSegments(rows, series.segments, resolved.valFraction);
  const longest = splits.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
  const fitted = fitWindow(longest.end - longest.start, resolved.window, resolved.hop);
  const o: ResolvedTrainOptions = { ...resolved, ...fitted, stride: strideGiven || fitted.window === resolved.window ? resolved.stride : fitted.hop };
  const windows = planTrainWindows(splits, o.window, o.stride, o.maxTrainWindows);
  // A validation tail needs one reconstruction (hop steps) and one prediction target.
  const valRanges = splits
    .filter((s) => s.end - s.trainEnd >= Math.max(o.hop, 2))
    .map((s) => ({ burnFrom: Math.max(s.start, s.trainEnd - o.window), from: s.trainEnd, to: s.end }));
  if (windows.starts.length === 0 || valRanges.length === 0) {
    throw new RangeError(
      `series too short: ${rows} rows; ${splits.length === 1 ? 'they give' : `its longest segment (${longest.end - longest.start} rows) gives`} ` +
        `${longest.trainEnd - longest.start} training and ${longest.end - longest.trainEnd} validation rows; ` +
        `need at least ${o.window + 1} and ${Math.max(o.hop, 2)} in some segment for window ${o.window}, hop ${o.hop}`,
    );
  }
  for (let i = 0; i < series.values.length; i++) {
    if (!Number.isFinite(series.values[i])) throw new RangeError(`series value at row ${Math.floor(i / C)} is not finite`);
  }
  return { rows, splits, windows, valRanges, o };
}

/** A batch slot: mutable so batches reuse objects and state buffers. */
interface Slot {
  start: number;
  length: number;
  hasNext: boolean;
  h0: Float64Array | null;
  c0: Float64Array | null;
  readonly hBuf: Float64Array;
  readonly cBuf: Float64Array;
}

interface BatchMachinery {
  readonly ws: Workspace;
  readonly bs: BackwardScratch;
  readonly grads: Seq2SeqParams64;
  readonly slots: Slot[];
  /** Per slot of the batch being filled: burn-in rows still to run (0 = none). */
  readonly burns: Int32Array;
}

/**
 * Sets up one slot per the training protocol: random truncation, random zero state, otherwise a
 * no-gradient burn-in over the `burn` (<= T) rows before the window (from zero at its segment's start).
 * Returns the burn-in length still to run (0 for none); runBurnIns runs them, so the rng draws stay in
 * slot order while the burn-ins themselves go two at a time.
 */
function prepareSlot(slot: Slot, start: number, burn: number, o: ResolvedTrainOptions, rng: Rng): number {
  const T = o.window;
  slot.start = start;
  slot.length = rng() < o.truncateFraction ? randInt(rng, 1, T - 1) : T;
  slot.hasNext = true; // planTrainWindows keeps start + T inside the segment's training rows
  slot.h0 = null;
  slot.c0 = null;
  if (burn === 0 || rng() < o.zeroStateFraction) return 0;
  return burn;
}

/** Runs the burn-ins prepareSlot asked for (burns[i] rows before slot i; 0 = none), in lockstep pairs. */
function runBurnIns(slots: readonly Slot[], burns: Int32Array, p: Seq2SeqParams64, m: BatchMachinery, z: Float64Array): void {
  const C = p.channels;
  const views = layerViews(p);
  const wsB = pairOf(m.ws);
  let waiting = -1;
  for (let i = 0; i < slots.length; i++) {
    if (burns[i] === 0) continue;
    if (waiting < 0) {
      waiting = i;
      continue;
    }
    const a = slots[waiting];
    const b = slots[i];
    encodePair(p, views, m.ws, wsB, z, burnArgs(a, burns[waiting], C), burnArgs(b, burns[i], C));
    takeBurnInState(a, m.ws, burns[waiting], p.hidden);
    takeBurnInState(b, wsB, burns[i], p.hidden);
    waiting = -1;
  }
  if (waiting >= 0) {
    const a = slots[waiting];
    encode(p, views, m.ws, z, (a.start - burns[waiting]) * C, burns[waiting], null, null);
    takeBurnInState(a, m.ws, burns[waiting], p.hidden);
  }
}

function burnArgs(slot: Slot, burn: number, C: number): EncodeArgs {
  return { xOff: (slot.start - burn) * C, L: burn, h0: null, c0: null };
}

function takeBurnInState(slot: Slot, ws: Workspace, burn: number, H: number): void {
  slot.hBuf.set(ws.encH.subarray(burn * H, (burn + 1) * H));
  slot.cBuf.set(ws.encC.subarray(burn * H, (burn + 1) * H));
  slot.h0 = slot.hBuf;
  slot.c0 = slot.cBuf;
}

/**
 * Trains a model on a series of normal data (docs/MODEL.md, "Training protocol"). Throws RangeError for bad
 * options, a series too short to learn from (saying how many readings are needed), or non-finite values.
 */
export function trainModel(series: TrainSeries, opts: TrainOptions, onProgress?: (p: TrainProgress) => void): TrainResult {
  const t0 = (opts.now ?? (() => performance.now()))();
  const { rows, splits, windows, valRanges, o } = layout(series, resolveTrainOptions(opts), opts.stride !== undefined);
  const C = series.channels.length;
  const T = o.window;
  const trainRanges = splits.map((s) => ({ from: s.start, to: s.trainEnd }));
  const trainStreams = trainRanges.map((r) => ({ burnFrom: r.from, ...r }));
  const normalisation = fitNormalisation(series.values, C, trainRanges, o.minStd);
  const z = normalise(series.values, C, normalisation);
  const rng = mulberry32(o.seed);
  const dims = { cell: o.cell, channels: C, hidden: o.hidden };
  const p = initParams(dims, rng);
  if (opts.init !== undefined) {
    const i = opts.init;
    if (i.cell !== dims.cell || i.hidden !== dims.hidden || i.channels !== dims.channels) {
      throw new RangeError(`init: a ${i.cell} of hidden ${i.hidden}, ${i.channels} channel(s) cannot start a ${dims.cell} of hidden ${dims.hidden}, ${dims.channels} channel(s)`);
    }
    copyParams(fromSeq2SeqParams(i), p);
  }
  const best = zeroParams(dims);
  copyParams(p, best);
  const adam = createAdam(dims);
  const m: BatchMachinery = {
    ws: createWorkspace(dims, T),
    bs: createBackwardScratch(o.hidden, C),
    grads: zeroParams(dims),
    slots: [],
    burns: new Int32Array(o.batchSize),
  };
  const validate = (): number => evaluateStream(p, z, valRanges, T, o.hop, o.predWeight, m.ws).loss;

  const initialValLoss = validate();
  const losses: EpochLoss[] = [];
  // Shuffled indices into `windows`, so each start keeps its burn-in.
  const order = Int32Array.from(windows.starts, (_, i) => i);
  const budget = trainingBudget(order.length, o);
  const { batches, epochs: maxEpochs } = budget;
  const stopper = new EarlyStopping(budget, o.minImprovement, initialValLoss);
  const totalBatches = batches * maxEpochs;
  let batchesDone = 0;

  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    const epochStart = o.now();
    shuffle(rng, order);
    let lossSum = 0;
    for (let b = 0; b < batches; b++) {
      const batch = fillBatch(windows, order, b * o.batchSize, o.batchSize, p, m, z, o, rng);
      lossSum += batchGradient(p, m.grads, m.ws, m.bs, z, batch, o.predWeight).loss;
      clipGlobalNorm(m.grads, o.clip);
      adamStep(p, m.grads, adam, { lr: o.lr, ...ADAM_DEFAULTS });
      batchesDone++;
      if (onProgress) {
        const elapsedMs = o.now() - t0;
        onProgress({
          epoch, maxEpochs, batch: b + 1, batches, trainLoss: lossSum / (b + 1),
          valLoss: losses.length > 0 ? losses[losses.length - 1].val : initialValLoss, bestValLoss: stopper.bestValLoss,
          epochDone: false, elapsedMs, etaMs: (elapsedMs / batchesDone) * (totalBatches - batchesDone),
        });
      }
    }
    const val = validate();
    losses.push({ epoch, train: lossSum / batches, val, ms: o.now() - epochStart });
    const verdict = stopper.observe(epoch, val, batchesDone);
    if (verdict.best) copyParams(p, best);
    if (onProgress) {
      const elapsedMs = o.now() - t0;
      onProgress({
        epoch, maxEpochs, batch: batches, batches, trainLoss: lossSum / batches, valLoss: val, bestValLoss: stopper.bestValLoss,
        epochDone: true, elapsedMs, etaMs: (elapsedMs / batchesDone) * (totalBatches - batchesDone),
      });
    }
    if (verdict.stop) break;
  }

  const calib = evaluateStream(best, z, valRanges, T, o.hop, o.predWeight, m.ws);
  // Measured the detector's way (from a zero state at each segment's start), like the validation loss, so the two are comparable.
  const finalTrain = evaluateStream(best, z, trainStreams, T, o.hop, o.predWeight, m.ws);
  const vsPersistence = predVsPersistence(calib.predErrors, persistenceErrors(z, C, valRanges));
  const warnings = vsPersistence > 1 ? [persistenceWarning(vsPersistence, calib.predErrors.length)] : [];
  return {
    params: toSeq2SeqParams(best),
    normalisation,
    calibration: calibrate(calib.reconErrors, calib.predErrors, o.minLogErrStd, o.threshold, { errors: shortMeanErrors(calib, C, o.biasSpan), span: o.biasSpan }),
    losses,
    bestEpoch: stopper.bestEpoch,
    stoppedEarly: losses.length < maxEpochs,
    maxEpochs,
    steps: batchesDone,
    predVsPersistence: vsPersistence,
    warnings,
    window: T,
    hop: o.hop,
    requestedWindow: opts.window ?? TRAIN_DEFAULTS.window,
    channels: [...series.channels],
    training: {
      source: o.source,
      rows,
      trainWindows: windows.starts.length,
      valWindows: calib.reconErrors.length,
      epochs: losses.length,
      steps: batchesDone,
      predVsPersistence: Number.isFinite(vsPersistence) ? vsPersistence : null,
      finalTrainLoss: finalTrain.loss,
      finalValLoss: stopper.bestValLoss,
      initialValLoss,
      seed: o.seed,
      seconds: (o.now() - t0) / 1000,
    },
  };
}

function fillBatch(
  windows: TrainWindows,
  order: Int32Array,
  from: number,
  size: number,
  p: Seq2SeqParams64,
  m: BatchMachinery,
  z: Float64Array,
  o: ResolvedTrainOptions,
  rng: Rng,
): Slot[] {
  const n = Math.min(size, order.length - from);
  while (m.slots.length < size) {
    m.slots.push({ start: 0, length: 0, hasNext: false, h0: null, c0: null, hBuf: new Float64Array(p.hidden), cBuf: new Float64Array(p.hidden) });
  }
  const slots = n === m.slots.length ? m.slots : m.slots.slice(0, n);
  const burns = m.burns.subarray(0, n);
  for (let i = 0; i < n; i++) {
    const w = order[from + i];
    burns[i] = prepareSlot(slots[i], windows.starts[w], windows.burnIn[w], o, rng);
  }
  runBurnIns(slots, burns, p, m, z);
  return slots;
}

/** A training's epoch budget and early-stopping limits (trainingBudget). */
export interface TrainingBudget {
  /** Batches (optimiser steps) per epoch: ⌈windows / batchSize⌉. */
  readonly batches: number;
  /** Most epochs: max(epochs, ⌈minSteps / batches⌉). */
  readonly epochs: number;
  /** Epochs without a significant improvement before stopping: max(patience, ⌈patienceSteps / batches⌉). */
  readonly patienceEpochs: number;
  /** Steps before which early stopping cannot end the training: min(minStepsBeforeStop, batches · epochs). */
  readonly minStepsBeforeStop: number;
}

/**
 * The budget of a training over `windows` training windows (≥ 1), in optimiser steps as well as epochs: at least
 * `minSteps` steps (more epochs for a series of few windows; a series with many keeps `epochs`), early stopping not
 * before `minStepsBeforeStop` steps and with a patience of at least `patienceSteps` steps. Minimum training length
 * before a stopping criterion applies and best-weights restoration: Prechelt (1998), "Early stopping - but when?",
 * in Neural Networks: Tricks of the Trade, LNCS 1524. Throws RangeError for fewer than one window.
 */
export function trainingBudget(
  windows: number,
  o: Pick<ResolvedTrainOptions, 'batchSize' | 'epochs' | 'minSteps' | 'minStepsBeforeStop' | 'patience' | 'patienceSteps'>,
): TrainingBudget {
  if (!(Number.isInteger(windows) && windows >= 1)) throw new RangeError(`a training needs at least one window, got ${windows}`);
  const batches = Math.ceil(windows / o.batchSize);
  const epochs = Math.max(o.epochs, Math.ceil(o.minSteps / batches));
  return {
    batches,
    epochs,
    patienceEpochs: Math.max(o.patience, Math.ceil(o.patienceSteps / batches)),
    minStepsBeforeStop: Math.min(o.minStepsBeforeStop, batches * epochs),
  };
}

/**
 * Early stopping over a training's epochs (trainingBudget's limits): tracks the lowest validation loss (whose
 * weights the trainer keeps) and says when to stop: after `patienceEpochs` epochs without a significant
 * improvement (below (1 − minImprovement) × the loss of the last significant one: a run of small gains counts
 * once it adds up), and never before `minStepsBeforeStop` optimiser steps. Prechelt (1998), "Early stopping -
 * but when?": a minimum training length before the criterion applies, and the best weights restored.
 */
export class EarlyStopping {
  private lastSignificant: number;
  private sinceSignificant = 0;
  /** The lowest validation loss seen, the initial model's included. */
  bestValLoss: number;
  /** The epoch of bestValLoss (0: the initial model). */
  bestEpoch = 0;

  constructor(
    private readonly budget: Pick<TrainingBudget, 'patienceEpochs' | 'minStepsBeforeStop'>,
    private readonly minImprovement: number,
    initialValLoss: number,
  ) {
    this.bestValLoss = initialValLoss;
    this.lastSignificant = initialValLoss;
  }

  /** Records epoch `epoch`'s validation loss after `steps` optimiser steps in all: `best` when it is the lowest yet, `stop` when training should end. */
  observe(epoch: number, val: number, steps: number): { readonly best: boolean; readonly stop: boolean } {
    const best = val < this.bestValLoss;
    if (best) {
      this.bestValLoss = val;
      this.bestEpoch = epoch;
    }
    if (val < this.lastSignificant * (1 - this.minImprovement)) {
      this.lastSignificant = val;
      this.sinceSignificant = 0;
    } else {
      this.sinceSignificant++;
    }
    return { best, stop: this.sinceSignificant >= this.budget.patienceEpochs && steps >= this.budget.minStepsBeforeStop };
  }
}

/** The warning for a model whose validation prediction MSE is `ratio` (> 1) times persistence's, over `n` predictions. */
export function persistenceWarning(ratio: number, n: number): string {
  return (
    `the model predicts the next reading worse than persistence (repeating the last reading) on its validation tail: ` +
    `prediction MSE ${ratio.toFixed(2)}x persistence's (RMSE ${Math.sqrt(ratio).toFixed(2)}x) over ${n} readings`
  );
}

/** The sidecar of a trained model: everything but the bookkeeping `writeModel` adds itself. */
export function sidecarOf(name: string, result: TrainResult): SidecarInput {
  return {
    name,
    cell: result.params.cell,
    hidden: result.params.hidden,
    channels: result.channels,
    window: result.window,
    hop: result.hop,
    normalisation: result.normalisation,
    calibration: result.calibration,
    training: result.training,
  };
}

/**
 * Running a model over a series exactly as the detector does: full windows every `hop` rows, the
 * encoder state carried from one window to the next (advance = hop), starting from zero.
 * Used for the validation loss, for calibration, and by anyone who wants to score a series offline.
 */
import type { Normalisation, Seq2SeqParams } from '../model/spec.js';
import {
  createWorkspace,
  decode,
  decodePair,
  encode,
  encodeContinued,
  fromSeq2SeqParams,
  layerViews,
  pairOf,
  type Seq2SeqParams64,
  type Workspace,
} from './seq2seq.js';

export interface CarriedEvaluation {
  /** First row of each window. */
  readonly starts: Int32Array;
  /** Masked reconstruction MSE per window (normalised units), as the detector's WindowResult.reconError. */
  readonly reconErrors: Float64Array;
  /** Per window and channel, [window * C + c]. */
  readonly channelErrors: Float64Array;
  /** The training loss formula over these windows (recon MSE + predWeight * prediction MSE). */
  readonly loss: number;
  readonly reconLoss: number;
  readonly predLoss: number;
  /** Windows whose next reading lies inside the evaluated rows (the prediction loss's denominator). */
  readonly predictions: number;
}

/** Rows [from, to) of a series. */
export interface RowRange {
  readonly from: number;
  readonly to: number;
}

/** Starts of the full windows of length T in rows [from, to), every hop rows. */
export function windowStarts(from: number, to: number, T: number, hop: number): Int32Array {
  const n = to - from >= T ? Math.floor((to - from - T) / hop) + 1 : 0;
  const starts = new Int32Array(n);
  for (let k = 0; k < n; k++) starts[k] = from + k * hop;
  return starts;
}

/** `series` is normalised, rows of C values; only rows [from, to) are read. */
export function evaluateCarried(
  p: Seq2SeqParams64,
  series: Float64Array,
  from: number,
  to: number,
  T: number,
  hop: number,
  predWeight: number,
  ws: Workspace = createWorkspace(p, T),
): CarriedEvaluation {
  const C = p.channels;
  const views = layerViews(p);
  const starts = windowStarts(from, to, T, hop);
  const reconErrors = new Float64Array(starts.length);
  const channelErrors = new Float64Array(starts.length * C);
  const advance = Math.min(hop, T);
  let reconSum = 0;
  let predSum = 0;
  let withNext = 0;
  const score = (k: number, w: Workspace): void => {
    const off = starts[k] * C;
    let windowSum = 0;
    for (let ch = 0; ch < C; ch++) {
      let s = 0;
      for (let t = 0; t < T; t++) {
        const d = w.recon[t * C + ch] - series[off + t * C + ch];
        s += d * d;
      }
      channelErrors[k * C + ch] = s / T;
      windowSum += s;
    }
    reconErrors[k] = windowSum / (T * C);
    reconSum += windowSum;
    const next = starts[k] + T;
    if (next < to) {
      withNext++;
      for (let ch = 0; ch < C; ch++) predSum += (w.pred[ch] - series[next * C + ch]) ** 2;
    }
  };
  // Consecutive windows overlap by T - hop steps of the same stream from the same carried state, so the
  // encoder only runs the new steps (encodeContinued) in `ws`. The decoders depend only on each window's
  // final encoder state, so they run two windows at a time, the earlier one's state copied to `wsB`.
  const wsB = pairOf(ws);
  const H = p.hidden;
  for (let k = 0; k < starts.length; k += 2) {
    if (k === 0) encode(p, views, ws, series, starts[k] * C, T, null, null);
    else encodeContinued(p, views, ws, series, starts[k] * C, T, advance);
    if (k + 1 === starts.length) {
      decode(p, views, ws, T);
      score(k, ws);
      break;
    }
    wsB.encH.set(ws.encH.subarray(T * H, (T + 1) * H), T * H);
    wsB.encC.set(ws.encC.subarray(T * H, (T + 1) * H), T * H);
    encodeContinued(p, views, ws, series, starts[k + 1] * C, T, advance);
    decodePair(p, views, wsB, ws, T, T);
    score(k, wsB);
    score(k + 1, ws);
  }
  const reconLoss = starts.length === 0 ? 0 : reconSum / (C * T * starts.length);
  const predLoss = withNext === 0 ? 0 : predSum / (C * withNext);
  return { starts, reconErrors, channelErrors, loss: reconLoss + predWeight * predLoss, reconLoss, predLoss, predictions: withNext };
}

/**
 * evaluateCarried over several independent ranges (the segments of a series), each from a zero state as
 * after a reset, pooled as if one evaluation: every window and every prediction weighs the same.
 */
export function evaluateRanges(
  p: Seq2SeqParams64,
  series: Float64Array,
  ranges: readonly RowRange[],
  T: number,
  hop: number,
  predWeight: number,
  ws: Workspace = createWorkspace(p, T),
): CarriedEvaluation {
  const parts = ranges.map((r) => evaluateCarried(p, series, r.from, r.to, T, hop, predWeight, ws));
  if (parts.length === 1) return parts[0];
  const windows = parts.reduce((n, e) => n + e.starts.length, 0);
  const predictions = parts.reduce((n, e) => n + e.predictions, 0);
  const reconLoss = windows === 0 ? 0 : parts.reduce((s, e) => s + e.reconLoss * e.starts.length, 0) / windows;
  const predLoss = predictions === 0 ? 0 : parts.reduce((s, e) => s + e.predLoss * e.predictions, 0) / predictions;
  return {
    starts: concat(Int32Array, parts.map((e) => e.starts)),
    reconErrors: concat(Float64Array, parts.map((e) => e.reconErrors)),
    channelErrors: concat(Float64Array, parts.map((e) => e.channelErrors)),
    loss: reconLoss + predWeight * predLoss,
    reconLoss,
    predLoss,
    predictions,
  };
}

function concat<A extends Int32Array | Float64Array>(Ctor: new (n: number) => A, arrays: readonly A[]): A {
  const out = new Ctor(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

export function normalise(values: Float64Array, channels: number, norm: Normalisation): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    out[i] = (values[i] - norm.mean[c]) / norm.std[c];
  }
  return out;
}

export interface ScoreOptions {
  readonly window: number;
  readonly hop: number;
}

/**
 * Scores every full window of a raw (un-normalised) series with a trained model, carrying state
 * like the detector. Returns per-window masked reconstruction MSE in normalised units.
 */
export function scoreSeries(
  params: Seq2SeqParams | Seq2SeqParams64,
  normalisation: Normalisation,
  values: Float64Array,
  opts: ScoreOptions,
): CarriedEvaluation {
  const p = params.encW instanceof Float64Array ? (params as Seq2SeqParams64) : fromSeq2SeqParams(params);
  const C = p.channels;
  if (values.length % C !== 0) throw new RangeError(`values has ${values.length} numbers, not a multiple of ${C} channels`);
  const z = normalise(values, C, normalisation);
  return evaluateCarried(p, z, 0, values.length / C, opts.window, opts.hop, 0);
}

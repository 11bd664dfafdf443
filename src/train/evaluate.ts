/**
 * Running a model over a series exactly as the step detector does (docs/MODEL.md, "Calibration"): one
 * recurrent step per reading with the state carried for ever from a reset (zero state), a next-reading
 * prediction at every step, and every `hop` steps a reconstruction of the last min(W, steps since the reset)
 * steps by the decoder from the current state. Used for the validation loss, for calibration, and by anyone
 * who wants to score a series offline.
 */
import type { Normalisation, Seq2SeqParams } from '../model/spec.js';
import {
  createWorkspace,
  decode,
  decodePair,
  encode,
  fromSeq2SeqParams,
  layerViews,
  predictSteps,
  type LayerViews,
  type Seq2SeqParams64,
  type Workspace,
} from './seq2seq.js';

/** Rows [from, to) of a series. */
export interface RowRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Rows [from, to) scored, the state stepped from zero at `burnFrom` (<= from): rows [burnFrom, from) only
 * carry the state in (a burn-in), as the detector's state carries the stream's past.
 */
export interface StreamRange extends RowRange {
  readonly burnFrom: number;
}

export interface StreamEvaluation {
  /** Per reconstruction: the row after the last step it reconstructs (it covers rows [end − length, end)). */
  readonly decodeEnds: Int32Array;
  /** Per reconstruction: steps reconstructed, min(W, steps since the reset). */
  readonly decodeLengths: Int32Array;
  /** Per reconstruction: mean squared error over its steps and channels (normalised units). */
  readonly reconErrors: Float64Array;
  /** Per reconstruction and channel, [k * C + c]: mean squared error over its steps. */
  readonly channelErrors: Float64Array;
  /** Per scored row t with row t+1 inside the range: mean over channels of (pred[t] − x[t+1])². */
  readonly predErrors: Float64Array;
  /** Per prediction k (predErrors' order) and channel c, [k * C + c]: the signed residual x[t+1] − pred[t] (normalised units). */
  readonly residuals: Float64Array;
  /** Per range (in the order given): how many predictions were made up to its end, so range i's are [rangeEnds[i−1], rangeEnds[i]). */
  readonly rangeEnds: Int32Array;
  /** The training loss formula over these steps: reconLoss + predWeight · predLoss. */
  readonly loss: number;
  /** Squared reconstruction error over all reconstructed steps and channels, per step and channel. */
  readonly reconLoss: number;
  /** Mean of predErrors. */
  readonly predLoss: number;
}

/** Growable typed-array accumulators, so one evaluation allocates a handful of arrays. */
class Grow<A extends Float64Array | Int32Array> {
  private data: A;
  length = 0;

  constructor(private readonly make: (n: number) => A) {
    this.data = make(256);
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  result(): A {
    return this.data.slice(0, this.length) as A;
  }
}

interface Accumulators {
  readonly decodeEnds: Grow<Int32Array>;
  readonly decodeLengths: Grow<Int32Array>;
  readonly reconErrors: Grow<Float64Array>;
  readonly channelErrors: Grow<Float64Array>;
  readonly predErrors: Grow<Float64Array>;
  readonly residuals: Grow<Float64Array>;
  reconSum: number;
  reconCount: number;
  predSum: number;
}

/** A reconstruction waiting for a partner, so decoders run two at a time (decodePair). */
interface PendingDecode {
  readonly end: number;
  readonly length: number;
}

/** Everything one evaluation needs, allocated once per call. */
interface Machinery {
  readonly p: Seq2SeqParams64;
  readonly views: LayerViews;
  readonly series: Float64Array;
  readonly W: number;
  /** Encoder steps of up to ws.T rows at a time. */
  readonly ws: Workspace;
  /** The two decoders of a pair: the state goes in encH row `length`, where decode() starts. */
  readonly decA: Workspace;
  readonly decB: Workspace;
  readonly h: Float64Array;
  readonly c: Float64Array;
  readonly acc: Accumulators;
  pending: PendingDecode | null;
}

/**
 * Evaluates `ranges` of a normalised series (rows of C values) the detector's way, pooled as one: every
 * reconstruction and every prediction weighs the same. `ws` (optional) is reused for the encoder steps
 * when it is large enough. Throws RangeError for a range outside the series or with burnFrom > from.
 */
export function evaluateStream(
  p: Seq2SeqParams64,
  series: Float64Array,
  ranges: readonly StreamRange[],
  W: number,
  hop: number,
  predWeight: number,
  ws?: Workspace,
): StreamEvaluation {
  const C = p.channels;
  const rows = series.length / C;
  if (!Number.isInteger(W) || W < 1 || !Number.isInteger(hop) || hop < 1) throw new RangeError(`W and hop must be positive integers, got ${W}, ${hop}`);
  for (const r of ranges) {
    if (!(r.burnFrom >= 0 && r.burnFrom <= r.from && r.from <= r.to && r.to <= rows)) {
      throw new RangeError(`range [${r.burnFrom} .. ${r.from} .. ${r.to}) does not fit a series of ${rows} rows`);
    }
  }
  const chunk = Math.max(W, hop);
  const m: Machinery = {
    p,
    views: layerViews(p),
    series,
    W,
    ws: ws !== undefined && ws.T >= chunk ? ws : createWorkspace(p, chunk),
    decA: createWorkspace(p, W),
    decB: createWorkspace(p, W),
    h: new Float64Array(p.hidden),
    c: new Float64Array(p.hidden),
    acc: {
      decodeEnds: new Grow((n) => new Int32Array(n)),
      decodeLengths: new Grow((n) => new Int32Array(n)),
      reconErrors: new Grow((n) => new Float64Array(n)),
      channelErrors: new Grow((n) => new Float64Array(n)),
      predErrors: new Grow((n) => new Float64Array(n)),
      residuals: new Grow((n) => new Float64Array(n)),
      reconSum: 0,
      reconCount: 0,
      predSum: 0,
    },
    pending: null,
  };
  const rangeEnds = new Int32Array(ranges.length);
  ranges.forEach((r, i) => {
    evaluateRange(m, r, hop);
    rangeEnds[i] = m.acc.predErrors.length;
  });
  flushDecode(m);
  const a = m.acc;
  const reconLoss = a.reconCount === 0 ? 0 : a.reconSum / (C * a.reconCount);
  const predLoss = a.predErrors.length === 0 ? 0 : a.predSum / a.predErrors.length;
  return {
    decodeEnds: a.decodeEnds.result(),
    decodeLengths: a.decodeLengths.result(),
    reconErrors: a.reconErrors.result(),
    channelErrors: a.channelErrors.result(),
    predErrors: a.predErrors.result(),
    residuals: a.residuals.result(),
    rangeEnds,
    loss: reconLoss + predWeight * predLoss,
    reconLoss,
    predLoss,
  };
}

function evaluateRange(m: Machinery, r: StreamRange, hop: number): void {
  m.h.fill(0);
  m.c.fill(0);
  // Burn-in: carry the state in, nothing scored.
  for (let t = r.burnFrom; t < r.from; ) {
    const n = Math.min(m.ws.T, r.from - t);
    stepRows(m, t, n, r.to, false);
    t += n;
  }
  for (let t = r.from; t < r.to; ) {
    const n = Math.min(hop, r.to - t);
    stepRows(m, t, n, r.to, true);
    t += n;
    // The detector reconstructs every hop steps; a last, shorter chunk at the end of the range does not.
    if (n === hop) queueDecode(m, t, Math.min(m.W, t - r.burnFrom));
  }
}

/** n encoder steps from row `from` with the carried state; with `score`, the predictions whose target is below `to`. */
function stepRows(m: Machinery, from: number, n: number, to: number, score: boolean): void {
  const { p, ws, series } = m;
  const { hidden: H, channels: C } = p;
  encode(p, m.views, ws, series, from * C, n, m.h, p.cell === 'lstm' ? m.c : null);
  m.h.set(ws.encH.subarray(n * H, (n + 1) * H));
  m.c.set(ws.encC.subarray(n * H, (n + 1) * H));
  if (!score) return;
  const scored = Math.min(n, to - 1 - from);
  if (scored <= 0) return;
  predictSteps(p, ws, 0, scored);
  const acc = m.acc;
  for (let t = 0; t < scored; t++) {
    let s = 0;
    const next = (from + t + 1) * C;
    for (let c = 0; c < C; c++) {
      const r = series[next + c] - ws.preds[t * C + c];
      acc.residuals.push(r);
      s += r * r;
    }
    acc.predErrors.push(s / C);
    acc.predSum += s / C;
  }
}

/** Reconstruct rows [end − length, end) from the current state; runs when a second one arrives (or at the end). */
function queueDecode(m: Machinery, end: number, length: number): void {
  const H = m.p.hidden;
  if (m.pending === null) {
    m.decA.encH.set(m.h, length * H);
    m.decA.encC.set(m.c, length * H);
    m.pending = { end, length };
    return;
  }
  m.decB.encH.set(m.h, length * H);
  m.decB.encC.set(m.c, length * H);
  decodePair(m.p, m.views, m.decA, m.decB, m.pending.length, length);
  scoreDecode(m, m.decA, m.pending.end, m.pending.length);
  scoreDecode(m, m.decB, end, length);
  m.pending = null;
}

function flushDecode(m: Machinery): void {
  if (m.pending === null) return;
  decode(m.p, m.views, m.decA, m.pending.length);
  scoreDecode(m, m.decA, m.pending.end, m.pending.length);
  m.pending = null;
}

function scoreDecode(m: Machinery, w: Workspace, end: number, length: number): void {
  const C = m.p.channels;
  const off = (end - length) * C;
  const acc = m.acc;
  let sum = 0;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let t = 0; t < length; t++) {
      const d = w.recon[t * C + c] - m.series[off + t * C + c];
      s += d * d;
    }
    acc.channelErrors.push(s / length);
    sum += s;
  }
  acc.decodeEnds.push(end);
  acc.decodeLengths.push(length);
  acc.reconErrors.push(sum / (length * C));
  acc.reconSum += sum;
  acc.reconCount += length;
}

/**
 * Persistence's (the naive "next reading = this one" forecast's) squared errors over the same readings as
 * evaluateStream's predErrors: for every row t of each range with t+1 inside it, the mean over the C channels of
 * (x[t+1] − x[t])², in the series' units (normalised units for a normalised series). Burn-in rows are not scored.
 */
export function persistenceErrors(series: Float64Array, C: number, ranges: readonly RowRange[]): Float64Array {
  const n = ranges.reduce((k, r) => k + Math.max(0, r.to - 1 - r.from), 0);
  const out = new Float64Array(n);
  let i = 0;
  for (const r of ranges) {
    for (let t = r.from; t + 1 < r.to; t++, i++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += (series[(t + 1) * C + c] - series[t * C + c]) ** 2;
      out[i] = s / C;
    }
  }
  return out;
}

/**
 * A model's next-reading prediction MSE as a multiple of persistence's over the same readings: Σ model / Σ
 * persistence (docs/MODEL.md's "vs next = last"); below 1 the model beats repeating the last reading. NaN when
 * persistence's errors sum to 0 (a flat series). Throws RangeError when the two do not cover the same readings.
 */
export function predVsPersistence(modelErrors: Float64Array, persistence: Float64Array): number {
  if (modelErrors.length !== persistence.length) {
    throw new RangeError(`model and persistence errors cover ${modelErrors.length} and ${persistence.length} readings`);
  }
  let model = 0;
  let naive = 0;
  for (let i = 0; i < modelErrors.length; i++) {
    model += modelErrors[i];
    naive += persistence[i];
  }
  return naive === 0 ? Number.NaN : model / naive;
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
  /** W: the most steps a reconstruction covers. */
  readonly window: number;
  /** Steps between reconstructions. */
  readonly hop: number;
}

/**
 * Scores a raw (un-normalised) series with a trained model the detector's way, from a zero state at row 0:
 * per-step prediction errors and a reconstruction error every hop steps, in normalised units.
 * Throws RangeError when the values are not whole rows of the model's channels.
 */
export function scoreSeries(
  params: Seq2SeqParams | Seq2SeqParams64,
  normalisation: Normalisation,
  values: Float64Array,
  opts: ScoreOptions,
): StreamEvaluation {
  const p = params.encW instanceof Float64Array ? (params as Seq2SeqParams64) : fromSeq2SeqParams(params);
  const C = p.channels;
  if (values.length % C !== 0) throw new RangeError(`values has ${values.length} numbers, not a multiple of ${C} channels`);
  const z = normalise(values, C, normalisation);
  const rows = values.length / C;
  return evaluateStream(p, z, [{ burnFrom: 0, from: 0, to: rows }], opts.window, opts.hop, 0);
}

/**
 * The errors behind the detector's `bias` evidence (src/pipeline/scorer.ts): per channel, the square of the mean
 * of `span` consecutive signed next-reading residuals (x[t+1] − pred[t], normalised units: the stream's std, as the
 * scorer divides by its running std), for every run of `span` predictions inside one range of `ev` (a boxcar that
 * slides one prediction at a time; it never spans two ranges, whose states start over). Channels pooled: one value
 * per (run, channel). Empty when no range holds `span` predictions. Throws RangeError for a span below 1.
 */
export function shortMeanErrors(ev: Pick<StreamEvaluation, 'residuals' | 'rangeEnds'>, C: number, span: number): Float64Array {
  if (!Number.isInteger(span) || span < 1) throw new RangeError(`span must be a positive integer, got ${span}`);
  const out: number[] = [];
  let start = 0;
  for (const end of ev.rangeEnds) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let k = start; k < end; k++) {
        sum += ev.residuals[k * C + c];
        if (k - span >= start) sum -= ev.residuals[(k - span) * C + c];
        if (k - start + 1 >= span) out.push((sum / span) ** 2);
      }
    }
    start = end;
  }
  return Float64Array.from(out);
}

/**
 * Masked loss of docs/MODEL.md over a batch of windows and its gradient by backpropagation through
 * time (decoder, readout, per-step prediction head, encoder). Windows are addressed inside one normalised
 * series, so a batch copies no data.
 */
import { gateCount } from '../model/spec.js';
import {
  accumulateAffineGrad,
  accumulateOuterProducts,
  accumulateTransposed,
  cacheWidth,
  gruStepGrads,
  lstmStepGrads,
  recurrentBack,
  recurrentBack2,
  transposeInto,
} from './cells.js';
import {
  PARAM_NAMES,
  decodePair,
  encodePair,
  forwardInto,
  pairOf,
  predictSteps,
  layerViews,
  type LayerViews,
  type Seq2SeqParams64,
  type EncodeArgs,
  type Workspace,
} from './seq2seq.js';

/** One training or validation window inside a series of rows of C values. */
export interface WindowItem {
  /** Row of the window's first step. */
  readonly start: number;
  /** Valid steps (1..T); the rest is padding. */
  readonly length: number;
  /** Row start+length exists, so the last step's prediction has a target (every other step's target is in the window). */
  readonly hasNext: boolean;
  /** Initial encoder state (null = zeros). */
  readonly h0: Float64Array | null;
  readonly c0: Float64Array | null;
}

export interface LossParts {
  /** recon + predWeight * pred: the quantity that is minimised. */
  readonly loss: number;
  /** Masked reconstruction MSE over all valid steps and channels of the batch. */
  readonly recon: number;
  /** Per-step prediction MSE over every step with a next reading in the series (0 when none has). */
  readonly pred: number;
}

/** Per-batch vectors for the backward pass, allocated once. */
export interface BackwardScratch {
  dh: Float64Array;
  dhPrev: Float64Array;
  dc: Float64Array;
  dcPrev: Float64Array;
  readonly dy: Float64Array;
}

export function createBackwardScratch(hidden: number, channels: number): BackwardScratch {
  return {
    dh: new Float64Array(hidden),
    dhPrev: new Float64Array(hidden),
    dc: new Float64Array(hidden),
    dcPrev: new Float64Array(hidden),
    dy: new Float64Array(channels),
  };
}

interface Normalisers {
  readonly recon: number;
  readonly pred: number;
}

/** Steps of a window whose prediction has a target: all but the last, and the last when the next row exists. */
function predTargets(it: WindowItem): number {
  return it.length - 1 + (it.hasNext ? 1 : 0);
}

function normalisers(items: readonly WindowItem[], C: number, predWeight: number): Normalisers {
  let steps = 0;
  let targets = 0;
  for (const it of items) {
    steps += it.length;
    targets += predTargets(it);
  }
  return { recon: 1 / (C * steps), pred: targets === 0 ? 0 : predWeight / (C * targets) };
}

function reconSquaredError(ws: Workspace, series: Float64Array, it: WindowItem, C: number): number {
  let sum = 0;
  const off = it.start * C;
  for (let i = 0; i < it.length * C; i++) {
    const d = ws.recon[i] - series[off + i];
    sum += d * d;
  }
  return sum;
}

/** Σ over the window's steps with a target of Σ_c (preds[t, c] − x[t+1, c])²; needs predictSteps first. */
function predSquaredError(ws: Workspace, series: Float64Array, it: WindowItem, C: number): number {
  let sum = 0;
  const n = predTargets(it) * C;
  const off = (it.start + 1) * C;
  for (let i = 0; i < n; i++) {
    const d = ws.preds[i] - series[off + i];
    sum += d * d;
  }
  return sum;
}

function combine(reconSum: number, predSum: number, n: Normalisers, predWeight: number): LossParts {
  const recon = reconSum * n.recon;
  const predTerm = predSum * n.pred;
  return { loss: recon + predTerm, recon, pred: predWeight === 0 ? 0 : predTerm / predWeight };
}

/** Forward only. */
export function batchLoss(
  p: Seq2SeqParams64,
  ws: Workspace,
  series: Float64Array,
  items: readonly WindowItem[],
  predWeight: number,
): LossParts {
  const C = p.channels;
  const views = layerViews(p);
  const n = normalisers(items, C, predWeight);
  let reconSum = 0;
  let predSum = 0;
  for (const it of items) {
    forwardInto(p, views, ws, series, it.start * C, it.length, it.h0, it.c0);
    predictSteps(p, ws, 0, predTargets(it));
    reconSum += reconSquaredError(ws, series, it, C);
    predSum += predSquaredError(ws, series, it, C);
  }
  return combine(reconSum, predSum, n, predWeight);
}

export function zeroGrads(g: Seq2SeqParams64): void {
  for (const name of PARAM_NAMES) g[name].fill(0);
}

/** Overwrites `grads` with dLoss/dParams for the batch and returns the loss. */
export function batchGradient(
  p: Seq2SeqParams64,
  grads: Seq2SeqParams64,
  ws: Workspace,
  bs: BackwardScratch,
  series: Float64Array,
  items: readonly WindowItem[],
  predWeight: number,
): LossParts {
  const C = p.channels;
  const views = layerViews(p);
  const n = normalisers(items, C, predWeight);
  const GH = gateCount(p.cell) * p.hidden;
  // The backward steps read Rᵀ row by row; the weights are fixed for the batch, so transpose once here.
  transposeInto(ws.encRT, p.encR, GH, p.hidden);
  transposeInto(ws.decRT, p.decR, GH, p.hidden);
  zeroGrads(grads);
  const ctx: BackwardContext = {
    p, grads, views, gViews: layerViews(grads), series, GH, reconScale: 2 * n.recon, predScale: 2 * n.pred, encRT: ws.encRT, decRT: ws.decRT,
  };
  let reconSum = 0;
  let predSum = 0;
  const addLoss = (w: Workspace, it: WindowItem): void => {
    predictSteps(p, w, 0, predTargets(it));
    reconSum += reconSquaredError(w, series, it, C);
    predSum += predSquaredError(w, series, it, C);
  };
  // Windows go two at a time, forward and backward, so that each pass over the weights serves both.
  let i = 0;
  for (; i + 1 < items.length; i += 2) {
    const a: Lane = { ws, bs, it: items[i] };
    const b: Lane = { ws: pairOf(ws), bs: pairScratch(bs), it: items[i + 1] };
    encodePair(p, views, a.ws, b.ws, series, encodeArgs(a.it, C), encodeArgs(b.it, C));
    decodePair(p, views, a.ws, b.ws, a.it.length, b.it.length);
    addLoss(a.ws, a.it);
    addLoss(b.ws, b.it);
    backward(ctx, a, b);
  }
  if (i < items.length) {
    const it = items[i];
    forwardInto(p, views, ws, series, it.start * C, it.length, it.h0, it.c0);
    addLoss(ws, it);
    backward(ctx, { ws, bs, it }, null);
  }
  return combine(reconSum, predSum, n, predWeight);
}

function encodeArgs(it: WindowItem, C: number): EncodeArgs {
  return { xOff: it.start * C, L: it.length, h0: it.h0, c0: it.c0 };
}

/** One window being back-propagated: its forward pass and its backward vectors. */
interface Lane {
  readonly ws: Workspace;
  readonly bs: BackwardScratch;
  readonly it: WindowItem;
}

/** What every backward step of a batch shares. */
interface BackwardContext {
  readonly p: Seq2SeqParams64;
  readonly grads: Seq2SeqParams64;
  readonly views: LayerViews;
  readonly gViews: LayerViews;
  readonly series: Float64Array;
  /** Rows of the gate matrices, G*H. */
  readonly GH: number;
  /** dLoss/d(reconstruction squared error sum) and the same for the prediction. */
  readonly reconScale: number;
  readonly predScale: number;
  readonly encRT: Float64Array;
  readonly decRT: Float64Array;
}

/** A second BackwardScratch for the second window of a pair. */
function pairScratch(bs: BackwardScratch): BackwardScratch {
  let pair = scratchPairs.get(bs);
  if (pair === undefined) {
    pair = createBackwardScratch(bs.dh.length, bs.dy.length);
    scratchPairs.set(bs, pair);
  }
  return pair;
}

const scratchPairs = new WeakMap<BackwardScratch, BackwardScratch>();

/** BPTT of one window, or of two in lockstep (b non-null); gradients accumulate into ctx.grads. */
function backward(ctx: BackwardContext, a: Lane, b: Lane | null): void {
  backwardDecoder(ctx, a, b);
  backwardEncoder(ctx, a, b);
}

/** Leaves dL/de (from the reconstruction) in each lane's bs.dh / bs.dc. */
function backwardDecoder(ctx: BackwardContext, a: Lane, b: Lane | null): void {
  const { p, GH } = ctx;
  const H = p.hidden;
  const La = a.it.length;
  const Lb = b === null ? 0 : b.it.length;
  a.bs.dh.fill(0);
  a.bs.dc.fill(0);
  b?.bs.dh.fill(0);
  b?.bs.dc.fill(0);
  for (let k = Math.max(La, Lb) - 1; k >= 0; k--) {
    const inA = k < La;
    const inB = b !== null && k < Lb;
    if (inA) decoderStepGrads(ctx, a, k);
    if (inB) decoderStepGrads(ctx, b, k);
    finishSteps(ctx, ctx.decRT, inA ? a : null, inB ? b : null, k);
  }
  accumulateOuterProducts(ctx.gViews.dec.R, a.ws.dA, a.ws.decH, La, GH, H);
  if (b !== null) accumulateOuterProducts(ctx.gViews.dec.R, b.ws.dA, b.ws.decH, Lb, GH, H);
}

/** Readout gradient of decoder step k (which reconstructs x[L-1-k]), then the step's own. */
function decoderStepGrads(ctx: BackwardContext, lane: Lane, k: number): void {
  const { p, grads, series } = ctx;
  const { hidden: H, channels: C } = p;
  const { ws, bs, it } = lane;
  const t = it.length - 1 - k;
  const xOff = it.start * C;
  for (let c = 0; c < C; c++) bs.dy[c] = ctx.reconScale * (ws.recon[t * C + c] - series[xOff + t * C + c]);
  accumulateAffineGrad(grads.outW, grads.outB, C, H, bs.dy, ws.decH, (k + 1) * H);
  accumulateTransposed(bs.dh, p.outW, C, H, bs.dy);
  stepGrads(ctx, ctx.views.dec, ctx.gViews.dec, ws.decH, 0, ws.decH, ws.decC, k, ws.decCache, lane);
}

/**
 * The prediction head's share of the gradient at encoder state row t+1 (the state after x[t], whose
 * prediction is compared with x[t+1]): added to bs.dh before the encoder step t is back-propagated.
 */
function predStepGrads(ctx: BackwardContext, lane: Lane, t: number): void {
  const { ws, bs, it } = lane;
  if (t === it.length - 1 && !it.hasNext) return;
  const { p, grads, series } = ctx;
  const { hidden: H, channels: C } = p;
  const off = (it.start + t + 1) * C;
  for (let c = 0; c < C; c++) bs.dy[c] = ctx.predScale * (ws.preds[t * C + c] - series[off + c]);
  accumulateAffineGrad(grads.predW, grads.predB, C, H, bs.dy, ws.encH, (t + 1) * H);
  accumulateTransposed(bs.dh, p.predW, C, H, bs.dy);
}

function backwardEncoder(ctx: BackwardContext, a: Lane, b: Lane | null): void {
  const { p, GH } = ctx;
  const H = p.hidden;
  const La = a.it.length;
  const Lb = b === null ? 0 : b.it.length;
  for (let t = Math.max(La, Lb) - 1; t >= 0; t--) {
    const inA = t < La;
    const inB = b !== null && t < Lb;
    if (inA) {
      predStepGrads(ctx, a, t);
      encoderStepGrads(ctx, a, t);
    }
    if (inB) {
      predStepGrads(ctx, b, t);
      encoderStepGrads(ctx, b, t);
    }
    finishSteps(ctx, ctx.encRT, inA ? a : null, inB ? b : null, t);
  }
  accumulateOuterProducts(ctx.gViews.enc.R, a.ws.dA, a.ws.encH, La, GH, H);
  if (b !== null) accumulateOuterProducts(ctx.gViews.enc.R, b.ws.dA, b.ws.encH, Lb, GH, H);
}

function encoderStepGrads(ctx: BackwardContext, lane: Lane, t: number): void {
  const { ws, it } = lane;
  const xOff = (it.start + t) * ctx.p.channels;
  stepGrads(ctx, ctx.views.enc, ctx.gViews.enc, ctx.series, xOff, ws.encH, ws.encC, t, ws.encCache, lane);
}

/**
 * Everything of the backward step `t` of a layer (states in rows of hs / cs: row t in, row t+1 out)
 * except dhPrev += Rᵀ·dL/d(ah), which finishSteps does for both lanes at once. Reads bs.dh / bs.dc
 * (gradient at row t+1), writes bs.dhPrev / bs.dcPrev and the step's dL/d(ah) in row t of ws.dA.
 */
function stepGrads(
  ctx: BackwardContext,
  w: LayerViews['enc'],
  g: LayerViews['enc'],
  x: Float64Array,
  xOff: number,
  hs: Float64Array,
  cs: Float64Array,
  t: number,
  cache: Float64Array,
  lane: Lane,
): void {
  const { p, GH } = ctx;
  const H = p.hidden;
  const { ws, bs } = lane;
  const cOff = t * cacheWidth(p.cell) * H;
  switch (p.cell) {
    case 'gru':
      gruStepGrads(H, w, g, x, xOff, hs, t * H, cache, cOff, bs.dh, bs.dhPrev, ws.dA, t * GH, ws.scratch);
      break;
    case 'lstm':
      lstmStepGrads(H, w, g, x, xOff, cs, t * H, cache, cOff, bs.dh, bs.dc, bs.dhPrev, bs.dcPrev, ws.dA, t * GH);
      break;
  }
}

/** The recurrent back-product of step t for the lanes that ran it, then the gradient at row t becomes current. */
function finishSteps(ctx: BackwardContext, RT: Float64Array, a: Lane | null, b: Lane | null, t: number): void {
  const { GH } = ctx;
  const H = ctx.p.hidden;
  const off = t * GH;
  if (a !== null && b !== null) {
    recurrentBack2(RT, GH, H, a.ws.dA, off, a.bs.dhPrev, b.ws.dA, off, b.bs.dhPrev);
  } else {
    const lane = a ?? b;
    if (lane !== null) recurrentBack(RT, GH, H, lane.ws.dA, off, lane.bs.dhPrev);
  }
  if (a !== null) advance(a.bs, ctx.p.cell);
  if (b !== null) advance(b.bs, ctx.p.cell);
}

function advance(bs: BackwardScratch, cell: Seq2SeqParams64['cell']): void {
  const dh = bs.dh;
  bs.dh = bs.dhPrev;
  bs.dhPrev = dh;
  switch (cell) {
    case 'gru':
      break;
    case 'lstm': {
      const dc = bs.dc;
      bs.dc = bs.dcPrev;
      bs.dcPrev = dc;
      break;
    }
  }
}

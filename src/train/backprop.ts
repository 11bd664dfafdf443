/**
 * Masked loss of docs/MODEL.md over a batch of windows and its gradient by backpropagation through
 * time (decoder, readout, prediction head, encoder). Windows are addressed inside one normalised
 * series, so a batch copies no data.
 */
import { gateCount } from '../model/spec.js';
import {
  accumulateAffineGrad,
  accumulateOuterProducts,
  accumulateTransposed,
  cacheWidth,
  gruBackward,
  lstmBackward,
  transposeInto,
} from './cells.js';
import {
  PARAM_NAMES,
  decodePair,
  encodePair,
  forwardInto,
  pairOf,
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
  /** Row start+length exists, so the prediction head has a target. */
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
  /** Prediction MSE over windows with a next reading (0 when none has). */
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

function normalisers(items: readonly WindowItem[], C: number, predWeight: number): Normalisers {
  let steps = 0;
  let withNext = 0;
  for (const it of items) {
    steps += it.length;
    if (it.hasNext) withNext++;
  }
  return { recon: 1 / (C * steps), pred: withNext === 0 ? 0 : predWeight / (C * withNext) };
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

function predSquaredError(ws: Workspace, series: Float64Array, it: WindowItem, C: number): number {
  if (!it.hasNext) return 0;
  let sum = 0;
  const off = (it.start + it.length) * C;
  for (let c = 0; c < C; c++) {
    const d = ws.pred[c] - series[off + c];
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
  const gViews = layerViews(grads);
  const n = normalisers(items, C, predWeight);
  const GH = gateCount(p.cell) * p.hidden;
  // The backward steps read Rᵀ row by row; the weights are fixed for the batch, so transpose once here.
  transposeInto(ws.encRT, p.encR, GH, p.hidden);
  transposeInto(ws.decRT, p.decR, GH, p.hidden);
  zeroGrads(grads);
  let reconSum = 0;
  let predSum = 0;
  const windowGradient = (w: Workspace, it: WindowItem): void => {
    reconSum += reconSquaredError(w, series, it, C);
    predSum += predSquaredError(w, series, it, C);
    backwardDecoder(p, grads, views, gViews, w, bs, series, it, 2 * n.recon);
    backwardPredHead(p, grads, w, bs, series, it, 2 * n.pred);
    backwardEncoder(p, views, gViews, w, bs, series, it);
  };
  // Forward passes two windows at a time (one pass over the weights for both); gradients are still
  // accumulated window by window in batch order.
  let i = 0;
  for (; i + 1 < items.length; i += 2) {
    const a = items[i];
    const b = items[i + 1];
    const wsB = pairOf(ws);
    encodePair(p, views, ws, wsB, series, encodeArgs(a, C), encodeArgs(b, C));
    decodePair(p, views, ws, wsB, a.length, b.length);
    windowGradient(ws, a);
    windowGradient(wsB, b);
  }
  if (i < items.length) {
    const it = items[i];
    forwardInto(p, views, ws, series, it.start * C, it.length, it.h0, it.c0);
    windowGradient(ws, it);
  }
  return combine(reconSum, predSum, n, predWeight);
}

function encodeArgs(it: WindowItem, C: number): EncodeArgs {
  return { xOff: it.start * C, L: it.length, h0: it.h0, c0: it.c0 };
}

/** Leaves dL/de (from the reconstruction) in bs.dh / bs.dc. */
function backwardDecoder(
  p: Seq2SeqParams64,
  grads: Seq2SeqParams64,
  views: LayerViews,
  gViews: LayerViews,
  ws: Workspace,
  bs: BackwardScratch,
  series: Float64Array,
  it: WindowItem,
  scale: number,
): void {
  const { hidden: H, channels: C } = p;
  const L = it.length;
  const cw = cacheWidth(p.cell) * H;
  const xOff = it.start * C;
  bs.dh.fill(0);
  bs.dc.fill(0);
  for (let k = L - 1; k >= 0; k--) {
    const t = L - 1 - k;
    for (let c = 0; c < C; c++) bs.dy[c] = scale * (ws.recon[t * C + c] - series[xOff + t * C + c]);
    accumulateAffineGrad(grads.outW, grads.outB, C, H, bs.dy, ws.decH, (k + 1) * H);
    accumulateTransposed(bs.dh, p.outW, C, H, bs.dy);
    stepBack(p, views.dec, ws.decRT, gViews.dec, ws.decH, 0, ws.decH, ws.decC, k, ws.decCache, k * cw, ws, bs);
  }
  accumulateOuterProducts(gViews.dec.R, ws.dA, ws.decH, L, gateCount(p.cell) * H, H);
}

function backwardPredHead(
  p: Seq2SeqParams64,
  grads: Seq2SeqParams64,
  ws: Workspace,
  bs: BackwardScratch,
  series: Float64Array,
  it: WindowItem,
  scale: number,
): void {
  if (!it.hasNext) return;
  const { hidden: H, channels: C } = p;
  const L = it.length;
  const off = (it.start + L) * C;
  for (let c = 0; c < C; c++) bs.dy[c] = scale * (ws.pred[c] - series[off + c]);
  accumulateAffineGrad(grads.predW, grads.predB, C, H, bs.dy, ws.encH, L * H);
  accumulateTransposed(bs.dh, p.predW, C, H, bs.dy);
}

function backwardEncoder(
  p: Seq2SeqParams64,
  views: LayerViews,
  gViews: LayerViews,
  ws: Workspace,
  bs: BackwardScratch,
  series: Float64Array,
  it: WindowItem,
): void {
  const { hidden: H, channels: C } = p;
  const cw = cacheWidth(p.cell) * H;
  for (let t = it.length - 1; t >= 0; t--) {
    stepBack(p, views.enc, ws.encRT, gViews.enc, series, (it.start + t) * C, ws.encH, ws.encC, t, ws.encCache, t * cw, ws, bs);
  }
  accumulateOuterProducts(gViews.enc.R, ws.dA, ws.encH, it.length, gateCount(p.cell) * H, H);
}

/**
 * Backward through step `t` of a layer whose states are rows of hs / cs (row t in, row t+1 out).
 * Consumes bs.dh / bs.dc (gradient at row t+1),
 * leaves the gradient at row t in their place and the step's dL/d(ah) in row t of ws.dA.
 */
function stepBack(
  p: Seq2SeqParams64,
  w: LayerViews['enc'],
  RT: Float64Array,
  g: LayerViews['enc'],
  x: Float64Array,
  xOff: number,
  hs: Float64Array,
  cs: Float64Array,
  t: number,
  cache: Float64Array,
  cOff: number,
  ws: Workspace,
  bs: BackwardScratch,
): void {
  const H = p.hidden;
  const dOff = t * gateCount(p.cell) * H;
  switch (p.cell) {
    case 'gru':
      gruBackward(H, w, RT, g, x, xOff, hs, t * H, cache, cOff, bs.dh, bs.dhPrev, ws.dA, dOff, ws.scratch);
      break;
    case 'lstm':
      lstmBackward(H, w, RT, g, x, xOff, cs, t * H, cache, cOff, bs.dh, bs.dc, bs.dhPrev, bs.dcPrev, ws.dA, dOff);
      swapCell(bs);
      break;
  }
  const dh = bs.dh;
  bs.dh = bs.dhPrev;
  bs.dhPrev = dh;
}

function swapCell(bs: BackwardScratch): void {
  const dc = bs.dc;
  bs.dc = bs.dcPrev;
  bs.dcPrev = dc;
}

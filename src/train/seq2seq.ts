/**
 * The seq2seq autoencoder of docs/MODEL.md in float64: parameters, initialisation, export to the
 * float32 `Seq2SeqParams` of src/model/spec.ts, the forward pass of one window, and the references of the
 * step and decode graphs (stepSequence, decodeState).
 * The backward pass lives in backprop.ts and reuses the activations a forward pass leaves in a Workspace.
 */
import { gateCount, type Seq2SeqDims, type Seq2SeqParams } from '../model/spec.js';
import { affine, cacheWidth, gruForward, gruForward2, lstmForward, lstmForward2, type CellWeights, type StepScratch } from './cells.js';
import type { Rng } from './rng.js';

/** Same names and layouts as Seq2SeqParams, in float64 (the trainer's working precision). */
export interface Seq2SeqParams64 extends Seq2SeqDims {
  readonly encW: Float64Array;
  readonly encR: Float64Array;
  readonly encWb: Float64Array;
  readonly encRb: Float64Array;
  readonly decR: Float64Array;
  readonly decWb: Float64Array;
  readonly decRb: Float64Array;
  readonly outW: Float64Array;
  readonly outB: Float64Array;
  readonly predW: Float64Array;
  readonly predB: Float64Array;
}

export const PARAM_NAMES = [
  'encW',
  'encR',
  'encWb',
  'encRb',
  'decR',
  'decWb',
  'decRb',
  'outW',
  'outB',
  'predW',
  'predB',
] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/** Element count of every tensor. */
export function paramSizes(dims: Seq2SeqDims): Record<ParamName, number> {
  const { channels: C, hidden: H } = dims;
  const GH = gateCount(dims.cell) * H;
  return {
    encW: GH * C,
    encR: GH * H,
    encWb: GH,
    encRb: GH,
    decR: GH * H,
    decWb: GH,
    decRb: GH,
    outW: C * H,
    outB: C,
    predW: C * H,
    predB: C,
  };
}

/** A zero-filled container; also used for gradients and Adam moments. */
export function zeroParams(dims: Seq2SeqDims): Seq2SeqParams64 {
  const sizes = paramSizes(dims);
  return {
    cell: dims.cell,
    channels: dims.channels,
    hidden: dims.hidden,
    encW: new Float64Array(sizes.encW),
    encR: new Float64Array(sizes.encR),
    encWb: new Float64Array(sizes.encWb),
    encRb: new Float64Array(sizes.encRb),
    decR: new Float64Array(sizes.decR),
    decWb: new Float64Array(sizes.decWb),
    decRb: new Float64Array(sizes.decRb),
    outW: new Float64Array(sizes.outW),
    outB: new Float64Array(sizes.outB),
    predW: new Float64Array(sizes.predW),
    predB: new Float64Array(sizes.predB),
  };
}

/**
 * Uniform ±1/sqrt(H) for every weight (PyTorch's RNN default), zero biases except the LSTM forget
 * gate, whose input bias starts at 1 so early training does not forget everything (Jozefowicz et al. 2015).
 */
export function initParams(dims: Seq2SeqDims, rng: Rng): Seq2SeqParams64 {
  const p = zeroParams(dims);
  const bound = 1 / Math.sqrt(dims.hidden);
  for (const name of ['encW', 'encR', 'decR', 'outW', 'predW'] as const) {
    const a = p[name];
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng() - 1) * bound;
  }
  if (dims.cell === 'lstm') {
    const H = dims.hidden;
    // ONNX LSTM gate order i, o, f, c: the forget gate is the third block.
    p.encWb.fill(1, 2 * H, 3 * H);
    p.decWb.fill(1, 2 * H, 3 * H);
  }
  return p;
}

export function toSeq2SeqParams(p: Seq2SeqParams64): Seq2SeqParams {
  const out: Record<string, unknown> = { cell: p.cell, channels: p.channels, hidden: p.hidden };
  for (const name of PARAM_NAMES) out[name] = Float32Array.from(p[name]);
  return out as unknown as Seq2SeqParams;
}

export function fromSeq2SeqParams(p: Seq2SeqParams | Seq2SeqParams64): Seq2SeqParams64 {
  const out = zeroParams(p);
  for (const name of PARAM_NAMES) out[name].set(p[name]);
  return out;
}

export function copyParams(from: Seq2SeqParams64, to: Seq2SeqParams64): void {
  for (const name of PARAM_NAMES) to[name].set(from[name]);
}

/** Views of the encoder and decoder as CellWeights (cheap: no copies). */
export interface LayerViews {
  readonly enc: CellWeights;
  readonly dec: CellWeights;
}

export function layerViews(p: Seq2SeqParams64): LayerViews {
  return {
    enc: { W: p.encW, Wb: p.encWb, R: p.encR, Rb: p.encRb, inputSize: p.channels },
    dec: { W: null, Wb: p.decWb, R: p.decR, Rb: p.decRb, inputSize: 0 },
  };
}

/**
 * Everything one window's forward and backward pass touch, sized for windows of up to T steps.
 * State arrays hold T+1 rows of H: row t is the state before step t (row 0 = h0 for the encoder,
 * = e for the decoder).
 */
export interface Workspace {
  readonly dims: Seq2SeqDims;
  readonly T: number;
  readonly encH: Float64Array;
  readonly encC: Float64Array;
  readonly encCache: Float64Array;
  readonly decH: Float64Array;
  readonly decC: Float64Array;
  readonly decCache: Float64Array;
  readonly scratch: StepScratch;
  /** T*G*H: per step of the layer being back-propagated, dL/d(R·h + Rb) (see RecurrentGradRow). */
  readonly dA: Float64Array;
  /** G*H*H each: the recurrent weights transposed, refreshed by every batchGradient. */
  readonly encRT: Float64Array;
  readonly decRT: Float64Array;
  /** T*C, aligned to the input; zero at and beyond L. */
  readonly recon: Float64Array;
  readonly pred: Float64Array;
  /** T*C: row t is the prediction head on the encoder state after step t (predictSteps), for x[t+1]. */
  readonly preds: Float64Array;
  /** C: one readout before it is placed into `recon`. */
  readonly readout: Float64Array;
  /** Valid length of the last forward pass. */
  L: number;
}

export function createWorkspace(dims: Seq2SeqDims, T: number): Workspace {
  const H = dims.hidden;
  const GH = gateCount(dims.cell) * H;
  const cw = cacheWidth(dims.cell) * H;
  return {
    dims,
    T,
    encH: new Float64Array((T + 1) * H),
    encC: new Float64Array((T + 1) * H),
    encCache: new Float64Array(T * cw),
    decH: new Float64Array((T + 1) * H),
    decC: new Float64Array((T + 1) * H),
    decCache: new Float64Array(T * cw),
    scratch: { ax: new Float64Array(GH) },
    dA: new Float64Array(T * GH),
    encRT: new Float64Array(GH * H),
    decRT: new Float64Array(GH * H),
    recon: new Float64Array(T * dims.channels),
    pred: new Float64Array(dims.channels),
    preds: new Float64Array(T * dims.channels),
    readout: new Float64Array(dims.channels),
    L: 0,
  };
}

/**
 * A second workspace for running two windows in lockstep (encodePair, decodePair, and the backward
 * pass). It shares the transposed weights with `ws`, since they are the batch's.
 */
export function pairOf(ws: Workspace): Workspace {
  let pair = pairs.get(ws);
  if (pair === undefined) {
    pair = { ...createWorkspace(ws.dims, ws.T), encRT: ws.encRT, decRT: ws.decRT };
    pairs.set(ws, pair);
  }
  return pair;
}

const pairs = new WeakMap<Workspace, Workspace>();

/**
 * Runs the encoder over x[xOff + t*C + c], t < L, from (h0, c0) (null = zeros).
 * Afterwards ws.encH row t is the state after t steps; row L is the final state e.
 * Also usable alone, without gradient, for burn-in.
 */
export function encode(
  p: Seq2SeqParams64,
  views: LayerViews,
  ws: Workspace,
  x: Float64Array,
  xOff: number,
  L: number,
  h0: Float64Array | null,
  c0: Float64Array | null,
): void {
  setRow0(ws.encH, h0, p.hidden);
  setRow0(ws.encC, c0, p.hidden);
  encodeSteps(p, views, ws, x, xOff, 0, L);
}

/**
 * encode for two windows at once, `a` into ws and `b` into pairOf(ws)'s twin `wsB`: the steps both
 * have run in lockstep (one pass over the weights for both), the longer one's rest alone. Each window's
 * result is exactly encode's.
 */
export function encodePair(p: Seq2SeqParams64, views: LayerViews, ws: Workspace, wsB: Workspace, x: Float64Array, a: EncodeArgs, b: EncodeArgs): void {
  const { hidden: H, channels: C } = p;
  const cw = cacheWidth(p.cell) * H;
  setRow0(ws.encH, a.h0, H);
  setRow0(ws.encC, a.c0, H);
  setRow0(wsB.encH, b.h0, H);
  setRow0(wsB.encC, b.c0, H);
  const L = Math.min(a.L, b.L);
  for (let t = 0; t < L; t++) {
    const xa = a.xOff + t * C;
    const xb = b.xOff + t * C;
    switch (p.cell) {
      case 'gru':
        gruForward2(H, views.enc, x, xa, xb, ws.encH, wsB.encH, t * H, (t + 1) * H, ws.encCache, wsB.encCache, t * cw);
        break;
      case 'lstm':
        lstmForward2(H, views.enc, x, xa, xb, ws.encH, wsB.encH, ws.encC, wsB.encC, t * H, (t + 1) * H, ws.encCache, wsB.encCache, t * cw);
        break;
    }
  }
  encodeSteps(p, views, ws, x, a.xOff, L, a.L);
  encodeSteps(p, views, wsB, x, b.xOff, L, b.L);
}

/**
 * encode for a window that starts `shift` rows after the previous one in ws, from that window's state
 * after `shift` steps (its carry), when both are L steps long: the new window's first L - shift steps
 * are the previous window's last ones, same inputs and same state, so their states and caches are moved
 * down rather than recomputed and only the last `shift` steps run. The result is exactly encode's.
 */
export function encodeContinued(p: Seq2SeqParams64, views: LayerViews, ws: Workspace, x: Float64Array, xOff: number, L: number, shift: number): void {
  const H = p.hidden;
  const cw = cacheWidth(p.cell) * H;
  const kept = L - shift;
  if (kept > 0) {
    ws.encH.copyWithin(0, shift * H, (L + 1) * H);
    ws.encC.copyWithin(0, shift * H, (L + 1) * H);
    ws.encCache.copyWithin(0, shift * cw, L * cw);
  } else {
    ws.encH.copyWithin(0, shift * H, (shift + 1) * H);
    ws.encC.copyWithin(0, shift * H, (shift + 1) * H);
  }
  encodeSteps(p, views, ws, x, xOff, Math.max(kept, 0), L);
}

/** One window's encoder input: rows from x[xOff], L steps, initial state (null = zeros). */
export interface EncodeArgs {
  readonly xOff: number;
  readonly L: number;
  readonly h0: Float64Array | null;
  readonly c0: Float64Array | null;
}

/** Encoder steps [from, to) of one window. */
function encodeSteps(p: Seq2SeqParams64, views: LayerViews, ws: Workspace, x: Float64Array, xOff: number, from: number, to: number): void {
  const { hidden: H, channels: C } = p;
  const cw = cacheWidth(p.cell) * H;
  for (let t = from; t < to; t++) {
    const xo = xOff + t * C;
    switch (p.cell) {
      case 'gru':
        gruForward(H, views.enc, x, xo, ws.encH, t * H, (t + 1) * H, ws.encCache, t * cw);
        break;
      case 'lstm':
        lstmForward(H, views.enc, x, xo, ws.encH, ws.encC, t * H, (t + 1) * H, ws.encCache, t * cw);
        break;
    }
  }
}

function setRow0(states: Float64Array, init: Float64Array | null, H: number): void {
  if (init === null) states.fill(0, 0, H);
  else states.set(init.subarray(0, H), 0);
}

/** Decoder and readout after `encode`: fills ws.recon (reversed back into input order) and ws.pred. */
export function decode(p: Seq2SeqParams64, views: LayerViews, ws: Workspace, L: number): void {
  startDecoder(p, ws, L);
  decodeSteps(p, views, ws, 0, L);
  readout(p, ws, L);
}

/** decode for the two windows of encodePair (lengths La in ws, Lb in wsB), in lockstep where both run. */
export function decodePair(p: Seq2SeqParams64, views: LayerViews, ws: Workspace, wsB: Workspace, La: number, Lb: number): void {
  const H = p.hidden;
  const cw = cacheWidth(p.cell) * H;
  startDecoder(p, ws, La);
  startDecoder(p, wsB, Lb);
  const L = Math.min(La, Lb);
  for (let k = 0; k < L; k++) {
    switch (p.cell) {
      case 'gru':
        gruForward2(H, views.dec, ws.decH, 0, 0, ws.decH, wsB.decH, k * H, (k + 1) * H, ws.decCache, wsB.decCache, k * cw);
        break;
      case 'lstm':
        lstmForward2(H, views.dec, ws.decH, 0, 0, ws.decH, wsB.decH, ws.decC, wsB.decC, k * H, (k + 1) * H, ws.decCache, wsB.decCache, k * cw);
        break;
    }
  }
  decodeSteps(p, views, ws, L, La);
  decodeSteps(p, views, wsB, L, Lb);
  readout(p, ws, La);
  readout(p, wsB, Lb);
}

function startDecoder(p: Seq2SeqParams64, ws: Workspace, L: number): void {
  const H = p.hidden;
  ws.decH.set(ws.encH.subarray(L * H, (L + 1) * H), 0);
  ws.decC.set(ws.encC.subarray(L * H, (L + 1) * H), 0);
}

function decodeSteps(p: Seq2SeqParams64, views: LayerViews, ws: Workspace, from: number, to: number): void {
  const H = p.hidden;
  const cw = cacheWidth(p.cell) * H;
  for (let k = from; k < to; k++) {
    switch (p.cell) {
      case 'gru':
        gruForward(H, views.dec, ws.decH, 0, ws.decH, k * H, (k + 1) * H, ws.decCache, k * cw);
        break;
      case 'lstm':
        lstmForward(H, views.dec, ws.decH, 0, ws.decH, ws.decC, k * H, (k + 1) * H, ws.decCache, k * cw);
        break;
    }
  }
}

function readout(p: Seq2SeqParams64, ws: Workspace, L: number): void {
  const { hidden: H, channels: C } = p;
  const out = ws.readout;
  for (let k = 0; k < L; k++) {
    // Decoder step k reconstructs x[L-1-k] (Malhotra et al. 2016: reversed order is easier to learn).
    affine(out, p.outW, p.outB, C, H, ws.decH, (k + 1) * H);
    ws.recon.set(out, (L - 1 - k) * C);
  }
  ws.recon.fill(0, L * C);
  affine(ws.pred, p.predW, p.predB, C, H, ws.encH, L * H);
  ws.L = L;
}

/**
 * The prediction head on every encoder state of the last encode: ws.preds row t = predW·h(row t+1) + predB,
 * the prediction of the step after x[t], for t in [from, to).
 */
export function predictSteps(p: Seq2SeqParams64, ws: Workspace, from: number, to: number): void {
  const { hidden: H, channels: C } = p;
  const { predW, predB } = p;
  const hs = ws.encH;
  const out = ws.preds;
  for (let t = from; t < to; t++) {
    const hOff = (t + 1) * H;
    for (let c = 0; c < C; c++) {
      let s = predB[c];
      const row = c * H;
      for (let k = 0; k < H; k++) s += predW[row + k] * hs[hOff + k];
      out[t * C + c] = s;
    }
  }
}

export function forwardInto(
  p: Seq2SeqParams64,
  views: LayerViews,
  ws: Workspace,
  x: Float64Array,
  xOff: number,
  L: number,
  h0: Float64Array | null,
  c0: Float64Array | null,
): void {
  encode(p, views, ws, x, xOff, L, h0, c0);
  decode(p, views, ws, L);
}

export interface WindowOutput {
  /** T*C aligned to x, 0 beyond L. */
  readonly recon: Float64Array;
  /** C: prediction of the reading after x[L-1]. */
  readonly pred: Float64Array;
  /** Encoder state after `advance` steps (h0 when advance is 0): the next window's h0. */
  readonly hCarry: Float64Array;
  readonly cCarry: Float64Array | null;
  /** Encoder state after L steps (e). */
  readonly hFinal: Float64Array;
  readonly cFinal: Float64Array | null;
}

/**
 * Reference forward pass for ONE window: the definition the ONNX graph is held to.
 * x is T*C time-major and normalised; steps >= L are ignored. Accepts float32 params too.
 */
export function forwardWindow(
  p: Seq2SeqParams64 | Seq2SeqParams,
  x: Float64Array | Float32Array,
  T: number,
  L: number,
  advance: number,
  h0: Float64Array | Float32Array | null,
  c0: Float64Array | Float32Array | null,
): WindowOutput {
  if (!Number.isInteger(L) || L < 1 || L > T) throw new RangeError(`L must be an integer in 1..${T}, got ${L}`);
  if (!Number.isInteger(advance) || advance < 0 || advance > L) {
    throw new RangeError(`advance must be an integer in 0..${L}, got ${advance}`);
  }
  if (x.length < T * p.channels) throw new RangeError(`x has ${x.length} values, need T*C = ${T * p.channels}`);
  const p64 = p.encW instanceof Float64Array ? (p as Seq2SeqParams64) : fromSeq2SeqParams(p);
  const H = p.hidden;
  const ws = createWorkspace(p64, T);
  const h0_ = h0 === null ? null : Float64Array.from(h0);
  const c0_ = c0 === null || p.cell === 'gru' ? null : Float64Array.from(c0);
  forwardInto(p64, layerViews(p64), ws, Float64Array.from(x), 0, L, h0_, c0_);
  const row = (a: Float64Array, t: number): Float64Array => a.slice(t * H, (t + 1) * H);
  const isLstm = p.cell === 'lstm';
  return {
    recon: ws.recon.slice(),
    pred: ws.pred.slice(),
    hCarry: row(ws.encH, advance),
    cCarry: isLstm ? row(ws.encC, advance) : null,
    hFinal: row(ws.encH, L),
    cFinal: isLstm ? row(ws.encC, L) : null,
  };
}

export interface StepSequenceOutput {
  /** L*C: row t predicts the step after x[t], from the state after x[t]. */
  readonly preds: Float64Array;
  /** State after L steps. */
  readonly h: Float64Array;
  readonly c: Float64Array | null;
}

/**
 * Reference of the step graph (ONNX_STEP_IO) for ONE stream: L steps of x (time-major, L*C or more,
 * normalised) from (h0, c0) (null = zeros). Accepts float32 params too.
 */
export function stepSequence(
  p: Seq2SeqParams64 | Seq2SeqParams,
  x: Float64Array | Float32Array,
  L: number,
  h0: Float64Array | Float32Array | null,
  c0: Float64Array | Float32Array | null,
): StepSequenceOutput {
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`L must be a positive integer, got ${L}`);
  if (x.length < L * p.channels) throw new RangeError(`x has ${x.length} values, need L*C = ${L * p.channels}`);
  const p64 = as64(p);
  const H = p.hidden;
  const ws = createWorkspace(p64, L);
  encode(p64, layerViews(p64), ws, Float64Array.from(x.subarray(0, L * p.channels)), 0, L, h0 === null ? null : Float64Array.from(h0), c0 === null || p.cell === 'gru' ? null : Float64Array.from(c0));
  predictSteps(p64, ws, 0, L);
  return {
    preds: ws.preds.slice(0, L * p.channels),
    h: ws.encH.slice(L * H, (L + 1) * H),
    c: p.cell === 'lstm' ? ws.encC.slice(L * H, (L + 1) * H) : null,
  };
}

/**
 * Reference of the decode graph (ONNX_DECODE_IO) for ONE stream: W*C values, row k reconstructing the k-th
 * most recent step consumed before the state (h, c) (k = 0: the last one). Accepts float32 params too.
 */
export function decodeState(
  p: Seq2SeqParams64 | Seq2SeqParams,
  h: Float64Array | Float32Array,
  c: Float64Array | Float32Array | null,
  W: number,
): Float64Array {
  if (!Number.isInteger(W) || W < 1) throw new RangeError(`W must be a positive integer, got ${W}`);
  const p64 = as64(p);
  const { hidden: H, channels: C } = p;
  const ws = createWorkspace(p64, W);
  ws.encH.set(h.subarray(0, H), W * H);
  if (c !== null && p.cell === 'lstm') ws.encC.set(c.subarray(0, H), W * H);
  decode(p64, layerViews(p64), ws, W);
  // ws.recon is in input order (row W-1-k from decoder step k): turn it back into most-recent-first.
  const out = new Float64Array(W * C);
  for (let k = 0; k < W; k++) out.set(ws.recon.subarray((W - 1 - k) * C, (W - k) * C), k * C);
  return out;
}

function as64(p: Seq2SeqParams64 | Seq2SeqParams): Seq2SeqParams64 {
  return p.encW instanceof Float64Array ? (p as Seq2SeqParams64) : fromSeq2SeqParams(p);
}

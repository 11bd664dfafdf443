/**
 * GRU and LSTM steps in ONNX's formulation (docs/MODEL.md), forward and backward, float64.
 *
 * Every array is preallocated by the caller and addressed by offset, so a step allocates nothing.
 * Pre-activations are kept in two halves, `ax` = W·x + Wb and `ah` = R·h + Rb, because the GRU's
 * candidate gate (linear_before_reset = 1) multiplies only the recurrent half by r.
 */
import type { CellKind } from '../model/spec.js';

/** One recurrent layer's tensors in ONNX layout. `W` is null for the decoder, whose input is always zero. */
export interface CellWeights {
  readonly W: Float64Array | null;
  readonly Wb: Float64Array;
  readonly R: Float64Array;
  readonly Rb: Float64Array;
  /** Columns of W (the input size); 0 when W is null. */
  readonly inputSize: number;
}

/** Per-step activations the backward pass needs, in floats per hidden unit. */
export function cacheWidth(cell: CellKind): number {
  switch (cell) {
    case 'gru':
      return 4; // z, r, n, (Rh·h + Rbh)
    case 'lstm':
      return 5; // i, o, f, g, tanh(c')
  }
}

/** Scratch vectors of length G*H shared by forward and backward steps. */
export interface StepScratch {
  readonly ax: Float64Array;
  readonly ah: Float64Array;
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** out[j] = bias[j] + Σ_k M[j, k] · v[vOff + k] for j < rows. */
export function affine(
  out: Float64Array,
  M: Float64Array,
  bias: Float64Array,
  rows: number,
  cols: number,
  v: Float64Array,
  vOff: number,
): void {
  for (let j = 0; j < rows; j++) {
    let s = bias[j];
    const row = j * cols;
    for (let k = 0; k < cols; k++) s += M[row + k] * v[vOff + k];
    out[j] = s;
  }
}

/** dM[j, k] += d[j] · v[vOff + k]; dBias[j] += d[j]. */
export function accumulateAffineGrad(
  dM: Float64Array,
  dBias: Float64Array,
  rows: number,
  cols: number,
  d: Float64Array,
  v: Float64Array,
  vOff: number,
): void {
  for (let j = 0; j < rows; j++) {
    const dj = d[j];
    dBias[j] += dj;
    if (dj === 0) continue;
    const row = j * cols;
    for (let k = 0; k < cols; k++) dM[row + k] += dj * v[vOff + k];
  }
}

/** out[k] += Σ_j M[j, k] · d[j]: the gradient flowing back through M to its input. */
export function accumulateTransposed(out: Float64Array, M: Float64Array, rows: number, cols: number, d: Float64Array): void {
  for (let j = 0; j < rows; j++) {
    const dj = d[j];
    if (dj === 0) continue;
    const row = j * cols;
    for (let k = 0; k < cols; k++) out[k] += M[row + k] * dj;
  }
}

function inputHalf(w: CellWeights, rows: number, x: Float64Array, xOff: number, ax: Float64Array): void {
  if (w.W === null) {
    ax.set(w.Wb);
  } else {
    affine(ax, w.W, w.Wb, rows, w.inputSize, x, xOff);
  }
}

/**
 * h' = GRU(x, h). Reads h at hs[hOff..], writes h' at hs[hOutOff..] and the step cache at cache[cOff..].
 */
export function gruForward(
  H: number,
  w: CellWeights,
  x: Float64Array,
  xOff: number,
  hs: Float64Array,
  hOff: number,
  hOutOff: number,
  cache: Float64Array,
  cOff: number,
  s: StepScratch,
): void {
  const { ax, ah } = s;
  inputHalf(w, 3 * H, x, xOff, ax);
  affine(ah, w.R, w.Rb, 3 * H, H, hs, hOff);
  for (let i = 0; i < H; i++) {
    const z = sigmoid(ax[i] + ah[i]);
    const r = sigmoid(ax[H + i] + ah[H + i]);
    const rhn = ah[2 * H + i];
    const n = Math.tanh(ax[2 * H + i] + r * rhn);
    cache[cOff + i] = z;
    cache[cOff + H + i] = r;
    cache[cOff + 2 * H + i] = n;
    cache[cOff + 3 * H + i] = rhn;
    hs[hOutOff + i] = (1 - z) * n + z * hs[hOff + i];
  }
}

/**
 * Backward through one GRU step. `dh` is dL/dh'; writes dL/dh into `dhPrev` and accumulates
 * parameter gradients into `g`. `s.ax` / `s.ah` are reused as dL/d(ax) and dL/d(ah).
 */
export function gruBackward(
  H: number,
  w: CellWeights,
  g: CellWeights,
  x: Float64Array,
  xOff: number,
  hs: Float64Array,
  hOff: number,
  cache: Float64Array,
  cOff: number,
  dh: Float64Array,
  dhPrev: Float64Array,
  s: StepScratch,
): void {
  const { ax: dax, ah: dah } = s;
  for (let i = 0; i < H; i++) {
    const z = cache[cOff + i];
    const r = cache[cOff + H + i];
    const n = cache[cOff + 2 * H + i];
    const rhn = cache[cOff + 3 * H + i];
    const d = dh[i];
    const dan = d * (1 - z) * (1 - n * n);
    const daz = d * (hs[hOff + i] - n) * z * (1 - z);
    const dar = dan * rhn * r * (1 - r);
    dax[i] = daz;
    dah[i] = daz;
    dax[H + i] = dar;
    dah[H + i] = dar;
    dax[2 * H + i] = dan;
    dah[2 * H + i] = dan * r;
    dhPrev[i] = d * z;
  }
  backIntoWeights(H, w, g, x, xOff, hs, hOff, dhPrev, 3 * H, s);
}

/**
 * (h', c') = LSTM(x, (h, c)). States live in hs / cs at the given offsets.
 */
export function lstmForward(
  H: number,
  w: CellWeights,
  x: Float64Array,
  xOff: number,
  hs: Float64Array,
  cs: Float64Array,
  hOff: number,
  hOutOff: number,
  cache: Float64Array,
  cOff: number,
  s: StepScratch,
): void {
  const { ax, ah } = s;
  inputHalf(w, 4 * H, x, xOff, ax);
  affine(ah, w.R, w.Rb, 4 * H, H, hs, hOff);
  for (let k = 0; k < H; k++) {
    const i = sigmoid(ax[k] + ah[k]);
    const o = sigmoid(ax[H + k] + ah[H + k]);
    const f = sigmoid(ax[2 * H + k] + ah[2 * H + k]);
    const gc = Math.tanh(ax[3 * H + k] + ah[3 * H + k]);
    const c = f * cs[hOff + k] + i * gc;
    const tc = Math.tanh(c);
    cache[cOff + k] = i;
    cache[cOff + H + k] = o;
    cache[cOff + 2 * H + k] = f;
    cache[cOff + 3 * H + k] = gc;
    cache[cOff + 4 * H + k] = tc;
    cs[hOutOff + k] = c;
    hs[hOutOff + k] = o * tc;
  }
}

/** Backward through one LSTM step: (dh, dc) for (h', c') in, (dhPrev, dcPrev) for (h, c) out. */
export function lstmBackward(
  H: number,
  w: CellWeights,
  g: CellWeights,
  x: Float64Array,
  xOff: number,
  hs: Float64Array,
  cs: Float64Array,
  hOff: number,
  cache: Float64Array,
  cOff: number,
  dh: Float64Array,
  dc: Float64Array,
  dhPrev: Float64Array,
  dcPrev: Float64Array,
  s: StepScratch,
): void {
  const { ax: da } = s;
  for (let k = 0; k < H; k++) {
    const i = cache[cOff + k];
    const o = cache[cOff + H + k];
    const f = cache[cOff + 2 * H + k];
    const gc = cache[cOff + 3 * H + k];
    const tc = cache[cOff + 4 * H + k];
    const dct = dc[k] + dh[k] * o * (1 - tc * tc);
    da[k] = dct * gc * i * (1 - i);
    da[H + k] = dh[k] * tc * o * (1 - o);
    da[2 * H + k] = dct * cs[hOff + k] * f * (1 - f);
    da[3 * H + k] = dct * i * (1 - gc * gc);
    dcPrev[k] = dct * f;
    dhPrev[k] = 0;
  }
  s.ah.set(da);
  backIntoWeights(H, w, g, x, xOff, hs, hOff, dhPrev, 4 * H, s);
}

/** Shared tail of both backward steps: from dL/d(ax), dL/d(ah) into weight grads and dhPrev (accumulated). */
function backIntoWeights(
  H: number,
  w: CellWeights,
  g: CellWeights,
  x: Float64Array,
  xOff: number,
  hs: Float64Array,
  hOff: number,
  dhPrev: Float64Array,
  rows: number,
  s: StepScratch,
): void {
  if (w.W !== null && g.W !== null) {
    accumulateAffineGrad(g.W, g.Wb, rows, w.inputSize, s.ax, x, xOff);
  } else {
    for (let j = 0; j < rows; j++) g.Wb[j] += s.ax[j];
  }
  accumulateAffineGrad(g.R, g.Rb, rows, H, s.ah, hs, hOff);
  accumulateTransposed(dhPrev, w.R, rows, H, s.ah);
}

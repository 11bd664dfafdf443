/**
 * GRU and LSTM steps in ONNX's formulation (docs/MODEL.md), forward and backward, float64.
 *
 * Every array is preallocated by the caller and addressed by offset, so a step allocates nothing.
 * Pre-activations are kept in two halves, `ax` = W·x + Wb and `ah` = R·h + Rb, because the GRU's
 * candidate gate (linear_before_reset = 1) multiplies only the recurrent half by r.
 *
 * Written for speed on one core (issue 3): V8 emits scalar code, so what costs is loads per multiply-add.
 * Hence fused gate rows, two windows in lockstep (`…2` kernels: each weight loaded once for both), Rᵀ
 * kept per batch for dot products in the backward step, and dL/dR formed once per window
 * (accumulateOuterProducts). Forward results are bit-identical to the plain formulation; only the
 * gradient sums are reassociated.
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

/** Scratch of length G*H for the backward steps: the GRU's dL/d(ax), which differs from dL/d(ah). */
export interface StepScratch {
  readonly ax: Float64Array;
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

/**
 * h' = GRU(x, h). Reads h at hs[hOff..], writes h' at hs[hOutOff..] and the step cache at cache[cOff..].
 *
 * The three gate rows of a hidden unit are multiplied in one pass over h (three rows of R, one load of
 * h[k]) and activated at once, instead of R·h into scratch and a second loop; each row's sum still runs
 * bias first, then k ascending, so the result is bit-identical to `affine` followed by the gates.
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
): void {
  const { W, Wb, R, Rb, inputSize: I } = w;
  const H2 = 2 * H;
  for (let i = 0; i < H; i++) {
    let xz = Wb[i];
    let xr = Wb[H + i];
    let xn = Wb[H2 + i];
    if (W !== null) {
      const oz = i * I;
      const or = (H + i) * I;
      const on = (H2 + i) * I;
      for (let c = 0; c < I; c++) {
        const xc = x[xOff + c];
        xz += W[oz + c] * xc;
        xr += W[or + c] * xc;
        xn += W[on + c] * xc;
      }
    }
    let hz = Rb[i];
    let hr = Rb[H + i];
    let hn = Rb[H2 + i];
    const oz = i * H;
    const or = (H + i) * H;
    const on = (H2 + i) * H;
    for (let k = 0; k < H; k++) {
      const hk = hs[hOff + k];
      hz += R[oz + k] * hk;
      hr += R[or + k] * hk;
      hn += R[on + k] * hk;
    }
    gruGates(H, i, xz, xr, xn, hz, hr, hn, hs, hOff, hOutOff, cache, cOff);
  }
}

/**
 * gruForward for two independent windows at the same step (same offsets into their own arrays): each
 * element of R and of the input weights is loaded once for both, which is what makes a lockstep pair
 * cheaper than two calls. Each window's arithmetic is exactly gruForward's.
 */
export function gruForward2(
  H: number,
  w: CellWeights,
  x: Float64Array,
  xOffA: number,
  xOffB: number,
  hsA: Float64Array,
  hsB: Float64Array,
  hOff: number,
  hOutOff: number,
  cacheA: Float64Array,
  cacheB: Float64Array,
  cOff: number,
): void {
  const { W, Wb, R, Rb, inputSize: I } = w;
  const H2 = 2 * H;
  for (let i = 0; i < H; i++) {
    let xzA = Wb[i], xrA = Wb[H + i], xnA = Wb[H2 + i]; // prettier-ignore
    let xzB = xzA, xrB = xrA, xnB = xnA; // prettier-ignore
    if (W !== null) {
      const oz = i * I;
      const or = (H + i) * I;
      const on = (H2 + i) * I;
      for (let c = 0; c < I; c++) {
        const wz = W[oz + c], wr = W[or + c], wn = W[on + c]; // prettier-ignore
        const xa = x[xOffA + c];
        const xb = x[xOffB + c];
        xzA += wz * xa;
        xrA += wr * xa;
        xnA += wn * xa;
        xzB += wz * xb;
        xrB += wr * xb;
        xnB += wn * xb;
      }
    }
    let hzA = Rb[i], hrA = Rb[H + i], hnA = Rb[H2 + i]; // prettier-ignore
    let hzB = hzA, hrB = hrA, hnB = hnA; // prettier-ignore
    const oz = i * H;
    const or = (H + i) * H;
    const on = (H2 + i) * H;
    for (let k = 0; k < H; k++) {
      const rz = R[oz + k], rr = R[or + k], rn = R[on + k]; // prettier-ignore
      const ha = hsA[hOff + k];
      const hb = hsB[hOff + k];
      hzA += rz * ha;
      hrA += rr * ha;
      hnA += rn * ha;
      hzB += rz * hb;
      hrB += rr * hb;
      hnB += rn * hb;
    }
    gruGates(H, i, xzA, xrA, xnA, hzA, hrA, hnA, hsA, hOff, hOutOff, cacheA, cOff);
    gruGates(H, i, xzB, xrB, xnB, hzB, hrB, hnB, hsB, hOff, hOutOff, cacheB, cOff);
  }
}

function gruGates(
  H: number,
  i: number,
  xz: number,
  xr: number,
  xn: number,
  hz: number,
  hr: number,
  hn: number,
  hs: Float64Array,
  hOff: number,
  hOutOff: number,
  cache: Float64Array,
  cOff: number,
): void {
  const z = sigmoid(xz + hz);
  const r = sigmoid(xr + hr);
  const n = Math.tanh(xn + r * hn);
  cache[cOff + i] = z;
  cache[cOff + H + i] = r;
  cache[cOff + 2 * H + i] = n;
  cache[cOff + 3 * H + i] = hn;
  hs[hOutOff + i] = (1 - z) * n + z * hs[hOff + i];
}

/**
 * Backward through one GRU step but for dhPrev += Rᵀ·dL/d(ah), which recurrentBack (or recurrentBack2,
 * for two windows at once) adds. `dh` is dL/dh'; writes dL/dh's other terms into `dhPrev`, accumulates
 * the input and bias gradients into `g`, and leaves dL/d(ah) at dA[off..]. dL/dR is not touched here:
 * it is a sum of outer products over the window's steps, formed once per window by
 * accumulateOuterProducts from those rows, far cheaper than a rank-1 update of R's gradient every step.
 * `s.ax` is reused as dL/d(ax).
 */
export function gruStepGrads(
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
  dA: Float64Array,
  off: number,
  s: StepScratch,
): void {
  const dax = s.ax;
  const H2 = 2 * H;
  for (let i = 0; i < H; i++) {
    const z = cache[cOff + i];
    const r = cache[cOff + H + i];
    const n = cache[cOff + H2 + i];
    const rhn = cache[cOff + 3 * H + i];
    const d = dh[i];
    const dan = d * (1 - z) * (1 - n * n);
    const daz = d * (hs[hOff + i] - n) * z * (1 - z);
    const dar = dan * rhn * r * (1 - r);
    dax[i] = daz;
    dA[off + i] = daz;
    dax[H + i] = dar;
    dA[off + H + i] = dar;
    dax[H2 + i] = dan;
    dA[off + H2 + i] = dan * r;
    dhPrev[i] = d * z;
  }
  inputAndBiasGrads(w, g, x, xOff, 3 * H, dax, 0, dA, off);
}

/**
 * (h', c') = LSTM(x, (h, c)). States live in hs / cs at the given offsets. Fused like gruForward: the
 * four gate rows of a hidden unit in one pass over h, bit-identical to affine-then-gates.
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
): void {
  const { W, Wb, R, Rb, inputSize: I } = w;
  const H2 = 2 * H;
  const H3 = 3 * H;
  for (let k = 0; k < H; k++) {
    let xi = Wb[k];
    let xo = Wb[H + k];
    let xf = Wb[H2 + k];
    let xg = Wb[H3 + k];
    if (W !== null) {
      const oi = k * I;
      const oo = (H + k) * I;
      const of = (H2 + k) * I;
      const og = (H3 + k) * I;
      for (let c = 0; c < I; c++) {
        const xc = x[xOff + c];
        xi += W[oi + c] * xc;
        xo += W[oo + c] * xc;
        xf += W[of + c] * xc;
        xg += W[og + c] * xc;
      }
    }
    let hi = Rb[k];
    let ho = Rb[H + k];
    let hf = Rb[H2 + k];
    let hg = Rb[H3 + k];
    const oi = k * H;
    const oo = (H + k) * H;
    const of = (H2 + k) * H;
    const og = (H3 + k) * H;
    for (let j = 0; j < H; j++) {
      const hj = hs[hOff + j];
      hi += R[oi + j] * hj;
      ho += R[oo + j] * hj;
      hf += R[of + j] * hj;
      hg += R[og + j] * hj;
    }
    lstmGates(H, k, xi + hi, xo + ho, xf + hf, xg + hg, hs, cs, hOff, hOutOff, cache, cOff);
  }
}

/** lstmForward for two independent windows at the same step, like gruForward2. */
export function lstmForward2(
  H: number,
  w: CellWeights,
  x: Float64Array,
  xOffA: number,
  xOffB: number,
  hsA: Float64Array,
  hsB: Float64Array,
  csA: Float64Array,
  csB: Float64Array,
  hOff: number,
  hOutOff: number,
  cacheA: Float64Array,
  cacheB: Float64Array,
  cOff: number,
): void {
  const { W, Wb, R, Rb, inputSize: I } = w;
  const H2 = 2 * H;
  const H3 = 3 * H;
  for (let k = 0; k < H; k++) {
    let xiA = Wb[k], xoA = Wb[H + k], xfA = Wb[H2 + k], xgA = Wb[H3 + k]; // prettier-ignore
    let xiB = xiA, xoB = xoA, xfB = xfA, xgB = xgA; // prettier-ignore
    if (W !== null) {
      const oi = k * I;
      const oo = (H + k) * I;
      const of = (H2 + k) * I;
      const og = (H3 + k) * I;
      for (let c = 0; c < I; c++) {
        const wi = W[oi + c], wo = W[oo + c], wf = W[of + c], wg = W[og + c]; // prettier-ignore
        const xa = x[xOffA + c];
        const xb = x[xOffB + c];
        xiA += wi * xa;
        xoA += wo * xa;
        xfA += wf * xa;
        xgA += wg * xa;
        xiB += wi * xb;
        xoB += wo * xb;
        xfB += wf * xb;
        xgB += wg * xb;
      }
    }
    let hiA = Rb[k], hoA = Rb[H + k], hfA = Rb[H2 + k], hgA = Rb[H3 + k]; // prettier-ignore
    let hiB = hiA, hoB = hoA, hfB = hfA, hgB = hgA; // prettier-ignore
    const oi = k * H;
    const oo = (H + k) * H;
    const of = (H2 + k) * H;
    const og = (H3 + k) * H;
    for (let j = 0; j < H; j++) {
      const ri = R[oi + j], ro = R[oo + j], rf = R[of + j], rg = R[og + j]; // prettier-ignore
      const ha = hsA[hOff + j];
      const hb = hsB[hOff + j];
      hiA += ri * ha;
      hoA += ro * ha;
      hfA += rf * ha;
      hgA += rg * ha;
      hiB += ri * hb;
      hoB += ro * hb;
      hfB += rf * hb;
      hgB += rg * hb;
    }
    lstmGates(H, k, xiA + hiA, xoA + hoA, xfA + hfA, xgA + hgA, hsA, csA, hOff, hOutOff, cacheA, cOff);
    lstmGates(H, k, xiB + hiB, xoB + hoB, xfB + hfB, xgB + hgB, hsB, csB, hOff, hOutOff, cacheB, cOff);
  }
}

function lstmGates(
  H: number,
  k: number,
  ai: number,
  ao: number,
  af: number,
  ag: number,
  hs: Float64Array,
  cs: Float64Array,
  hOff: number,
  hOutOff: number,
  cache: Float64Array,
  cOff: number,
): void {
  const i = sigmoid(ai);
  const o = sigmoid(ao);
  const f = sigmoid(af);
  const gc = Math.tanh(ag);
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

/**
 * Backward through one LSTM step, like gruStepGrads: (dh, dc) for (h', c') in, (dhPrev, dcPrev) for
 * (h, c) out, dhPrev still without Rᵀ·dL/d(ah); dL/d(ah) left at da[off..].
 */
export function lstmStepGrads(
  H: number,
  w: CellWeights,
  g: CellWeights,
  x: Float64Array,
  xOff: number,
  cs: Float64Array,
  hOff: number,
  cache: Float64Array,
  cOff: number,
  dh: Float64Array,
  dc: Float64Array,
  dhPrev: Float64Array,
  dcPrev: Float64Array,
  da: Float64Array,
  off: number,
): void {
  // The LSTM has no reset gate, so dL/d(ax) = dL/d(ah): the row serves both halves.
  for (let k = 0; k < H; k++) {
    const i = cache[cOff + k];
    const o = cache[cOff + H + k];
    const f = cache[cOff + 2 * H + k];
    const gc = cache[cOff + 3 * H + k];
    const tc = cache[cOff + 4 * H + k];
    const dct = dc[k] + dh[k] * o * (1 - tc * tc);
    da[off + k] = dct * gc * i * (1 - i);
    da[off + H + k] = dh[k] * tc * o * (1 - o);
    da[off + 2 * H + k] = dct * cs[hOff + k] * f * (1 - f);
    da[off + 3 * H + k] = dct * i * (1 - gc * gc);
    dcPrev[k] = dct * f;
    dhPrev[k] = 0;
  }
  inputAndBiasGrads(w, g, x, xOff, 4 * H, da, off, da, off);
}

/** Input-weight and input-bias gradients from dL/d(ax) at dax[daxOff..], recurrent-bias gradient from dL/d(ah). */
function inputAndBiasGrads(
  w: CellWeights,
  g: CellWeights,
  x: Float64Array,
  xOff: number,
  rows: number,
  dax: Float64Array,
  daxOff: number,
  dA: Float64Array,
  off: number,
): void {
  const gWb = g.Wb;
  if (w.W !== null && g.W !== null) {
    const gW = g.W;
    const I = w.inputSize;
    for (let j = 0; j < rows; j++) {
      const dj = dax[daxOff + j];
      gWb[j] += dj;
      if (dj === 0) continue;
      const row = j * I;
      for (let c = 0; c < I; c++) gW[row + c] += dj * x[xOff + c];
    }
  } else {
    for (let j = 0; j < rows; j++) gWb[j] += dax[daxOff + j];
  }
  const gRb = g.Rb;
  for (let j = 0; j < rows; j++) gRb[j] += dA[off + j];
}

/**
 * dhPrev += Rᵀ·d for d = dA[off .. off + rows], as dot products over rows of RT (R transposed, [H, rows]),
 * eight hidden units at a time so each d value is loaded once per eight. Each dhPrev[k] sums the rows of
 * R in ascending order, as a plain Rᵀ·d loop would.
 */
export function recurrentBack(RT: Float64Array, rows: number, H: number, dA: Float64Array, off: number, dhPrev: Float64Array): void {
  let k = 0;
  for (; k + 7 < H; k += 8) {
    let s0 = dhPrev[k], s1 = dhPrev[k + 1], s2 = dhPrev[k + 2], s3 = dhPrev[k + 3]; // prettier-ignore
    let s4 = dhPrev[k + 4], s5 = dhPrev[k + 5], s6 = dhPrev[k + 6], s7 = dhPrev[k + 7]; // prettier-ignore
    const r0 = k * rows;
    for (let j = 0; j < rows; j++) {
      const dj = dA[off + j];
      const rj = r0 + j;
      s0 += RT[rj] * dj;
      s1 += RT[rj + rows] * dj;
      s2 += RT[rj + 2 * rows] * dj;
      s3 += RT[rj + 3 * rows] * dj;
      s4 += RT[rj + 4 * rows] * dj;
      s5 += RT[rj + 5 * rows] * dj;
      s6 += RT[rj + 6 * rows] * dj;
      s7 += RT[rj + 7 * rows] * dj;
    }
    dhPrev[k] = s0;
    dhPrev[k + 1] = s1;
    dhPrev[k + 2] = s2;
    dhPrev[k + 3] = s3;
    dhPrev[k + 4] = s4;
    dhPrev[k + 5] = s5;
    dhPrev[k + 6] = s6;
    dhPrev[k + 7] = s7;
  }
  recurrentBackFrom(RT, rows, H, k, dA, off, dhPrev);
}

/**
 * recurrentBack for two independent windows (a and b) at once: four hidden units × two windows per
 * block, so each element of RT is loaded once for both. Each window's sums are exactly recurrentBack's.
 */
export function recurrentBack2(
  RT: Float64Array,
  rows: number,
  H: number,
  dAa: Float64Array,
  offA: number,
  dhPrevA: Float64Array,
  dAb: Float64Array,
  offB: number,
  dhPrevB: Float64Array,
): void {
  let k = 0;
  for (; k + 3 < H; k += 4) {
    let a0 = dhPrevA[k], a1 = dhPrevA[k + 1], a2 = dhPrevA[k + 2], a3 = dhPrevA[k + 3]; // prettier-ignore
    let b0 = dhPrevB[k], b1 = dhPrevB[k + 1], b2 = dhPrevB[k + 2], b3 = dhPrevB[k + 3]; // prettier-ignore
    const r0 = k * rows;
    for (let j = 0; j < rows; j++) {
      const da = dAa[offA + j];
      const db = dAb[offB + j];
      const rj = r0 + j;
      const t0 = RT[rj], t1 = RT[rj + rows], t2 = RT[rj + 2 * rows], t3 = RT[rj + 3 * rows]; // prettier-ignore
      a0 += t0 * da;
      a1 += t1 * da;
      a2 += t2 * da;
      a3 += t3 * da;
      b0 += t0 * db;
      b1 += t1 * db;
      b2 += t2 * db;
      b3 += t3 * db;
    }
    dhPrevA[k] = a0;
    dhPrevA[k + 1] = a1;
    dhPrevA[k + 2] = a2;
    dhPrevA[k + 3] = a3;
    dhPrevB[k] = b0;
    dhPrevB[k + 1] = b1;
    dhPrevB[k + 2] = b2;
    dhPrevB[k + 3] = b3;
  }
  recurrentBackFrom(RT, rows, H, k, dAa, offA, dhPrevA);
  recurrentBackFrom(RT, rows, H, k, dAb, offB, dhPrevB);
}

function recurrentBackFrom(RT: Float64Array, rows: number, H: number, from: number, dA: Float64Array, off: number, dhPrev: Float64Array): void {
  for (let k = from; k < H; k++) {
    let sk = dhPrev[k];
    const rk = k * rows;
    for (let j = 0; j < rows; j++) sk += RT[rk + j] * dA[off + j];
    dhPrev[k] = sk;
  }
}

/** RT[k, j] = R[j, k] for R of shape [rows, cols]. */
export function transposeInto(RT: Float64Array, R: Float64Array, rows: number, cols: number): void {
  for (let j = 0; j < rows; j++) {
    const row = j * cols;
    for (let k = 0; k < cols; k++) RT[k * rows + j] = R[row + k];
  }
}

/**
 * gR[j, k] += Σ_{t < steps} dA[t*rows + j] · hs[t*H + k]: dL/dR over a window, where row t of dA is the
 * step's dL/d(ah) and row t of hs the state it read. Blocks of 2 rows × 4 columns keep 8 sums in
 * registers for 6 loads per 8 multiply-adds; the edges that do not fill a block run one sum at a time.
 */
export function accumulateOuterProducts(
  gR: Float64Array,
  dA: Float64Array,
  hs: Float64Array,
  steps: number,
  rows: number,
  H: number,
): void {
  const J = rows - (rows % 2);
  const K = H - (H % 4);
  for (let j = 0; j < J; j += 2) {
    for (let k = 0; k < K; k += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0; // prettier-ignore
      for (let t = 0; t < steps; t++) {
        const a = t * rows + j;
        const a0 = dA[a];
        const a1 = dA[a + 1];
        const b = t * H + k;
        const h0 = hs[b];
        const h1 = hs[b + 1];
        const h2 = hs[b + 2];
        const h3 = hs[b + 3];
        s00 += a0 * h0;
        s01 += a0 * h1;
        s02 += a0 * h2;
        s03 += a0 * h3;
        s10 += a1 * h0;
        s11 += a1 * h1;
        s12 += a1 * h2;
        s13 += a1 * h3;
      }
      const g0 = j * H + k;
      const g1 = g0 + H;
      gR[g0] += s00;
      gR[g0 + 1] += s01;
      gR[g0 + 2] += s02;
      gR[g0 + 3] += s03;
      gR[g1] += s10;
      gR[g1 + 1] += s11;
      gR[g1 + 2] += s12;
      gR[g1 + 3] += s13;
    }
  }
  for (let j = 0; j < rows; j++) {
    for (let k = j < J ? K : 0; k < H; k++) {
      let sum = 0;
      for (let t = 0; t < steps; t++) sum += dA[t * rows + j] * hs[t * H + k];
      gR[j * H + k] += sum;
    }
  }
}

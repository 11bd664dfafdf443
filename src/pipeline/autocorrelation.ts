/**
 * The lag products of a series, S(k) = Σ_{i=0}^{n−1−k} d[i] · d[i + k] for k = 0 … maxLag, by the fast Fourier transform
 * (the cycle finder's autocorrelation, src/pipeline/cycle.ts: one per 512 readings per channel, on up to 2,048 values
 * with lags to 1,024).
 *
 * Wiener–Khinchin: the autocorrelation of a series is the inverse Fourier transform of its power spectrum |X|² (Wiener,
 * "Generalized harmonic analysis", Acta Math. 1930; Khinchin 1934). On a finite series the transform's correlation is circular,
 * so the series is zero-padded to N ≥ n + maxLag values (a power of two): lag k then wraps onto lag N − k ≥ n, whose
 * products are all zero, so S(k) is the linear (non-circular) sum exactly, up to rounding (the usual N ≥ 2n is enough
 * for every lag; n + maxLag is what lags to maxLag need: the same 4,096 on the finder's full ring of 2,048, and 2,048
 * instead of 4,096 on its ring of 1,094). Cost O(N log N) instead of the direct
 * O(n · maxLag): at n = 2,048 and maxLag = 1,024, two complex transforms of 2,048 points against 1.57 million products.
 *
 * The transform is a radix-2 Cooley–Tukey FFT (iterative, bit-reversed order) of N / 2 complex points holding the real
 * series' even and odd values, split into the N-point real transform (the "real FFT by a half-length complex FFT":
 * Cooley, Lewis and Welch, J. Sound Vib. 1970; Press et al., Numerical Recipes, section 12.3). The power spectrum of a
 * real series is real and even, so its inverse transform is its forward one over N, made by the same real transform.
 * Its results differ from the direct sums by rounding: about 1e-16 · log2 N · Σ d² at every lag.
 *
 * Scratch: one set of buffers and twiddle tables for the largest N asked yet (4,096 points in the cycle finder: 104 kB
 * per process or worker thread, not per channel), shared by every call (the finder runs synchronously, one estimate at a
 * time, and none calls another), so an estimate allocates nothing once the largest size was made. A smaller N uses the
 * larger tables at a stride: the same angles bit for bit (N and the size are powers of two), so a result does not
 * depend on which transforms were made before.
 */

/** The largest transform made so far: its length N, and e^{−2πik/N} as cos and sin for k = 0 … N / 2. */
let size = 0;
let cosT = new Float64Array(0);
let sinT = new Float64Array(0);
/** The bit-reversal permutation of N / 2 points (of a smaller transform: the same table, shifted). */
let rev = new Uint32Array(0);
/** Scratch of N / 2 complex points (real and imaginary parts), and of the real transform's X(k), k = 0 … N / 2 (re, im). */
let re = new Float64Array(0);
let im = new Float64Array(0);
let power = new Float64Array(0);
let spare = new Float64Array(0);

/** Makes the tables and scratch for transforms of up to N points (N a power of two, at least 4). */
function prepare(N: number): void {
  if (N <= size) return;
  const M = N / 2;
  cosT = new Float64Array(M + 1);
  sinT = new Float64Array(M + 1);
  for (let k = 0; k <= M; k++) {
    cosT[k] = Math.cos((2 * Math.PI * k) / N);
    sinT[k] = Math.sin((2 * Math.PI * k) / N);
  }
  const bits = Math.log2(M);
  rev = new Uint32Array(M);
  for (let j = 0; j < M; j++) {
    let r = 0;
    for (let b = 0, v = j; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
    rev[j] = r;
  }
  re = new Float64Array(M);
  im = new Float64Array(M);
  power = new Float64Array(M + 1);
  spare = new Float64Array(M + 1);
  size = N;
}

/**
 * The N-point transform X(k) = Σ x[i] e^{−2πik/N} of a real series x[0 … N − 1], after its values were laid in re and im
 * (x[2j] in re, x[2j + 1] in im, at the bit-reversed place of j: see lagProducts), for k = 0 … N / 2 (the rest are their
 * conjugates), into `xr` and `xi`. N: a power of two, at least 4, at most the prepared size.
 */
function realTransform(N: number, xr: Float64Array, xi: Float64Array): void {
  const M = N / 2;
  const zr = re;
  const zi = im;
  const ct = cosT;
  const st = sinT;
  // Tables of the prepared size serve a smaller N: its twiddle k is theirs at k · stride (the same angle bit for bit, N
  // and the size being powers of two), so the result does not depend on which transforms were made before.
  const stride = size / N;
  // Cooley–Tukey butterflies, in place: blocks of `len` points from blocks of len / 2 (twiddle e^{−2πij/len}).
  for (let len = 2; len <= M; len *= 2) {
    const half = len / 2;
    const step = (N / len) * stride;
    for (let start = 0; start < M; start += len) {
      for (let j = 0, t = 0; j < half; j++, t += step) {
        const c = ct[t];
        const s = st[t];
        const a = start + j;
        const b = a + half;
        const br = zr[b];
        const bi = zi[b];
        const tr = br * c + bi * s;
        const ti = bi * c - br * s;
        const ar = zr[a];
        const ai = zi[a];
        zr[b] = ar - tr;
        zi[b] = ai - ti;
        zr[a] = ar + tr;
        zi[a] = ai + ti;
      }
    }
  }
  // Z = E + i O (E, O: the transforms of the even and odd values); X(k) = E(k) + e^{−2πik/N} O(k), with
  // E(k) = (Z(k) + conj Z(M − k)) / 2 and O(k) = (Z(k) − conj Z(M − k)) / 2i.
  for (let k = 0; k <= M; k++) {
    const a = k === M ? 0 : k;
    const b = k === 0 ? 0 : M - k;
    const ar = zr[a];
    const ai = zi[a];
    const br = zr[b];
    const bi = -zi[b];
    const er = 0.5 * (ar + br);
    const ei = 0.5 * (ai + bi);
    const or = 0.5 * (ai - bi);
    const oi = -0.5 * (ar - br);
    const c = ct[k * stride];
    const s = st[k * stride];
    xr[k] = er + or * c + oi * s;
    xi[k] = ei + oi * c - or * s;
  }
}

/**
 * The lag products of d[0 … n − 1]: out[k] = Σ_{i=0}^{n−1−k} d[i] · d[i + k] for k = 0 … maxLag (the autocorrelation's
 * numerators; divide by out[0] for the biased estimator, by n − k for the unbiased autocovariance), by the FFT
 * (Wiener–Khinchin, above). Equal to the direct sums up to rounding.
 *
 * @param d the series (only its first n values are read; center it first: the rounding is relative to Σ d²).
 * @param n values of d to use, at least 1.
 * @param maxLag the longest lag, in [0, n − 1].
 * @param out receives the lag products at 0 … maxLag (length at least maxLag + 1).
 * @throws RangeError when n, maxLag or out do not fit.
 */
export function lagProducts(d: Float64Array, n: number, maxLag: number, out: Float64Array): void {
  if (!(Number.isInteger(n) && n >= 1 && n <= d.length && Number.isInteger(maxLag) && maxLag >= 0 && maxLag < n && out.length > maxLag)) {
    throw new RangeError(`lagProducts: need 1 ≤ n ≤ d.length, 0 ≤ maxLag < n, out.length > maxLag (n ${n}, maxLag ${maxLag})`);
  }
  let N = 4;
  while (N < n + maxLag) N *= 2;
  prepare(N);
  const M = N / 2;
  // The bit reversal of M points is the prepared one's, shifted.
  const shift = Math.log2(size / 2) - Math.log2(M);
  const r = rev;
  const zr = re;
  const zi = im;
  const pr = power;
  const pi = spare;
  for (let j = 0; j < M; j++) {
    const at = r[j] >>> shift;
    zr[at] = 2 * j < n ? d[2 * j] : 0;
    zi[at] = 2 * j + 1 < n ? d[2 * j + 1] : 0;
  }
  realTransform(N, pr, pi);
  for (let k = 0; k <= M; k++) pr[k] = pr[k] * pr[k] + pi[k] * pi[k];
  // The power spectrum is real and even (P(N − k) = P(k)): its inverse transform is its forward one over N, real.
  for (let j = 0; j < M; j++) {
    const at = r[j] >>> shift;
    zr[at] = pr[2 * j <= M ? 2 * j : N - 2 * j];
    zi[at] = pr[2 * j + 1 <= M ? 2 * j + 1 : N - 2 * j - 1];
  }
  realTransform(N, pr, pi);
  for (let k = 0; k <= maxLag; k++) out[k] = pr[k] / N;
}

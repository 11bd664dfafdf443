/**
 * How rare is a run of exact repeats at a value the stream does not rest at, against the stream's own runs there?
 *
 * `stuck`'s tail (a power law fitted to ln(1 + run), src/pipeline/tail.ts) is right for durations with no natural
 * scale, and wrong for a noisy state in which an exact repeat is itself rare: there each further repeat is another
 * unlikely event, so the probability of a run falls geometrically with its length, not as a power of it. The demo's
 * motor current (8 A with 0.08 A of noise at 0.001 A resolution) repeats a value about once in 300 readings, yet
 * the power law called 50 readings of one value only about 10^-5 rare.
 *
 * Model. Each run is counted in repeats x = run − 1 (readings, never time: the same at any sampling rate). Within a
 * run every further reading repeats with a probability p, and p differs from run to run (a slow stretch of a
 * quantised signal repeats more than a steep one): p ~ Beta(α, β), so x is beta-geometric,
 *     P(X ≥ x) = B(α + x, β) / B(α, β)
 * (Weinberg and Gladen, "The beta-geometric distribution applied to comparative fecundability studies",
 * Biometrics 42, 1986, there the cycles to conception of couples of differing fecundability). Its tail falls as
 * x^(−β): geometric (β large) where the runs are alike, a power law (β small) where they are not, so a quantised
 * or report-on-change stream whose runs vary widely keeps a heavy tail and its long runs stay ordinary.
 *
 * Fit. α and β by the method of moments on the stream's own runs (exponentially forgotten with the stuck history's
 * horizon): m = E[X] = α/(β − 1), and E[X(X − 1)] = 2α(α + 1)/((β − 1)(β − 2)), a geometric's 2m² times
 * ρ = (m(β − 1) + 1)/(m(β − 2)); an overdispersion ρ > 1 gives β = (2ρm − m + 1)/(m(ρ − 1)), α = m(β − 1). ρ is
 * estimated with DISPERSION_PRIOR runs of two repeats at the geometric's rate added to both sides, so a single
 * chance run among rare repeats is not taken for a heavy tail. Runs no more varied than a geometric's (the noisy
 * state of one sensor) are the conjugate Bayesian geometric instead: p ~ Beta(1 + Σx, 1 + n) after n runs (a uniform prior, one pseudo-run
 * of one repeat), whose predictive P(X ≥ x) is the beta-geometric with α = 1 + Σx, β = 1 + n; β is never taken
 * above 1 + n, so a short history (150 readings) says no more than its n runs can.
 */

/**
 * Per channel: the forgotten count of runs, sum of their repeats, sum of their squared repeats (the runs taught), the
 * share of recent readings that were still (repeated the one before, or moved by at most the channel's resolution:
 * noteStep; an exponential mean, weight 1/smooth per reading), and 1 while the current run began in a busy state
 * (that share below BUSY), else 0.
 */
export const RUN_STATE = 5;

/**
 * A run is judged by this model when fewer than this share of the readings just before it began were still (a
 * repeat, or a change of at most the channel's resolution: noteStep).
 */
const BUSY = 0.5;

/**
 * Runs with a second repeat (x(x − 1) = 2) that the dispersion's estimate counts as if seen at a geometric's rate
 * before any run: where repeats are rare, one run of three readings more than a geometric expects is chance, not
 * a heavy tail (without it, the demo's motor's one such run in 2,500 made its tail x^(−46) instead of geometric).
 */
const DISPERSION_PRIOR = 3;

/** The smallest β used: the method of moments needs β > 2 (a second factorial moment). */
const MIN_BETA = 2.05;

/**
 * Notes `steps` readings (>= 1) that repeated the value before them (`repeated`) or not, in a channel's state `m` at
 * offset `at`; `still`: they repeated, or moved by at most one step of the channel's resolution where its noise is
 * below about half a step (the caller decides; default `repeated`). The share of recent still readings forgets with weight 1/smooth per reading. A reading that did not
 * repeat begins a run: the run is busy when the recent share (this reading included) is below BUSY.
 *
 * Why a change of one step counts as still: a quantised signal whose noise is below about a step (a room
 * temperature sent to 0.1 °C) moves by one step where its level crosses one, flickering there, and holds a value in
 * between for as long as its level takes to cross the step. Its repeats are then set by where the level sits
 * within a step, not by a chance per reading (Widrow and Kollár, "Quantization Noise", 2008: the quantiser's error
 * behaves as independent noise only when the signal's noise spans a few steps), so a hold that follows a flicker is
 * no run of a noisy state: judged against the flickers (runs of 1 to 3), an ordinary hold of 27 readings on the way
 * down a day's cycle was called 10^-6 rare (this session's tryout, finding 2). Where the noise spans several steps
 * (the demo's motor: 80 steps; a sensor at 0.01 with ±0.05 of noise), a change of at most one step is about as
 * rare as a repeat, and the state is busy as before; so it is for a probe whose noise is about a step (a DS18B20 at
 * 0.0625 °C with 0.1 °C of noise), which is why the caller counts a one-step move as still only where the noise
 * is below about half a step (src/pipeline/scorer.ts). Counted in readings and steps: alike at any sampling rate
 * and resolution.
 */
export function noteStep(m: Float64Array, at: number, repeated: boolean, steps: number, smooth: number, still: boolean = repeated): void {
  const keep = Math.pow(1 - 1 / Math.max(1, smooth), steps);
  m[at + 3] = m[at + 3] * keep + (still ? 1 - keep : 0);
  if (!repeated) m[at + 4] = m[at + 3] < BUSY ? 1 : 0;
}

/**
 * Makes a channel's current run calm: not judged nor taught until the value next changes (after a gap; a run that
 * lasted a full short mean in the learning period, known normal).
 */
export function restartRun(m: Float64Array, at: number): void {
  m[at + 4] = 0;
}

/**
 * Teaches a busy run of `run` readings (>= 1) that ended to a channel's state `m` at offset `at` (count, Σx, Σx²,
 * x = run − 1), forgetting with memory `horizon` runs (each earlier run weighs 1 − 1/horizon less). A run that did
 * not begin busy, or a non-finite one, is ignored.
 */
export function teachRun(m: Float64Array, at: number, run: number, horizon: number): void {
  if (m[at + 4] !== 1 || !(run >= 1) || !Number.isFinite(run)) return;
  const keep = 1 - 1 / Math.max(2, horizon);
  const x = run - 1;
  m[at] = m[at] * keep + 1;
  m[at + 1] = m[at + 1] * keep + x;
  m[at + 2] = m[at + 2] * keep + x * x;
}

/**
 * Surprise −log10 P(X ≥ run − 1) of the current run of `run` readings against a channel's state `m` at offset `at`
 * (see the module comment): 0 for a run of 1 or one that did not begin busy, and grows with the run. The
 * beta-geometric's parameters come from the moments with the uniform prior's pseudo-run (one run of one repeat).
 * The smaller of it and the law of a rounded noise's runs at the stream's repeat chance (quantisedRunSurprise):
 * the beta-geometric's repeats are independent within a run, and the moments of a few hundred runs cannot show the
 * rounded noise's dependence (its overdispersion ρ is about 1.15), which makes a long run at a slow signal's
 * turning point 2^(x/2)/√(x + 1) times likelier (the phase sweep's room: six equal readings called 10^-6.1).
 */
export function runSurprise(m: Float64Array, at: number, run: number): number {
  if (!(run - 1 > 0) || m[at + 4] !== 1) return 0;
  const x = run - 1;
  return Math.min(betaGeometricSurprise(m[at], m[at + 1], m[at + 2], x), quantisedRunSurprise(m[at], m[at + 1], x));
}

/**
 * Surprise −log10 P(X ≥ x) of x repeats (x = run − 1 >= 0, readings) of a level with Gaussian noise σ rounded to a
 * resolution q, against `n` runs (forgotten count) of `sx` repeats in all seen before (the stream's repeat chance p).
 *
 * Successive repeats of a rounded noise are not independent: a run of k equal readings puts all k in one step, a
 * chance of q^(k−1) ∫φ_σ^k = (q/σ)^(k−1) (2π)^(−(k−1)/2) / √k (φ_σ the noise's density, the level anywhere in a
 * step: q ≪ σ), against the independent repeats' p^(k−1) with p = q ∫φ_σ² = (q/σ) / (2√π). In p:
 *     P(X ≥ x | p) = (√2 p)^x / √(x + 1),
 * 2^(x/2)/√(x + 1) times the geometric's p^x: where the level sits near the middle of a step (a slow signal at its
 * turning point, a flat one), each further repeat is likelier than the last. Widrow and Kollár, "Quantization
 * Noise", 2008 (the rounded value's distribution as the noise's density sampled at the steps); ∫φ^k =
 * (2π)^(−(k−1)/2) k^(−1/2) σ^(1−k). With p ~ Beta(1 + sx, 1 + n), the conjugate posterior of the module comment, the
 * predictive is that factor times the conjugate beta-geometric's E[p^x] = B(α + x, β)/B(α, β): a short history (the
 * first hours of a new sensor) knows p only roughly, and a long run weighs its likelier values. Counted in readings
 * and the stream's own runs: alike at any sampling rate and resolution. 0 for x <= 0, and where √2 E[p] >= 1 (a
 * stream that repeats most readings is no rounded noise of this kind: its runs are the run-length tail's).
 */
export function quantisedRunSurprise(n: number, sx: number, x: number): number {
  if (!(x > 0)) return 0;
  const alpha = 1 + sx;
  const beta = 1 + n;
  if (!(Math.SQRT2 * (alpha / (alpha + beta)) < 1)) return 0;
  const lnP = lnGamma(alpha + x) + lnGamma(alpha + beta) - lnGamma(alpha) - lnGamma(alpha + x + beta) + (x / 2) * Math.LN2 - 0.5 * Math.log(x + 1);
  return Math.max(0, -lnP / Math.LN10);
}

/**
 * Surprise −log10 P(X ≥ x) of x further repeats of a value that `seen` of the `window` readings just before its run
 * took (0 <= seen <= window; readings), with a repeat's chance p ~ Beta(seen + 1, window − seen + 1) (the binomial's
 * posterior under a uniform prior: the beta-geometric of the module comment, as a predictive). A run is no rarer
 * than the stream's latest readings make its value: where they kept returning to it (a noise burst whose readings
 * are clipped at a floor the sensor cannot go below: half of them read 0.000), a run of it is their habit, not a
 * freeze. NaN where the value was not seen before its run (seen < 1) or no reading was (window < 1): the latest
 * readings then tell nothing of it.
 */
export function recentRunSurprise(seen: number, window: number, x: number): number {
  if (!(seen >= 1) || !(window >= seen)) return Number.NaN;
  if (!(x > 0)) return 0;
  const alpha = seen + 1;
  const beta = window - seen + 1;
  const lnP = lnGamma(alpha + x) + lnGamma(alpha + beta) - lnGamma(alpha) - lnGamma(alpha + x + beta);
  return Math.max(0, -lnP / Math.LN10);
}

/**
 * Surprise −log10 P(X ≥ x) of a count `x` (>= 0) against the beta-geometric fitted to counts seen before (see the
 * module comment): `n` of them (forgotten count), their sum `sx` and sum of squares `sxx`, with the uniform prior's
 * pseudo-count of one (one run of one repeat; for arrivals, one reading one step late). 0 for x <= 0.
 */
export function betaGeometricSurprise(n0: number, sx: number, sxx: number, x: number): number {
  if (!(x > 0)) return 0;
  const n = n0 + 1;
  const s1 = sx + 1;
  const mean = s1 / n;
  // Σ x(x − 1) of the runs (the prior's pseudo-run of one repeat adds nothing), against a geometric's 2 m² n.
  const factorial = Math.max(0, sxx - sx);
  const rho = (factorial + 2 * DISPERSION_PRIOR) / (2 * mean * mean * n + 2 * DISPERSION_PRIOR);
  let beta = n;
  let alpha = s1;
  if (rho > 1) {
    const dispersed = (2 * rho * mean - mean + 1) / (mean * (rho - 1));
    if (dispersed < beta) {
      beta = Math.max(MIN_BETA, dispersed);
      alpha = mean * (beta - 1);
    }
  }
  const lnP = lnGamma(alpha + x) + lnGamma(alpha + beta) - lnGamma(alpha) - lnGamma(alpha + x + beta);
  return Math.max(0, -lnP / Math.LN10);
}

/** ln Γ(z) for z > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15). */
export function lnGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - lnGamma(1 - z);
  const y = z - 1;
  let a = LANCZOS[0];
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/**
 * True while a channel's current run (state `m` at offset `at`) began in a busy state: fewer than BUSY of the
 * readings just before it repeated the value before them (the stream changes at nearly every reading).
 */
export function busyRun(m: Float64Array, at: number): boolean {
  return m[at + 4] === 1;
}

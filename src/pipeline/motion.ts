/**
 * A stretch's own motion: a least-squares quadratic trend (level, slope, curvature) and how far it carries the level on,
 * at the lower confidence bound of that movement (Montgomery, Peck and Vining, "Introduction to Linear Regression
 * Analysis", the prediction variance of a polynomial fit). Shared by `rarity`'s learning-period motion
 * (src/pipeline/rarity.ts, ValueHistogram.learnMotion / reach) and the level excursion's latest motion
 * (src/pipeline/excursion.ts, LevelExcursion.carried).
 */

/**
 * A least-squares quadratic trend of `w` equally spaced values, in the orthogonal polynomials of the index x (centred:
 * x = i − (w − 1)/2) and x² − m2 (m2 the mean of x²), so its coefficients are independent.
 */
export interface QuadraticTrend {
  /** Values fitted (>= 8). */
  readonly w: number;
  /** Slope (units per step) and curvature's coefficient (units per step²). */
  readonly b1: number;
  readonly b2: number;
  /** Σx² and Σ(x² − m2)² over the fit, and m2. */
  readonly sxx: number;
  readonly spp: number;
  readonly m2: number;
  /** The residuals' variance, units² (w − 3 degrees of freedom). */
  readonly s2: number;
}

/**
 * The quadratic trend of `values` (equally spaced, oldest first; units of the caller: sensor units, one value a reading
 * or a block). Null for fewer than 8 values or a non-finite one.
 */
export function quadraticTrend(values: ArrayLike<number>): QuadraticTrend | null {
  const w = values.length;
  if (w < 8) return null;
  const mid = (w - 1) / 2;
  let sxx = 0;
  let mean = 0;
  for (let i = 0; i < w; i++) {
    if (!Number.isFinite(values[i])) return null;
    sxx += (i - mid) ** 2;
    mean += values[i];
  }
  mean /= w;
  const m2 = sxx / w;
  let spp = 0;
  let sxy = 0;
  let spy = 0;
  for (let i = 0; i < w; i++) {
    const x = i - mid;
    const p = x * x - m2;
    spp += p * p;
    sxy += x * (values[i] - mean);
    spy += p * (values[i] - mean);
  }
  const b1 = sxy / sxx;
  const b2 = spy / spp;
  let rss = 0;
  for (let i = 0; i < w; i++) {
    const x = i - mid;
    rss += (values[i] - mean - b1 * x - b2 * (x * x - m2)) ** 2;
  }
  return { w, b1, b2, sxx, spp, m2, s2: rss / (w - 3) };
}

/**
 * How far the trend carries the level from its last fitted value to `h` steps after it (h at most the fit's own length
 * w: a trend is not carried further than it was seen; below 0: 0), units of the fit, [down, up], each >= 0 and one of
 * them 0: the fitted movement less z standard errors of it (its lower confidence bound: the variance of a difference of
 * the fitted polynomial at two points, s² (Δx² / Σx² + Δp² / Σp²) in the orthogonal basis, the least-squares prediction
 * variance without the level's and the noise's terms, which a difference cancels), on the side it moves to.
 * @param z the standard normal quantile of the bound (>= 0)
 */
export function trendReach(m: QuadraticTrend, h: number, z: number): readonly [number, number] {
  const x1 = (m.w - 1) / 2;
  const x2 = x1 + Math.min(m.w, Math.max(0, h));
  const dx = x2 - x1;
  const dp = x2 * x2 - x1 * x1;
  const move = m.b1 * dx + m.b2 * dp;
  const se = Math.sqrt(m.s2 * ((dx * dx) / m.sxx + (dp * dp) / m.spp));
  const sure = Math.max(0, Math.abs(move) - z * se);
  return move < 0 ? [sure, 0] : [0, sure];
}

/**
 * Robust statistics for the explanations: medians and MAD rather than means and standard deviations, so
 * the few readings an anomaly is made of do not move the yardstick they are measured with. Pure functions
 * over plain number arrays; none of them mutates its input.
 */

/** 1.4826 · MAD estimates the standard deviation of normally distributed data. */
export const MAD_TO_SIGMA = 1.4826;

/**
 * Median of `xs` (NaN for an empty array). O(n log n): it sorts a copy, a Float64Array (the engine's numeric sort,
 * no comparator called per pair: several times faster for the explanations' hundreds of values). Numbers that
 * compare equal are the same number but for -0 and +0, so the sorted values, and the median, are those of a sort
 * with the comparator (a, b) => a - b; an array holding -0, NaN (which that comparator leaves where it finds it)
 * or anything but a number is sorted as before, with the comparator.
 */
export function median(xs: readonly number[]): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    if (typeof x !== 'number' || x !== x || (x === 0 && 1 / x < 0)) return medianByComparator(xs);
    s[i] = x;
  }
  s.sort();
  const mid = n >> 1;
  return n % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** median's way for an array it cannot sort as a Float64Array: a sorted copy by (a, b) => a - b. */
function medianByComparator(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Robust standard deviation: 1.4826 · median(|x - median|); 0 for fewer than two values. */
export function robustSigma(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = median(xs);
  return MAD_TO_SIGMA * median(xs.map((x) => Math.abs(x - m)));
}

/** Consecutive differences x[i] - x[i-1] (length n - 1). */
export function diffs(xs: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < xs.length; i++) out.push(xs[i] - xs[i - 1]);
  return out;
}

/** The smallest non-zero |difference| between consecutive values: the sensor's resolution as seen; 0 if none. */
export function resolution(xs: readonly number[]): number {
  let best = Infinity;
  for (let i = 1; i < xs.length; i++) {
    const d = Math.abs(xs[i] - xs[i - 1]);
    if (d > 0 && d < best) best = d;
  }
  return Number.isFinite(best) ? best : 0;
}

/** Length of the longest run of equal consecutive values, with where it starts. */
export function longestRun(xs: readonly number[]): { readonly length: number; readonly start: number } {
  let best = { length: xs.length > 0 ? 1 : 0, start: 0 };
  let start = 0;
  for (let i = 1; i <= xs.length; i++) {
    if (i < xs.length && xs[i] === xs[start]) continue;
    if (i - start > best.length) best = { length: i - start, start };
    start = i;
  }
  return best;
}

/** At most `max` indices of 0..n-1, evenly spread, always including the first and the last. */
export function thinIndices(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(Math.round((k * (n - 1)) / (max - 1)));
  return out;
}

/**
 * Theil–Sen slope (median of pairwise slopes, units per ms) and Kendall's tau (in [-1, 1]: +1 always rising)
 * of (ts, xs). Pairs are taken over at most 160 evenly spread points, so the cost stays bounded (O(160²)).
 */
export function trend(ts: readonly number[], xs: readonly number[]): { readonly slope: number; readonly tau: number } {
  const idx = thinIndices(xs.length, 160);
  const slopes: number[] = [];
  let concordant = 0;
  let discordant = 0;
  for (let a = 0; a < idx.length; a++) {
    for (let b = a + 1; b < idx.length; b++) {
      const dt = ts[idx[b]] - ts[idx[a]];
      const dx = xs[idx[b]] - xs[idx[a]];
      if (dt > 0) slopes.push(dx / dt);
      if (dx > 0) concordant++;
      else if (dx < 0) discordant++;
    }
  }
  const pairs = (idx.length * (idx.length - 1)) / 2;
  return { slope: slopes.length > 0 ? median(slopes) : 0, tau: pairs > 0 ? (concordant - discordant) / pairs : 0 };
}

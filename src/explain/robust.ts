/**
 * Robust statistics for the explanations: medians and MAD rather than means and standard deviations, so
 * the few readings an anomaly is made of do not move the yardstick they are measured with. Pure functions
 * over plain number arrays; none of them mutates its input.
 */

/** 1.4826 · MAD estimates the standard deviation of normally distributed data. */
export const MAD_TO_SIGMA = 1.4826;

/**
 * Median of `xs` (NaN for an empty array). Expected O(n): the middle order statistics of a Float64Array copy are
 * selected in place (quickselect, Hoare's FIND, with a median-of-three pivot; a selection that has not converged
 * after 2·log2(n) + 8 partitions sorts what is left, so never worse than O(n log n)). The value selected is the
 * one a sort puts there: numbers that compare equal are the same number but for -0 and +0, so the median is that
 * of a sort with the comparator (a, b) => a - b, bit for bit; an array holding -0, NaN (which that comparator
 * leaves where it finds it) or anything but a number is sorted as before, with the comparator.
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
  return middleOf(s);
}

/**
 * The low median of `xs` (Python's `statistics.median_low`): the ⌈n/2⌉-th smallest value, the median itself for an
 * odd n and the smaller of the two middle values for an even n; NaN for an empty array. Always one of `xs`, so a
 * level a sentence tells from readings (a level shift's, a state held) is a value the sensor sent: the median of an
 * even number of readings is the mean of the two middle ones, which may be none of them (tryout co2silence: a CO2
 * sensor's level shift told `474` and `949`, its readings 470 and 478, 946 and 952). Expected O(n), as median; an
 * array holding -0, NaN or anything but a number is sorted with the comparator (a, b) => a - b.
 */
export function lowMedian(xs: readonly number[]): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const k = (n - 1) >> 1;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    if (typeof x !== 'number' || x !== x || (x === 0 && 1 / x < 0)) return [...xs].sort((a, b) => a - b)[k];
    s[i] = x;
  }
  select(s, k);
  return s[k];
}

/**
 * The median of `s` (n >= 1, no NaN, no -0), reordering it: the (n >> 1)-th smallest value selected in place, and
 * for an even n the largest of those below it (all of them at most that value once it is selected).
 */
function middleOf(s: Float64Array): number {
  const n = s.length;
  const mid = n >> 1;
  select(s, mid);
  if (n % 2 === 1) return s[mid];
  let below = s[0];
  for (let i = 1; i < mid; i++) if (s[i] > below) below = s[i];
  return (below + s[mid]) / 2;
}

/**
 * Reorders `s` so that s[k] is the value a sort would put there, every value before it at most s[k] and every value
 * after it at least s[k] (no NaN in `s`).
 */
function select(s: Float64Array, k: number): void {
  let lo = 0;
  let hi = s.length - 1;
  let rounds = 2 * Math.ceil(Math.log2(s.length + 1)) + 8;
  while (hi > lo) {
    if (rounds-- === 0) {
      s.subarray(lo, hi + 1).sort();
      return;
    }
    // Median of three as the pivot (s[lo] <= s[m] <= s[hi] after the swaps).
    const m = (lo + hi) >> 1;
    if (s[m] < s[lo]) swap(s, m, lo);
    if (s[hi] < s[lo]) swap(s, hi, lo);
    if (s[hi] < s[m]) swap(s, hi, m);
    const pivot = s[m];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (s[i] < pivot) i++;
      while (s[j] > pivot) j--;
      if (i <= j) {
        swap(s, i, j);
        i++;
        j--;
      }
    }
    // Now s[lo..j] <= pivot <= s[i..hi], and every value strictly between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(s: Float64Array, a: number, b: number): void {
  const t = s[a];
  s[a] = s[b];
  s[b] = t;
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
  // The absolute deviations straight into the buffer median selects in (no array of them): |x - m| is never -0,
  // so only a NaN (or an element that is not a number) goes the way median takes such an array.
  const n = xs.length;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    const v = Math.abs(x - m);
    if (typeof x !== 'number' || v !== v) return MAD_TO_SIGMA * median(xs.map((y) => Math.abs(y - m)));
    d[i] = v;
  }
  return MAD_TO_SIGMA * middleOf(d);
}

/**
 * The small-sample correction of robustSigma over `n` values (dimensionless, >= 1; 1 for n < 2): the MAD of a few
 * normal values is biased low (of 3, its median is about 0.6 σ), and this factor makes it unbiased. Croux & Rousseeuw,
 * "Time-efficient algorithms for two highly robust estimators of scale", Computational Statistics 1992, Table 1
 * (n = 2 to 9) and b_n = n / (n - 0.8) beyond.
 */
export function madSmallSample(n: number): number {
  const table: Readonly<Record<number, number>> = { 2: 1.196, 3: 1.495, 4: 1.363, 5: 1.206, 6: 1.2, 7: 1.14, 8: 1.129, 9: 1.107 };
  if (!(n >= 2)) return 1;
  return table[n] ?? n / (n - 0.8);
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

/**
 * The sensor's resolution as its normal readings show it, without the readings being judged: the smallest non-zero
 * step between consecutive `normal` readings (resolution); when they show none (fewer than two, or one value
 * throughout: a plug at a steady 123 W, or a stream just restored after a restart), the step of the decimals the
 * readings are written in, `normal` and `judged` alike (10^-d for the most decimals d, at most 6: 123 → 1, 21.5 →
 * 0.1), which says how fine the sensor reads and nothing of how far a judged reading jumped. 0 when there are no
 * readings. Not the resolution of the normal readings and the judged ones together: a spike's own jump off a flat
 * stretch is then its smallest step, and a yardstick of half of it (a band of ± the jump) calls the spike normal
 * (tryout 18, finding 4: `137 W, expected 123 ± 14`).
 */
export function quantum(normal: readonly number[], judged: readonly number[] = []): number {
  const seen = resolution(normal);
  if (seen > 0) return seen;
  let d = -1;
  for (const v of [...normal, ...judged]) if (Number.isFinite(v)) d = Math.max(d, decimalPlaces(v));
  return d < 0 ? 0 : 10 ** -d;
}

/**
 * Decimals in the shortest form of `v` (at most 6); a value kept as a 32-bit float (the series ring keeps readings
 * so) counts as the sensor sent it: 20.37, not 20.370000457763672.
 */
export function decimalPlaces(v: number): number {
  for (let d = 0; d < 6; d++) {
    const r = Number(v.toFixed(d));
    if (r === v || Math.fround(r) === v) return d;
  }
  return 6;
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

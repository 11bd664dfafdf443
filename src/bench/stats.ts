/** Small numeric helpers for the benchmark's summaries. */

/** The q-quantile (0..1) of `xs` by linear interpolation between order statistics; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface Percentiles {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export function percentiles(xs: readonly number[]): Percentiles {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
  };
}

export function median(xs: readonly number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

/** Milliseconds on a clock shared by every process on the machine (wall clock at µs resolution). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Pairwise b[i] - a[i]; null when the two sequences do not line up (then a pairing would be a lie). */
export function pairedDeltas(a: readonly number[], b: readonly number[]): number[] | null {
  if (a.length !== b.length || a.length === 0) return null;
  return a.map((t, i) => b[i] - t);
}

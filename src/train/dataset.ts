/**
 * Builds one training series from several sensors' normal histories, the way the detector will see
 * them: each sensor standardised on its own (the detector normalises every sensor by its own running
 * statistics), one independent segment per sensor, so no training window spans two sensors.
 */

/** Values and segment starts, as TrainSeries takes them. */
export interface SegmentedValues {
  /** Rows of `channels` values, time-major, the histories one after the other. */
  readonly values: Float64Array;
  /** First row of each history (empty histories are left out). */
  readonly segments: Int32Array;
}

/** `histories` are time-major rows of `channels` values each; every channel of every history is standardised on its own. */
export function standardisedSegments(histories: readonly ArrayLike<number>[], channels = 1): SegmentedValues {
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  const kept = histories.filter((h) => h.length > 0);
  for (const [k, h] of kept.entries()) {
    if (h.length % channels !== 0) throw new RangeError(`history ${k} has ${h.length} values, not a multiple of ${channels} channels`);
  }
  const values = new Float64Array(kept.reduce((n, h) => n + h.length, 0));
  const segments = new Int32Array(kept.length);
  let offset = 0;
  kept.forEach((h, k) => {
    segments[k] = offset / channels;
    standardiseInto(h, channels, values, offset);
    offset += h.length;
  });
  return { values, segments };
}

/** Per-channel mean and std (population; a flat channel: std 1) of one history: what standardisedSegments divides it by. */
export interface Standardisation {
  readonly mean: number[];
  readonly std: number[];
}

/**
 * The mean and std standardisedSegments standardises a history by, per channel (sensor units). `h`: time-major
 * rows of `C` values.
 */
export function standardisationOf(h: ArrayLike<number>, C: number): Standardisation {
  const rows = h.length / C;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let t = 0; t < rows; t++) m += h[t * C + c];
    m /= rows;
    let sq = 0;
    for (let t = 0; t < rows; t++) sq += (h[t * C + c] - m) ** 2;
    mean.push(m);
    // A flat channel stays flat at 0 rather than dividing by zero.
    std.push(Math.sqrt(sq / rows) || 1);
  }
  return { mean, std };
}

/**
 * A normalisation fitted on standardised values, composed with the standardisation, back in sensor units:
 * (x − mean_s) / std_s − m) / s = (x − (mean_s + std_s·m)) / (std_s·s).
 */
export function inSensorUnits(norm: { readonly mean: readonly number[]; readonly std: readonly number[] }, by: Standardisation): { mean: number[]; std: number[] } {
  return {
    mean: norm.mean.map((m, c) => by.mean[c] + by.std[c] * m),
    std: norm.std.map((s, c) => by.std[c] * s),
  };
}

function standardiseInto(h: ArrayLike<number>, C: number, out: Float64Array, offset: number): void {
  const rows = h.length / C;
  const { mean, std } = standardisationOf(h, C);
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < rows; t++) out[offset + t * C + c] = (h[t * C + c] - mean[c]) / std[c];
  }
}

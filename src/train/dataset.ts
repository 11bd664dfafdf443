/**
 * Builds one training series from several sensors' normal histories, the way the detector will see
 * them: each sensor standardised on its own (the detector normalises every sensor by its own running
 * statistics), then interleaved in blocks so a time split's validation part holds every sensor.
 */
export function standardiseAndInterleave(histories: readonly Float64Array[], blocks: number): Float64Array {
  const standardised = histories.filter((h) => h.length > 0).map(standardise);
  if (standardised.length === 1) return standardised[0];
  const parts: Float64Array[] = [];
  for (let b = 0; b < blocks; b++) {
    for (const s of standardised) {
      const len = Math.floor(s.length / blocks);
      parts.push(s.subarray(b * len, b === blocks - 1 ? s.length : (b + 1) * len));
    }
  }
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function standardise(values: Float64Array): Float64Array {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / values.length) || 1;
  return values.map((v) => (v - mean) / std);
}

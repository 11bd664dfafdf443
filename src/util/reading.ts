/**
 * A reading (sensor units) written with the stream's reading precision: `decimals`, the most decimals its device
 * sends, never more than its noise can show (src/explain/explain.ts readingPrecision, SeriesStore.readingDecimals), with a proper minus sign
 * (U+2212) and never `-0`. The one rule for a reading shown to people: the sentences' values, expectations and last
 * readings, and the dashboard's sensor list, whose script runs this function's own source (src/http/page.ts), so
 * `21.14` is `21.14 °C` everywhere, and a `21.1` among two-decimal readings `21.10` (tryout 23, finding 4: a
 * sentence's `last 21.1 °C` beside the list's `21.14 °C`). '?' for a value that is not finite. Self-contained (no
 * import, no helper).
 */
export function formatReading(v: number, decimals: number): string {
  if (!Number.isFinite(v)) return '?';
  const d = Math.min(6, Math.max(0, Math.round(Number.isFinite(decimals) ? decimals : 0)));
  const s = v.toFixed(d);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s.replace(/^-/, '\u2212');
}

/**
 * Surprise, −log10(1 − score): the score on a scale that does not bunch up near 1 (3 = one reading in a
 * thousand is this unusual, 5 = one in 100,000). One cap and one conversion for everything that shows or
 * writes a surprise (alert lines, the HTTP API and dashboard, replay's CSV, the CLI), so they never disagree.
 *
 * The cap is 16: a score within 1e-16 of 1 is 1 in float64, so a score (what alerts, MQTT and Home Assistant
 * carry) cannot say more, and no calibration learnt from a stream's history can tell chances below 1e-16
 * apart anyway. The detector's own surprise runs to 30 (docs/SCORING.md, section 4): its rules inside an
 * episode and the evaluation's ranking use that; what people see stops at 16, "off the scale".
 */

/** The largest surprise shown: −log10(1e-16), where the score reaches 1 in float64. */
export const SURPRISE_SHOWN_MAX = 16;

/** −log10(1 − p), the surprise of a score p in [0, 1]; SURPRISE_SHOWN_MAX for p = 1; NaN for a non-finite p. */
export function surpriseOf(p: number): number {
  if (!Number.isFinite(p)) return NaN;
  return -Math.log10(Math.max(1 - p, 10 ** -SURPRISE_SHOWN_MAX));
}

/** A surprise as shown: the detector's (0 to 30) capped at SURPRISE_SHOWN_MAX; NaN stays NaN. */
export function shownSurprise(s: number): number {
  return s > SURPRISE_SHOWN_MAX ? SURPRISE_SHOWN_MAX : s;
}

/** The score in [0, 1] of a surprise `s` (its inverse, 1 − 10^−s); NaN for a non-finite `s`. */
export function scoreOfSurprise(s: number): number {
  if (!Number.isFinite(s)) return NaN;
  return 1 - Math.pow(10, -s);
}

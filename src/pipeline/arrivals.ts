/**
 * How rare is a silence of k steps for a stream, against how its readings have arrived?
 *
 * A silence is the absence of arrivals, not a run of one value. Judged against the stream's runs of equal values
 * alone (`stuck`'s history, src/pipeline/scorer.ts), a periodic reporter whose readings are coarse (a zigbee2mqtt or
 * Home Assistant temperature rounded to 0.1 or 0.5 °C, sent every second or every 30 s whether or not it changed) had
 * its death read as "unchanged": its values repeat for long stretches, so its runs are long and few, its history of
 * runs was not ready for hundreds of readings (256 runs that ended), and once ready a silence of a few minutes was
 * no longer than its usual runs (tryout 20, finding 6: the same 1 Hz signal alarmed after 90 s with 2 decimals,
 * never with 1; at 0.5 °C never). Its arrivals tell what it is: every reading came one interval after the one before.
 *
 * Model. Each reading that arrives is counted in the steps x of the stream's interval that were missed just before
 * it (Placement.filled within a segment, Placement.missed at a gap; 0 on time: a periodic reporter's x are nearly all
 * 0, whatever its values do; a report-on-change sensor's are its quiet stretches). x is beta-geometric, as a run's
 * repeats are (src/pipeline/runs.ts, betaGeometricSurprise): each further step of a silence is missed with a
 * probability p that differs from silence to silence, p ~ Beta(α, β), fitted by the method of moments on the
 * stream's own arrivals (forgotten with the stuck history's horizon, counted in arrivals). A periodic reporter's
 * conjugate geometric (α = 1 + Σx, β = 1 + n) makes a silence of more than `window.resetAfter` steps rare at once;
 * a report-on-change sensor's quiet stretches, widely varied, give a heavy power-law tail (β small), so its usual
 * quiet stays ordinary and only a quiet far beyond its own is rare.
 *
 * Not taught: the stream's first reading, one after a gap the caller excused (the daemon's restart or broker
 * outage: Detector.excuseGap, a reading `reset` without `missed`, or `unheard` filled steps), a duplicate, and a
 * silence judged rare (censored, as a rare run is): a sensor whose silences were alarmed does not learn them.
 */
import { betaGeometricSurprise } from './runs.js';

/** Numbers of a stream's arrival state: forgotten count of arrivals, sum of their missed steps, sum of their squares. */
export const ARRIVAL_STATE = 3;

/**
 * Teaches one arrival after `missed` steps (>= 0) that did not come to a stream's arrival state `m` (ARRIVAL_STATE
 * numbers), forgetting with memory `horizon` arrivals (each earlier one weighs 1 − 1/horizon less). A non-finite or
 * negative count is ignored.
 */
export function teachArrival(m: Float64Array, missed: number, horizon: number): void {
  if (!(missed >= 0) || !Number.isFinite(missed)) return;
  const keep = 1 - 1 / Math.max(2, horizon);
  m[0] = m[0] * keep + 1;
  m[1] = m[1] * keep + missed;
  m[2] = m[2] * keep + missed * missed;
}

/** True once the state `m` has been taught an arrival (a silence can be judged against it). */
export function arrivalsKnown(m: Float64Array): boolean {
  return m[0] > 0;
}

/**
 * Surprise −log10 P(X ≥ missed) of a silence that has missed `missed` steps (>= 1) so far, against the stream's
 * arrivals in `m` (see the module comment); grows with `missed` (a longer silence is never less rare).
 */
export function arrivalSurprise(m: Float64Array, missed: number): number {
  return betaGeometricSurprise(m[0], m[1], m[2], missed);
}

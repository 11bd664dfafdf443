/**
 * How long an episode lasted: one meaning for every place that writes it (`anomalies list`'s LASTED, `show`'s
 * `lasted:`, GET /api/anomalies' `beganTs` and `lastedMs`, the dashboard's duration), the same as its sentence's
 * `for 4 min since 18:08` (tryout 28, finding 12: LASTED was counted from the episode's open, the sentence from when
 * its state began, so an operator read two lengths of one fault).
 *
 * An episode lasts from when the fault its sentence tells began to its end: its `since` (AlertExplanation.since)
 * when that is before the episode's open, else its open. The detector opens an episode some readings after its fault
 * began: a stuck value is stuck from its first reading of the value, a held state (the dwell model) from when it
 * began, a silence from its last reading (its open comes when the first missing reading was due, later), a level
 * shift from its first reading off. Its end is the record's end (the first reading back once resolved; while open,
 * its last reading so far). A silence told in an episode another fault opened (`<its sentence>, then no reading for …`,
 * AlertExplanation.before_silence) lasts from when that fault began, as its sentence tells it first (tryout 40,
 * finding 10: a level shift `since 09:06`, then silent from 09:25, was listed as START 09:25, LASTED 3 min).
 */
import type { AlertExplanation } from './alerts.js';

/** When an episode began and how long it lasted; epoch ms and ms. */
export interface EpisodeLength {
  /** Epoch ms: when its fault began, the explanation's `since` when before `startTs`, else `startTs`. */
  readonly beganTs: number;
  /** Ms from `beganTs` to `endTs` (0 when the end is not after it: a counter reset's one reading). */
  readonly lastedMs: number;
}

/**
 * `startTs`, `endTs`: the episode's open and end (epoch ms; while open, its last reading so far); `explanation`: its
 * record's (null before schema 2, or unexplained: then its open). Its `since`, or its `before_silence.since` when that
 * is earlier; a `since` that does not parse is ignored. Pure.
 */
export function episodeLength(startTs: number, endTs: number, explanation: Pick<AlertExplanation, 'since' | 'before_silence'> | null): EpisodeLength {
  const sinces = explanation === null ? [] : [explanation.since, explanation.before_silence?.since].map((s) => (s === undefined ? Number.NaN : Date.parse(s)));
  const began = Math.min(startTs, ...sinces.filter((s) => Number.isFinite(s)));
  return { beganTs: began, lastedMs: Math.max(0, endTs - began) };
}

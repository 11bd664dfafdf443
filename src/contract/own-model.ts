/**
 * A sensor learning its own model (learning.enabled), as operators see it: how far the learner is with it.
 * One shape and one wording for every place that shows it (`anomalyd status`, GET /api/sensors and the
 * dashboard, the demo), so they never say it differently.
 *
 * Not the sensor's status `learning`: that is the scorer's learning period (its first score.learnReadings
 * readings, no alerts yet; or, with learning.fallback: false, no model at all until its own is trained).
 * A sensor is usually `ok`, scored by the shared model, while it still learns its own.
 */

/** Where a sensor's own model stands while it has none yet. */
export interface OwnModelProgress {
  /**
   * `collecting`: its normal readings are stored until there are `needed`; `queued`: there are, and its
   * training waits for another scope's to end (one training at a time) or for the next housekeeping tick;
   * `training`: its model trains now, in the worker thread; `stopped`: it stopped trying after its models
   * were rejected too often (src/learn/learner.ts MAX_TRIES) until the operator asks for a new try
   * (`anomalyd models retrain SENSOR`); `lastTry` says why.
   */
  readonly phase: 'collecting' | 'queued' | 'training' | 'stopped';
  /**
   * Normal readings collected for it so far (its group's, with learning.groups); never readings of an anomaly. Also
   * after a try (a rejected model, a failed training): what it has, not the count since (`sinceTry`; the leftovers
   * finding 2: a failed training showed `readings: 0` though the sensor had thousands).
   */
  readonly readings: number;
  /**
   * After a try (`lastTry`): the normal readings collected since it, what the next try waits for (`needed` of them);
   * absent before the first try (`readings` then counts towards `needed`).
   */
  readonly sinceTry?: number;
  /**
   * Readings a first training needs: learning.minReadings; after its last model was rejected by the gate (or
   * rolled back to the shared model), the readings the next try waits for; 0 when `stopped`, or when the
   * operator asked for a new try (`anomalyd models retrain`).
   */
  readonly needed: number;
  /** Set when it waits after a try: why its last model was not used (the gate's figures, or the rollback). */
  readonly lastTry?: string;
}

/** 1234 -> "1,234" (the same in every locale). */
function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Fraction of the readings needed that it has, in [0, 1] (the MQTT state's `learning_progress`). */
export function ownModelFraction(p: OwnModelProgress): number {
  if (p.phase === 'stopped') return 0;
  return p.needed > 0 ? Math.min(1, (p.sinceTry ?? p.readings) / p.needed) : 1;
}

/**
 * The progress for people: `learning its own model: 1,234 / 3,600 readings`, `learning its own model: 3,600 /
 * 3,600 readings, training queued`, `training its own model`; after a rejected try, why its last model was
 * not used, in brackets; `not learning its own model: stopped after 5 rejected models, …` once it stopped trying.
 */
export function ownModelText(p: OwnModelProgress): string {
  const have =
    p.sinceTry !== undefined
      ? `${count(Math.min(p.sinceTry, p.needed))} / ${count(p.needed)} readings since its last try, ${count(p.readings)} in all`
      : `${count(Math.min(p.readings, p.needed))} / ${count(p.needed)} readings`;
  const why = p.lastTry !== undefined ? ` (${p.lastTry})` : '';
  switch (p.phase) {
    case 'collecting':
      return `learning its own model: ${have}${why}`;
    case 'queued':
      return `learning its own model: ${have}, training queued${why}`;
    case 'training':
      return 'training its own model';
    case 'stopped':
      return `not learning its own model: ${p.lastTry ?? 'stopped'}`;
  }
}

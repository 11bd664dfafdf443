/**
 * An on/off stream's held-state judgement (a door left open, motion detected far longer than before: src/pipeline/dwell.ts
 * OnOffDwell) as operators see it while it is not ready: how many of its active state's dwells it has learnt of the
 * ones it needs. One shape and one wording for every place that shows it (`anomalyd sensors list`, GET /api/sensors
 * and the dashboard), as own-model.ts is for a sensor's own model.
 */

/** How far an on/off stream's held-state judgement is (GET /api/sensors `onOff.held`). */
export interface HeldStateProgress {
  /** Dwells of its active state learnt: each ended at a switch and began at one, not judged rare (a door's openings). */
  readonly have: number;
  /** Dwells needed before a state held is judged (dwell.ts MIN_ONOFF_DWELLS). */
  readonly needed: number;
  /** The active state's name (the one judged: a door's `open`, a motion's `detected`). */
  readonly state: string;
}

/** Whether a state held is judged yet (it has learnt as many dwells as it needs). */
export function heldStateReady(p: HeldStateProgress): boolean {
  return p.have >= p.needed;
}

/**
 * The progress for people while not ready: `learning how long it stays open: 3 / 8 times` (the active state's name);
 * null once ready (a state held is judged).
 */
export function heldStateText(p: HeldStateProgress): string | null {
  if (heldStateReady(p)) return null;
  return `learning how long it stays ${p.state}: ${Math.min(p.have, p.needed)} / ${p.needed} times`;
}

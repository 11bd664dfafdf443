/**
 * The drift guard of own-model learning: a history whose level, in its newest part (the gate's), is leaving
 * everything it had shown and going on leaving it (a drift the detector may not have told, or told and then took as
 * the new normal) is no normal to learn, and no model is trained on it (tryout 29, finding 1: a drifting room
 * temperature was learnt and its model passed the gate). It is part of the one decision both the device's learner
 * (src/learn/learner.ts) and the replay (src/replay/run.ts, and so `npm run evaluate`) call, decideOwnModel
 * (src/learn/own-model.ts), so the evaluation measures the path the device takes (issue 10, cause 5: the replay
 * called decideOwnModel without it and trained on histories the device refuses).
 */
import type { Config } from '../config/schema.js';
import { driftedFrom, type DriftedAt } from '../pipeline/excursion.js';
import { shortSpan } from '../pipeline/scorer.js';
import { trainingRowsOf } from './gate.js';

/** The level-excursion tracker's settings the guard runs a history through (driftedFrom's span and learnReadings). */
export interface DriftGuard {
  /** Readings in a block of the tracker: the short means' span, shortSpan(score.smooth) (31 with the shipped settings). */
  readonly span: number;
  /** Readings of the tracker's learning period: score.learnReadings (256 with the shipped settings). */
  readonly learnReadings: number;
}

/** The guard with the shipped settings (score.smooth 16, score.learnReadings 256), for a caller given no config. */
export const SHIPPED_DRIFT_GUARD: DriftGuard = { span: 31, learnReadings: 256 };

/** The guard of a config: span shortSpan(score.smooth), learning period score.learnReadings, as the detector's own tracker. */
export function driftGuardOf(config: Config): DriftGuard {
  return { span: shortSpan(config.score.smooth), learnReadings: config.score.learnReadings };
}

/** Which history of a scope drifted, and where (DriftedAt: its row, 0-based, and channel). */
export interface DriftedHistory extends DriftedAt {
  /** Index of the history in the histories given (one per sensor of the scope). */
  readonly history: number;
}

/**
 * The first history of `histories` (time-major rows of `channels` values, sensor units, oldest first; NaN: missing)
 * that drifts in its newest part: each through driftedFrom (src/pipeline/excursion.ts) with the guard's span and
 * learning period, a drift counting from row trainingRowsOf(rows) on (the first row of the gate's held-out part,
 * splitHeldOut's; an excursion that came back before it, a long cycle's first swing, is the stream's own). Null when
 * none drifts.
 */
export function driftedHistory(histories: readonly (Float32Array | Float64Array)[], channels: number, guard: DriftGuard): DriftedHistory | null {
  for (let h = 0; h < histories.length; h++) {
    const rows = Math.floor(histories[h].length / channels);
    const at = driftedFrom(histories[h], channels, guard.span, guard.learnReadings, trainingRowsOf(rows));
    if (at !== null) return { history: h, row: at.row, channel: at.channel };
  }
  return null;
}

/**
 * Why a history is not learnt, for people: "house/temp drifted away from every level it had shown from
 * 2026-12-04T08:30:00.000Z on: its history is not learnt as normal" (` (channel 2)` after the name for a channel
 * other than the first). `atTs`: the data time (epoch ms) of the reading at which the drift was told.
 */
export function driftedText(sensor: string, atTs: number, channel: number): string {
  return `${sensor}${channel > 0 ? ` (channel ${channel})` : ''} drifted away from every level it had shown from ${new Date(atTs).toISOString()} on: its history is not learnt as normal`;
}

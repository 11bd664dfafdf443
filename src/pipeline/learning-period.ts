/**
 * How long a new stream's learning period really is (docs/SCORING.md section 6, "Learning period"; tryout 25,
 * finding 10): `score.learnReadings` readings, but a period too short for the kinds it waits for goes on until each
 * of `level`, `change`, `shift` and `spread` holds MIN_HISTORY values (StreamScorer.learningOf): within the kinds'
 * warm-up (kindsWarmUp, passed to the scorer as ScorerOptions.kindsWarmUp) those not started yet too, after it
 * those that have started.
 */
import type { Config } from '../config/schema.js';
import { MIN_HISTORY } from './scorer.js';

/**
 * The warm-up of the kinds a learning period waits for, in readings of a stream without gaps: the first reading
 * at which `shift` and `spread`, the last of them to fill, hold MIN_HISTORY values. They start once the running
 * normalisation is warm (`normWarmup` readings) and the long-term variability holds `smooth` changes (`smooth` + 1
 * readings), and keep one value per `smooth` readings (their short mean changes little between readings):
 * max(normWarmup, smooth + 1) + MIN_HISTORY · smooth − 1. 159 with the shipped 32 and 16. Measured against the
 * real detector (test/config/learning-period.test.ts: the first judged reading with learnReadings one below it).
 * @param normWarmup model.normWarmup, readings
 * @param smooth score.smooth, readings
 */
export function kindsWarmUp(normWarmup: number, smooth: number): number {
  return Math.max(normWarmup, smooth + 1) + MIN_HISTORY * smooth - 1;
}

/**
 * `score.learnReadings` set below the kinds' warm-up (kindsWarmUp), as [setting, why] pairs for `check-config` (a
 * warning line each) and `run` (a warn at start): the learning period a new stream without gaps then has is the
 * warm-up, not the setting (8 to 158 → 159 with the shipped settings: 13 h 15 min for a sensor read every 300 s).
 * Nothing when learnReadings is at least the warm-up.
 */
export function learnReadingsWarnings(config: Config): Array<readonly [string, string]> {
  const n = config.score.learnReadings;
  const warm = kindsWarmUp(config.model.normWarmup, config.score.smooth);
  if (n >= warm) return [];
  return [
    [
      'score.learnReadings',
      `${n} is below the warm-up of the kinds a learning period waits for (level, change, shift and spread: ${warm} readings with ` +
        `model.normWarmup ${config.model.normWarmup} and score.smooth ${config.score.smooth}): a new stream without gaps learns, and ` +
        `alerts on nothing, for ${warm} readings, not ${n} (${warm} times its report interval): no kind is ready sooner ` +
        `(docs/SCORING.md section 6). Set it to ${warm} or more for a learning period as long as it says`,
    ],
  ];
}

/**
 * Settings that are valid but most likely not what was meant, which `check-config` prints as warnings and `run`
 * logs at start (tryout 26, finding 5). A value that is surely a unit mistake is an error in the schema instead
 * (learning.retrainIntervalMs below a minute); these may be meant:
 *
 * - `window.intervalMs` between 1 and 999: a nominal interval under a second for every stream. Written as seconds
 *   by mistake (60 for a 1-minute sensor), it makes each reading of a slower stream a gap longer than
 *   window.resetAfter intervals, so its window is reset at every reading and slow faults go untold. Under a second
 *   is where a number of seconds is easily written by mistake (1 to 999 s spans the sensors people have: 1 s to
 *   16 min), and a fixed sub-second interval for every stream is rare enough that a warning costs little.
 * - a subscription of ingest.topics no mapping rule can read (src/config/overlaps.ts unreadSubscriptions).
 */
import type { Config } from './schema.js';
import { unreadSubscriptions } from './overlaps.js';

/** Below this (ms) a nonzero window.intervalMs is warned about: it reads as a number of seconds. */
export const INTERVAL_WARN_BELOW_MS = 1000;

/**
 * `[setting, message]` warnings for settings most likely written by mistake (see the file's comment); empty when none.
 * @param config a loaded (valid) configuration
 */
export function likelyMistakes(config: Config): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  const interval = config.window.intervalMs;
  if (interval > 0 && interval < INTERVAL_WARN_BELOW_MS) {
    const gapMs = interval * config.window.resetAfter;
    out.push([
      'window.intervalMs',
      `${interval} is ${interval} ms, ${(1000 / interval).toFixed(1)} readings a second for every stream; it is in milliseconds (${interval} s is ${interval * 1000}). ` +
        `A stream slower than that has a gap at every reading longer than ${config.window.resetAfter} intervals (window.resetAfter, ${gapMs} ms), so its window is reset at each reading and slow faults go untold. ` +
        `0 learns each stream's own interval`,
    ]);
  }
  out.push(...unreadSubscriptions(config.ingest));
  return out;
}

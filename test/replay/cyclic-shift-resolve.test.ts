/**
 * A lasting level shift on a cyclic sensor stays alarmed until the new-normal rule, whatever the phase of the cycle
 * it starts at (tryout 13, finding 4). Through the detector the daemon runs (runReplay, as `anomalyd replay`
 * without --learn-first), with the shipped configuration and the shipped model.
 *
 * The tryout's boiler: 60 + 5 sin(2π k / 600) + N(0, 0.3), +12 from its onset for good. Its period is first found at
 * the estimate of reading 1,536 (two and a half periods held). Before, the `cycle` kind then waited for two periods
 * of new residuals (and its histories for `score.learnReadings` more readings) before it spoke, so a shift in that
 * time was held by `rarity` alone, which loses it where the shifted cycle's trough comes back within the normal range:
 * the episode resolved "recovered" about half a period after its onset (rows 2796 / 2786 / 2789 of the tryout's
 * files, shift at 2490), while a shift after reading ~3300 stayed open until `alerts.newNormalAfter`. Onsets here
 * sweep one and a half periods of that time, from `score.learnReadings` readings after the period is found (the
 * profile's residuals must have shown what normal is: docs/SCORING.md section 5, "A cycle that does not speak
 * yet"), each its own stream (one column of one replay); one stream has no fault and must raise nothing. Counted
 * in readings: run at 1 s and at 1 min between readings.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cyclicShiftFailures, type CyclicShift } from '../helpers/cyclic-shift.js';
import { removeDirs } from '../helpers/replay-shipped.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

/** Onsets: 1,850, 2,000, …: six of them, over one and a half periods at different phases. */
const SHIFT: CyclicShift = { sensor: 'boiler', period: 600, shift: 12, first: 1850, step: 150, onsets: 6 };

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a lasting level shift on a cyclic sensor (shipped configuration and model)', () => {
  for (const [seed, intervalMs] of [
    [1, 1000],
    [2, 60_000],
  ] as const) {
    it(`+12 on 60 + 5 sin(2π k / 600) + N(0, 0.3), ${intervalMs / 1000} s apart: alarmed at its onset at every phase and open until the new normal, never "recovered" while it lasts; the stream without it raises nothing`, async () => {
      const r = await cyclicShiftFailures(SHIFT, shippedConfig(), seed, intervalMs, dirs);
      expect(r.outputs).toBe(r.rows);
      expect(r.failures).toEqual([]);
      expect(r.clean).toEqual([]);
    }, 300_000);
  }
});

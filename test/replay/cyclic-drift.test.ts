/**
 * A slow drift on a cyclic sensor is told while it drifts, and its repair is not a new level shift (tryout 27,
 * finding 1; the kind of tryout 25 finding 1 and tryout 18 finding 3). Through the detector the daemon runs
 * (runReplay, as `anomalyd replay` without --learn-first), with the shipped configuration and the shipped model.
 *
 * A room read every 5 min: 20 + 3 sin(2π k / 288) + N(0, 0.2) °C, to 0.01, four days of normal operation, then
 * +3 °C over 24 h (a failing sensor, a calibration creep), then repaired: back to the true level at once, and two
 * more days. Before, nothing was told during the drift (each learner took in each value a little beyond what it held,
 * at the drift's own rate) and the repair opened an episode of its own, a level shift against the drifted level.
 *
 * Each column is its own stream. Beside the drift, streams whose normal is to wander and must stay quiet: the same
 * room without the drift, the same room whose daily mean wanders by ±1 °C over days, a random walk, and a cumulative
 * counter whose increments follow the day.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplayRow } from '../../src/replay/drive.js';
import { normal } from '../pipeline/detector-helpers.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

const DAY = 288;
/** The drift's first reading: after four days of normal operation. */
const ONSET = 4 * DAY;
/** The repair: 24 h later. */
const REPAIR = ONSET + DAY;
const ROWS = REPAIR + 2 * DAY;
const CHANNELS = ['drift', 'clean', 'wander', 'walk', 'counter'] as const;

function rows(seed: number): ReplayRow[] {
  const draws = CHANNELS.map((_, j) => normal(seed * 100 + j));
  const t0 = Date.UTC(2026, 0, 1);
  const round = (v: number): number => Math.round(v * 100) / 100;
  let walk = 20;
  let counter = 1000;
  const out: ReplayRow[] = [];
  for (let i = 0; i < ROWS; i++) {
    const day = 3 * Math.sin((2 * Math.PI * i) / DAY);
    const drift = i >= ONSET && i < REPAIR ? (3 * (i - ONSET)) / DAY : 0;
    // The daily mean wanders by up to ±1 °C over days (two slow swings of 4.1 and 2.3 days).
    const wander = 0.6 * Math.sin((2 * Math.PI * i) / (4.1 * DAY)) + 0.4 * Math.sin((2 * Math.PI * i) / (2.3 * DAY) + 1);
    walk += 0.1 * draws[3]();
    counter += Math.max(0, 1 + 0.8 * Math.sin((2 * Math.PI * i) / DAY) + 0.2 * draws[4]());
    const values = [
      round(20 + day + 0.2 * draws[0]() + drift),
      round(20 + day + 0.2 * draws[1]()),
      round(20 + day + wander + 0.2 * draws[2]()),
      round(walk),
      round(counter),
    ];
    out.push({ sensor: 'room', ts: t0 + i * 300_000, channels: [...CHANNELS], values });
  }
  return out;
}

/** The rows at which an episode opens (alarmed, and the row before not). */
function opens(alarmed: readonly number[]): number[] {
  const set = new Set(alarmed);
  return alarmed.filter((i) => !set.has(i - 1));
}

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a slow drift on a cyclic sensor (shipped configuration and model)', () => {
  for (const seed of [2, 3]) {
    it(`+3 °C over 24 h on 20 + 3 sin(2π k / 288) + N(0, 0.2) at 5 min after 4 days: told during the drift, the repair opens no episode of its own; a clean room, a room whose daily mean wanders ±1 °C, a random walk and a counter stay quiet (seed ${seed})`, async () => {
      const out = await replayShipped(shippedConfig(), rows(seed), dirs);
      expect(out.length).toBe(ROWS);
      const by = alarmedRows(out, CHANNELS.length);
      const drift = by[0];
      const failures: string[] = [];
      const before = drift.filter((i) => i < ONSET);
      if (before.length > 0) failures.push(`drift: alarmed before the drift, from ${before[0]}`);
      const first = drift.find((i) => i >= ONSET) ?? -1;
      // Told during the drift (before its 24 h are over: the level far off its own range through half a day).
      if (first < 0 || first >= REPAIR) failures.push(`drift: first alarmed ${first < 0 ? 'never' : `at ${first}`}, not during the drift (${ONSET} to ${REPAIR})`);
      // The drift's episode is open when the sensor is repaired, and nothing opens at or after the repair.
      if (!drift.includes(REPAIR - 1)) failures.push('drift: no episode open at the repair');
      const after = opens(drift).filter((i) => i >= REPAIR);
      if (after.length > 0) failures.push(`drift: episodes opened at or after the repair (${REPAIR}): ${after.join(', ')}`);
      CHANNELS.slice(1).forEach((name, j) => {
        if (by[j + 1].length > 0) failures.push(`${name}: ${by[j + 1].length} alarmed rows, opened at ${opens(by[j + 1]).join(', ')}`);
      });
      expect(failures).toEqual([]);
    }, 600_000);
  }
});

/**
 * A plug used a few times a day (a kettle, an iron): its uses are no episodes once its dwells know them, and a
 * left-on is told as the on state held far longer than its usual dwells (tryout 31).
 *
 * The plug reads 0 W but for four uses a day (about 07, 12, 16 and 20 h) of 3 to 5 minutes at its power ± 10 W. Each
 * use was told `level shift` on every day, and a 60 min left-on the same way: an episode keeps its readings out of
 * the histories, so each use stayed the rarest thing the stream knew; and the stream's typical change, weighted by
 * its readings since its first move, stayed the first switch's (1,725 W), against which the dwell tracker
 * (src/pipeline/dwell.ts) saw no switch at all. Now the typical change is a mean over the changes it learnt, the
 * dwells learn the uses, and once they judge the on state's length (8 uses ended: MIN_DWELLS, what they need to tell
 * a left-on; the stream's first use, its first move, comes before it has a typical change and teaches no dwell: so
 * from the tenth use, the third day's second at four a day) a use opens nothing by the kinds that any visit of a state far from the mean
 * raises (StreamScorer.visitOnly). What must not be lost: a plug's first switch-on, to a level it was never seen at,
 * is still told.
 *
 * Generated data (seeded), read every 10 s and every minute, through `replay` with the shipped configuration and model.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { replayEpisodes, shippedReplayDir } from '../helpers/replay-episodes.js';
import { mulberry32 as rng } from '../../src/train/rng.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const tmp = shippedReplayDir('kettle');

const start = Date.UTC(2026, 11, 1);
/** Days of readings; the left-on is on the last. */
const DAYS = 4;
/** The left-on: on at 14:00 of the last day for 60 min (12 times the usual use). */
const LEFT_ON_AT = (DAYS - 1) * DAY + 14 * HOUR;
const LEFT_ON = 60 * MIN;
/** The longest use, ms. */
const LONGEST_USE = 5 * MIN;

interface Use {
  readonly from: number;
  readonly to: number;
}

/**
 * The plug read every `sampleMs` for DAYS days: 0 W, four uses a day of 3 to 5 min at `watts` ± 10 W starting 0 to
 * 40 min after 07, 12, 16 and 20 h, and on the last day the left-on (14:00, 60 min). Returns the rows ([epoch ms,
 * W]) and the uses (epoch ms, the left-on not among them).
 */
function kettle(sampleMs: number, seed: number, watts: number): { rows: [number, number][]; uses: Use[] } {
  const u = rng(seed);
  const uses: Use[] = [];
  for (let d = 0; d < DAYS; d++) {
    for (const h of [7, 12, 16, 20]) {
      const from = start + d * DAY + h * HOUR + Math.round(u() * 40) * MIN;
      uses.push({ from, to: from + (3 + 2 * u()) * MIN });
    }
  }
  const on: Use[] = [...uses, { from: start + LEFT_ON_AT, to: start + LEFT_ON_AT + LEFT_ON }];
  const rows: [number, number][] = [];
  for (let ts = start; ts < start + DAYS * DAY; ts += sampleMs) {
    const isOn = on.some((x) => ts >= x.from && ts < x.to);
    rows.push([ts, isOn ? Math.round(watts + 20 * (u() - 0.5)) : 0]);
  }
  return { rows, uses };
}

describe.skipIf(!builtAndModelsPresent())('a plug used a few times a day', () => {
  for (const [sampleMs, watts, seed] of [
    [10 * SEC, 1800, 31],
    [MIN, 1800, 32],
    [10 * SEC, 600, 33],
  ] as const) {
    it(`read every ${sampleMs / SEC} s at ${watts} W: uses from the tenth on open nothing; the 60 min left-on is told a stuck value`, async () => {
      const { rows, uses } = kettle(sampleMs, seed, watts);
      const episodes = await replayEpisodes(tmp.dir, tmp.config, `kettle-${sampleMs}-${watts}`, rows);
      const leftOn = start + LEFT_ON_AT;
      // The uses from the tenth on: no episode meets them. The first use is the stream's first move (no typical change
      // yet: no switch for the dwells, nor a dwell taught); the next eight teach the on state's dwells (MIN_DWELLS).
      const late = uses.slice(9);
      const toldUses = late.filter((x) => episodes.some((e) => e.start < x.to + MIN && e.end >= x.from));
      expect(toldUses).toEqual([]);
      // Nothing else is told on those days but the left-on.
      const others = episodes.filter((e) => e.start >= uses[9].from - HOUR && !(e.start >= leftOn && e.start < leftOn + LEFT_ON));
      expect(others).toEqual([]);
      // The left-on is told as its state held, within four of the longest uses of its start.
      const held = episodes.filter((e) => e.start >= leftOn && e.start < leftOn + LEFT_ON);
      expect(held.length).toBeGreaterThan(0);
      expect(held[0].kind).toBe('stuck');
      expect(held[0].sentence).toMatch(/never longer than/);
      expect(held[0].start - leftOn).toBeLessThanOrEqual(4 * LONGEST_USE);
    }, 120_000);
  }

  for (const sampleMs of [10 * SEC, MIN]) {
    it(`read every ${sampleMs / SEC} s: a plug's first switch-on (0.4 W standby for a day, then 80 W) is told`, async () => {
      const u = rng(40 + sampleMs);
      const onAt = start + DAY + 9 * HOUR;
      const rows: [number, number][] = [];
      for (let ts = start; ts < onAt + 2 * HOUR; ts += sampleMs) rows.push([ts, ts >= onAt ? Math.round((77 + 6 * u()) * 10) / 10 : u() < 0.5 ? 0.4 : 0.5]);
      const episodes = await replayEpisodes(tmp.dir, tmp.config, `first-on-${sampleMs}`, rows);
      expect(episodes.some((e) => e.start >= onAt && e.start <= onAt + 3 * sampleMs)).toBe(true);
    }, 120_000);
  }
});

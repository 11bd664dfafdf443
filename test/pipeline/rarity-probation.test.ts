/**
 * Rarity's probation (src/pipeline/scorer.ts, rarityProbation), from the finding "a new sensor's first day of a daily
 * cycle" (BENCHMARKS.md, `firstday` and `firstday2`; test/replay/first-day-phases.test.ts): a value histogram filled
 * with one short learning period that held the day's peak or trough knows only that narrow range, and the stream's
 * first walk down its cycle was called `values rarely seen` (then told a drift and held to a new normal). For a
 * second learning period rarity's values are taught, not judged (as a new model's errors are, and as HTM's anomaly
 * likelihood gathers its scores over a probationary period before judging: Ahmad et al., Neurocomputing 2017).
 */
import { describe, expect, it } from 'vitest';
import { lcg } from '../helpers/lcg.js';
import { alarmed, detect, normal } from './detector-helpers.js';

/** config/default.yaml's scorer options where they differ from the test options'. */
const SHIPPED = { learnReadings: 256, threshold: 0.99999, horizon: 10_000, newNormalAfter: 1000 };
/** The surprise of that threshold (−log10(1 − 0.99999)). */
const SHIPPED_THRESHOLD = 5;

describe('rarity’s probation: a second learning period in which its values are taught, not judged', () => {
  it('a room’s daily cycle at 60 s, its first reading at 16 times of day: the walk out of a learning period that held the peak or trough raises no episode', async () => {
    // backfill-kind's rooms (tryout 31's generator, test/helpers/lcg.ts) with the shipped scorer's options, no model:
    // 20 + 2 sin(2π·timeOfDay − 1) + N(0, 0.05) °C, not quantised (six equal readings of a quantised one are
    // `stuck`'s, at the threshold's own rate: first-day-phases' first test). On main, tod 450 and 1170 raised
    // rarity's `values rarely seen` at reading ~330 (surprise 5.8 to 6.5), held for 1,000 readings.
    const DAY = 1440;
    for (let p = 0; p < 16; p++) {
      const tod = p * 90;
      const rnd = lcg(1 + (p % 4));
      const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
      const rows = Array.from({ length: 2 * DAY }, (_, i) => [20 + 2 * Math.sin(2 * Math.PI * (((tod + i) % DAY) / DAY) - 1) + 0.05 * gauss()]);
      const out = await detect(rows, { intervalMs: 60_000, scorer: SHIPPED });
      expect(alarmed(out), `tod ${tod} min`).toEqual([]);
    }
  }, 120_000);

  it('rarity says nothing for a second learning period after the first, then tells a value in the gap between a duty cycle’s two modes as before', async () => {
    // Two states, 0 and 10, for 20 readings each, with noise; after 900 readings, 20 readings at 5 (the gap).
    const z = normal(3);
    const rows = Array.from({ length: 1100 }, (_, i) => [(Math.floor(i / 20) % 2 === 0 ? 0 : 10) + 0.1 * z()]);
    for (let i = 900; i < 920; i++) rows[i] = [5 + 0.1 * z()];
    const out = await detect(rows, { scorer: SHIPPED });
    const judged = out.findIndex((o) => o.reading.status !== 'learning');
    expect(judged).toBe(SHIPPED.learnReadings);
    // The second learning period: judged by nothing (on main rarity spoke from its first judged reading). Later, spoken.
    expect(out.slice(judged, judged + SHIPPED.learnReadings).every((o) => Number.isNaN(o.evidence.rarity))).toBe(true);
    expect(out.slice(3 * SHIPPED.learnReadings, 900).every((o) => !Number.isNaN(o.evidence.rarity))).toBe(true);
    // Its values were taught meanwhile: the duty cycle's own switches raise nothing; the gap is told by rarity.
    expect(alarmed(out).filter((i) => i < 900)).toEqual([]);
    const gap = out.slice(900, 920).map((o) => o.deviationEvidence.rarity);
    expect(Math.max(...gap.filter((s) => !Number.isNaN(s)))).toBeGreaterThanOrEqual(SHIPPED_THRESHOLD);
    expect(alarmed(out)[0]).toBeLessThan(920);
  });
});

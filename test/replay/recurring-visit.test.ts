/**
 * A recurring normal bump is taught once three alike came (src/pipeline/visits.ts, docs/SCORING.md "A recurring visit
 * reached by a walk is taught"): tryout 40, finding 1, a no-frost freezer's defrost every 8 h (−18 → −5 → −18 °C in
 * about an hour) was told at every defrost, for ever (50 episodes in 14 days at report-on-change). What must stay told:
 * a recurring glitch to a sentinel (a jump, no walk), and a slow fault that came back only once (two visits alike are
 * not three). `anomalyd replay` with the shipped configuration (its model), as tryout 40 ran it.
 */
import { describe, expect, it } from 'vitest';
import { freezer } from '../helpers/freezer.js';
import { reportOnChange } from '../helpers/report-on-change.js';
import { replayEpisodes, shippedReplayDir, type ReplayedEpisode } from '../helpers/replay-episodes.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 22);

const at = shippedReplayDir('recurring-visit');

/** The episodes that overlap [from, to) (epoch ms), with `slack` ms either side. */
function overlapping(eps: readonly ReplayedEpisode[], from: number, to: number, slack = 0): ReplayedEpisode[] {
  return eps.filter((e) => e.start < to + slack && e.end >= from - slack);
}

describe('a freezer defrosting every 8 h (tryout 40, finding 1)', () => {
  for (const [name, everyMs] of [['report-on-change', undefined], ['every minute', MIN]] as const) {
    it(`${name}: its first defrosts are told, none from the seventh on (days 3 and 4)`, async () => {
      const f = freezer({ seed: 40, start: T0, spanMs: 4 * DAY, everyMs });
      expect(f.defrosts.length).toBeGreaterThanOrEqual(11);
      const eps = await replayEpisodes(at.dir, at.config, `freezer-${everyMs ?? 'roc'}`, f.rows);
      const told = f.defrosts.map(([a, b]) => overlapping(eps, a, b, 60 * MIN).length > 0);
      // The first is told (nothing is taught before it recurred), and from the seventh on none (main: every one; the
      // branch: 3 of 12 at report-on-change, 5 at a minute, where the second sits inside a 5 h episode of day 1 that
      // is no visit alike).
      expect(told[0]).toBe(true);
      expect(told.slice(6).filter(Boolean).length, `told defrosts: ${told.map((x) => (x ? 1 : 0)).join('')}`).toBe(0);
    }, 600_000);
  }

  it('report-on-change: a glitch to −127 °C four hours after each defrost is told every time', async () => {
    const glitches: number[] = [];
    const f = freezer({
      seed: 41,
      start: T0,
      spanMs: 4 * DAY,
      // Three samples (30 s) at the sentinel, 4 h after each 8-hourly defrost would start (the first after 12 h).
      reading: (t) => {
        const k = Math.floor((t - T0 - 4 * HOUR) / (8 * HOUR));
        const start = T0 + 4 * HOUR + k * 8 * HOUR;
        if (k < 1 || t - start >= 30_000) return null;
        if (glitches.at(-1) !== start) glitches.push(start);
        return -127;
      },
    });
    const eps = await replayEpisodes(at.dir, at.config, 'freezer-glitch', f.rows);
    expect(glitches.length).toBeGreaterThanOrEqual(10);
    const missed = glitches.filter((g) => overlapping(eps, g, g + 30_000, 5 * MIN).length === 0);
    expect(missed.map((g) => new Date(g).toISOString())).toEqual([]);
  }, 600_000);
});

describe('a fault that walks there and comes back, recurring alike', () => {
  it('a room sensor (0.5 °C report-on-change) warmed +10 °C over 20 min, held 20 min and cooled over 20 min, three times 12 h apart: told every time (taught only at the end of the third)', async () => {
    const faults = [T0 + 1.5 * DAY, T0 + 2 * DAY, T0 + 2.5 * DAY];
    const rows = reportOnChange({
      seed: 7,
      start: T0,
      spanMs: 3 * DAY,
      fault: (t) => {
        for (const a of faults) {
          const x = (t - a) / MIN;
          if (x >= 0 && x < 60) return { offset: x < 20 ? x / 2 : x < 40 ? 10 : (60 - x) / 2, noise: 0 };
        }
        return null;
      },
    });
    const eps = await replayEpisodes(at.dir, at.config, 'room-thrice', rows);
    expect(faults.map((a) => overlapping(eps, a, a + HOUR).length > 0)).toEqual([true, true, true]);
  }, 600_000);
});

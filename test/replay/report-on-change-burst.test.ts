/**
 * A noise burst on a report-on-change sensor (0.5 °C steps, a heartbeat every 50 minutes) is told a noise change, at
 * any reporting rate, and a single spike on it stays a spike (tryout 29, finding 6: a burst, the value jumping by many
 * steps and many readings coming fast for a while, was told `spike`). The changes of such a stream are ± one step,
 * their MAD 0, so its quiet was read as no noise at all and no noise change could be measured against it; a burst
 * whose first reading was its largest was told a spike by its readings back within half of it (src/explain/explain.ts:
 * changeNoise, noiseTold). Through `anomalyd replay --episodes`, with the shipped configuration and GRU model.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { reportOnChange, type RocFault } from '../helpers/report-on-change.js';
import { replayEpisodes, shippedReplayDir, type ReplayedEpisode } from '../helpers/replay-episodes.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const tmp = shippedReplayDir('roc-burst');

/** The episodes of a replay of `rows` that overlap [from, to] (epoch ms). */
async function episodesOver(name: string, rows: readonly [number, number][], from: number, to: number): Promise<ReplayedEpisode[]> {
  return (await replayEpisodes(tmp.dir, tmp.config, name, rows)).filter((e) => e.end >= from && e.start <= to);
}

const start = Date.UTC(2026, 10, 30);
/** The fault: day 3 at 10:18. */
const at = start + 3 * DAY + 10 * HOUR + 18 * MIN;

describe.skipIf(!builtAndModelsPresent())('report-on-change sensor: a noise burst and a spike as told', () => {
  // Read every 5 s, 10 s and minute (a change sent at once), two cases each; the burst 30 minutes of extra noise of
  // 2 °C (4 steps) or 4 °C. On main (ba0623a) all four at 5 s and 10 s were told a spike.
  const bursts = [
    { sampleMs: 5 * SEC, noise: 2, seed: 3 },
    { sampleMs: 5 * SEC, noise: 4, seed: 7 },
    { sampleMs: 10 * SEC, noise: 2, seed: 3 },
    { sampleMs: 10 * SEC, noise: 4, seed: 3 },
    { sampleMs: MIN, noise: 4, seed: 3 },
    { sampleMs: MIN, noise: 4, seed: 7 },
  ];
  for (const { sampleMs, noise, seed } of bursts) {
    it(`read every ${sampleMs / SEC} s, seed ${seed}: a 30 min burst of ± ${noise} °C is told a noise change, never a spike`, async () => {
      const fault = (t: number): RocFault | null => (t >= at && t < at + 30 * MIN ? { offset: 0, noise } : null);
      const rows = reportOnChange({ seed, start, sampleMs, fault });
      // Many readings in it: the burst is many changes, not one.
      expect(rows.filter(([t]) => t >= at && t < at + 30 * MIN).length).toBeGreaterThan(20);
      const mine = await episodesOver(`burst-${sampleMs}-${seed}`, rows, at, at + 30 * MIN);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.map((e) => e.kind)).toEqual(mine.map(() => 'noise_change'));
    }, 120_000);
  }

  for (const { sampleMs, seed } of [
    { sampleMs: 5 * SEC, seed: 7 },
    { sampleMs: MIN, seed: 3 },
  ]) {
    it(`read every ${sampleMs / SEC} s, seed ${seed}: one reading 6 °C off is told a spike`, async () => {
      const fault = (t: number): RocFault | null => (t >= at && t < at + sampleMs ? { offset: 6, noise: 0 } : null);
      const rows = reportOnChange({ seed, start, sampleMs, fault });
      const mine = await episodesOver(`spike-${sampleMs}-${seed}`, rows, at, at + 30 * MIN);
      expect(mine.map((e) => ({ start: e.start, kind: e.kind }))).toEqual([{ start: at, kind: 'spike' }]);
    }, 120_000);
  }
});

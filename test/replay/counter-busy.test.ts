/**
 * A counter that does not rest is told (tryout 40, finding 5: a water meter's total rising 1 L every 2 min all night,
 * when it normally sends nothing at night, was never told). Through `anomalyd replay --episodes` with the shipped
 * configuration and model, the stream recognised as a counter from its readings (src/pipeline/counter.ts
 * CounterStep.busy): a leak all night after a normal fortnight of showers, taps, a washing machine and a garden hose
 * of 1 to 2 h is told `continuous_flow` once it outlasted every busy run, within BUSY_TIMES × the longest (or
 * BUSY_FLOOR report periods), at 0.5 and 2 L/min, since its first increment, ending with it; the same fortnight
 * without the leak, and a P1 energy total that counts at every reading (it never rests), are told nothing of it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUSY_FLOOR, BUSY_TIMES, REST_PERIODS } from '../../src/pipeline/counter.js';
import { formatDuration } from '../../src/util/duration.js';
import { MODELS } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { replayEpisodes, shippedReplayDir } from '../helpers/replay-episodes.js';
import { WATER_SEND_MS, busyRuns, waterMeter } from '../helpers/water-meter.js';

const present = existsSync(join(MODELS, 'gru.json'));
const at = shippedReplayDir('counter-busy');

const T0 = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;
const H = 3_600_000;
/** The leak: the 15th night, 23:00 to 06:00. */
const LEAK_START = T0 + 14 * DAY + 23 * H;
const LEAK_END = T0 + 15 * DAY + 6 * H;
/** A rest as the counter measures it at the meter's pace (REST_PERIODS sends). */
const REST_MS = REST_PERIODS * WATER_SEND_MS;

describe.skipIf(!present)('a counter that does not rest far longer than every busy run is told continuous flow', () => {
  for (const perMin of [0.5, 2]) {
    it(`a leak of ${perMin} L/min all night after a fortnight of use: one episode, opened within the bound, since its first increment, ended with it`, async () => {
      const { rows } = waterMeter({ seed: 40, t0: T0, days: 16, until: T0 + 15 * DAY + 12 * H, hose: true, leaks: [{ start: LEAK_START, end: LEAK_END, perMin }] });
      const before = rows.filter(([t]) => t < LEAK_START);
      const longest = Math.max(...busyRuns(before, REST_MS).map(([a, b]) => b - a));
      // The fortnight had a garden hose's run of an hour or more: the leak outlasts it well within the night.
      expect(longest).toBeGreaterThanOrEqual(H);
      const first = rows.findIndex(([t]) => t >= LEAK_START);
      const lastLeak = rows.findLastIndex(([t]) => t < LEAK_END);
      const leakGap = 60_000 / perMin;
      const name = `leak${String(perMin).replace('.', '')}`;
      const episodes = await replayEpisodes(at.dir, at.config, name, rows);
      // Nothing told of the fortnight's normal use.
      expect(episodes.filter((e) => e.start < LEAK_START)).toEqual([]);
      const flow = episodes.filter((e) => e.kind === 'continuous_flow');
      expect(flow).toHaveLength(1);
      const [e] = flow;
      const since = rows[first][0];
      // Not before the leak outlasted every busy run; no later than the bound and the leak's next reading after it.
      expect(e.start).toBeGreaterThan(since + longest);
      expect(e.start).toBeLessThanOrEqual(since + Math.max(BUSY_TIMES * longest, BUSY_FLOOR * WATER_SEND_MS) + leakGap);
      // Ended with the leak: at the first reading after its rest (the morning's shower), not held through the morning.
      expect(e.end).toBeLessThanOrEqual(rows[lastLeak + 1][0]);
      expect(rows[lastLeak + 1][0] - rows[lastLeak][0]).toBeGreaterThanOrEqual(REST_MS);
      const rise = rows[lastLeak][1] - rows[first - 1][1];
      const clock = new Date(since).toISOString().slice(11, 16);
      expect(e.sentence).toMatch(new RegExp(`^${name}\\S* ${rows[lastLeak][1]}, up ${rise} in [\\d.]+ h without a rest since (\\d{4}-\\d\\d-\\d\\d )?${clock}, never longer than [\\d.]+ (min|h) before \\(continuous flow\\)$`));
      expect(e.sentence).toContain(`in ${formatDuration(rows[lastLeak][0] - since)} without`);
      // Nothing else told.
      expect(episodes).toEqual(flow);
    }, 300_000);
  }

  it('the same fortnight with no leak (showers, taps, a washing machine, a garden hose of 1 to 2 h) is told nothing', async () => {
    const { rows, uses } = waterMeter({ seed: 40, t0: T0, days: 16, hose: true });
    expect(uses.filter((x) => x.perMin === 10).length).toBeGreaterThanOrEqual(3);
    const episodes = await replayEpisodes(at.dir, at.config, 'water-normal', rows);
    expect(episodes).toEqual([]);
  }, 300_000);

  it('a P1 energy total counting at every reading for 10 days (it never rests) is never told continuous flow', async () => {
    const u = lcg(7);
    const rows: [number, number][] = [];
    let total = 5123.456;
    for (let k = 0; k < (10 * DAY) / 30_000; k++) {
      const ts = T0 + k * 30_000;
      const hour = new Date(ts).getUTCHours();
      // A base load of 0.3 kW and the household's cooking, kettles and heat pump on top (kW).
      const kw = 0.3 + (hour >= 17 && hour < 20 ? 2 * u() : 0) + (u() < 0.1 ? 2 : 0) + 0.5 * u();
      total = Math.round((total + (kw * 30) / 3600) * 1000) / 1000;
      rows.push([ts, total]);
    }
    const episodes = await replayEpisodes(at.dir, at.config, 'p1-total', rows);
    expect(episodes.filter((e) => e.kind === 'continuous_flow')).toEqual([]);
  }, 300_000);
});

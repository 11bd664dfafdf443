/**
 * A sensor whose report period changes (issue 10, tryout 38 finding 8: a weather sensor's firmware from 5 min to 1 min
 * reports for its last 12 h, the same signal, a normal day): main told "drift -0.8 °C/h" for 5.5 h, then "off the usual
 * cycle", still open 6 h later. The cycle's period and profile were counted in readings (288 a day at 5 min, 1,440 at
 * 1 min): at the new pace its phase ran five times too fast. Now the cadence tells the change once the stream's
 * settled interval is another report period (src/pipeline/cadence.ts, Placement.retimed), and the spans counted in
 * readings of the old period (the cycle, its residuals' scale, the dwells) start over at the new pace.
 *
 * Through the detector the daemon runs (runReplay, the shipped configuration and model), a day's temperature cycle
 * 5 + 4 sin(2π t / 1 day) °C with N(0, 0.15) noise, to 0.1 °C (tryout 38's gen2.py), in both directions:
 *   - every 5 min for 6 days, then every 1 min for 12 h;
 *   - every 1 min for 3 days, then every 5 min for 1 day;
 * and the same 5 min series unchanged. No episode from the second day on, before or after the change.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cadence, RETIME_FACTOR } from '../../src/pipeline/cadence.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { normal } from '../pipeline/detector-helpers.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 11, 1);

/** The readings of `sensor`: every `firstMs` for `firstSpan` ms from T0, then every `thenMs` for `thenSpan`. */
function series(sensor: string, seed: number, firstMs: number, firstSpan: number, thenMs: number, thenSpan: number): ReplayRow[] {
  const g = normal(seed);
  const out: ReplayRow[] = [];
  for (let t = T0; t <= T0 + firstSpan + thenSpan; t += t < T0 + firstSpan ? firstMs : thenMs) {
    const v = 5 + 4 * Math.sin(((t - T0) / DAY) * 2 * Math.PI) + 0.15 * g();
    out.push({ sensor, ts: t, channels: ['value'], values: [Math.round(v * 10) / 10] });
  }
  return out;
}

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

describe('a change of report period is told by the cadence once, in both directions', () => {
  for (const [from, to] of [
    [5 * MIN, MIN],
    [MIN, 5 * MIN],
    [10_000, 60_000],
  ] as const) {
    it(`every ${from / 1000} s, then every ${to / 1000} s: retimed once, when the median of the last 31 gaps is the new one`, () => {
      const c = new Cadence({ intervalMs: 0, resetAfter: 4 });
      const retimes: Array<{ at: number; fromMs: number; toMs: number }> = [];
      let ts = T0;
      for (let i = 0; i < 100; i++, ts += from) expect(c.place(ts).retimed).toBeUndefined();
      for (let i = 0; i < 100; i++, ts += to) {
        const p = c.place(ts);
        if (p.retimed !== undefined) retimes.push({ at: i, ...p.retimed });
      }
      // The reading i at the new pace ends its i-th gap at it (the first, i = 0, ends the old pace's last gap): the 16th
      // makes the new pace the median of 31; the old one was the interval until then.
      expect(retimes).toEqual([{ at: 16, fromMs: from, toMs: to }]);
      expect(c.intervalMs).toBe(to);
    });
  }

  it('tells no change for jitter, a missed reading now and then, or a period that moves by less than the factor', () => {
    const c = new Cadence({ intervalMs: 0, resetAfter: 4 });
    const g = normal(9);
    let ts = T0;
    for (let i = 0; i < 2000; i++) {
      const period = i < 1000 ? 5 * MIN : 5 * MIN * (RETIME_FACTOR - 0.2);
      ts += period * (i % 17 === 0 ? 2 : 1) + 10_000 * g();
      expect(c.place(ts).retimed).toBeUndefined();
    }
  });

  it('a configured interval is never retimed', () => {
    const c = new Cadence({ intervalMs: 5 * MIN, resetAfter: 4 });
    let ts = T0;
    for (let i = 0; i < 200; i++, ts += i < 100 ? 5 * MIN : MIN) expect(c.place(ts).retimed).toBeUndefined();
  });
});

describe.skipIf(!existsSync(join(MODELS, 'gru.json')))('a daily cycle whose report period changes (tryout 38, finding 8)', () => {
  it('5 min -> 1 min, 1 min -> 5 min and unchanged 5 min: no episode from the second day, before or after the change', async () => {
    const streams = [series('fast', 1, 5 * MIN, 6 * DAY, MIN, 12 * HOUR), series('slow', 2, MIN, 3 * DAY, 5 * MIN, DAY), series('steady', 3, 5 * MIN, 6 * DAY, 5 * MIN, 12 * HOUR)];
    const failures: string[] = [];
    for (const rows of streams) {
      const out = await replayShipped(shippedConfig(), rows, dirs);
      expect(out.length).toBe(rows.length);
      const alarmed = alarmedRows(out, 1)[0].filter((i) => rows[i].ts >= T0 + DAY);
      if (alarmed.length > 0) failures.push(`${rows[0].sensor}: ${alarmed.length} rows alarmed from the second day, from ${new Date(rows[alarmed[0]].ts).toISOString()}`);
    }
    expect(failures).toEqual([]);
  }, 600_000);
});

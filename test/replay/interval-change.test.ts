/**
 * A sensor whose report period changes (issue 10, tryout 38 finding 8: a weather sensor's firmware from 5 min to 1 min
 * reports for its last 12 h, the same signal, a normal day): main told "drift -0.8 °C/h" for 5.5 h, then "off the usual
 * cycle", still open 6 h later. The cycle's period and profile were counted in readings (288 a day at 5 min, 1,440 at
 * 1 min): at the new pace its phase ran five times too fast. Now the cadence tells the change once the stream's
 * readings whose values moved came at a regular spacing that is another report period (src/pipeline/cadence.ts,
 * Placement.retimed: 28 of the last 31), and the spans counted in readings of the old period (the cycle, its
 * residuals' scale, the dwells) start over at the new pace. A report-on-change sensor's quiet while its value holds,
 * a stretch of lost readings and a few long gaps are no change (branch `interval`'s rule, the median of the last 31
 * gaps, took a report-on-change sensor's quiet during a fault for one: test/replay/report-on-change-end).
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
import { Cadence, RETIME_FACTOR, RETIME_READINGS, RETIME_REGULAR } from '../../src/pipeline/cadence.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { normal } from '../pipeline/detector-helpers.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';
import { reportOnChange } from '../helpers/report-on-change.js';
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
    it(`every ${from / 1000} s, then every ${to / 1000} s: retimed once, when 28 of the last 31 gaps are at the new spacing`, () => {
      const c = new Cadence({ intervalMs: 0, resetAfter: 4 });
      const retimes: Array<{ at: number; fromMs: number; toMs: number }> = [];
      let ts = T0;
      for (let i = 0; i < 100; i++, ts += from) expect(c.place(ts).retimed).toBeUndefined();
      for (let i = 0; i < 100; i++, ts += to) {
        const p = c.place(ts);
        if (p.retimed !== undefined) retimes.push({ at: i, ...p.retimed });
      }
      // The reading i at the new pace ends its i-th gap at it (the first, i = 0, ends the old pace's last gap): the 28th
      // makes 28 of the last 31 gaps regular at the new spacing (RETIME_REGULAR); 16 made it the interval in force.
      expect(retimes).toEqual([{ at: RETIME_REGULAR, fromMs: from, toMs: to }]);
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

  it('a sparse stretch of a regular sensor (every other reading lost for 20 readings, then a few long gaps) is no change', () => {
    const c = new Cadence({ intervalMs: 0, resetAfter: 4 });
    let ts = T0;
    const retimed: number[] = [];
    for (let i = 0; i < 300; i++) {
      // 100 readings at 5 min; 20 at 10 min (every other lost); 100 at 5 min; 3 gaps of 20 min among 5 min ones.
      ts += 5 * MIN * (i >= 100 && i < 120 ? 2 : i === 250 || i === 260 || i === 270 ? 4 : 1);
      if (c.place(ts).retimed !== undefined) retimed.push(i);
    }
    expect(retimed).toEqual([]);
  });

  it("a report-on-change sensor's quiet while its value holds (heartbeats only, 2 days) is no change; were its values moving, it would be one", () => {
    for (const moving of [false, true]) {
      const c = new Cadence({ intervalMs: 0, resetAfter: 64 });
      const retimed: number[] = [];
      let ts = T0;
      // Changes every minute for 2 h, then the value held: the 50 min heartbeat alone for 2 days.
      for (let i = 0; i < 120; i++, ts += MIN) c.place(ts, true, false, true);
      for (let i = 0; i < 58; i++, ts += 50 * MIN) if (c.place(ts, true, false, moving).retimed !== undefined) retimed.push(i);
      expect(retimed.length).toBe(moving ? 1 : 0);
    }
  });

  it('report-on-change sensors with faults of either sign, held or noisy (8 seeds x 5 times of day x 6 faults): none retimed', () => {
    const retimed: string[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      for (const faultAt of [2.85, 6.5, 13.2, 17.33, 10].map((h) => h * HOUR)) {
        for (const fault of [4, -4, 1].flatMap((offset) => [0, 0.3].map((noise) => ({ offset, noise })))) {
          const faultStart = T0 + 3 * DAY + faultAt;
          const rows = reportOnChange({ seed, start: T0, fault: (t) => (t >= faultStart && t < faultStart + 6 * HOUR ? fault : null) });
          const c = new Cadence({ intervalMs: 0, resetAfter: 64 });
          rows.forEach(([t, v], i) => {
            if (c.place(t, true, false, i === 0 || v !== rows[i - 1][1]).retimed !== undefined) retimed.push(`seed ${seed}, ${new Date(t).toISOString()}`);
          });
        }
      }
    }
    expect(retimed).toEqual([]);
  });

  it('a report-on-change sensor whose value moves at nearly every sample is retimed when its sampling changes, 10 s -> 60 s and back', () => {
    const noisy = { offset: 0, noise: 4 };
    const part = (start: number, sampleMs: number): [number, number][] => reportOnChange({ seed: 5, start, spanMs: 6 * HOUR, sampleMs, fault: () => noisy });
    const rows = [...part(T0, 10_000), ...part(T0 + 6 * HOUR, 60_000), ...part(T0 + 12 * HOUR, 10_000)];
    const c = new Cadence({ intervalMs: 0, resetAfter: 64 });
    const retimes: Array<{ h: number; fromMs: number; toMs: number }> = [];
    rows.forEach(([t, v], i) => {
      const p = c.place(t, true, false, i === 0 || v !== rows[i - 1][1]);
      if (p.retimed !== undefined) retimes.push({ h: Math.floor((t - T0) / HOUR), ...p.retimed });
    });
    expect(retimes).toEqual([
      { h: 6, fromMs: 10_000, toMs: 60_000 },
      { h: 12, fromMs: 60_000, toMs: 10_000 },
    ]);
  });

  it('the base spacing is checkpointed: a change across a restart is told once the evidence, started over, holds 31 readings; a state without it takes the first regular spacing as its base', () => {
    const a = new Cadence({ intervalMs: 0, resetAfter: 4 });
    let ts = T0;
    for (let i = 0; i < 100; i++, ts += 5 * MIN) a.place(ts);
    const state = JSON.parse(JSON.stringify(a.toJSON())) as Record<string, unknown>;
    expect(state.base).toBe(5 * MIN);
    const { base: _base, ...older } = state;
    const after = (c: Cadence): number[] => {
      const at: number[] = [];
      let t = ts;
      for (let i = 0; i < 60; i++, t += MIN) if (c.place(t).retimed !== undefined) at.push(i);
      return at;
    };
    // The first reading after the restart ends a gap of the old pace; the 31st fills the evidence (RETIME_READINGS).
    expect(after(Cadence.fromJSON(state, { intervalMs: 0, resetAfter: 4 }))).toEqual([RETIME_READINGS - 1]);
    expect(after(Cadence.fromJSON(older, { intervalMs: 0, resetAfter: 4 }))).toEqual([]);
    expect(() => Cadence.fromJSON({ ...state, base: -1 }, { intervalMs: 0, resetAfter: 4 })).toThrow(/base/);
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

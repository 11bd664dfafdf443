/**
 * A counter's frozen total is told (tryout 40, finding 4: a DSMR gas meter's total frozen 12 h while the heating runs,
 * every 5 min, its longest idle in 13 days 5 readings, was never told). Through `anomalyd replay --episodes` with the
 * shipped configuration and model, the stream recognised as a counter from its readings (src/pipeline/counter.ts
 * CounterStep.frozen): told `stuck`, as a value held since the hold began against the longest idle before, within
 * FROZEN_TIMES × the longest idle (or FROZEN_FLOOR) readings of the hold's start, at 10 s, 5 min and 1 h; a water
 * meter idle all night (its nights of varied length) is told nothing.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROZEN_FLOOR, FROZEN_SEEN_MS, FROZEN_TIMES, MONOTONE_READINGS } from '../../src/pipeline/counter.js';
import { formatDuration } from '../../src/util/duration.js';
import { MODELS } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { replayEpisodes, shippedConfigIn } from '../helpers/replay-episodes.js';

const present = existsSync(join(MODELS, 'gru.json'));
let dir = '';
let config = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalyd-counter-frozen-'));
  config = await shippedConfigIn(dir);
});
afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 1);
/** The meter's longest idle before the freeze, in readings (reached at least once). */
const MAX_IDLE = 5;
/** The freeze, in readings, and the readings counting on after it. */
const HOLD = 144;
const AFTER = 30;

/**
 * A gas meter's total (m³, 3 decimals) every `intervalMs` for `n` readings, idle now and then for 1..MAX_IDLE readings
 * (the burner off), then a rise and HOLD readings of one value (the freeze), then AFTER readings counting on. Returns the
 * rows and the index of the freeze's first reading (the rise whose value it holds).
 */
function gas(seed: number, intervalMs: number, n: number): { rows: [number, number][]; start: number } {
  const u = lcg(seed);
  let total = 4123.886;
  let idle = 0;
  const rows: [number, number][] = [];
  const add = (): void => {
    total = Math.round((total + 0.01 + 0.04 * u()) * 1000) / 1000;
  };
  for (let k = 0; k < n; k++) {
    if (idle > 0) idle--;
    else {
      add();
      if (u() < 0.15) idle = k === 300 ? MAX_IDLE : 1 + Math.floor(u() * MAX_IDLE);
    }
    rows.push([T0 + k * intervalMs, total]);
  }
  // The last idle ends before the freeze's rise.
  for (let k = 0; k < idle; k++) rows.push([T0 + rows.length * intervalMs, total]);
  add();
  const start = rows.length;
  for (let k = 0; k <= HOLD; k++) rows.push([T0 + rows.length * intervalMs, total]);
  for (let k = 0; k < AFTER; k++) {
    add();
    rows.push([T0 + rows.length * intervalMs, total]);
  }
  return { rows, start };
}

/** The longest run of readings equal to the one before that a rise ended. */
function longestEnded(rows: readonly (readonly [number, number])[]): number {
  let run = 0;
  let longest = 0;
  for (let i = 1; i < rows.length; i++) {
    if (rows[i][1] === rows[i - 1][1]) run++;
    else {
      longest = Math.max(longest, run);
      run = 0;
    }
  }
  return longest;
}

describe.skipIf(!present)('a counter frozen far longer than every idle it ended is told stuck', () => {
  for (const [label, intervalMs, unit] of [
    ['10 s (an energy meter polled)', 10_000, 'min'],
    ['5 min (DSMR 5 gas)', 300_000, 'h'],
    ['1 h (DSMR 4 gas, 50 days: recognised from its readings after 1,024)', 3_600_000, 'd'],
  ] as const) {
    it(`at ${label}: one episode, stuck, opened within the bound's readings of the freeze, since its start, against the longest idle`, async () => {
      const n = Math.max(MONOTONE_READINGS + 200, Math.ceil((1.2 * FROZEN_SEEN_MS) / intervalMs));
      const { rows, start } = gas(5, intervalMs, n);
      expect(longestEnded(rows.slice(0, start))).toBe(MAX_IDLE);
      const episodes = await replayEpisodes(dir, config, `gas-${intervalMs}`, rows);
      const bound = Math.max(FROZEN_TIMES * MAX_IDLE, FROZEN_FLOOR);
      const stuck = episodes.filter((e) => e.kind === 'stuck');
      expect(stuck).toHaveLength(1);
      const [e] = stuck;
      // Opened no later than the first reading beyond the bound (the freeze's readings after its rise), not before the
      // freeze outlasted every idle; ended by the first rise after it.
      expect(e.start).toBeLessThanOrEqual(rows[start + bound + 1][0]);
      expect(e.start).toBeGreaterThan(rows[start + MAX_IDLE][0]);
      expect(e.end).toBeLessThanOrEqual(rows[start + HOLD + 1][0]);
      const since = new Date(rows[start][0]).toISOString().slice(11, 16);
      expect(e.sentence).toMatch(new RegExp(`^gas-${intervalMs}\\S* [\\d.]+ for [\\d.]+ ${unit} since (\\d{4}-\\d\\d-\\d\\d )?${since}`));
      expect(e.sentence).toMatch(new RegExp(`, never longer than ${formatDuration(MAX_IDLE * intervalMs)} before \\(stuck value\\)$`));
      // Nothing else told of the normal readings before it.
      expect(episodes.filter((x) => x.start < rows[start][0])).toEqual([]);
    }, 300_000);
  }

  it('a water meter polled every minute, idle all night (nights of 7 to 9 h), is told nothing in 10 days', async () => {
    const u = lcg(21);
    const t0 = Date.UTC(2026, 10, 1, 6);
    let v = 125_000;
    const rows: [number, number][] = [];
    for (let k = 0; k < 10 * 1440; k++) {
      const ts = t0 + k * 60_000;
      const hour = new Date(ts).getUTCHours();
      const night = hour >= 22 || hour < 5 + (Math.floor(k / 1440) % 3);
      if (!night && u() < 0.08) v += 1 + Math.floor(u() * 10);
      rows.push([ts, v]);
    }
    const episodes = await replayEpisodes(dir, config, 'water', rows);
    expect(episodes.filter((e) => e.kind === 'stuck')).toEqual([]);
    expect(episodes).toEqual([]);
  }, 300_000);
});

/**
 * A drift larger than a daily cycle's range is told (tryout 31: a room at 20 ± 2 °C read every 60 s drifting +1 °C/h
 * over its last 8 hours, ~6 °C above anything it had shown, was never told). Through the detector the daemon runs
 * (runReplay, as `anomalyd replay` without --learn-first), with the shipped configuration and the shipped model; the
 * same series read every 60 s and every 10 s (the detector counts in readings: it must not care).
 *
 * Five days of a room: 20 + 2 sin(2π t / 1 day + φ) + N(0, 0.05) °C, to 0.01 (φ by seed), drifting +1 °C/h from
 * 8 hours before the end. Before, the level-excursion rule (src/pipeline/excursion.ts) held it: its spread counted
 * the cycle's swing as the stream's own (8 of them: 11 °C), and its walk bound was the cycle's range (4 °C, for the
 * distance and for its growth). A cycle that repeats (the variogram of every block's mean, low at its period and at
 * twice it) now bounds the level beyond its envelope by what its level does a period apart.
 *
 * Beside it, streams whose normal must stay quiet: the same room without the drift, the room whose cycle's
 * amplitude drifts day to day (2 ± 0.4 °C over 3.3 days), and a random walk (step N(0, 0.02) a minute, hidden under
 * N(0, 0.05)), judged from the second day on: read every 10 s, the learning period (256 readings) is 43 minutes of
 * the first day, whose first swing beyond it main (a4d26c4) tells a drift in every cyclic stream of seed 3 (rows
 * 2,914 … 5,401, resolved as the new normal), as this branch does: not this test's matter.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplayRow } from '../../src/replay/drive.js';
import { normal } from '../pipeline/detector-helpers.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

const DAY_S = 86_400;
const CHANNELS = ['drift', 'clean', 'amplitude', 'walk'] as const;
const T0 = Date.UTC(2026, 11, 1);

/** The rows of one seed read every `stepS` seconds, and the drift's first row. */
function rows(seed: number, stepS: number): { rows: ReplayRow[]; onset: number } {
  const g = CHANNELS.map((_, j) => normal(seed * 100 + j));
  const n = Math.round((5 * DAY_S) / stepS);
  const onset = Math.round((5 * DAY_S - 8 * 3600) / stepS);
  const phase = (seed * 2.4) % (2 * Math.PI);
  const round = (v: number): number => Math.round(v * 100) / 100;
  let walk = 20;
  const out: ReplayRow[] = [];
  for (let k = 0; k < n; k++) {
    const t = k * stepS;
    const cycle = Math.sin((2 * Math.PI * t) / DAY_S + phase);
    const drift = k >= onset ? (t - onset * stepS) / 3600 : 0;
    const amplitude = 2 + 0.4 * Math.sin((2 * Math.PI * t) / (3.3 * DAY_S) + seed);
    walk += 0.02 * Math.sqrt(stepS / 60) * g[3]();
    const values = [round(20 + 2 * cycle + 0.05 * g[0]() + drift), round(20 + 2 * cycle + 0.05 * g[1]()), round(20 + amplitude * cycle + 0.05 * g[2]()), round(walk + 0.05 * g[3]())];
    out.push({ sensor: 'room', ts: T0 + t * 1000, channels: [...CHANNELS], values });
  }
  return { rows: out, onset };
}

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a drift larger than a daily cycle’s range (tryout 31, room1)', () => {
  for (const [stepS, seeds] of [
    [60, [1, 2, 3]],
    // Not seed 1 at 10 s: at its cycle's trough 5 readings repeat 18.27 and main (a4d26c4) opens a stuck value of
    // one reading there, 5 hours before the drift, as this branch does (the drift's own is told on both).
    [10, [2, 3]],
  ] as const) {
    it(`20 ± 2 °C daily drifting +1 °C/h over the last 8 h of 5 days, every ${stepS} s: told during the drift and not before it from the second day; the clean room, the room whose amplitude drifts and a random walk stay quiet from the second day (seeds ${seeds.join(', ')})`, async () => {
      const failures: string[] = [];
      for (const seed of seeds) {
        const { rows: rs, onset } = rows(seed, stepS);
        const out = await replayShipped(shippedConfig(), rs, dirs);
        expect(out.length).toBe(rs.length);
        const by = alarmedRows(out, CHANNELS.length);
        const day = Math.round(DAY_S / stepS);
        const before = by[0].filter((i) => i >= day && i < onset);
        if (before.length > 0) failures.push(`seed ${seed}: drift alarmed before the drift, from row ${before[0]}`);
        if (!by[0].some((i) => i >= onset)) failures.push(`seed ${seed}: drift never alarmed during the drift (rows ${onset} … ${rs.length - 1})`);
        CHANNELS.slice(1).forEach((name, j) => {
          const after = by[j + 1].filter((i) => i >= day);
          if (after.length > 0) failures.push(`seed ${seed}: ${name}: ${after.length} alarmed rows from the second day, from row ${after[0]}`);
        });
      }
      expect(failures).toEqual([]);
    }, 900_000);
  }
});

/**
 * A slow drift far beyond everything a bounded stream has shown, before one period of its cycle has been seen
 * (tryout 28, finding 2). Through the detector the daemon runs (runReplay, as `anomalyd replay` without
 * --learn-first), with the shipped configuration and model, and with the tryout's own `score.learnReadings: 159`
 * (/work/tryout-28/run/house.yaml); the same readings stamped 1 s and 60 s apart (counted in readings, the detector
 * must not care).
 *
 * The tryout's bedroom sensor (sim.cjs `bed_th/temperature`): 19 + 0.3 sin(2π k / 450) + N(0, 0.05) °C, to 0.01,
 * drifting +0.005 °C per reading from reading 400 to its end (555 readings: +2.8 °C, 3.5 times the whole range the
 * stream had shown, 0.8 °C). Beside it, streams whose normal is to wander and must stay quiet: a random walk, a
 * cumulative counter, and a slowly wandering weather temperature (an AR(1) of time constant 360 readings, sd 2 °C,
 * plus N(0, 0.05)).
 *
 * With the shipped configuration main tells the drift of these four seeds (a guard). With the tryout's learning period
 * it does not (seeds 1, 2 and 4), which is the tryout's miss: KNOWN TO FAIL (`it.fails`). Nothing in main tells the drift reliably (BENCHMARKS.md, "A slow drift beyond a bounded
 * history before a period is seen"): on main the rarity kind sometimes catches the drift's leading edge as it passes
 * the learnt maximum (a race against the value histogram learning the drift as it comes), and otherwise no kind
 * reaches the threshold. When a change makes the drift told, this test fails: turn `it.fails` into `it`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { normal } from '../pipeline/detector-helpers.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

/** The drift's first reading (sim.cjs T0). */
const ONSET = 400;
/** The tryout's last reading of the stream. */
const ROWS = 955;
const CHANNELS = ['drift', 'walk', 'counter', 'weather'] as const;

/** The rows of one seed, `stepMs` apart; each column is its own stream. */
function rows(seed: number, stepMs: number): ReplayRow[] {
  const draws = CHANNELS.map((_, j) => normal(seed * 100 + j));
  const t0 = Date.UTC(2026, 11, 3, 17, 58);
  const round = (v: number): number => Math.round(v * 100) / 100;
  let walk = 20;
  let counter = 1000;
  let weather = 0;
  const a = Math.exp(-1 / 360);
  const out: ReplayRow[] = [];
  for (let k = 1; k <= ROWS; k++) {
    const drift = k >= ONSET ? 0.005 * (k - ONSET + 1) : 0;
    walk += 0.1 * draws[1]();
    counter += Math.max(0, 1 + 0.2 * draws[2]());
    weather = a * weather + Math.sqrt(1 - a * a) * 2 * draws[3]();
    const values = [round(19 + 0.3 * Math.sin((2 * Math.PI * k) / 450) + 0.05 * draws[0]() + drift), round(walk), round(counter), round(15 + weather + 0.05 * draws[3]())];
    out.push({ sensor: 'bed_th', ts: t0 + k * stepMs, channels: [...CHANNELS], values });
  }
  return out;
}

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const present = existsSync(join(MODELS, 'gru.json'));

/** The shipped configuration, with the tryout's learning period where `learnReadings` is given. */
function configOf(learnReadings: number | null): Config {
  const c = shippedConfig();
  return learnReadings === null ? c : { ...c, score: { ...c.score, learnReadings } };
}

/** What went wrong with one replay (empty: the drift alarmed during it and not before; with `quiet`, the others never). */
async function failuresOf(config: Config, seed: number, stepMs: number, quiet: boolean): Promise<string[]> {
  const out = await replayShipped(config, rows(seed, stepMs), dirs);
  expect(out.length).toBe(ROWS);
  const by = alarmedRows(out, CHANNELS.length);
  const failures: string[] = [];
  const before = by[0].filter((i) => i < ONSET - 1);
  if (before.length > 0) failures.push(`drift: alarmed before the drift, from row ${before[0]}`);
  if (!by[0].some((i) => i >= ONSET - 1)) failures.push('drift: never alarmed during the drift');
  if (quiet) {
    CHANNELS.slice(1).forEach((name, j) => {
      if (by[j + 1].length > 0) failures.push(`${name}: ${by[j + 1].length} alarmed rows, from row ${by[j + 1][0]}`);
    });
  }
  return failures;
}

describe.skipIf(!present)('a slow drift beyond a bounded history, before a period is seen (tryout 28 finding 2)', () => {
  // With the shipped learning period (256 readings) main tells the drift of these seeds, and the walk, the counter and
  // the wandering weather stay quiet: a guard for any change to the kind.
  for (const stepMs of [1000, 60_000]) {
    it(`+0.005 °C per reading on 19 + 0.3 sin(2π k / 450) + N(0, 0.05) from reading 400, every ${stepMs / 1000} s, shipped configuration: told during the drift in each of seeds 1 to 4; a walk, a counter and a wandering weather stay quiet`, async () => {
      const failures: string[] = [];
      for (const seed of [1, 2, 3, 4]) for (const f of await failuresOf(configOf(null), seed, stepMs, true)) failures.push(`seed ${seed}: ${f}`);
      expect(failures).toEqual([]);
    }, 600_000);
  }

  // With the tryout's learning period (159 readings) main tells it in one of the four seeds: the tryout's miss.
  for (const stepMs of [1000, 60_000]) {
    it.fails(`the same drift, every ${stepMs / 1000} s, with the tryout's score.learnReadings 159: told during the drift in each of seeds 1 to 4 (fails on main: seeds 1, 2 and 4 never alarmed)`, async () => {
      const failures: string[] = [];
      for (const seed of [1, 2, 3, 4]) for (const f of await failuresOf(configOf(159), seed, stepMs, false)) failures.push(`seed ${seed}: ${f}`);
      expect(failures).toEqual([]);
    }, 600_000);
  }
});

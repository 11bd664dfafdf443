/**
 * `cycle` and `rarity` are ready when a new stream's learning period ends, as every other kind measured once per
 * reading is (test/replay/learning-end.test.ts): their evidence is computed from the learning period's own readings
 * (docs/SCORING.md section 6). Through the detector the daemon runs (runReplay, as `anomalyd replay` without
 * --learn-first), with the shipped configuration and the shipped model.
 *
 * - A cyclic stream, 10 + sin(2π t / 40) + N(0, 0.1), with a lasting +0.8 level shift (smaller than the cycle's
 *   amplitude, so `level` and `shift` hardly see it; `cycle` does). Before: the first period estimate came at
 *   reading 512 and cycle spoke from about reading 850, so a shift starting right after learning was missed or
 *   learnt as normal.
 * - A duty cycle of jittered phases (off ≈ 0, on ≈ 8, each phase 10 to 30 readings), whose level moves into the gap
 *   between the modes (4 ± noise) and stays there: near the running mean of the bimodal signal (`level` says
 *   nothing), a step smaller than its switches (`change`), not a cycle that keeps its phase (`cycle`). Only `rarity`
 *   sees it; before, its value histogram spoke from about reading 595.
 *
 * Each onset is its own stream (one column of one replay); one stream of each file has no fault and must raise
 * nothing. Counted in readings: the cyclic case is run at 1 s and at 1 min between readings.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { shortSpan } from '../../src/pipeline/scorer.js';
import type { ReplayOutput, ReplayRow } from '../../src/replay/drive.js';
import { mulberry32 } from '../../src/train/rng.js';
import { normal } from '../pipeline/detector-helpers.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';

/** Onsets swept: every STEP-th of the first ONSETS * STEP readings after the learning period. */
const ONSETS = 40;
const STEP = 2;
/** Readings the fault lasts after the last onset (well short of alerts.newNormalAfter). */
const AFTER = 300;

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));


/** A normal signal (reading i, a seeded source of N(0, 1) draws of its own) and its value under the fault. */
interface Shape {
  normal(i: number): number;
  faulty(i: number): number;
}

/**
 * One file of `first + ONSETS * STEP + AFTER` rows, `intervalMs` apart: column j (j < ONSETS) is `make(j)`'s
 * signal, faulty from row first + STEP * j to the end; the last column has no fault.
 */
function sweep(first: number, intervalMs: number, make: (column: number) => Shape): { rows: ReplayRow[]; onsets: number[] } {
  const onsets = Array.from({ length: ONSETS }, (_, j) => first + STEP * j);
  const channels = [...onsets.map((k) => `k${k}`), 'none'];
  const shapes = channels.map((_, j) => make(j));
  const t0 = Date.UTC(2026, 0, 1);
  const rows: ReplayRow[] = [];
  for (let i = 0; i < first + ONSETS * STEP + AFTER; i++) {
    const values = shapes.map((sh, j) => (j < ONSETS && i >= onsets[j] ? sh.faulty(i) : sh.normal(i)));
    rows.push({ sensor: 's', ts: t0 + i * intervalMs, channels, values });
  }
  return { rows, onsets };
}

/** 10 + sin(2π i / 40) + N(0, 0.1); the fault adds 0.8. Every column draws the same noise at reading i from its own seed. */
function cyclic(seed: number): (column: number) => Shape {
  return (column) => {
    const draw = normal(seed * 1000 + column);
    const noise: number[] = [];
    const at = (i: number): number => {
      while (noise.length <= i) noise.push(0.1 * draw());
      return 10 + Math.sin((2 * Math.PI * i) / 40) + noise[i];
    };
    return { normal: at, faulty: (i) => at(i) + 0.8 };
  };
}

/** Off ≈ N(0, 0.2), on ≈ 8 + N(0, 0.3), each phase 10 to 30 readings (seeded); the fault holds 4 + N(0, 0.2). */
function dutyCycle(seed: number): (column: number) => Shape {
  return (column) => {
    const u = mulberry32(seed * 1000 + column);
    const draw = normal(seed * 1000 + column + 500);
    const values: number[] = [];
    let on = false;
    const at = (i: number): number => {
      while (values.length <= i) {
        const len = 10 + Math.floor(21 * u());
        for (let k = 0; k < len; k++) values.push(on ? 8 + 0.3 * draw() : 0.2 * draw());
        on = !on;
      }
      return values[i];
    };
    return { normal: at, faulty: (i) => (at(i), 4 + 0.2 * draw()) };
  };
}

async function replay(config: Config, rows: readonly ReplayRow[]): Promise<ReplayOutput[]> {
  const out = await replayShipped(config, rows, dirs);
  expect(out.length).toBe(rows.length);
  return out;
}

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('cycle and rarity right after a new stream\'s learning period (shipped configuration and model)', () => {
  const cases: { name: string; make: (column: number) => Shape; intervalMs: number }[] = [
    { name: 'a +0.8 shift on a cycle of 40 readings (amplitude 1), 1 s apart', make: cyclic(1), intervalMs: 1000 },
    { name: 'a +0.8 shift on a cycle of 40 readings (amplitude 1), 1 min apart', make: cyclic(2), intervalMs: 60_000 },
    { name: 'a duty cycle (off 0, on 8, jittered phases) whose level holds in the gap at 4, 1 s apart', make: dutyCycle(3), intervalMs: 1000 },
  ];
  for (const c of cases) {
    it(`${c.name}: a fault starting in the first ${ONSETS * STEP} readings after learning is alarmed within two short means' span and stays alarmed; the stream without it raises nothing`, async () => {
      const config = shippedConfig();
      const first = config.score.learnReadings;
      const { rows, onsets } = sweep(first, c.intervalMs, c.make);
      const out = await replay(config, rows);
      expect(out.findIndex((o) => o.status !== 'learning')).toBe(first);
      const by = alarmedRows(out, onsets.length + 1);
      const late = 2 * shortSpan(config.score.smooth);
      const failures: string[] = [];
      onsets.forEach((k, j) => {
        const rowsOn = by[j];
        const start = rowsOn.length > 0 ? rowsOn[0] : -1;
        const ok = start >= k && start <= k + late && rowsOn.length === rows.length - start;
        if (!ok) failures.push(`onset ${k}: ${rowsOn.length === 0 ? 'never alarmed' : `alarmed from ${start}, ${rowsOn.length} of ${rows.length - k} rows`}`);
      });
      expect(failures).toEqual([]);
      expect(by[onsets.length]).toEqual([]);
    }, 180_000);
  }
});

/**
 * KNOWN GAP, not fixed (it.fails: it fails on main ba604a9; make it `it` once it passes). A daily cycle that runs 2.5
 * times faster for two days, its values inside their normal range, should be told; the same room whose cycle's
 * amplitude and period wander should not (finding of helper `cycfreq`, thirty-second session: the dev
 * corpus's `cycles/daily_cycle_frequency_1h.csv`, a room's daily cycle read hourly running 2–3× faster for 57 rows,
 * was never alarmed, nor the held-out benchmark's "daily pattern faster" kind). Through the detector the daemon runs
 * (runReplay, as `anomalyd replay` without --learn-first), with the shipped configuration and the shipped model;
 * read every hour (24 readings a cycle) and every 15 minutes (96): the detector counts in readings.
 *
 * On main the `cycle` kind judges only the short mean of the residual against the cycle's profile: a faster cycle's
 * residual has both signs, its short mean stays near 0 (the room's slow weather wander is larger), and no other kind
 * reaches the threshold: the faster stretch is never alarmed, at 1 h and at 15 min. Branch `cycfreq-attempt` passes
 * it (the residual's spread about its short mean added to the kind, the variance part of the GLR of a change in mean
 * and variance, Basseville and Nikiforov 1993, judged at the profile's best-fitting phase) but was not kept: it
 * opens false episodes on plain cycles in test/pipeline/scorer.test.ts and one in the demo (BENCHMARKS.md, section
 * `cycfreq`).
 *
 * Forty days of a room: 20 + A sin φ + 0.3 A sin(2φ + 1) + a weather wander (AR(1), 0.4 °C, a day and a half's
 * memory) + N(0, 0.15) °C, φ = 2π · days + a phase by seed. Streams:
 * - `faster`: A = 3, φ advances 2.5 times as fast from day 28 for two days (the dev corpus's `frequency` kind: it
 *   stays ahead after);
 * - `clean`: the same room without it;
 * - `wander`: A = 3 ± 0.75 over 3.3 days, and a cycle speed 1 ± 0.05 over 4.1 days (its phase drifts up to ±1.6 h
 *   from a fixed day's), never faster than that.
 * Checked from day 10 on (the period is found at the end of the learning period, the kind speaks two periods and a
 * learning's worth of residuals later; what a stream's first days do is not this test's matter).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplayRow } from '../../src/replay/drive.js';
import { shortSpan } from '../../src/pipeline/scorer.js';
import { normal } from '../pipeline/detector-helpers.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

const DAY_S = 86_400;
const CHANNELS = ['faster', 'clean', 'wander'] as const;
const T0 = Date.UTC(2026, 10, 1);

/** The rows of one seed read every `stepS` seconds, the faster stretch's first row and its length in rows. */
function rows(seed: number, stepS: number): { rows: ReplayRow[]; onset: number; span: number; from: number } {
  const g = CHANNELS.map((_, j) => normal(seed * 100 + j));
  const weather = CHANNELS.map((_, j) => normal(seed * 100 + 50 + j));
  const perDay = DAY_S / stepS;
  const n = 40 * perDay;
  const onset = 28 * perDay;
  const span = 2 * perDay;
  const phase0 = (seed * 2.4) % (2 * Math.PI);
  // AR(1) weather with a memory of 1.5 days, stationary standard deviation 0.4 °C.
  const a = 1 - 1 / (1.5 * perDay);
  const wander = CHANNELS.map(() => 0);
  const phase = CHANNELS.map(() => phase0);
  const out: ReplayRow[] = [];
  for (let k = 0; k < n; k++) {
    const t = k * stepS;
    const values = CHANNELS.map((name, j) => {
      wander[j] = a * wander[j] + 0.4 * Math.sqrt(1 - a * a) * weather[j]();
      const amp = name === 'wander' ? 3 + 0.75 * Math.sin((2 * Math.PI * t) / (3.3 * DAY_S) + seed) : 3;
      const p = phase[j];
      const speed = name === 'faster' && k >= onset && k < onset + span ? 2.5 : name === 'wander' ? 1 + 0.05 * Math.sin((2 * Math.PI * t) / (4.1 * DAY_S)) : 1;
      phase[j] += (2 * Math.PI * speed) / perDay;
      return Math.round((20 + amp * Math.sin(p) + 0.3 * amp * Math.sin(2 * p + 1) + wander[j] + 0.15 * g[j]()) * 100) / 100;
    });
    out.push({ sensor: 'room', ts: T0 + t * 1000, channels: [...CHANNELS], values });
  }
  return { rows: out, onset, span, from: 10 * perDay };
}

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a daily cycle that runs faster within its normal range (shipped configuration and model)', () => {
  for (const [seed, stepS] of [
    [1, 3600],
    [2, 900],
  ] as const) {
    it.fails(`read every ${stepS / 60} min (not yet: a known gap): the faster stretch is alarmed within it and resolved soon after; the room without it and the room whose amplitude and period wander raise nothing`, async () => {
      const config = shippedConfig();
      const r = rows(seed, stepS);
      const out = await replayShipped(config, r.rows, dirs);
      expect(out).toHaveLength(r.rows.length);
      const by = alarmedRows(out, CHANNELS.length).map((rs) => rs.filter((i) => i >= r.from));
      const late = shortSpan(config.score.smooth) + config.alerts.closeAfter;
      const [faster, clean, wander] = by;
      expect(faster.filter((i) => i >= r.onset && i < r.onset + r.span).length).toBeGreaterThan(0);
      expect(faster.filter((i) => i < r.onset || i >= r.onset + r.span + late)).toEqual([]);
      expect(clean).toEqual([]);
      expect(wander).toEqual([]);
    }, 300_000);
  }
});

/**
 * A lasting level shift on a cyclic sensor stays alarmed until the new-normal rule, whatever the phase of the cycle
 * it starts at (tryout 13, finding 4). Through the detector the daemon runs (runReplay, as `anomalyd replay`
 * without --learn-first), with the shipped configuration and the shipped model.
 *
 * The tryout's boiler: 60 + 5 sin(2π k / 600) + N(0, 0.3), +12 from its onset for good. Its period is first found at
 * the estimate of reading 1,536 (two and a half periods held). Before, the `cycle` kind then waited for two periods
 * of new residuals (and its histories for `score.learnReadings` more readings) before it spoke, so a shift in that
 * time was held by `rarity` alone, which loses it where the shifted cycle's trough comes back within the normal range:
 * the episode resolved "recovered" about half a period after its onset (rows 2796 / 2786 / 2789 of the tryout's
 * files, shift at 2490), while a shift after reading ~3300 stayed open until `alerts.newNormalAfter`. Onsets here
 * sweep one and a half periods of that time, from `score.learnReadings` readings after the period is found (the
 * profile's residuals must have shown what normal is: docs/SCORING.md section 5, "A cycle that does not speak
 * yet"), each its own stream (one column of one replay); one stream has no fault and must raise nothing. Counted
 * in readings: run at 1 s and at 1 min between readings.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { modelSidecarPath } from '../../src/daemon.js';
import { shortSpan } from '../../src/pipeline/scorer.js';
import type { ReplayOutput, ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';
import { normal } from '../pipeline/detector-helpers.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

const PERIOD = 600;
/** Onsets: FIRST, FIRST + STEP, …: six of them, over one and a half periods at different phases. */
const FIRST = 1850;
const STEP = 150;
const ONSETS = 6;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});


/** One file: column j < ONSETS shifted +12 from row FIRST + STEP · j to the end, the last column never. */
function boiler(seed: number, rowCount: number, intervalMs: number): { rows: ReplayRow[]; onsets: number[] } {
  const onsets = Array.from({ length: ONSETS }, (_, j) => FIRST + STEP * j);
  const channels = [...onsets.map((k) => `k${k}`), 'none'];
  const draws = channels.map((_, j) => normal(seed * 1000 + j));
  const t0 = Date.UTC(2026, 0, 1);
  const rows: ReplayRow[] = [];
  for (let i = 0; i < rowCount; i++) {
    const values = channels.map((_, j) => 60 + 5 * Math.sin((2 * Math.PI * i) / PERIOD) + 0.3 * draws[j]() + (j < ONSETS && i >= onsets[j] ? 12 : 0));
    rows.push({ sensor: 'boiler', ts: t0 + i * intervalMs, channels, values });
  }
  return { rows, onsets };
}

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a lasting level shift on a cyclic sensor (shipped configuration and model)', () => {
  for (const [seed, intervalMs] of [
    [1, 1000],
    [2, 60_000],
  ] as const) {
    it(`+12 on 60 + 5 sin(2π k / 600) + N(0, 0.3), ${intervalMs / 1000} s apart: alarmed at its onset at every phase and open until the new normal, never "recovered" while it lasts; the stream without it raises nothing`, async () => {
      const config = shippedConfig();
      const keep = config.alerts.newNormalAfter;
      const { rows, onsets } = boiler(seed, FIRST + STEP * (ONSETS - 1) + keep + 50, intervalMs);
      const dir = mkdtempSync(join(tmpdir(), 'anomalyd-cyclic-shift-'));
      dirs.push(dir);
      const out: ReplayOutput[] = [];
      await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir }, (o) => out.push(o));
      expect(out.length).toBe(rows.length);
      const by: number[][] = Array.from({ length: ONSETS + 1 }, () => []);
      out.forEach((o, i) => {
        for (const c of o.anomalousChannels) by[c].push(i);
      });
      const late = shortSpan(config.score.smooth);
      const failures: string[] = [];
      onsets.forEach((k, j) => {
        const on = by[j];
        const start = on.length > 0 ? on[0] : -1;
        // The first row after start that is not alarmed: where the episode resolved.
        let end = start;
        while (end - start < on.length && on[end - start] === end) end++;
        // An episode resolves as the new normal at its newNormalAfter-th reading (not alarmed from then on).
        const ok = start >= k && start <= k + late && end - start >= keep - 1;
        if (!ok) failures.push(`onset ${k} (phase ${(k % PERIOD) / PERIOD}): ${start < 0 ? 'never alarmed' : `alarmed from ${start}, resolved at ${end} (value ${rows[end]?.values[j].toFixed(2)})`}`);
      });
      expect(failures).toEqual([]);
      expect(by[ONSETS]).toEqual([]);
    }, 300_000);
  }
});

/**
 * A new stream is not blind after its learning period: a lasting level shift that starts at any reading after
 * the learning period is alarmed, and stays alarmed while it lasts, as one that starts long after it is. Through
 * the detector the daemon runs (runReplay, as `anomalyd replay` without --learn-first), with the shipped
 * configuration and the shipped model.
 *
 * Before the fix, the histories of the kinds whose values start late (level and shift after the normalisation's
 * warm-up, the short means once full) were not ready when the learning period ended: for tens of readings the
 * stream was judged on nothing (or the score alone opened a silent episode), the fault's readings taught the
 * histories, and it became normal (with 256 learning readings, a shift starting at readings 256-289 was never
 * alarmed, one at 290-319 for 16 readings).
 *
 * Each onset is its own stream (one column of one replay); one stream in the same file has no shift and must
 * raise nothing. Everything is counted in readings, so the test holds at 1 s and at 1 min between readings, and
 * for other lengths of the learning period. One shorter than the warm-up of shift's short means (the
 * normalisation's warm-up, a short mean, then MIN_HISTORY short means) goes on until shift's history can be
 * ready: the onsets are swept from the stream's first judged reading.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { MIN_HISTORY, shortSpan } from '../../src/pipeline/scorer.js';
import type { ReplayOutput, ReplayRow } from '../../src/replay/drive.js';
import { normal } from '../pipeline/detector-helpers.js';
import { MODELS, ROOT } from '../helpers/daemon.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';

/** Onsets swept: the first ONSETS readings after the learning period. */
const ONSETS = 80;
/** Readings the shift lasts after the last onset (well short of alerts.newNormalAfter). */
const AFTER = 300;
/** Noise std and the shift (8 sigma), sensor units around 10. */
const NOISE = 0.1;
const SHIFT = 0.8;

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

function shipped(overrides: { score?: { learnReadings: number } } = {}): Config {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { model: { dir: MODELS }, ...overrides } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

/**
 * One file of `first + ONSETS + AFTER` rows, `intervalMs` apart: column j (j < ONSETS) is 10 + N(0, NOISE) with
 * +SHIFT from row first + j to the end; the last column has no shift. Seeded.
 */
function sweep(first: number, intervalMs: number, seed: number): { rows: ReplayRow[]; onsets: number[] } {
  const onsets = Array.from({ length: ONSETS }, (_, j) => first + j);
  const channels = [...onsets.map((k) => `k${k}`), 'none'];
  const draw = normal(seed);
  const t0 = Date.UTC(2026, 0, 1);
  const rows: ReplayRow[] = [];
  for (let i = 0; i < first + ONSETS + AFTER; i++) {
    const values = channels.map((_, j) => 10 + NOISE * draw() + (j < ONSETS && i >= onsets[j] ? SHIFT : 0));
    rows.push({ sensor: 's', ts: t0 + i * intervalMs, channels, values });
  }
  return { rows, onsets };
}

async function replay(config: Config, rows: readonly ReplayRow[]): Promise<ReplayOutput[]> {
  const out = await replayShipped(config, rows, dirs);
  expect(out.length).toBe(rows.length);
  return out;
}

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a new stream right after its learning period (shipped configuration and model)', () => {
  const cases: { name: string; learn: number | null; intervalMs: number; seed: number }[] = [
    { name: '256 learning readings (shipped), 1 s apart', learn: null, intervalMs: 1000, seed: 1 },
    { name: '256 learning readings (shipped), 1 min apart', learn: null, intervalMs: 60_000, seed: 2 },
    { name: '512 learning readings, 1 s apart', learn: 512, intervalMs: 1000, seed: 3 },
    { name: '64 learning readings (shorter than the warm-up), 1 s apart', learn: 64, intervalMs: 1000, seed: 4 },
  ];
  for (const c of cases) {
    it(`${c.name}: a +8 sigma shift starting at any of the first ${ONSETS} readings after learning is alarmed within a short mean's span and stays alarmed; the stream without it raises nothing`, async () => {
      const config = c.learn === null ? shipped() : shipped({ score: { learnReadings: c.learn } });
      const learn = config.score.learnReadings;
      // The learning period: the configured one, or shift's warm-up when that is longer (the normalisation's
      // warm-up, then MIN_HISTORY short means, one kept per short mean), at most.
      const warmup = config.model.normWarmup + MIN_HISTORY * config.score.smooth;
      const first = Math.max(learn, warmup);
      const { rows, onsets } = sweep(first, c.intervalMs, c.seed);
      const out = await replay(config, rows);
      const judged = out.findIndex((o) => o.status !== 'learning');
      if (learn >= warmup) expect(judged).toBe(learn);
      else expect(judged).toBeGreaterThan(learn);
      expect(judged).toBeLessThanOrEqual(first);
      const by = alarmedRows(out, onsets.length + 1);
      const late = shortSpan(config.score.smooth);
      const failures: string[] = [];
      onsets.forEach((k, j) => {
        const rowsOn = by[j];
        const start = rowsOn.length > 0 ? rowsOn[0] : -1;
        // Alarmed from at most a short mean's span after the onset (an 8 sigma step opens at once on level,
        // a reading whose noise pulls it back by the next ones), never before it, and open to the end.
        const ok = start >= k && start <= k + late && rowsOn.length === rows.length - start;
        if (!ok) failures.push(`onset ${k}: ${rowsOn.length === 0 ? 'never alarmed' : `alarmed from ${start}, ${rowsOn.length} of ${rows.length - k} rows`}`);
      });
      expect(failures).toEqual([]);
      expect(by[onsets.length]).toEqual([]);
    }, 120_000);
  }

  it('a shift from the first judged reading teaches no history: it ends, the episode resolves, and the same shift later is alarmed again', async () => {
    const config = shipped();
    const learn = config.score.learnReadings;
    const draw = normal(5);
    const t0 = Date.UTC(2026, 0, 1);
    // Shifted over [learn, learn + 120) and [learn + 400, learn + 520); the stream's own guard band holds the first
    // shifted readings when the episode opens.
    const shifted = (i: number): boolean => (i >= learn && i < learn + 120) || (i >= learn + 400 && i < learn + 520);
    const rows: ReplayRow[] = Array.from({ length: learn + 700 }, (_, i) => ({ sensor: 's', ts: t0 + i * 1000, channels: ['value'], values: [10 + NOISE * draw() + (shifted(i) ? SHIFT : 0)] }));
    const out = await replay(config, rows);
    const after = config.alerts.closeAfter + shortSpan(config.score.smooth);
    const late = shortSpan(config.score.smooth);
    for (const start of [learn, learn + 400]) {
      // Alarmed within a short mean's span of its onset (as in the sweep above) and to its end.
      const opened = out.findIndex((o, i) => i >= start && o.anomaly);
      expect(opened).toBeGreaterThanOrEqual(start);
      expect(opened).toBeLessThanOrEqual(start + late);
      for (let i = opened; i < start + 120; i++) expect(out[i].anomaly, `row ${i}`).toBe(true);
      // Resolved within closeAfter + a short mean's span of its end, and nothing until the next one.
      for (let i = start + 120 + after; i < Math.min(start + 400, rows.length); i++) expect(out[i].anomaly, `row ${i}`).toBe(false);
    }
  }, 120_000);
});

/**
 * A firmware glitch in a new stream's learning period (one reading far out of scale: 1e14, 0xFFFFFFFF, 65535, -127
 * from a DS18B20) does not poison the stream's variability of changes: after learning, its ordinary readings raise
 * nothing (or, if an episode opens, it resolves within `alerts.closeAfter` readings). Through the detector the daemon runs (runReplay, as `anomalyd replay`), with the shipped configuration
 * and the shipped model (tryout 25, finding 2).
 *
 * Before the fix, the glitch's squared change (1e28) entered the long-term mean squared change (longVar) at full
 * weight; its 10^-4 floors every later log squared change, so the stream's noise level (restLog) drifted from about
 * -6.6 towards +50 through the learning period while every ordinary change read as the floor: the first judged
 * reading, an ordinary 5.0, opened an episode at surprise 16 "within its normal range (unusual noise level)" whose
 * own channel's long-term means then learnt nothing (an open episode's channel does not teach them), so it never
 * resolved.
 *
 * Not met (the expected failure below): a 20 sigma spike after learning is not alarmed in a stream that had a glitch
 * in its learning period. Every kind's calibration history learnt the glitch's own evidence value (the learning period
 * teaches them unconditionally), so the empirical tail above the spike holds one value in about 256 (a kind's surprise
 * at most about 2.4) and the moments fit of its tail is dragged to the heaviest shape. On main too (65535 and
 * 4294967295 in learning: the spike missed; 1e14: the stream was in its never-ending episode).
 *
 * Each glitch stream is one column of one replay (its own stream); the last column has none. Counted in readings.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { normal } from '../pipeline/detector-helpers.js';
import { MODELS, ROOT } from '../helpers/daemon.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

/** Noise std around 5 (sensor units); the spike after learning is 20 of it (a real one, far below any glitch). */
const NOISE = 0.05;
const SPIKE = 1;

function shipped(): Config {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { model: { dir: MODELS } } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

/** Glitches per stream: reading index (from the stream's first) to the value a failed read gave. */
const GLITCHES: Record<string, Record<number, number>> = {
  e14_and_u32: { 60: 1e14, 120: 4294967295 },
  e14_at_120: { 120: 1e14 },
  e14_at_200: { 200: 1e14 },
  u32_at_120: { 120: 4294967295 },
  u16_at_120: { 120: 65535 },
  ds18b20_at_10: { 10: -127 },
  two_in_a_row: { 150: 1e14, 151: 1e14 },
};

const present = existsSync(join(MODELS, 'gru.json'));

/** The rows: every stream of GLITCHES and a clean one, 5 ± NOISE at 10 s, a spike at `spikeAt` in each. */
function rowsFor(channels: readonly string[], n: number, spikeAt: number): ReplayRow[] {
  const draw = normal(7);
  const t0 = Date.UTC(2026, 0, 1);
  const rows: ReplayRow[] = [];
  for (let i = 0; i < n; i++) {
    const values = channels.map((name) => {
      const g = GLITCHES[name]?.[i];
      return g !== undefined ? g : Math.round((5 + NOISE * draw() + (i === spikeAt ? SPIKE : 0)) * 1000) / 1000;
    });
    rows.push({ sensor: 's', ts: t0 + i * 10_000, channels, values });
  }
  return rows;
}

describe.skipIf(!present)('a glitch in a new stream learning period (shipped configuration and model)', () => {
  const channels = [...Object.keys(GLITCHES), 'clean'];
  let by: number[][] = [];
  let learn = 0;
  let closeAfter = 0;
  let spikeAt = 0;

  it('10 s apart: after learning no glitch stream is alarmed on its ordinary readings beyond closeAfter; the clean stream alarms only its spike, which resolves', async () => {
    const config = shipped();
    learn = config.score.learnReadings;
    closeAfter = config.alerts.closeAfter;
    spikeAt = learn + 200;
    const rows = rowsFor(channels, spikeAt + 150, spikeAt);
    const out = await replayShipped(config, rows, dirs);
    expect(out.length).toBe(rows.length);
    by = alarmedRows(out, channels.length);
    const failures: string[] = [];
    channels.forEach((name, c) => {
      // Ordinary readings after learning: nothing open, or an episode that resolves within closeAfter readings of
      // the first judged reading (its readings are within the normal range).
      const before = by[c].filter((i) => i < spikeAt);
      const lastBefore = before.length > 0 ? before[before.length - 1] : -1;
      if (lastBefore >= learn + 2 * closeAfter) failures.push(`${name}: alarmed on ordinary readings from row ${before[0]} to ${lastBefore} (${before.length} rows)`);
      const last = by[c].length > 0 ? by[c][by[c].length - 1] : -1;
      if (last > spikeAt + 100) failures.push(`${name}: still alarmed at row ${last}`);
    });
    const clean = by[channels.length - 1];
    if (clean[0] !== spikeAt) failures.push(`clean: first alarmed row ${clean[0]}, the spike is at ${spikeAt}`);
    expect(failures).toEqual([]);
  }, 240_000);

  // Not met (see the file's comment): the calibration histories learnt the glitch's evidence.
  it.fails('a 20 sigma spike after learning is alarmed in every glitch stream', () => {
    expect(by.length).toBe(channels.length);
    const missed = channels.filter((_, c) => !by[c].includes(spikeAt));
    expect(missed).toEqual([]);
  });
});

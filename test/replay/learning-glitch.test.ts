/**
 * A firmware glitch in a new stream's learning period (one reading far out of scale: 1e14, 0xFFFFFFFF, 65535, -127
 * from a DS18B20, -273.15) poisons nothing it learns: the stream's ordinary readings after learning raise nothing, and
 * a spike after learning is still alarmed. Through the detector the daemon runs (runReplay, as `anomalyd replay`),
 * with the shipped configuration and the shipped model (tryout 25, finding 2).
 *
 * Before the fix, the glitch's change (1e28 squared) entered the long-term mean squared change of the stream
 * (longVar), whose 10^-4 floors every later log squared change: spread's long-term mean of those drifted from -6.6
 * to +24 through the learning period, and the first judged reading, an ordinary one, opened an episode at surprise
 * 16 "within its normal range (unusual noise level)" that nothing but a new normal ended.
 *
 * Each glitch is its own stream (one column of one replay); the last column has none and must raise nothing. Counted
 * in readings, so the test holds at 1 s and at 5 min between readings.
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

/** Noise std around 5 (sensor units), and the spike after learning (20 sigma: a real one, far below any glitch). */
const NOISE = 0.05;
const SPIKE = 1;

function shipped(): Config {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { model: { dir: MODELS } } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

/** Glitches per stream: reading index (from the stream's first) to the value a failed read gave. */
const GLITCHES: Record<string, Record<number, number>> = {
  e14_at_120: { 120: 1e14 },
  e14_at_200: { 200: 1e14 },
  e14_at_40: { 40: 1e14 },
  u32_at_120: { 120: 4294967295 },
  u32_at_250: { 250: 4294967295 },
  u16_at_120: { 120: 65535 },
  ds18b20_at_10: { 10: -127 },
  kelvin_at_120: { 120: -273.15 },
  two_in_a_row: { 150: 1e14, 151: 1e14 },
  two_apart: { 60: 4294967295, 180: 1e14 },
};

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a glitch in a new stream learning period (shipped configuration and model)', () => {
  for (const intervalMs of [1000, 300_000]) {
    it(`${intervalMs / 1000} s apart: after learning no glitch stream raises anything on its ordinary readings, a 20 sigma spike is alarmed in each, the clean stream raises nothing but it`, async () => {
      const config = shipped();
      const learn = config.score.learnReadings;
      const spikeAt = learn + 150;
      const n = learn + 400;
      const names = Object.keys(GLITCHES);
      const channels = [...names, 'clean'];
      const draw = normal(7);
      const t0 = Date.UTC(2026, 0, 1);
      const rows: ReplayRow[] = [];
      for (let i = 0; i < n; i++) {
        const values = channels.map((name) => {
          const g = GLITCHES[name]?.[i];
          return g !== undefined ? g : 5 + NOISE * draw() + (i === spikeAt ? SPIKE : 0);
        });
        rows.push({ sensor: 's', ts: t0 + i * intervalMs, channels, values });
      }
      const out = await replayShipped(config, rows, dirs);
      expect(out.length).toBe(rows.length);
      const by = alarmedRows(out, channels.length);
      const failures: string[] = [];
      channels.forEach((name, c) => {
        const before = by[c].filter((i) => i < spikeAt);
        if (before.length > 0) failures.push(`${name}: alarmed before the spike from row ${before[0]} (${before.length} rows)`);
        if (!by[c].includes(spikeAt)) failures.push(`${name}: the spike at row ${spikeAt} not alarmed`);
        // The spike's episode resolves (closeAfter readings below, plus its short means).
        const last = by[c].length > 0 ? by[c][by[c].length - 1] : -1;
        if (last > spikeAt + 100) failures.push(`${name}: still alarmed at row ${last}`);
      });
      expect(failures).toEqual([]);
    }, 180_000);
  }

  it('the same glitch after learning is alarmed at its reading and resolves', async () => {
    const config = shipped();
    const learn = config.score.learnReadings;
    const at = learn + 100;
    const draw = normal(8);
    const t0 = Date.UTC(2026, 0, 1);
    const rows: ReplayRow[] = Array.from({ length: learn + 300 }, (_, i) => ({ sensor: 's', ts: t0 + i * 10_000, channels: ['value'], values: [i === at ? 1e14 : 5 + NOISE * draw()] }));
    const out = await replayShipped(config, rows, dirs);
    const by = alarmedRows(out, 1)[0];
    expect(by[0]).toBe(at);
    expect(by[by.length - 1]).toBeLessThan(at + 100);
  }, 120_000);
});

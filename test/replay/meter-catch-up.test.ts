/**
 * Tryout 38, finding 6: an hourly cumulative meter flat for 11 readings, then one catch-up jump (the meter's backlog
 * counted at once when it resumed), then counting on as before. Its stuck value was told after 2 flat readings (good),
 * but the catch-up, timed over its own hour, was a rate far above anything the meter had counted at: it held the
 * episode 3 readings more as "counting fast" material, every reading after it was "still off" (a total never comes
 * back to the value before the episode), so the episode was told to its resolve, 18 h after the meter counted again,
 * and the catch-up itself was never mentioned. Without the catch-up (the tryout's meterstop) the episode's end was the
 * first reading back.
 *
 * Now the catch-up is timed over the held steps (src/pipeline/scorer.ts judgeCounter: the meter's usual rate, so
 * nothing holds the episode after its last flat reading), told as the end of the stuck episode's story (`…, then
 * resumed with a catch-up of 7.94`), and the episode ends at the catch-up: its told end is that reading, and it
 * resolves `alerts.closeAfter` readings after its last flat reading, as the meter without a catch-up does. The same
 * in readings every 10 s. Through the CLI (`anomalyd replay --episodes`), the shipped configuration and GRU model;
 * the stream is recognised as a counter from its readings (src/pipeline/counter.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/context.js';
import { replayCommand } from '../../src/cli/replay.js';
import { builtAndModelsPresent, MODELS, ROOT, shippedConfig } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { parse } from 'csv-parse/sync';

const T0 = Date.UTC(2026, 9, 6, 0, 3, 10);
/** Readings (past the counter's recognition: 1,024 without a decrease, 64 rises), the flat stretch's first, and its length. */
const ROWS = 1500;
const FLAT = 1400;
const FLAT_READINGS = 11;
/** The reading that catches up (the first after the flat stretch). */
const CATCH = FLAT + FLAT_READINGS;

let dir: string;
let config: string;

function context(): CommandContext {
  return { stdout: () => undefined, stderr: () => undefined, env: {}, exit: (code) => { throw new Error(`exit ${code}`); } };
}

/**
 * A meter's total (kWh, 2 decimals) counting 0.35-0.6 a reading; from FLAT + 1 on for FLAT_READINGS − 1 readings it
 * repeats reading FLAT's total (the meter stopped counting what was consumed), and at CATCH it is the true total again.
 */
function meter(seed: number, catchUp: boolean): number[] {
  const u = lcg(seed);
  let total = 12_345;
  const out: number[] = [];
  for (let k = 0; k < ROWS; k++) {
    total += 0.35 + 0.25 * u();
    const flat = k > FLAT && k < CATCH;
    out.push(Math.round(flat ? out[FLAT] * 100 : total * 100) / 100);
  }
  if (!catchUp) {
    // The meter counted nothing while it was flat: from CATCH on, its total goes on from the flat value.
    const lost = out[CATCH] - out[FLAT] - (out[CATCH + 1] - out[CATCH]);
    for (let k = CATCH; k < ROWS; k++) out[k] = Math.round((out[k] - lost) * 100) / 100;
  }
  return out;
}

async function replay(name: string, values: readonly number[], intervalMs: number): Promise<{ rows: string[][]; episodes: string[][] }> {
  const csv = join(dir, `${name}.csv`);
  await writeFile(csv, `timestamp,total\n${values.map((v, i) => `${(T0 + i * intervalMs) / 1000},${v}`).join('\n')}\n`);
  const output = join(dir, `${name}-out.csv`);
  const episodesFile = join(dir, `${name}-episodes.csv`);
  expect(await replayCommand(['--input', csv, '--output', output, '--episodes', episodesFile, '--config', config], context())).toBe(0);
  return { rows: parse(await readFile(output, 'utf8')).slice(1), episodes: parse(await readFile(episodesFile, 'utf8')).slice(1) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalyd-meter-catch-up-'));
  config = join(dir, 'config.yaml');
  const shipped = await readFile(join(ROOT, 'config', 'default.yaml'), 'utf8');
  await writeFile(config, shipped.replace(/^(\s*dir:\s*)\S+/m, `$1${JSON.stringify(MODELS)}`));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!builtAndModelsPresent())("a meter's catch-up after a flat stretch ends its stuck episode and is told with it (tryout 38, finding 6)", () => {
  for (const [label, intervalMs] of [['hourly', 3_600_000], ['every 10 s', 10_000]] as const) {
    it(`${label}: stuck told within the flat stretch, the catch-up told, the episode ended at the catch-up and resolved closeAfter readings after the last flat reading`, async () => {
      const closeAfter = shippedConfig().alerts.closeAfter;
      const values = meter(6, true);
      const jump = Math.round((values[CATCH] - values[CATCH - 1]) * 100) / 100;
      expect(jump, 'a catch-up well above one reading’s increment (at most 0.6)').toBeGreaterThan(4);
      const { rows, episodes } = await replay(`meter-${intervalMs}`, values, intervalMs);
      const open = rows.flatMap((r, i) => (r[4] === '1' ? [i] : []));
      // One episode: the flat stretch's, open from within it to its one run's end.
      expect(episodes).toHaveLength(1);
      const [ep] = episodes;
      expect(ep[5]).toBe('stuck');
      expect(open[0], 'opened within the flat stretch').toBeGreaterThan(FLAT);
      expect(open[0]).toBeLessThan(CATCH);
      expect(open.at(-1)! - open[0] + 1, 'one run of open readings').toBe(open.length);
      // The catch-up is told as how the hold ended, with its size as the meter sent it.
      expect(ep[6]).toContain(`(stuck value), then resumed with a catch-up of ${jump.toFixed(2)}`);
      // Its end is the reading that counted again (the first after its last that held it, the last flat one).
      expect(Date.parse(ep[3])).toBe(T0 + CATCH * intervalMs);
      expect(ep[7]).toBe('recovered');
      // Nothing held it after its last flat reading: it resolves closeAfter readings after that one.
      expect(open.at(-1)! - (CATCH - 1), `open until reading ${open.at(-1)}`).toBeLessThanOrEqual(closeAfter);
    }, 300_000);
  }

  it('hourly, without a catch-up (the meter lost what it did not count): the same episode, ended at once, no catch-up told', async () => {
    const closeAfter = shippedConfig().alerts.closeAfter;
    const { rows, episodes } = await replay('meter-lost', meter(6, false), 3_600_000);
    const open = rows.flatMap((r, i) => (r[4] === '1' ? [i] : []));
    expect(episodes).toHaveLength(1);
    expect(episodes[0][5]).toBe('stuck');
    expect(episodes[0][6]).not.toContain('catch-up');
    expect(Date.parse(episodes[0][3])).toBe(T0 + CATCH * 3_600_000);
    expect(open.at(-1)! - (CATCH - 1)).toBeLessThanOrEqual(closeAfter);
  }, 300_000);
});

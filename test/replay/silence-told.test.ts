/**
 * `anomalyd replay` tells a history's silences as the daemon tells them live (tryout 26, finding 4: a 1-hour dropout
 * of a 1-minute sensor was never told by replay, while the daemon tells a silence while it lasts). The shipped
 * configuration and model, a real CSV file, the real onnxruntime; the rows' scores are those of a replay that judges
 * no silence (a silence is no row).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/context.js';
import { replayCommand } from '../../src/cli/replay.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalyd-replay-silence-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function replay(name: string, intervalS: number, skip: (i: number) => boolean, rows = 900): Promise<{ code: number; err: string; out: string }> {
  // A daily-ish cycle with noise (a deterministic generator: the same file every run).
  let seed = 7;
  const noise = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.1;
  const lines = ['timestamp,temperature'];
  const t0 = Date.UTC(2026, 11, 1) / 1000;
  for (let i = 0; i < rows; i++) {
    const v = 20 + 2 * Math.sin((2 * Math.PI * i) / 300) + noise();
    if (!skip(i)) lines.push(`${t0 + i * intervalS},${v.toFixed(2)}`);
  }
  const input = join(dir, `${name}.csv`);
  const output = join(dir, `${name}-out.csv`);
  await writeFile(input, `${lines.join('\n')}\n`);
  let err = '';
  const ctx: CommandContext = { stdout: () => undefined, stderr: (s) => void (err += s), env: {}, exit: (code) => { throw new Error(`exit ${code}`); } };
  const code = await replayCommand(['--input', input, '--output', output, '--config', 'config/default.yaml'], ctx);
  return { code, err, out: await readFile(output, 'utf8') };
}

describe.skipIf(!builtAndModelsPresent())('replay judges silences as the daemon does live', () => {
  it('tells a 1-hour dropout of a 1-minute sensor as missing data, at any interval counted in its own readings', async () => {
    for (const intervalS of [60, 1]) {
      // 60 readings missing after reading 600, past the learning period.
      const r = await replay(`dropout-${intervalS}`, intervalS, (i) => i >= 600 && i < 660);
      expect(r.code).toBe(0);
      expect(r.err, `${intervalS} s`).toMatch(/replay: 1 silence told as missing data while it lasted, as the daemon tells them live \(no row carries a silence\): dropout-\d+\.csv no reading for \S+ (min|s) after \S+ \(60 missed\)/);
    }
  });

  it('tells nothing of a history with no silence, and nothing before the learning period ends', async () => {
    const none = await replay('steady', 60, () => false);
    expect(none.err).not.toMatch(/silence told/);
    const early = await replay('early', 60, (i) => i >= 100 && i < 160);
    expect(early.err).not.toMatch(/silence told/);
  });
});

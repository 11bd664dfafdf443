import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/context.js';
import { replayCommand } from '../../src/cli/replay.js';
import { writeModel } from '../../src/model/onnx-export.js';
import { randomParams, sidecarInput } from '../model/fixtures.js';

let dir: string;
let csv: string;
let config: string;
const ROWS = 400;

function context(): { ctx: CommandContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env: {},
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
  };
  return { ctx, out: () => out, err: () => err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalyd-replay-cli-'));
  const lines = ['ts,value,other'];
  for (let i = 0; i < ROWS; i++) lines.push(`${Date.UTC(2026, 0, 1) + i * 1000},${(Math.sin(i / 5) + (i > 330 && i < 350 ? 6 : 0)).toFixed(4)},${i}`);
  csv = join(dir, 'in.csv');
  await writeFile(csv, `${lines.join('\n')}\n`);
  const p = randomParams('gru', 1, 8, 3);
  await writeModel(dir, { ...sidecarInput(p, 'fixture', 16), channels: ['value'] }, p);
  config = join(dir, 'config.yaml');
  await writeFile(
    config,
    ['version: 1', 'window: { length: 16, hop: 4, intervalMs: 1000 }', `model: { dir: ${JSON.stringify(dir)}, normWarmup: 32 }`, 'score: { priorWeight: 0 }', ''].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function parseCsv(text: string): string[][] {
  return text.trim().split('\n').map((l) => l.split(','));
}

describe('anomalyd replay', () => {
  it('writes one row per input row with the time, the values, a score, the anomaly flag and the status', async () => {
    const { ctx, err } = context();
    const output = join(dir, 'out-model.csv');
    expect(await replayCommand(['--input', csv, '--output', output, '--model', 'fixture', '--config', config], ctx)).toBe(0);
    const table = parseCsv(await readFile(output, 'utf8'));
    expect(table[0]).toEqual(['ts', 'value', 'anomaly_score', 'anomaly', 'status']);
    expect(table).toHaveLength(ROWS + 1);
    expect(table[1][0]).toBe(String(Date.UTC(2026, 0, 1)));
    for (const row of table.slice(1)) {
      const score = Number(row[2]);
      expect(score >= 0 && score <= 1).toBe(true);
      expect(['0', '1']).toContain(row[3]);
      expect(['learning', 'ok', 'anomalous']).toContain(row[4]);
    }
    expect(table.slice(1).some((r) => r[4] === 'ok')).toBe(true);
    expect(err()).toMatch(/400 rows .* rows\/s/);
  });

  it('learns a model on the first rows and reports them as learning', async () => {
    const { ctx, out, err } = context();
    const code = await replayCommand(['--input', csv, '--learn-first', '200', '--epochs', '2', '--hidden', '4', '--config', config], ctx);
    expect(err()).toMatch(/200 learning.*training/);
    expect(code).toBe(0);
    const table = parseCsv(out()).slice(1);
    expect(table).toHaveLength(ROWS);
    expect(table.slice(0, 200).every((r) => r[2] === '0' && r[4] === 'learning')).toBe(true);
    expect(table.slice(200).some((r) => r[4] !== 'learning')).toBe(true);
  });

  it('prints help with 0 and refuses bad usage with 2', async () => {
    const help = context();
    expect(await replayCommand(['--help'], help.ctx)).toBe(0);
    expect(help.out()).toMatch(/--learn-first N/);
    for (const argv of [[], ['--input', csv, '--learn-first', '0'], ['--input', csv, '--learn-first', '5', '--learn-fraction', '0.5'], ['--input', csv, '--bogus'], ['--input', csv, '--cell', 'rnn']]) {
      const c = context();
      expect(await replayCommand(argv, c.ctx)).toBe(2);
      expect(c.err()).toMatch(/^replay: /);
    }
  });

  it('fails with 1 and a one-line reason on a missing model or input', async () => {
    const noModel = context();
    expect(await replayCommand(['--input', csv, '--model', 'missing', '--config', config], noModel.ctx)).toBe(1);
    expect(noModel.err()).toMatch(/^replay: .*missing/);
    const noInput = context();
    expect(await replayCommand(['--input', join(dir, 'nope.csv'), '--model', 'fixture', '--config', config], noInput.ctx)).toBe(1);
  });
});

/**
 * `anomalyd replay --episodes` as the report-on-change replay tests run it (test/replay/report-on-change-*.test.ts):
 * the shipped configuration (config/default.yaml, its model directory made absolute) and a CSV of one stream.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll } from 'vitest';
import type { CommandContext } from '../../src/cli/context.js';
import { replayCommand } from '../../src/cli/replay.js';
import { MODELS, ROOT } from './daemon.js';

/** A command context that prints nothing and throws on exit. */
export const QUIET: CommandContext = {
  stdout: () => undefined,
  stderr: () => undefined,
  env: {},
  exit: (code) => {
    throw new Error(`exit ${code}`);
  },
};

/** Writes the shipped configuration, its model directory made absolute, to `dir`/config.yaml; returns its path. */
export async function shippedConfigIn(dir: string): Promise<string> {
  const config = join(dir, 'config.yaml');
  const shipped = await readFile(join(ROOT, 'config', 'default.yaml'), 'utf8');
  await writeFile(config, shipped.replace(/^(\s*dir:\s*)\S+/m, `$1${JSON.stringify(MODELS)}`));
  return config;
}

/**
 * A temporary directory holding the shipped configuration (`shippedConfigIn`) for one test file: made before the file's
 * tests (vitest `beforeAll`) under the system's temp directory as `anomalyd-<prefix>-XXXXXX`, removed after them
 * (`afterAll`). Call it at the top level of a test file; read `dir` and `config` inside tests only (they are '' before).
 */
export function shippedReplayDir(prefix: string): { readonly dir: string; readonly config: string } {
  const at = { dir: '', config: '' };
  beforeAll(async () => {
    at.dir = await mkdtemp(join(tmpdir(), `anomalyd-${prefix}-`));
    at.config = await shippedConfigIn(at.dir);
  });
  afterAll(async () => {
    if (at.dir !== '') await rm(at.dir, { recursive: true, force: true });
  });
  return at;
}

/** One episode of `replay --episodes`: start and end (epoch ms), kind ('' for none) and sentence. */
export interface ReplayedEpisode {
  readonly start: number;
  readonly end: number;
  readonly kind: string;
  readonly sentence: string;
}

/**
 * Replays `rows` ([epoch ms, value], one stream, written to `dir`/`name`.csv) with `config` and `args` (e.g. `--cell
 * lstm`); returns its episodes, in order. Throws when the replay exits non-zero.
 */
export async function replayEpisodes(dir: string, config: string, name: string, rows: readonly (readonly [number, number])[], args: readonly string[] = []): Promise<ReplayedEpisode[]> {
  const input = join(dir, `${name}.csv`);
  await writeFile(input, `timestamp,value\n${rows.map(([t, v]) => `${new Date(t).toISOString()},${v}`).join('\n')}\n`);
  const episodesFile = join(dir, `${name}-episodes.csv`);
  const code = await replayCommand(['--input', input, '--output', join(dir, `${name}-out.csv`), '--episodes', episodesFile, '--config', config, ...args], QUIET);
  if (code !== 0) throw new Error(`replay of ${name} exited ${code}`);
  const episodes = parse<Record<string, string>>(await readFile(episodesFile, 'utf8'), { columns: true });
  return episodes.map((e) => ({ start: Date.parse(e.start), end: Date.parse(e.end), kind: e.kind, sentence: e.sentence }));
}

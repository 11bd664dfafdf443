/**
 * Tryout 26, finding 8: `anomalyd replay`'s output had no kind or sentence, so the kinds of a user's own history's
 * faults could be told only by publishing it live. Its rows now carry the open episode's `kind` and `sentence`
 * after the existing columns (their order kept), `--episodes` writes one row per episode, and the summary lists them:
 * the words the daemon's alerts and its record give for the same readings (its SignalBook, by its rules: the test
 * helper's feedAlerts), not a copy of them. Through the CLI, with the shipped configuration and GRU model.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/context.js';
import { replayCommand } from '../../src/cli/replay.js';
import { builtAndModelsPresent, MODELS, ROOT } from '../helpers/daemon.js';
import { feedAlerts, shippedDetector, type Sent } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';
import { parse } from 'csv-parse/sync';

const T0 = Date.UTC(2026, 11, 2, 0, 0, 0);
const MIN = 60_000;
const ROWS = 1600;
/** Faults, by row: a value stuck, a one-reading spike, a level shift that lasts 35 readings. */
const STUCK = [500, 560];
const SPIKE = 800;
const SHIFT = [1100, 1135];

let dir: string;
let csv: string;
let config: string;
let values: number[];

function context(): { ctx: CommandContext; err: () => string } {
  let err = '';
  const ctx: CommandContext = { stdout: () => undefined, stderr: (s) => void (err += s), env: {}, exit: (code) => { throw new Error(`exit ${code}`); } };
  return { ctx, err: () => err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalyd-replay-told-'));
  const rnd = lcg(26);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  values = [];
  for (let i = 0; i < ROWS; i++) {
    let v = Math.round((21.8 + 0.1 * gauss()) * 100) / 100;
    if (i >= STUCK[0] && i < STUCK[1]) v = values[STUCK[0] - 1];
    if (i === SPIKE) v = 27.89;
    if (i >= SHIFT[0] && i < SHIFT[1]) v = Math.round((v + 3) * 100) / 100;
    values.push(v);
  }
  csv = join(dir, 'room.csv');
  await writeFile(csv, `timestamp,temperature\n${values.map((v, i) => `${(T0 + i * MIN) / 1000},${v}`).join('\n')}\n`);
  config = join(dir, 'config.yaml');
  const shipped = await readFile(join(ROOT, 'config', 'default.yaml'), 'utf8');
  await writeFile(config, shipped.replace(/^(\s*dir:\s*)\S+/m, `$1${JSON.stringify(MODELS)}`));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!builtAndModelsPresent())('what anomalyd replay tells of its episodes', () => {
  it('gives each episode’s kind and sentence, the daemon’s words for the same readings, in new columns after the old ones', async () => {
    const { ctx, err } = context();
    const output = join(dir, 'out.csv');
    const episodesFile = join(dir, 'episodes.csv');
    expect(await replayCommand(['--input', csv, '--output', output, '--episodes', episodesFile, '--config', config], ctx)).toBe(0);
    const table = parse(await readFile(output, 'utf8'));
    // The existing columns in their order, then the new ones.
    expect(table[0]).toEqual(['timestamp', 'temperature', 'anomaly_score', 'surprise', 'anomaly', 'status', 'anomalous_columns', 'kind', 'sentence']);
    const rows = table.slice(1);
    expect(rows).toHaveLength(ROWS);
    // Told only while an episode is open; a sentence on every row of one.
    for (const r of rows) {
      if (r[4] === '0') expect([r[7], r[8]]).toEqual(['', '']);
      else expect(r[8]).not.toBe('');
    }
    const episodes = parse(await readFile(episodesFile, 'utf8'));
    expect(episodes[0]).toEqual(['id', 'stream', 'start', 'end', 'readings', 'kind', 'sentence', 'resolution']);
    const told = episodes.slice(1);
    const at = (row: number): string[] | undefined => told.find((e) => Math.abs(Date.parse(e[2]) - (T0 + row * MIN)) <= 20 * MIN);
    expect(at(STUCK[0])?.[5]).toBe('stuck');
    expect(at(SPIKE)?.[5]).toBe('spike');
    expect(at(SHIFT[0])?.[5]).toBe('level_shift');
    // Each row of an episode tells it as its record does then; its last row the kind its record keeps.
    for (const e of told) {
      const inIt = rows.filter((r) => r[4] === '1' && Number(r[0]) * 1000 >= Date.parse(e[2]) && Number(r[0]) * 1000 <= Date.parse(e[3]));
      expect(inIt.length).toBeGreaterThan(0);
      expect(inIt[inIt.length - 1][7]).toBe(e[5]);
    }
    // The same words as the daemon's alerts for the same readings: its last alert of each episode (its resolve).
    const { det, book } = await shippedDetector();
    const sent: Sent[] = [];
    await feedAlerts(det, book, 'room.csv', 'sensors/room.csv', values.map((value, i) => ({ ts: T0 + i * MIN, value })), sent);
    const resolves = sent.filter((s) => s.ev.kind === 'resolve');
    expect(resolves.map((s) => [new Date(s.ev.startTs).toISOString(), s.e?.kind ?? '', s.e?.sentence ?? ''])).toEqual(told.map((e) => [e[2], e[5], e[6]]));
    // The summary on stderr lists them.
    expect(err()).toContain(`${told.length} episode`);
    for (const e of told) expect(err()).toContain(e[6]);
  }, 240_000);
});

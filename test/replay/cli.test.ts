import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/context.js';
import { replayCommand } from '../../src/cli/replay.js';
import { writeModel } from '../../src/model/onnx-export.js';
import { randomParams, sidecarInput } from '../model/fixtures.js';
import { captureIo } from '../helpers/cli-io.js';

let dir: string;
let csv: string;
let config: string;
const ROWS = 400;

/** A capturing command context (test/helpers/cli-io.ts) and readers of what it captured. */
function context(): { ctx: CommandContext; out: () => string; err: () => string } {
  const io = captureIo();
  return { ctx: io, out: () => io.out, err: () => io.err };
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
    ['version: 2', 'window: { length: 16, hop: 4, intervalMs: 1000 }', `model: { dir: ${JSON.stringify(dir)}, normWarmup: 32 }`, ''].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function parseCsv(text: string): string[][] {
  return text.trim().split('\n').map((l) => l.split(','));
}

describe('anomalyd replay', () => {
  it('--sensor names the stream of a one-sensor file, so explain.units matches it as the daemon\'s; the file\'s name otherwise (tryout 28, finding 14)', async () => {
    const lines = ['ts,value'];
    for (let i = 0; i < ROWS; i++) lines.push(`${Date.UTC(2026, 0, 1) + i * 1000},${(12 + 0.2 * Math.sin(i / 5) + (i === 340 ? 73 : 0)).toFixed(3)}`);
    const file = join(dir, 'garage.csv');
    await writeFile(file, `${lines.join('\n')}\n`);
    const unitsConfig = join(dir, 'units.yaml');
    await writeFile(unitsConfig, `${(await readFile(config, 'utf8')).trimEnd()}\nexplain: { units: ["esp-garage/*=°C"] }\n`);
    const sentences = async (extra: string[]): Promise<string[]> => {
      const { ctx, err } = context();
      const output = join(dir, `out-sensor-${extra.length}.csv`);
      expect(await replayCommand(['--input', file, '--output', output, '--model', 'fixture', '--config', unitsConfig, ...extra], ctx), err()).toBe(0);
      const table = parseCsv(await readFile(output, 'utf8'));
      const col = table[0].indexOf('sentence');
      return table.slice(1).map((r) => r.slice(col).join(',')).filter((t) => t !== '');
    };
    const named = await sentences(['--sensor', 'esp-garage/ds18b20']);
    expect(named.length).toBeGreaterThan(0);
    expect(named[0]).toMatch(/^"?esp-garage\/ds18b20 8\d\.\d+ °C/);
    const unnamed = await sentences([]);
    expect(unnamed[0]).toMatch(/^"?garage\.csv 8\d\.\d+,/);
    const both = context();
    expect(await replayCommand(['--input', file, '--sensor', 'a', '--sensor-column', 'value', '--config', unitsConfig], both.ctx)).toBe(2);
    expect(both.err()).toContain('--sensor and --sensor-column exclude each other');
  });

  it('writes one row per input row with the time, the values, a score, the anomaly flag and the status', async () => {
    const { ctx, err } = context();
    const output = join(dir, 'out-model.csv');
    expect(await replayCommand(['--input', csv, '--output', output, '--model', 'fixture', '--config', config], ctx)).toBe(0);
    const table = parseCsv(await readFile(output, 'utf8'));
    expect(table[0]).toEqual(['ts', 'value', 'anomaly_score', 'surprise', 'anomaly', 'status', 'anomalous_columns', 'kind', 'sentence']);
    expect(table).toHaveLength(ROWS + 1);
    expect(table[1][0]).toBe(String(Date.UTC(2026, 0, 1)));
    for (const row of table.slice(1)) {
      const score = Number(row[2]);
      expect(score >= 0 && score <= 1).toBe(true);
      // The surprise is the same score on a scale that does not bunch up near 1: -log10(1 - score), capped at
      // 16 where the score is 1 in a double, as the daemon's alerts and API show it (src/contract/surprise.ts).
      // Where 1 - score is below 1e-12 a double near 1 holds it to a few per cent only (its spacing there is
      // 1.1e-16), so the surprise cannot be derived back from the score: it is at least 12 there.
      if (score < 1 - 1e-12) expect(Number(row[3])).toBeCloseTo(score === 0 ? 0 : -Math.log10(1 - score), 3);
      else if (score < 1) expect(Number(row[3])).toBeGreaterThanOrEqual(11.9);
      else expect(Number(row[3])).toBe(16);
      expect(['0', '1']).toContain(row[4]);
      expect(['learning', 'ok', 'anomalous']).toContain(row[5]);
      // One stream: the column names it exactly while an episode is open.
      expect(row[6]).toBe(row[4] === '1' ? 'value' : '');
    }
    expect(table.slice(1).some((r) => r[5] === 'ok')).toBe(true);
    expect(err()).toMatch(/400 rows .* rows\/s/);
    // And the CPU time beside the wall time: a busy machine inflates the one, not the other (tryout 26, finding 8).
    expect(err()).toMatch(/replay \d+\.\d\d s = \d+ rows\/s \(CPU \d+\.\d\d s\)\n/);
    // The summary gives the threshold the scores are read against.
    expect(err()).toContain(`replay: alarm threshold: anomaly_score 0.99999 = surprise 5.0 (score.threshold, from ${config})\n`);
  });

  it('caps the surprise at 16 as the daemon does: a row scoring 1 writes 16, never the detector\'s own (up to 30)', async () => {
    // Tryout: replay wrote surprise 29.1 for a spike the daemon's alert line showed as 16.0 (score > 0.99999999).
    const spiky = join(dir, 'spiky.csv');
    const lines = ['ts,value'];
    for (let i = 0; i < ROWS; i++) lines.push(`${Date.UTC(2026, 0, 1) + i * 1000},${(Math.sin(i / 5) + (i === 300 ? 1e6 : 0)).toFixed(4)}`);
    await writeFile(spiky, `${lines.join('\n')}\n`);
    const output = join(dir, 'out-spiky.csv');
    expect(await replayCommand(['--input', spiky, '--output', output, '--model', 'fixture', '--config', config], context().ctx)).toBe(0);
    const rows = parseCsv(await readFile(output, 'utf8')).slice(1);
    expect(rows[300].slice(2, 5)).toEqual(['1', '16', '1']);
    expect(Math.max(...rows.map((r) => Number(r[3])))).toBe(16);
  });

  it('names the columns whose stream is in an open episode (anomalous_columns); anomaly is 1 exactly where it names one', async () => {
    // Tryout: a row of several streams did not say which of them was anomalous.
    const output = join(dir, 'out-columns.csv');
    expect(await replayCommand(['--input', csv, '--columns', 'other,value', '--output', output, '--model', 'fixture', '--config', config], context().ctx)).toBe(0);
    const table = parseCsv(await readFile(output, 'utf8'));
    expect(table[0]).toEqual(['ts', 'other', 'value', 'anomaly_score', 'surprise', 'anomaly', 'status', 'anomalous_columns', 'kind', 'sentence']);
    const rows = table.slice(1);
    for (const r of rows) {
      expect(r[7] !== '', r.join(',')).toBe(r[5] === '1');
      for (const name of r[7] === '' ? [] : r[7].split(';')) expect(['other', 'value']).toContain(name);
    }
    // The level shift of rows 331-349 is in `value` only.
    expect(rows.slice(331, 350).some((r) => r[7].split(';').includes('value'))).toBe(true);
  });

  it('learns a model on the first rows and reports them as learning', async () => {
    const { ctx, out, err } = context();
    const code = await replayCommand(['--input', csv, '--learn-first', '200', '--epochs', '2', '--hidden', '4', '--config', config], ctx);
    expect(err()).toMatch(/200 learnt from with --learn-first.*training/);
    expect(code).toBe(0);
    const table = parseCsv(out()).slice(1);
    expect(table).toHaveLength(ROWS);
    expect(table.slice(0, 200).every((r) => r[2] === '0' && r[5] === 'learning')).toBe(true);
    expect(table.slice(200).some((r) => r[5] !== 'learning')).toBe(true);
  });

  it('--recording-column: the step between two recordings of a sensor is not alarmed; the same rows as one recording are', async () => {
    // The first recording ends at the top of its cycle, the second begins at the bottom, one interval later.
    const lines = ['ts,value,rec'];
    const A = 700;
    const B = 200;
    for (let i = 0; i < A + B; i++) {
      const phase = i < A ? i + 1 - A + 5 : i - A + 15;
      lines.push(`${Date.UTC(2026, 0, 1) + i * 1000},${Math.sin((2 * Math.PI * phase) / 20).toFixed(4)},${i < A ? 'first' : 'second'}`);
    }
    const two = join(dir, 'two.csv');
    await writeFile(two, `${lines.join('\n')}\n`);
    const run = async (extra: string[]): Promise<string[][]> => {
      const { ctx, out, err } = context();
      const code = await replayCommand(['--input', two, '--model', 'fixture', '--config', config, ...extra], ctx);
      expect(code, err()).toBe(0);
      return parseCsv(out()).slice(1);
    };
    const marked = await run(['--recording-column', 'rec']);
    const joined = await run([]);
    expect(marked).toHaveLength(A + B);
    expect(joined.slice(A, A + 3).some((r) => r[4] === '1')).toBe(true);
    // The recording column is no value column, but the output has it after the time (tryout 14 #9: rows of two
    // recordings could be told apart only by their time).
    expect(marked.slice(A).every((r) => r[5] === '0')).toBe(true);
    expect(marked[0]).toHaveLength(joined[0].length + 1);
    expect(marked.map((r) => r[1])).toEqual([...Array<string>(A).fill('first'), ...Array<string>(B).fill('second')]);
  });

  it('--recording-column: the output has it, under its name, after the sensor column (tryout 14 #9)', async () => {
    const lines = ['ts,unit,value,run'];
    for (let i = 0; i < 40; i++) lines.push(`${Date.UTC(2026, 0, 1) + i * 1000},${i % 2 === 0 ? 'a' : 'b'},${Math.sin(i / 3).toFixed(4)},${i < 20 ? 'r1' : 'r2'}`);
    const file = join(dir, 'runs.csv');
    await writeFile(file, `${lines.join('\n')}\n`);
    const { ctx, out, err } = context();
    expect(await replayCommand(['--input', file, '--sensor-column', 'unit', '--recording-column', 'run', '--model', 'fixture', '--config', config], ctx), err()).toBe(0);
    const table = parseCsv(out());
    expect(table[0].slice(0, 4)).toEqual(['ts', 'unit', 'run', 'value']);
    expect(table.slice(1).map((r) => [r[1], r[2]])).toEqual(Array.from({ length: 40 }, (_, i) => [i % 2 === 0 ? 'a' : 'b', i < 20 ? 'r1' : 'r2']));
  });

  it('prints help with 0 and refuses bad usage with 2', async () => {
    const help = context();
    expect(await replayCommand(['--help'], help.ctx)).toBe(0);
    expect(help.out()).toMatch(/--learn-first N/);
    // The threshold to read the scores against, from the config the replay would use.
    const strict = join(dir, 'strict.yaml');
    await writeFile(strict, `${await readFile(config, 'utf8')}score: { threshold: 0.9999 }\n`);
    const withConfig = context();
    expect(await replayCommand(['--help', '--config', strict], withConfig.ctx)).toBe(0);
    expect(withConfig.out()).toContain(`alarm threshold: anomaly_score 0.9999 = surprise 4.0 (score.threshold, from ${strict})`);
    expect(help.out()).toMatch(/alarm threshold: anomaly_score 0\.99999 = surprise 5\.0/);
    for (const argv of [[], ['--input', csv, '--timezone', 'Mars/Olympus'], ['--input', csv, '--learn-first', '0'], ['--input', csv, '--learn-first', '5', '--learn-fraction', '0.5'], ['--input', csv, '--bogus'], ['--input', csv, '--cell', 'rnn']]) {
      const c = context();
      expect(await replayCommand(argv, c.ctx)).toBe(2);
      expect(c.err()).toMatch(/^replay: /);
    }
  });

  it('says what it read: the time column and its unit, the value columns, and times it synthesised', async () => {
    const { ctx, err } = context();
    expect(await replayCommand(['--input', csv, '--output', join(dir, 'out-read.csv'), '--model', 'fixture', '--config', config], ctx)).toBe(0);
    expect(err()).toContain(`replay: read ${csv}: ${ROWS} rows; time 'ts' (epoch ms); columns value\n`);
    const indexOnly = join(dir, 'index-only.csv');
    await writeFile(indexOnly, `index,value\n${Array.from({ length: 40 }, (_, i) => `${i},${Math.sin(i)}`).join('\n')}\n`);
    const synth = context();
    const output = join(dir, 'out-index.csv');
    expect(await replayCommand(['--input', indexOnly, '--output', output, '--model', 'fixture', '--config', config, '--interval-ms', '500'], synth.ctx)).toBe(0);
    expect(synth.err()).toContain('40 rows; no time column; columns value; times synthesised, 500 ms apart per sensor');
    expect(parseCsv(await readFile(output, 'utf8')).slice(1, 3).map((r) => r[0])).toEqual(['0', '1']);
  });

  it('names the file, line and column of a bad cell and exits 1', async () => {
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, `ts;value\n${Date.UTC(2026, 0, 1)};1,5\n${Date.UTC(2026, 0, 1) + 1000};kaputt\n`);
    const c = context();
    expect(await replayCommand(['--input', bad, '--model', 'fixture', '--config', config], c.ctx)).toBe(1);
    expect(c.err()).toBe(`replay: ${bad}:3: column 'value': 'kaputt' is not a number (a missing value is written empty, nan or null; choose the value columns with --columns)\n`);
  });

  it('scores each value column as its own stream; --group asks for a model that reads them together', async () => {
    const two = join(dir, 'two.csv');
    await writeFile(two, `ts,a,b\n${Array.from({ length: 40 }, (_, i) => `${Date.UTC(2026, 0, 1) + i * 1000},${i},${-i}`).join('\n')}\n`);
    const c = context();
    const output = join(dir, 'out-two.csv');
    expect(await replayCommand(['--input', two, '--output', output, '--model', 'fixture', '--config', config], c.ctx)).toBe(0);
    expect(c.err()).toMatch(/40 rows \(\d+ in a stream's learning period, scored 0\), 2 streams, 80 readings scored/);
    expect(parseCsv(await readFile(output, 'utf8'))[0]).toEqual(['ts', 'a', 'b', 'anomaly_score', 'surprise', 'anomaly', 'status', 'anomalous_columns', 'kind', 'sentence']);
    const grouped = context();
    expect(await replayCommand(['--input', two, '--group', '--model', 'fixture', '--config', config], grouped.ctx)).toBe(1);
    expect(grouped.err()).toMatch(/reads 1 channel\(s\), stream \S+ has 2: learn a model for it with --learn-first N\n$/);
  });

  it('counts missing cells as missing readings, not as rejected (docs/CSV.md); a row that goes back is rejected', async () => {
    const gaps = join(dir, 'gaps.csv');
    const t0 = Date.UTC(2026, 0, 1);
    const lines = ['ts,a,b'];
    for (let i = 0; i < 40; i++) {
      // Three empty cells and one 'nan' in a, one 'null' in b; row 30 goes back in time (out_of_order, both streams).
      const a = i === 5 || i === 6 || i === 7 ? '' : i === 9 ? 'nan' : String(Math.sin(i));
      const b = i === 12 ? 'null' : String(Math.cos(i));
      lines.push(`${i === 30 ? t0 : t0 + i * 1000},${a},${b}`);
    }
    await writeFile(gaps, `${lines.join('\n')}\n`);
    const c = context();
    expect(await replayCommand(['--input', gaps, '--output', join(dir, 'out-gaps.csv'), '--model', 'fixture', '--config', config], c.ctx)).toBe(0);
    // 80 stream rows: 5 missing cells, 2 rejected (row 30 in each stream), 73 scored.
    expect(c.err()).toMatch(/40 rows \(\d+ in a stream's learning period, scored 0\), 2 streams, 73 readings scored, 2 rejected, 5 missing/);
  });

  it('a row without a reading inside an episode reports the episode as still open, with no score of its own', async () => {
    // The input's level shift (rows 331-349, +6) with its value at row 340 left empty: before, that row read
    // "0,0,0,learning" between two anomalous rows, as if the stream had started over.
    const text = await readFile(csv, 'utf8');
    const lines = text.trim().split('\n');
    const cells = lines[341].split(',');
    lines[341] = [cells[0], '', cells[2]].join(',');
    const holed = join(dir, 'holed.csv');
    await writeFile(holed, `${lines.join('\n')}\n`);
    const output = join(dir, 'out-holed.csv');
    expect(await replayCommand(['--input', holed, '--columns', 'value', '--output', output, '--model', 'fixture', '--config', config], context().ctx)).toBe(0);
    const table = parseCsv(await readFile(output, 'utf8'));
    const [before, hole] = [table[340], table[341]];
    // ts, value, anomaly_score, surprise, anomaly, status, anomalous_columns, kind, then the sentence (which may hold commas).
    expect(before.slice(4, 7)).toEqual(['1', 'anomalous', 'value']);
    expect(hole.slice(2, 7)).toEqual(['0', '0', '1', 'anomalous', 'value']);
    // The episode's kind and sentence as the row before left them.
    expect(hole.slice(7)).toEqual(before.slice(7));
  });

  it('fails with 1 and a one-line reason on a missing model or input', async () => {
    const noModel = context();
    expect(await replayCommand(['--input', csv, '--model', 'missing', '--config', config], noModel.ctx)).toBe(1);
    // What was read, then the reason.
    expect(noModel.err()).toMatch(/^replay: read .*\nreplay: .*missing/);
    const noInput = context();
    expect(await replayCommand(['--input', join(dir, 'nope.csv'), '--model', 'fixture', '--config', config], noInput.ctx)).toBe(1);
  });
  it('times ending in Z carry their offset: no "no offset" on reading, and no daylight-saving hint for a row that goes back', async () => {
    const zulu = join(dir, 'zulu.csv');
    const lines = ['time,value'];
    for (let i = 0; i < 40; i++) lines.push(`2026-07-01T12:00:${String(i === 30 ? 0 : i).padStart(2, '0')}Z,${Math.sin(i).toFixed(3)}`);
    await writeFile(zulu, `${lines.join('\n')}\n`);
    const { ctx, err } = context();
    expect(await replayCommand(['--input', zulu, '--output', join(dir, 'zulu-out.csv'), '--model', 'fixture', '--config', config], ctx)).toBe(0);
    expect(err()).toContain("time 'time' (ISO 8601 with offset)");
    expect(err()).toMatch(/1 row rejected out_of_order/);
    expect(err()).not.toMatch(/no offset|without an offset|--timezone|daylight/);
  });

  it("reads times without an offset in the config's ingest.timezone; --timezone overrides it", async () => {
    const local = join(dir, 'local.csv');
    const lines = ['time,value'];
    for (let i = 0; i < 40; i++) lines.push(`2026-07-01T12:00:${String(i).padStart(2, '0')},${Math.sin(i).toFixed(3)}`);
    await writeFile(local, `${lines.join('\n')}\n`);
    const berlin = join(dir, 'berlin.yaml');
    await writeFile(berlin, `${await readFile(config, 'utf8')}ingest: { timezone: Europe/Berlin }\n`);
    const zoneRead = async (extra: string[]): Promise<string> => {
      const { ctx, err } = context();
      expect(await replayCommand(['--input', local, '--output', join(dir, 'tz.csv'), '--model', 'fixture', '--config', berlin, ...extra], ctx)).toBe(0);
      return /no offset = ([^)]+)\)/.exec(err())?.[1] ?? err();
    };
    expect(await zoneRead([])).toBe('Europe/Berlin');
    expect(await zoneRead(['--timezone', 'UTC'])).toBe('UTC');
  });
});

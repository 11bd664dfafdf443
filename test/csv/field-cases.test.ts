/**
 * The CSV field cases of ../shared/cases (README.md there, section "Files"), each with the outcome that
 * README states, through the reader and through the `replay` and `train` commands. Skipped when the
 * folder is absent (a clone without shared/ beside it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/context.js';
import { replayCommand } from '../../src/cli/replay.js';
import { trainCommand } from '../../src/cli/train.js';
import { parseCsvTable, readCsvTable } from '../../src/csv/table.js';
import { loadSidecar } from '../../src/model/sidecar.js';
import { trainModel } from '../../src/train/trainer.js';

const CASES = resolve('../shared/cases');
const EPOCH_SECONDS_NAN = join(CASES, 'epoch-seconds-nan.csv');
const EXCEL_SEP_LINE = join(CASES, 'excel-sep-line.csv');

let dir: string;
let config: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalyd-field-csv-'));
  config = join(dir, 'config.yaml');
  // Small windows so that a few hundred rows learn and score; the reading is what is under test.
  await writeFile(config, ['version: 2', 'window: { length: 16, hop: 4 }', 'model: { normWarmup: 32 }', ''].join('\n'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(): { ctx: CommandContext; err: () => string } {
  let err = '';
  const ctx: CommandContext = {
    stdout: () => undefined,
    stderr: (s) => void (err += s),
    env: {},
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
  };
  return { ctx, err: () => err };
}

const LEARN = ['--learn-first', '300', '--epochs', '2', '--hidden', '4', '--seed', '1'];

/** Replays `file` with the small config and returns the output rows (header first) and stderr. */
async function replay(file: string, ...flags: string[]): Promise<{ code: number; rows: string[][]; err: string }> {
  const output = join(dir, `out-${Math.random().toString(36).slice(2)}.csv`);
  const c = context();
  const code = await replayCommand(['--input', file, '--output', output, '--config', config, ...LEARN, ...flags], c.ctx);
  const rows = code === 0 ? (await readFile(output, 'utf8')).trim().split('\n').map((l) => l.split(',')) : [];
  return { code, rows, err: c.err() };
}

describe.skipIf(!existsSync(EPOCH_SECONDS_NAN))('field case epoch-seconds-nan.csv (HeaterMeter #47)', () => {
  it('reads epoch seconds as seconds, nan cells as missing values, and uses only the columns with data', async () => {
    const t = await readCsvTable(EPOCH_SECONDS_NAN);
    expect(t.timeColumn).toBe('time');
    expect(t.timeUnits).toEqual(['s']);
    expect(t.times![0]).toBe(1_553_424_480_000); // 2019-03-24, not "before 2000"
    const steps = new Set(Array.from(t.times!).slice(1).map((ms, i) => ms - t.times![i]));
    expect([...steps]).toEqual([60_000]);
    expect(t.valueColumns).toEqual(['probe0', 'output']);
    expect(t.emptyColumns).toEqual(['setpoint', 'probe1', 'probe2', 'probe3']);
    expect(t.rows).toBe(600);
    expect(t.values[0]).toBeCloseTo(14.45652173913, 10);
  });

  it('replays with the default columns: exit 0, every row out with its own time, none rejected, the rows after learning scored', async () => {
    const r = await replay(EPOCH_SECONDS_NAN);
    // Nothing but the summary: what was read, the counts, the threshold and the episodes (replayui's lines), and
    // which model scored each stream after --learn-first (evalpath: the device's path, a stream whose own model the
    // gate rejects scored with the shipped one, said per stream and in one line).
    expect(r.err).not.toMatch(/replay: (?!read|\d+ rows|alarm threshold|no episode|\d+ episodes? \(|\d+ streams? learnt: |[^\n]*; scored with the shipped model\n| )/);
    expect(r.code).toBe(0);
    expect(r.rows[0]).toEqual(['time', 'probe0', 'output', 'anomaly_score', 'surprise', 'anomaly', 'status', 'anomalous_columns', 'kind', 'sentence']);
    const input = readFileSync(EPOCH_SECONDS_NAN, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    expect(r.rows.slice(1).map((row) => row[0])).toEqual(input);
    expect(r.err).toMatch(/600 rows \(300 learnt from with --learn-first, \d+ in a stream's learning period, scored 0\), 2 streams, 1200 readings scored, 0 rejected/);
    expect(r.rows.slice(1 + 300).some((row) => row[6] !== 'learning')).toBe(true);
  });

  it('with the shipped one-channel model, each column with data is its own stream; --group asks for a model of both', async () => {
    const run = async (...flags: string[]): Promise<{ code: number; err: string }> => {
      const c = context();
      const code = await replayCommand(['--input', EPOCH_SECONDS_NAN, '--output', join(dir, 'shipped.csv'), ...flags], c.ctx);
      return { code, err: c.err() };
    };
    const both = await run();
    expect(both.err).toMatch(/600 rows \(\d+ in a stream's learning period, scored 0\), 2 streams, 1200 readings scored, 0 rejected/);
    expect(both.code).toBe(0);
    const grouped = await run('--group');
    expect(grouped.code).toBe(1);
    expect(grouped.err).toMatch(/reads 1 channel\(s\), stream \S+ has 2: learn a model for it with --learn-first N/);
    const probe0 = await run('--columns', 'probe0');
    expect(probe0.err).toMatch(/600 rows \(\d+ in a stream's learning period, scored 0\), 1 stream, 600 readings scored, 0 rejected/);
    expect(probe0.code).toBe(0);
  });

  it('trains on it: the two columns with data, every row', async () => {
    const out: string[] = [];
    const code = await trainCommand(['--input', EPOCH_SECONDS_NAN, '--out-dir', join(dir, 'models'), '--name', 'heatermeter', '--hidden', '4', '--window', '16', '--hop', '4', '--epochs', '2'], {
      stdout: () => undefined,
      stderr: (s) => out.push(s),
      stderrIsTTY: false,
      train: (series, opts, onProgress) => Promise.resolve(trainModel(series, opts, onProgress)),
    });
    expect(out.join('')).toContain("time 'time' (epoch seconds); columns probe0, output; left out (no data): setpoint, probe1, probe2, probe3");
    expect(code).toBe(0);
    const sidecar = loadSidecar(join(dir, 'models', 'heatermeter.json'));
    expect(sidecar.channels).toEqual(['probe0', 'output']);
    expect(sidecar.training.rows).toBe(600);
  });
});

describe.skipIf(!existsSync(EXCEL_SEP_LINE))('field case excel-sep-line.csv (ng-csv #28)', () => {
  it('reads the file like the same file without its sep= line', () => {
    const text = readFileSync(EXCEL_SEP_LINE, 'utf8');
    const without = text.replace(/^\uFEFF?sep=;\r?\n/, '');
    expect(without.length).toBeLessThan(text.length);
    for (const timeZone of ['UTC', 'Europe/Berlin']) {
      const a = parseCsvTable(text, { timeZone });
      const b = parseCsvTable(without, { timeZone });
      expect(a.delimiter).toBe(';');
      expect(a.columns).toEqual(['timestamp', 'value']);
      expect(a.timeColumn).toBe('timestamp');
      expect(Array.from(a.times!)).toEqual(Array.from(b.times!));
      expect(Array.from(a.values)).toEqual(Array.from(b.values));
    }
  });

  it("reads the real times and the decimal commas; in the zone it was written in, the autumn's repeated hour too", () => {
    const utc = parseCsvTable(readFileSync(EXCEL_SEP_LINE, 'utf8'), { timeZone: 'UTC' });
    expect(utc.times![0]).toBe(Date.UTC(2024, 9, 26));
    expect(Array.from(utc.values.slice(0, 3))).toEqual([11.95, 12.08, 12.2]);
    const berlin = parseCsvTable(readFileSync(EXCEL_SEP_LINE, 'utf8'), { timeZone: 'Europe/Berlin' });
    const steps = new Set(Array.from(berlin.times!).slice(1).map((ms, i) => ms - berlin.times![i]));
    expect([...steps]).toEqual([300_000]); // 5 minutes, also across 2024-10-27 03:00 CEST -> 02:00 CET
  });

  it('replays it with its own times (not synthesised 1 s steps) and exits 0; nothing rejected in its own zone', async () => {
    const r = await replay(EXCEL_SEP_LINE, '--timezone', 'Europe/Berlin');
    expect(r.code).toBe(0);
    expect(r.err).toContain("time 'timestamp' (ISO 8601, no offset = Europe/Berlin); columns value");
    expect(r.err).not.toContain('synthesised');
    expect(r.err).toMatch(/588 rows \(300 learnt from with --learn-first, \d+ in a stream's learning period, scored 0\), 1 stream, 588 readings scored, 0 rejected/);
    expect(r.rows[0]).toEqual(['timestamp', 'value', 'anomaly_score', 'surprise', 'anomaly', 'status', 'anomalous_columns', 'kind', 'sentence']);
    expect(r.rows[1].slice(0, 2)).toEqual(['2024-10-26 00:00:00', '11.95']);
    expect(r.rows.at(-1)!.slice(0, 2)).toEqual(['2024-10-27 23:55:00', '12.72']);
    expect(r.err).not.toContain('--timezone');
  });

  it('read in another zone, its repeated hour is rejected out of order, and the summary says which flag names the zone', async () => {
    const r = await replay(EXCEL_SEP_LINE, '--timezone', 'UTC');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/, 1[01] rejected/);
    expect(r.err).toMatch(/1[01] rows rejected out_of_order .*name it with --timezone/);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvError } from '../../src/csv/table.js';
import { parseCsvSeries, readCsvSeries } from '../../src/train/csv.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalyd-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function problemsOf(p: Promise<unknown>): Promise<readonly string[]> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CsvError);
    return (err as CsvError).problems;
  }
  throw new Error('expected a CsvError');
}

describe('readCsvSeries', () => {
  it('reads epoch-ms timestamps and every other column as a channel, time-major', async () => {
    const path = await file('a.csv', 'timestamp,temp,hum\n1700000001000,20.5,40\n1700000002000,21,41.5\n\n1700000003000,-1e-3,42\n');
    const s = await readCsvSeries(path);
    expect(s.channels).toEqual(['temp', 'hum']);
    expect(Array.from(s.values)).toEqual([20.5, 40, 21, 41.5, -0.001, 42]);
    expect(Array.from(s.timestamps!)).toEqual([1700000001000, 1700000002000, 1700000003000]);
    expect(s.skipped).toBe(0);
    expect(s.rows).toBe(3);
  });

  it('detects ";" with decimal commas, CRLF, a BOM, quotes and ISO 8601 times (no offset: the zone asked for)', async () => {
    const text = '\uFEFF"time";"a b";c\r\n2024-03-01T12:00:00Z;1,5;2\r\n2024-03-01 12:00:01;"2,25";3\r\n2024-03-01T14:00:02+02:00;3;4\r\n';
    const s = await readCsvSeries(await file('b.csv', text), { timeZone: 'UTC' });
    expect(s.channels).toEqual(['a b', 'c']);
    expect(Array.from(s.values)).toEqual([1.5, 2, 2.25, 3, 3, 4]);
    const t0 = Date.UTC(2024, 2, 1, 12, 0, 0);
    expect(Array.from(s.timestamps!)).toEqual([t0, t0 + 1000, t0 + 2000]);
  });

  it('honours explicit timestamp and value columns, in the order given', async () => {
    const path = await file('c.csv', 'when,x,y,z\n1700000005,1,2,3\n1700000006,4,5,6\n');
    const s = await readCsvSeries(path, { timestampColumn: 'when', valueColumns: ['z', 'x'] });
    expect(s.channels).toEqual(['z', 'x']);
    expect(Array.from(s.values)).toEqual([3, 1, 6, 4]);
    expect(Array.from(s.timestamps!)).toEqual([1700000005000, 1700000006000]);
  });

  it("reads a 'datetime' column, as replay does (it used to be taken as a value column and fail)", () => {
    const s = parseCsvSeries('datetime;Current;Voltage\n2020-03-09 10:14:33;0,5;230\n2020-03-09 10:14:34;0,6;231\n', { timeZone: 'UTC' });
    expect(s.channels).toEqual(['Current', 'Voltage']);
    expect(Array.from(s.timestamps!)).toEqual([Date.UTC(2020, 2, 9, 10, 14, 33), Date.UTC(2020, 2, 9, 10, 14, 34)]);
  });

  it('leaves out rows with a missing value and counts them; columns without data are not used', () => {
    const s = parseCsvSeries('ts,a,b,c\n1700000000000,1,nan,\n1700000001000,,nan,\n1700000002000,3,nan,null\n', {}, 'm.csv');
    expect(s.channels).toEqual(['a']);
    expect(s.table.emptyColumns).toEqual(['b', 'c']);
    expect(Array.from(s.values)).toEqual([1, 3]);
    expect(Array.from(s.timestamps!)).toEqual([1700000000000, 1700000002000]);
    expect(s.rows).toBe(2);
    expect(s.skipped).toBe(1);
    expect(() => parseCsvSeries('ts,a,b\n1700000000000,1,\n1700000001000,,2\n', {}, 'm.csv')).toThrow("m.csv: every row has a missing value in a, b: nothing to train on");
  });

  it('works without any timestamp column', async () => {
    const s = await readCsvSeries(await file('d.csv', 'v\n1\n2\n'));
    expect(s.timestamps).toBeUndefined();
    expect(Array.from(s.values)).toEqual([1, 2]);
  });

  it('reports every bad row with its line number', async () => {
    const text = ['ts,v', '1700000001000,1', '1700000002000,abc', '1700000003000', '1700000004000,', 'yesterday,5', '1700000006000,Infinity', '1700000006000,7', '1700000005000,9', '1700000008000,8'].join('\n');
    const problems = await problemsOf(readCsvSeries(await file('e.csv', text)));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/e\.csv:4: 1 fields, the header has 2/);
    const fixed = text.replace('\n1700000003000\n', '\n1700000003000,3\n');
    const more = await problemsOf(readCsvSeries(await file('e2.csv', fixed)));
    expect(more).toHaveLength(3);
    expect(more[0]).toMatch(/e2\.csv:6: column 'ts': 'yesterday' is not a time/);
    expect(more[1]).toMatch(/e2\.csv:3: column 'v': 'abc' is not a number/);
    expect(more[2]).toMatch(/e2\.csv:7: column 'v': 'Infinity' is not a number/);
    const ordered = fixed.replace('yesterday', '1700000005500').replace(',abc', ',2').replace(',Infinity', ',6');
    const order = await problemsOf(readCsvSeries(await file('e3.csv', ordered)));
    // Line 5 has a missing value (left out); line 8 repeats line 7's time, line 9 goes back.
    expect(order).toEqual([
      expect.stringMatching(/e3\.csv:8: time is not after line 7's/),
      expect.stringMatching(/e3\.csv:9: time is not after line 7's/),
    ]);
  });

  it('names a missing column and lists the ones there are', async () => {
    const path = await file('f.csv', 'ts,v\n1700000000000,2\n');
    const problems = await problemsOf(readCsvSeries(path, { valueColumns: ['w'] }));
    expect(problems[0]).toMatch(/f\.csv:1: no value column 'w' \(columns: ts, v; delimiter ','\)/);
  });

  it('rejects a file with no data', async () => {
    await expect(readCsvSeries(await file('g.csv', 'ts,v\n\n'))).rejects.toThrow(/no data rows/);
    await expect(readCsvSeries(await file('h.csv', ''))).rejects.toThrow(/empty file/);
  });
});

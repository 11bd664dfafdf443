import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvError, readCsvSeries, splitFields } from '../../src/train/csv.js';

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
    const path = await file('a.csv', 'timestamp,temp,hum\n1000,20.5,40\n2000,21,41.5\n\n3000,-1e-3,42\n');
    const s = await readCsvSeries(path);
    expect(s.channels).toEqual(['temp', 'hum']);
    expect(Array.from(s.values)).toEqual([20.5, 40, 21, 41.5, -0.001, 42]);
    expect(Array.from(s.timestamps!)).toEqual([1000, 2000, 3000]);
    expect(s.rows).toBe(3);
  });

  it('detects ";" with decimal commas, CRLF, a BOM, quotes and ISO 8601 times (no offset = UTC)', async () => {
    const text = '\uFEFF"time";"a b";c\r\n2024-03-01T12:00:00Z;1,5;2\r\n2024-03-01 12:00:01;"2,25";3\r\n2024-03-01T14:00:02+02:00;3;4\r\n';
    const s = await readCsvSeries(await file('b.csv', text));
    expect(s.channels).toEqual(['a b', 'c']);
    expect(Array.from(s.values)).toEqual([1.5, 2, 2.25, 3, 3, 4]);
    const t0 = Date.UTC(2024, 2, 1, 12, 0, 0);
    expect(Array.from(s.timestamps!)).toEqual([t0, t0 + 1000, t0 + 2000]);
  });

  it('honours explicit timestamp and value columns, in the order given', async () => {
    const path = await file('c.csv', 'when,x,y,z\n5,1,2,3\n6,4,5,6\n');
    const s = await readCsvSeries(path, { timestampColumn: 'when', valueColumns: ['z', 'x'] });
    expect(s.channels).toEqual(['z', 'x']);
    expect(Array.from(s.values)).toEqual([3, 1, 6, 4]);
    expect(Array.from(s.timestamps!)).toEqual([5, 6]);
  });

  it('works without any timestamp column', async () => {
    const s = await readCsvSeries(await file('d.csv', 'v\n1\n2\n'));
    expect(s.timestamps).toBeUndefined();
    expect(Array.from(s.values)).toEqual([1, 2]);
  });

  it('reports every bad row with its line number', async () => {
    const text = ['ts,v', '1,1', '2,abc', '3', '4,', 'yesterday,5', '6,Infinity', '6,7', '5,9', '8,8'].join('\n');
    const problems = await problemsOf(readCsvSeries(await file('e.csv', text)));
    expect(problems).toHaveLength(6);
    expect(problems[0]).toMatch(/e\.csv:3: column 'v': 'abc' is not a finite number/);
    expect(problems[1]).toMatch(/e\.csv:4: 1 fields, the header has 2/);
    expect(problems[2]).toMatch(/e\.csv:5: column 'v'/);
    expect(problems[3]).toMatch(/e\.csv:6: timestamp 'yesterday'/);
    expect(problems[4]).toMatch(/e\.csv:7: column 'v': 'Infinity'/);
    expect(problems[5]).toMatch(/e\.csv:9: timestamp 5 is not after line 8's/);
  });

  it('names a missing column and lists the ones there are', async () => {
    const path = await file('f.csv', 'ts,v\n1,2\n');
    const problems = await problemsOf(readCsvSeries(path, { valueColumns: ['w'] }));
    expect(problems[0]).toMatch(/f\.csv:1: no column 'w' \(columns: ts, v\)/);
  });

  it('rejects a file with no data', async () => {
    await expect(readCsvSeries(await file('g.csv', 'ts,v\n\n'))).rejects.toThrow(/no data rows/);
    await expect(readCsvSeries(await file('h.csv', ''))).rejects.toThrow(/empty file/);
  });
});

describe('splitFields', () => {
  it('keeps delimiters and escaped quotes inside quotes', () => {
    expect(splitFields('"a,b", "say ""hi""" ,c', ',')).toEqual(['a,b', 'say "hi"', 'c']);
  });
});

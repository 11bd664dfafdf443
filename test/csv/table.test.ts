import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvError, parseCsvTable, readCsvTable, TIME_COLUMNS, type CsvReadOptions } from '../../src/csv/table.js';

const T0 = Date.UTC(2026, 0, 1);

function problemsOf(text: string, opts: CsvReadOptions = {}, source = 'f.csv'): readonly string[] {
  try {
    parseCsvTable(text, opts, source);
  } catch (err) {
    expect(err).toBeInstanceOf(CsvError);
    return (err as CsvError).problems;
  }
  throw new Error('expected a CsvError');
}

const valuesOf = (text: string, opts: CsvReadOptions = {}): number[] => Array.from(parseCsvTable(text, { timeZone: 'UTC', ...opts }).values);

describe('parseCsvTable: the file layout', () => {
  it.each([
    [',', `ts,value\n${T0},1.5\n${T0 + 1000},2\n`],
    [';', `ts;value\n${T0};1,5\n${T0 + 1000};2\n`],
    ['tab', `ts\tvalue\n${T0}\t1,5\n${T0 + 1000}\t2\n`],
    ['sep= line', `sep=;\nts;value\n${T0};1,5\n${T0 + 1000};2\n`],
    ['BOM, sep= line and CRLF', `\uFEFFsep=;\r\n"ts";"value"\r\n"${T0}";"1,5"\r\n${T0 + 1000};2\r\n`],
    ['blank lines and spaces', `\n\nts , value\n\n ${T0} , 1.5 \n   \n${T0 + 1000},2\n\n`],
    ['CR line ends', `ts,value\r${T0},1.5\r${T0 + 1000},2\r`],
  ])('reads the same table with %s', (_, text) => {
    const t = parseCsvTable(text);
    expect(t.columns).toEqual(['ts', 'value']);
    expect(t.timeColumn).toBe('ts');
    expect(Array.from(t.times!)).toEqual([T0, T0 + 1000]);
    expect(Array.from(t.values)).toEqual([1.5, 2]);
  });

  it('takes the delimiter from the header, counting only outside quotes, and names it in errors', () => {
    expect(parseCsvTable(`"a,b";ts\n1;${T0}\n`).delimiter).toBe(';');
    expect(parseCsvTable(`ts,"x;y"\n${T0},2\n`).delimiter).toBe(',');
    expect(parseCsvTable('a;b,c\n1;2,3\n', { delimiter: ',', timeColumn: null, valueColumns: ['c'] }).columns).toEqual(['a;b', 'c']);
    expect(problemsOf(`ts;v\n${T0};1;2\n`)[0]).toBe("f.csv:2: 3 fields, the header has 2 (delimiter ';'; quote a field that holds it)");
  });

  it('keeps quoted delimiters, escaped quotes and line breaks inside a field, and numbers lines as the file does', () => {
    const t = parseCsvTable(`ts,note,value\n${T0},"a, ""b""\nc",1\n${T0 + 1000},x,2\n`, { valueColumns: ['value'] });
    expect(t.lineOf(0)).toBe(3); // the record ends on line 3
    expect(t.lineOf(1)).toBe(4);
    expect(problemsOf(`ts,note,value\n${T0},"a\nb",1\n${T0 + 1000},x,oops\n`, { valueColumns: ['value'] })[0]).toMatch(/^f\.csv:4: column 'value': 'oops'/);
    expect(parseCsvTable(`ts,note,value\n${T0},"a, ""b""\nc",1\n`, { valueColumns: ['value'] }).text('note')).toEqual(['a, "b"\nc']);
  });

  it('reports a quote that is never closed with its line and how to fix it', () => {
    expect(problemsOf(`ts,value\n${T0},1\n${T0 + 1000},"2\n`)[0]).toMatch(/^f\.csv:\d+: .*Quote Not Closed.*must end with "/);
  });

  it('reports an empty file, a file with only a sep= line, and a header without rows', () => {
    expect(problemsOf('')[0]).toMatch(/^f\.csv: empty file: want a header row/);
    expect(problemsOf('\uFEFF\n  \n')[0]).toMatch(/empty file/);
    expect(problemsOf('sep=;\n')[0]).toMatch(/nothing after the sep= line/);
    expect(problemsOf('ts,value\n\n')[0]).toBe('f.csv: no data rows after the header (line 1)');
  });
});

describe('parseCsvTable: values', () => {
  it('reads decimal commas when the delimiter is not a comma, and exponents and signs', () => {
    expect(valuesOf(`ts;v\n${T0};-0,5\n${T0 + 1};"1e-3"\n${T0 + 2};+2.25\n${T0 + 3};,5\n`)).toEqual([-0.5, 0.001, 2.25, 0.5]);
  });

  it('refuses a decimal comma with the comma delimiter, thousands separators, infinities and words, each with its line and column', () => {
    const problems = problemsOf(`ts,v\n${T0},"1,5"\n${T0 + 1},inf\n${T0 + 2},12 kg\n${T0 + 3},0x10\n`, { valueColumns: ['v'] });
    expect(problems).toEqual([
      "f.csv:2: column 'v': '1,5' is not a number (a missing value is written empty, nan or null; a decimal comma needs the ; delimiter)",
      "f.csv:3: column 'v': 'inf' is not a number (a missing value is written empty, nan or null; a decimal comma needs the ; delimiter)",
      "f.csv:4: column 'v': '12 kg' is not a number (a missing value is written empty, nan or null; a decimal comma needs the ; delimiter)",
      "f.csv:5: column 'v': '0x10' is not a number (a missing value is written empty, nan or null; a decimal comma needs the ; delimiter)",
    ]);
  });

  it('reads empty, nan, NaN, null, None, NA and N/A as missing values, not errors, and counts them', () => {
    const cells = ['', 'nan', 'NaN', 'null', 'NULL', 'None', 'NA', 'N/A', '"nan"'];
    const text = `ts,a,b\n${cells.map((c, i) => `${T0 + i * 1000},${c},${i}`).join('\n')}\n${T0 + 9000},7,9\n`;
    const t = parseCsvTable(text, { valueColumns: ['a', 'b'] });
    expect(t.missing).toBe(cells.length);
    const a = Array.from(t.values).filter((_, k) => k % 2 === 0);
    expect(a.slice(0, -1).every(Number.isNaN)).toBe(true);
    expect(a.at(-1)).toBe(7);
    expect(Array.from(t.values).filter((_, k) => k % 2 === 1)).toEqual([...cells.map((_, i) => i), 9]);
  });

  it('reports up to 10 problems at once and says there may be more', () => {
    const rows = Array.from({ length: 15 }, (_, i) => `${T0 + i * 1000},bad`);
    const problems = problemsOf(`ts,v\n${rows.join('\n')}\n`, { valueColumns: ['v'] });
    expect(problems).toHaveLength(11);
    expect(problems[10]).toMatch(/first 10 problems/);
  });
});

describe('parseCsvTable: choosing columns', () => {
  it('uses only the columns that hold data, and lists the ones left out', () => {
    const t = parseCsvTable(`time,setpoint,probe0,probe1,output\n${T0},nan,1.5,,0\n${T0 + 1000},nan,2.5,null,1\n`);
    expect(t.valueColumns).toEqual(['probe0', 'output']);
    expect(t.emptyColumns).toEqual(['setpoint', 'probe1']);
    expect(Array.from(t.values)).toEqual([1.5, 0, 2.5, 1]);
    expect(t.missing).toBe(0);
    expect(t.describe()).toBe("2 rows; time 'time' (epoch ms); columns probe0, output; left out (no data): setpoint, probe1");
  });

  it("prefers the column 'value', and never takes the time, an index or an excluded column", () => {
    expect(parseCsvTable(`ts,value,label\n${T0},1,0\n`).valueColumns).toEqual(['value']);
    expect(parseCsvTable('index,a,b\n0,1,2\n1,3,4\n', { timeColumn: null }).valueColumns).toEqual(['a', 'b']);
    expect(parseCsvTable(',a\n0,1\n', { timeColumn: null }).valueColumns).toEqual(['a']);
    expect(parseCsvTable(`ts,dev,a\n${T0},pump,1\n`, { exclude: ['dev'] }).valueColumns).toEqual(['a']);
  });

  it('takes named value columns in the order given, matching case only when it is unambiguous', () => {
    const t = parseCsvTable(`ts,X,y,z\n${T0},1,2,3\n`, { valueColumns: ['z', 'x'] });
    expect(t.valueColumns).toEqual(['z', 'X']);
    expect(Array.from(t.values)).toEqual([3, 1]);
    expect(problemsOf(`ts,a,A\n${T0},1,2\n`, { valueColumns: ['a', 'B'] })[0]).toBe("f.csv:1: no value column 'B' (columns: ts, a, A; delimiter ',')");
  });

  it('refuses a named value column that holds no data, is the time, or is named twice', () => {
    const problems = problemsOf(`ts,a,b\n${T0},nan,1\n`, { valueColumns: ['a', 'ts', 'b', 'b'] });
    expect(problems).toEqual([
      "f.csv:1: value column 'a' holds no data (every cell is empty or nan/null): leave it out of --columns",
      "f.csv:1: 'ts' is the time column and cannot be a value column too",
      'f.csv: a value column is named twice in --columns',
    ]);
  });

  it('says how to choose columns when a default column holds text, and when no column holds values', () => {
    expect(problemsOf(`ts,dev,v\n${T0},pump-1,1\n`)[0]).toMatch(/f\.csv:2: column 'dev': 'pump-1' is not a number .*choose the value columns with --columns/);
    expect(problemsOf(`ts,a\n${T0},nan\n`)[0]).toBe("f.csv:1: no column holds values (columns: ts, a; delimiter ','; time column: ts)");
  });

  it('gives any column as text or as numbers, naming a missing column and bad cells', () => {
    const t = parseCsvTable(`ts;v;anomaly\n${T0};1;0\n${T0 + 1000};2;1,0\n`, { valueColumns: ['v'] });
    expect(t.text('ts')).toEqual([String(T0), String(T0 + 1000)]);
    expect(Array.from(t.numbers('ANOMALY'))).toEqual([0, 1]);
    expect(() => t.numbers('label')).toThrow("csv: no column 'label' (columns: ts, v, anomaly)");
    const bad = parseCsvTable(`ts,v,l\n${T0},1,x\n`, { valueColumns: ['v'] }, 'g.csv');
    expect(() => bad.numbers('l')).toThrow("g.csv:2: column 'l': 'x' is not a number");
  });
});

describe('parseCsvTable: times', () => {
  it.each(TIME_COLUMNS.flatMap((name) => [name, name.toUpperCase()]))('finds the time column %s', (name) => {
    expect(parseCsvTable(`${name},v\n${T0},1\n`).timeColumn).toBe(name);
  });

  it('tells epoch seconds, milliseconds, microseconds and nanoseconds apart by magnitude', () => {
    const s = T0 / 1000;
    const t = parseCsvTable(`ts,v\n${s},1\n${T0 + 1000},2\n${(T0 + 2000) * 1000},3\n${BigInt(T0 + 3000) * 1_000_000n},4\n${s + 4.5},5\n`);
    expect(Array.from(t.times!)).toEqual([T0, T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4500]);
    expect(t.timeUnits).toEqual(['s', 'ms', 'us', 'ns']);
  });

  it('reads ISO 8601 with an offset as that instant, and without one in the zone asked for', () => {
    const text = 'datetime;v\n2026-07-01T12:00:00Z;1\n2026-07-01 14:00:00+02:00;2\n2026-07-01T12:00:00.250;3\n2026-07-01;4\n';
    const utc = parseCsvTable(text, { timeZone: 'UTC' });
    const noon = Date.UTC(2026, 6, 1, 12);
    expect(Array.from(utc.times!)).toEqual([noon, noon, noon + 250, Date.UTC(2026, 6, 1)]);
    const berlin = parseCsvTable(text, { timeZone: 'Europe/Berlin' });
    expect(Array.from(berlin.times!)).toEqual([noon, noon, noon + 250 - 2 * 3600_000, Date.UTC(2026, 6, 1) - 2 * 3600_000]);
    // Two of the four carry an offset (Z, +02:00): the zone is named for the other two only.
    expect(berlin.describe()).toContain("time 'datetime' (ISO 8601, 2 of 4 without an offset = Europe/Berlin)");
    expect(berlin.isoWithoutOffset).toBe(2);
    const local = parseCsvTable(text);
    expect(local.timeZone).toBe('local');
    expect(local.times![2]).toBe(new Date(2026, 6, 1, 12, 0, 0, 250).getTime());
    expect(local.describe()).toContain(`without an offset = local (${Intl.DateTimeFormat().resolvedOptions().timeZone})`);
  });

  it('says nothing of a zone when every ISO 8601 time carries its offset (Z is one: UTC)', () => {
    for (const offset of ['Z', '+02:00', '+0200', '+02', '-05:30']) {
      const t = parseCsvTable(`time,v\n2026-07-01T12:00:00${offset},1\n2026-07-01T12:00:01${offset},2\n`);
      expect(t.isoWithoutOffset).toBe(0);
      expect(t.describe()).toContain("time 'time' (ISO 8601 with offset)");
      expect(t.describe()).not.toMatch(/no offset|without an offset/);
    }
    const none = parseCsvTable('time,v\n2026-07-01T12:00:00,1\n2026-07-01T12:00:01,2\n', { timeZone: 'UTC' });
    expect(none.isoWithoutOffset).toBe(2);
    expect(none.describe()).toContain("time 'time' (ISO 8601, no offset = UTC)");
  });

  it("reads 'local' as the system zone at the time of reading", () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Asia/Kolkata';
      const text = 'datetime,v\n2026-07-01 12:00:00,1\n';
      expect(parseCsvTable(text).times![0]).toBe(Date.UTC(2026, 6, 1, 6, 30));
      expect(parseCsvTable(text).describe()).toMatch(/no offset = local \(Asia\/(Kolkata|Calcutta)\)/); // ICU may give the older name
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('reads the hour repeated when clocks go back as two hours, by the order of the rows', () => {
    // Europe/Berlin, 2026-10-25: 02:00-02:59 CEST, then 02:00-02:59 again in CET.
    const wall = ['01:30', '02:00', '02:30', '02:00', '02:30', '03:00'].map((hm) => `2026-10-25 ${hm}:00`);
    const t = parseCsvTable(`datetime,v\n${wall.map((w, i) => `${w},${i}`).join('\n')}\n`, { timeZone: 'Europe/Berlin' });
    const start = Date.UTC(2026, 9, 24, 23, 30);
    expect(Array.from(t.times!).map((ms) => (ms - start) / 60_000)).toEqual([0, 30, 60, 90, 120, 150]);
    // In UTC (or with offsets) nothing is ambiguous: the repeat stays a repeat.
    expect(new Set(parseCsvTable(`datetime,v\n${wall.map((w, i) => `${w},${i}`).join('\n')}\n`, { timeZone: 'UTC' }).times).size).toBe(4);
  });

  it('refuses an unknown zone', () => {
    expect(problemsOf('ts,v\n1,1\n', { timeZone: 'Mars/Olympus' })[0]).toMatch(/unknown time zone 'Mars\/Olympus': want local, UTC or an IANA name/);
  });

  it('says how to fix a time column that holds an index or text, with every bad line', () => {
    const problems = problemsOf(`time,v\n0,1\n1,2\nyesterday,3\n2026-02-30,4\n${T0},x\n`, { valueColumns: ['v'] });
    expect(problems[0]).toBe("f.csv:2: column 'time': '0' is before 2000, so it is an index or a counter, not a clock: use --timestamp-column none (times are then synthesised) or name the real time column");
    expect(problems[2]).toMatch(/^f\.csv:4: column 'time': 'yesterday' is not a time: want epoch seconds, ms or µs, or ISO 8601/);
    expect(problems[3]).toMatch(/^f\.csv:5: column 'time': '2026-02-30' is not a time/);
    expect(problems[4]).toMatch(/^f\.csv:6: column 'v': 'x' is not a number/);
  });

  it('has no times without a time column or with timeColumn null, and names a missing named one', () => {
    expect(parseCsvTable('index,value\n0,1\n').times).toBeNull();
    const t = parseCsvTable(`ts,value\n${T0},1\n`, { timeColumn: null });
    expect(t.times).toBeNull();
    expect(t.describe()).toContain('no time column');
    expect(problemsOf('a,b\n1,2\n', { timeColumn: 'when' })[0]).toBe("f.csv:1: no time column 'when' (columns: a, b; delimiter ',')");
  });
});

describe('readCsvTable', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anomalyd-csv-table-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file and cites its path in errors', async () => {
    const path = join(dir, 'r.csv');
    await writeFile(path, `ts,value\n${T0},1\n${T0 + 1000},oops\n`);
    await expect(readCsvTable(path)).rejects.toThrow(`${path}:3: column 'value': 'oops'`);
    await writeFile(path, `ts,value\n${T0},1\n`);
    expect((await readCsvTable(path)).source).toBe(path);
  });
});

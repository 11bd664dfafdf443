import { describe, expect, it } from 'vitest';
import { CsvError } from '../../src/train/csv.js';
import { parseReplayCsv, SYNTHETIC_ORIGIN_MS } from '../../src/replay/source.js';

describe('parseReplayCsv', () => {
  it('defaults to the timestamp column and the value column', () => {
    const input = parseReplayCsv('timestamp,value,label\n2026-01-01T00:00:00Z,1.5,0\n2026-01-01T00:00:01Z,2,1\n');
    expect(input.channels).toEqual(['value']);
    expect(input.timestampColumn).toBe('timestamp');
    expect(input.rows.map((r) => [r.sensor, r.ts, ...r.values])).toEqual([
      ['replay', Date.UTC(2026, 0, 1), 1.5],
      ['replay', Date.UTC(2026, 0, 1, 0, 0, 1), 2],
    ]);
    expect(input.timeTexts).toEqual(['2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z']);
  });

  it("reads SKAB-style files: ';', a datetime column, every other column a channel, decimal commas", () => {
    const input = parseReplayCsv('datetime;a;b\n2020-03-09 10:14:33;0,5;1\n2020-03-09 10:14:34;0.25;"2"\n');
    expect(input.channels).toEqual(['a', 'b']);
    expect(input.rows[0].ts).toBe(Date.UTC(2020, 2, 9, 10, 14, 33));
    expect(input.rows.map((r) => r.values)).toEqual([
      [0.5, 1],
      [0.25, 2],
    ]);
  });

  it('synthesises times per sensor without a timestamp column, and takes sensors from a sensor column', () => {
    const input = parseReplayCsv('index,dev,value\n0,x,1\n1,y,2\n2,x,3\n', { timestampColumn: null, sensorColumn: 'dev', intervalMs: 500 });
    expect(input.rows.map((r) => [r.sensor, r.ts - SYNTHETIC_ORIGIN_MS])).toEqual([
      ['x', 0],
      ['y', 0],
      ['x', 500],
    ]);
    expect(input.sensorColumn).toBe('dev');
    expect(input.timeTexts).toEqual(['0', '1', '2']);
  });

  it('passes values that are not numbers on as NaN, for the parser to reject like a bad payload', () => {
    const input = parseReplayCsv('ts,value\n1767225600000,\n1767225601000,abc\n');
    expect(input.rows.map((r) => r.values[0])).toEqual([Number.NaN, Number.NaN]);
  });

  it('refuses what cannot be replayed, with line numbers', () => {
    expect(() => parseReplayCsv('index,value\n0,1\n', { timestampColumn: 'index' }, 'f.csv')).toThrow(/f\.csv:2: .*before 2000/);
    expect(() => parseReplayCsv('when,ts\n2026-01-01,1\n', { timestampColumn: 'when', valueColumns: ['ts'] })).toThrow(/cannot be named 'ts'/);
    expect(() => parseReplayCsv('ts,value\n1767225600000,1,2\n')).toThrow(/3 fields/);
    expect(() => parseReplayCsv('ts,value\n', {}, 'f.csv')).toThrow(CsvError);
    expect(() => parseReplayCsv('ts,value\n1767225600000,1\n', { valueColumns: ['nope'] })).toThrow(/no column 'nope'/);
  });
});

import { describe, expect, it } from 'vitest';
import { CsvError } from '../../src/csv/table.js';
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
    const input = parseReplayCsv('datetime;a;b\n2020-03-09 10:14:33;0,5;1\n2020-03-09 10:14:34;0.25;"2"\n', { timeZone: 'UTC' });
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

  it('passes missing values on as NaN (absent for the parser), and refuses words with their line and column', () => {
    const input = parseReplayCsv('ts,value\n1767225600000,\n1767225601000,nan\n1767225602000,1\n');
    expect(input.rows.map((r) => r.values[0])).toEqual([Number.NaN, Number.NaN, 1]);
    expect(() => parseReplayCsv('ts,value\n1767225600000,abc\n', {}, 'f.csv')).toThrow(/f\.csv:2: column 'value': 'abc' is not a number/);
  });

  it('synthesises times for an index-only file and keeps the index out of the values', () => {
    const input = parseReplayCsv('index,a,b\n0,1,2\n1,3,4\n', { intervalMs: 250 });
    expect(input.timestampColumn).toBeNull();
    expect(input.channels).toEqual(['a', 'b']);
    expect(input.rows.map((r) => [r.ts - SYNTHETIC_ORIGIN_MS, ...r.values])).toEqual([
      [0, 1, 2],
      [250, 3, 4],
    ]);
  });

  it('never takes the sensor column or an excluded column as a value column', () => {
    const input = parseReplayCsv('ts,dev,temp,label\n1767225600000,a,1,0\n1767225601000,b,2,1\n', { sensorColumn: 'dev', exclude: ['label'] });
    expect(input.channels).toEqual(['temp']);
    expect(input.rows.map((r) => r.sensor)).toEqual(['a', 'b']);
    expect(Array.from(input.table.numbers('label'))).toEqual([0, 1]);
  });

  it('marks where a sensor\'s recording changes (a recording column), never a value column', () => {
    const text = 'ts,dev,rec,value\n1767225600000,a,train,1\n1767225601000,b,r1,2\n1767225602000,a,train,3\n1767225603000,a,test,4\n1767225604000,b,r1,5\n1767225605000,a,test,6\n1767225606000,b,r2,7\n';
    const input = parseReplayCsv(text, { sensorColumn: 'dev', recordingColumn: 'rec' });
    expect(input.channels).toEqual(['value']);
    expect(input.recordingColumn).toBe('rec');
    // A sensor's first row is no new recording (nothing came before it); a change of its recording is.
    expect(input.rows.map((r) => [r.sensor, r.newRecording === true])).toEqual([
      ['a', false],
      ['b', false],
      ['a', false],
      ['a', true],
      ['b', false],
      ['a', false],
      ['b', true],
    ]);
    expect(() => parseReplayCsv(text, { sensorColumn: 'dev', recordingColumn: 'dev' })).toThrow(/cannot be the recording column/);
  });

  it('refuses interleaved recordings of a sensor and the time column as the recording column (each would reset the stream at every row)', () => {
    // a's rows: train, test, train again: the stream would be reset at every change and see nothing whole.
    const interleaved = 'ts,dev,rec,value\n1767225600000,a,train,1\n1767225601000,a,test,2\n1767225602000,b,x,3\n1767225603000,a,train,4\n';
    expect(() => parseReplayCsv(interleaved, { sensorColumn: 'dev', recordingColumn: 'rec' }, 'f.csv')).toThrow(/f\.csv:5: .*recording 'train' of sensor 'a' comes back after recording 'test' began.*contiguous/);
    // Another sensor may reuse a recording name; a sensor's recordings in turn are fine.
    const ok = 'ts,dev,rec,value\n1767225600000,a,r1,1\n1767225601000,b,r1,2\n1767225602000,a,r2,3\n1767225603000,b,r2,4\n';
    expect(parseReplayCsv(ok, { sensorColumn: 'dev', recordingColumn: 'rec' }).rows.filter((r) => r.newRecording === true).length).toBe(2);
    expect(() => parseReplayCsv('ts,value\n1767225600000,1\n1767225601000,2\n', { recordingColumn: 'ts' })).toThrow(/'ts' is the time column/);
  });

  it('says the time column given as the recording column first, alone, also in a file whose other problems would hide it (tryout 15 finding 9)', () => {
    // A text column without --columns is a problem of its own (three `'a' is not a number`), but not the mistake made.
    const text = 'ts,temp,note\n2026-01-01T00:00:00Z,1.0,a\n2026-01-01T00:00:01Z,1.1,a\n2026-01-01T00:00:02Z,1.2,a\n';
    let err: unknown = null;
    try {
      parseReplayCsv(text, { recordingColumn: 'TS' }, 'f.csv');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CsvError);
    expect((err as CsvError).problems).toEqual(["f.csv: 'TS' is the time column: every row would begin a new recording; name the column that says which recording a row belongs to"]);
    // Without it, the file's own problem is said as before.
    expect(() => parseReplayCsv(text, {}, 'f.csv')).toThrow(/column 'note': 'a' is not a number/);
  });

  it('refuses what cannot be replayed, with line numbers', () => {
    expect(() => parseReplayCsv('index,value\n0,1\n', { timestampColumn: 'index' }, 'f.csv')).toThrow(/f\.csv:2: .*before 2000.*--timestamp-column none/);
    expect(() => parseReplayCsv('when,ts\n2026-01-01,1\n', { timestampColumn: 'when', valueColumns: ['ts'] })).toThrow(/cannot be named 'ts'/);
    expect(() => parseReplayCsv('when,Time\n2026-01-01,1\n', { timestampColumn: 'when' })).toThrow(/cannot be named 'Time'/);
    expect(() => parseReplayCsv('ts,dev,value\n1767225600000,,1\n', { sensorColumn: 'dev' }, 'f.csv')).toThrow("f.csv:2: column 'dev': empty sensor name");
    expect(() => parseReplayCsv('ts,value\n1767225600000,1,2\n')).toThrow(/3 fields/);
    expect(() => parseReplayCsv('ts,value\n', {}, 'f.csv')).toThrow(CsvError);
    expect(() => parseReplayCsv('ts,value\n1767225600000,1\n', { valueColumns: ['nope'] })).toThrow(/no value column 'nope'/);
  });
});

/**
 * Training data from a CSV file, read by the one CSV reader (src/csv/table.ts; docs/CSV.md says what it
 * accepts). A row with a missing value in a value column is left out and counted: the trainer needs every
 * channel of every row. Times, when the file has them, must increase strictly (they are kept for the
 * record: the trainer takes rows as equally spaced steps).
 */
import { CsvError, parseCsvTable, readCsvTable, type CsvTable } from '../csv/table.js';
import type { TrainSeries } from './trainer.js';

export interface CsvOptions {
  /** Time column; undefined = the first column named timestamp, ts, time or datetime; null = none. */
  readonly timestampColumn?: string | null;
  /** Value columns, in this order; default: the reader's (the `value` column, else every column holding data). */
  readonly valueColumns?: readonly string[];
  /** Zone of ISO 8601 times without an offset: 'local' (default), 'UTC' or an IANA name. */
  readonly timeZone?: string;
}

export interface CsvSeries extends TrainSeries {
  /** Rows kept (N). */
  readonly rows: number;
  /** Rows left out because a value column had a missing value. */
  readonly skipped: number;
  /** What the reader chose (columns, time unit), for the command's log. */
  readonly table: CsvTable;
}

/** Reads a training CSV. Throws CsvError with every problem's file:line, or the file system's error. */
export async function readCsvSeries(path: string, opts: CsvOptions = {}): Promise<CsvSeries> {
  return seriesOf(await readCsvTable(path, tableOptions(opts)));
}

/** readCsvSeries on text already in memory; `source` names the file in errors. */
export function parseCsvSeries(text: string, opts: CsvOptions = {}, source = 'csv'): CsvSeries {
  return seriesOf(parseCsvTable(text, tableOptions(opts), source));
}

function tableOptions(opts: CsvOptions): Parameters<typeof parseCsvTable>[1] {
  return {
    ...(opts.timestampColumn !== undefined ? { timeColumn: opts.timestampColumn } : {}),
    ...(opts.valueColumns !== undefined ? { valueColumns: opts.valueColumns } : {}),
    ...(opts.timeZone !== undefined ? { timeZone: opts.timeZone } : {}),
  };
}

/** The rows of a table with every value present, time-major, as a training series. */
export function seriesOf(table: CsvTable): CsvSeries {
  const C = table.valueColumns.length;
  const values: number[] = [];
  const stamps: number[] = [];
  const problems: string[] = [];
  let previous = -1;
  const zoneHint = table.isoWithoutOffset > 0
    ? ` (times without an offset were read in ${table.timeZone === 'local' ? 'the system zone' : table.timeZone}: if the file's clock went back an hour in autumn, give --timezone with the zone it was written in)`
    : '';
  let skipped = 0;
  for (let i = 0; i < table.rows; i++) {
    const row = table.values.subarray(i * C, (i + 1) * C);
    if (row.some((v) => Number.isNaN(v))) {
      skipped++;
      continue;
    }
    if (table.times !== null) {
      const ts = table.times[i];
      if (previous >= 0 && ts <= table.times[previous]) {
        if (problems.length < 10) problems.push(`${table.source}:${table.lineOf(i)}: time is not after line ${table.lineOf(previous)}'s: training rows must be in time order, without repeats${zoneHint}`);
        continue;
      }
      previous = i;
      stamps.push(ts);
    }
    for (const v of row) values.push(v);
  }
  if (problems.length > 0) throw new CsvError(problems);
  if (values.length === 0) throw new CsvError([`${table.source}: every row has a missing value in ${table.valueColumns.join(', ')}: nothing to train on`]);
  return {
    channels: table.valueColumns,
    values: Float64Array.from(values),
    rows: values.length / C,
    skipped,
    table,
    ...(table.times !== null ? { timestamps: Float64Array.from(stamps) } : {}),
  };
}

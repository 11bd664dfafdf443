/**
 * Loads recorded normal data for training from a CSV file: a header row, then one reading per row.
 * Delimiter ',' or ';' (auto-detected from the header; with ';' a decimal comma is accepted),
 * optional double quotes, timestamps as epoch milliseconds or ISO 8601 (no offset = UTC).
 */
import { readFile } from 'node:fs/promises';
import type { TrainSeries } from './trainer.js';

export interface CsvOptions {
  /** Column holding the time; default: a column named timestamp, ts or time if there is one. */
  readonly timestampColumn?: string;
  /** Value columns, in this order; default: every column except the timestamp. */
  readonly valueColumns?: readonly string[];
  /** Default: ';' if the header has more of them than ',', else ','. */
  readonly delimiter?: string;
}

export interface CsvSeries extends TrainSeries {
  readonly rows: number;
}

/** All the problems found in a file, each `path:line: message`. */
export class CsvError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
    this.name = 'CsvError';
  }
}

const MAX_PROBLEMS = 10;
const TIMESTAMP_NAMES = ['timestamp', 'ts', 'time'];
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const EPOCH_MS = /^-?\d+(?:\.\d+)?$/;

export async function readCsvSeries(path: string, opts: CsvOptions = {}): Promise<CsvSeries> {
  return parseCsvSeries(await readFile(path, 'utf8'), opts, path);
}

/** The parser behind readCsvSeries, on text already in memory. `source` prefixes error messages. */
export function parseCsvSeries(text: string, opts: CsvOptions = {}, source = 'csv'): CsvSeries {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) throw new CsvError([`${source}: empty file`]);
  const delimiter = opts.delimiter ?? detectDelimiter(lines[headerIndex]);
  const header = splitFields(lines[headerIndex], delimiter);
  const layout = resolveColumns(header, opts, `${source}:${headerIndex + 1}`);

  const problems: string[] = [];
  const values: number[] = [];
  const stamps: number[] = [];
  let previous: { ts: number; line: number } | null = null;
  for (let i = headerIndex + 1; i < lines.length && problems.length < MAX_PROBLEMS; i++) {
    if (lines[i].trim() === '') continue;
    const where = `${source}:${i + 1}`;
    const fields = splitFields(lines[i], delimiter);
    if (fields.length !== header.length) {
      problems.push(`${where}: ${fields.length} fields, the header has ${header.length}`);
      continue;
    }
    const row = parseRow(fields, layout, delimiter, header, where, problems);
    if (row === null) continue;
    if (layout.timestamp >= 0) {
      if (previous !== null && row.ts <= previous.ts) {
        problems.push(`${where}: timestamp ${fields[layout.timestamp]} is not after line ${previous.line}'s`);
        continue;
      }
      previous = { ts: row.ts, line: i + 1 };
      stamps.push(row.ts);
    }
    values.push(...row.values);
  }
  if (problems.length > 0) throw new CsvError(problems);
  if (values.length === 0) throw new CsvError([`${source}: no data rows after the header`]);
  const channels = layout.values.map((k) => header[k]);
  return {
    channels,
    values: Float64Array.from(values),
    rows: values.length / channels.length,
    ...(layout.timestamp >= 0 ? { timestamps: Float64Array.from(stamps) } : {}),
  };
}

function detectDelimiter(headerLine: string): string {
  const count = (ch: string): number => headerLine.split(ch).length - 1;
  return count(';') > count(',') ? ';' : ',';
}

/** Splits one line, honouring double quotes ("" inside quotes is a literal quote). */
export function splitFields(line: string, delimiter: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (line.startsWith(delimiter, i)) {
      fields.push(field.trim());
      field = '';
      i += delimiter.length - 1;
    } else {
      field += ch;
    }
  }
  fields.push(field.trim());
  return fields;
}

interface Layout {
  /** Column index of the timestamp, -1 when there is none. */
  readonly timestamp: number;
  readonly values: readonly number[];
}

function resolveColumns(header: readonly string[], opts: CsvOptions, where: string): Layout {
  const problems: string[] = [];
  const indexOf = (name: string): number => {
    const k = header.indexOf(name);
    if (k < 0) problems.push(`${where}: no column '${name}' (columns: ${header.join(', ')})`);
    return k;
  };
  const timestamp =
    opts.timestampColumn !== undefined
      ? indexOf(opts.timestampColumn)
      : header.findIndex((h) => TIMESTAMP_NAMES.includes(h.toLowerCase()));
  const values = opts.valueColumns !== undefined ? opts.valueColumns.map(indexOf) : header.map((_, k) => k).filter((k) => k !== timestamp);
  if (problems.length > 0) throw new CsvError(problems);
  if (values.length === 0) throw new CsvError([`${where}: no value columns`]);
  if (values.includes(timestamp) && timestamp >= 0) throw new CsvError([`${where}: '${header[timestamp]}' is both the timestamp and a value column`]);
  return { timestamp, values };
}

function parseRow(
  fields: readonly string[],
  layout: Layout,
  delimiter: string,
  header: readonly string[],
  where: string,
  problems: string[],
): { ts: number; values: number[] } | null {
  const before = problems.length;
  const ts = layout.timestamp >= 0 ? parseTimestamp(fields[layout.timestamp], where, problems) : 0;
  const values = layout.values.map((k) => parseValue(fields[k], header[k], delimiter, where, problems));
  return problems.length === before ? { ts, values } : null;
}

function parseValue(field: string, column: string, delimiter: string, where: string, problems: string[]): number {
  const text = delimiter === ';' ? field.replace(/^(-?\d+),(\d+)$/, '$1.$2') : field;
  const v = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(v)) problems.push(`${where}: column '${column}': '${field}' is not a finite number`);
  return v;
}

export function parseTimestamp(field: string, where: string, problems: string[]): number {
  if (EPOCH_MS.test(field)) return Number(field);
  const iso = ISO_8601.exec(field);
  if (iso !== null) {
    // Date.parse reads a date-time without an offset as LOCAL time; a training file should not
    // mean different things on machines in different time zones.
    const hasTime = field.length > 10;
    const ms = Date.parse(hasTime && iso[1] === undefined ? `${field.replace(' ', 'T')}Z` : field.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  problems.push(`${where}: timestamp '${field}' is neither epoch milliseconds nor ISO 8601`);
  return Number.NaN;
}

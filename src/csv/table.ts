/**
 * The one CSV reader behind `anomalyd train`, `anomalyd replay` and `npm run evaluate` (docs/CSV.md).
 *
 * A file is a header row, then one row per reading. What it accepts:
 * - delimiter ',' ';' or tab, detected from the header (the most frequent outside quotes), or named by a
 *   first line `sep=;` as spreadsheets write it; double quotes ("" inside quotes is a quote); a UTF-8 BOM;
 *   CRLF, LF or CR line ends; blank lines anywhere.
 * - numbers with a decimal point, or a decimal comma when the delimiter is not ','.
 * - missing values: an empty cell, nan, null, none, na or n/a (any case). They are NaN in `values`, never
 *   an error; what a command does with them is its own choice (train leaves such rows out, replay sends
 *   them to the parser as null).
 * - the time column: the first column named timestamp, ts, time or datetime (any case), unless the caller
 *   names one or none. Epoch s, ms, µs or ns (told apart by magnitude), or ISO 8601 with or without an
 *   offset (without: read in `timeZone`, default the system zone). A time before 2000 is an error: that
 *   column is an index or a counter, not a clock.
 * - value columns: those the caller names, in that order; by default the column `value` if there is one
 *   holding data, else every column holding data except the time, an index (index, idx or an unnamed
 *   column) and the ones the caller excludes. A column whose every cell is missing is left out and listed
 *   in `emptyColumns`.
 *
 * Every problem names the file, the line and the column, and says how to fix it; up to 10 are reported at
 * once (CsvError). Nothing falls back silently: what was chosen is in the table and in `describe()`.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { MIN_TIME_MS, parseTime, resolveTimeZone, systemTimeZone, type TimeUnit } from './time.js';

/** Column names read as the time, compared in lower case. */
export const TIME_COLUMNS: readonly string[] = Object.freeze(['timestamp', 'ts', 'time', 'datetime']);
/** Column names read as a row index (never a value by default), compared in lower case; '' is pandas' unnamed index. */
export const INDEX_COLUMNS: readonly string[] = Object.freeze(['index', 'idx', '']);
/** Cell texts that mean "no value", compared in lower case. */
export const MISSING_VALUES: readonly string[] = Object.freeze(['', 'nan', 'null', 'none', 'na', 'n/a']);
/** Delimiters detected from the header; a `sep=X` first line may name any one character. */
export const DELIMITERS: readonly string[] = Object.freeze([',', ';', '\t']);

const MAX_PROBLEMS = 10;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DECIMAL_COMMA = /^([+-]?\d*),(\d+)$/;
const SEP_LINE = /^"?sep=(.|\\t)"?$/i;

/** All the problems found in a file, each `file:line: message`. */
export class CsvError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
    this.name = 'CsvError';
  }
}

export interface CsvReadOptions {
  /** Time column; undefined = the first column named like TIME_COLUMNS; null = none (the file has no times). */
  readonly timeColumn?: string | null;
  /** Value columns, in this order; default: see the module doc. */
  readonly valueColumns?: readonly string[];
  /** Columns never taken as values by default (a sensor column, labels). */
  readonly exclude?: readonly string[];
  /** Default: a `sep=X` first line, else detected from the header. */
  readonly delimiter?: string;
  /** Zone of ISO 8601 date-times without an offset: 'local' (default, the system zone), 'UTC' or an IANA name. */
  readonly timeZone?: string;
  /**
   * Columns that cannot be the time column, each with what to say when it is (after `<file>: `): the file is then
   * refused with that one problem, before its times and values are read (whose problems would hide it: a replay's
   * recording column given as the time column, in a file with a text column, told only `'a' is not a number`).
   */
  readonly notTime?: readonly { readonly column: string; readonly problem: string }[];
}

/** What parseCsvTable found; the fields of CsvTable. */
export interface CsvTableData {
  /** The file name, as errors cite it. */
  readonly source: string;
  readonly delimiter: string;
  /** 1-based line of the header. */
  readonly headerLine: number;
  /** Every column of the header, in file order. */
  readonly columns: readonly string[];
  readonly timeColumn: string | null;
  /** How the times were written (one entry per kind seen, in order of first appearance). */
  readonly timeUnits: readonly TimeUnit[];
  /** The zone ISO times without an offset were read in ('local', 'UTC' or an IANA name). */
  readonly timeZone: string;
  /** Rows whose time is ISO 8601, and how many of them had no offset (read in timeZone); `Z` is an offset (UTC). */
  readonly isoTimes: number;
  readonly isoWithoutOffset: number;
  readonly valueColumns: readonly string[];
  /** Columns left out of the default value columns because every cell is missing. */
  readonly emptyColumns: readonly string[];
  /** Epoch ms per row, null without a time column. */
  readonly times: Float64Array | null;
  /** Row-major [rows, valueColumns.length], in the columns' units; NaN = missing. */
  readonly values: Float64Array;
  /** Missing cells among the value columns. */
  readonly missing: number;
}

/** A read file: the header, the chosen time and value columns, and every row's time and values. */
export interface CsvTable extends CsvTableData {
  /** Data rows (blank lines not counted). */
  readonly rows: number;
  /** The file line (1-based) of row `row` (0-based), for messages. */
  lineOf(row: number): number;
  /** Raw cells of any column (trimmed), e.g. a sensor column or the time as written. Throws CsvError for an unknown column. */
  text(column: string): string[];
  /** Any column as numbers by the reader's rules (missing = NaN), e.g. labels. Throws CsvError naming bad cells. */
  numbers(column: string): Float64Array;
  /** One line for a command's log: what was read and what was left out. */
  describe(): string;
}

/** The table over `records` (the data rows' trimmed cells) and their 1-based file lines. */
function tableOf(data: CsvTableData, records: readonly (readonly string[])[], lines: Int32Array): CsvTable {
  const indexOf = (column: string): number => {
    const k = findColumn(data.columns, column);
    if (k < 0) throw new CsvError([`${data.source}: no column '${column}' (columns: ${data.columns.join(', ')})`]);
    return k;
  };
  return {
    ...data,
    rows: records.length,
    lineOf: (row) => lines[row],
    text: (column) => {
      const k = indexOf(column);
      return records.map((r) => r[k]);
    },
    numbers: (column) => {
      const k = indexOf(column);
      const out = new Float64Array(records.length);
      const problems: string[] = [];
      for (let i = 0; i < records.length && problems.length < MAX_PROBLEMS; i++) {
        const v = numberOf(records[i][k], data.delimiter);
        if (v === null) problems.push(`${data.source}:${lines[i]}: column '${data.columns[k]}': '${records[i][k]}' is not a number`);
        else out[i] = v;
      }
      if (problems.length > 0) throw new CsvError(problems);
      return out;
    },
    describe: () => {
      const units = data.timeUnits.map((u) => UNIT_NAMES[u]).join(', ');
      const zoneName = data.timeZone === 'local' ? `local (${systemTimeZone()})` : data.timeZone;
      // The zone is named only when it read some time: a time ending in Z or +hh:mm carries its own offset.
      const zone =
        data.isoWithoutOffset === 0
          ? data.isoTimes > 0 ? ' with offset' : ''
          : data.isoWithoutOffset === data.isoTimes
            ? `, no offset = ${zoneName}`
            : `, ${data.isoWithoutOffset} of ${data.isoTimes} without an offset = ${zoneName}`;
      const parts = [`${records.length} rows`, data.timeColumn === null ? 'no time column' : `time '${data.timeColumn}' (${units}${zone})`, `columns ${data.valueColumns.join(', ')}`];
      if (data.emptyColumns.length > 0) parts.push(`left out (no data): ${data.emptyColumns.join(', ')}`);
      if (data.missing > 0) parts.push(`${data.missing} missing values`);
      return parts.join('; ');
    },
  };
}

const UNIT_NAMES: Record<TimeUnit, string> = { s: 'epoch seconds', ms: 'epoch ms', us: 'epoch µs', ns: 'epoch ns', iso: 'ISO 8601' };

/** Reads and checks a CSV file. Throws CsvError (every problem with its line) or the file system's error. */
export async function readCsvTable(path: string, opts: CsvReadOptions = {}): Promise<CsvTable> {
  return parseCsvTable(await readFile(path, 'utf8'), opts, path);
}

/** The reader behind readCsvTable, on text already in memory; `source` names the file in errors. */
export function parseCsvTable(text: string, opts: CsvReadOptions = {}, source = 'csv'): CsvTable {
  let zone: string;
  try {
    zone = resolveTimeZone(opts.timeZone ?? 'local');
  } catch (err) {
    throw new CsvError([`${source}: ${(err as Error).message}`]);
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const start = findHeader(body, source);
  const delimiter = opts.delimiter ?? start.sep ?? detectDelimiter(start.header);
  const { records, lines } = parseRecords(body, delimiter, start.line, source);
  const header = records[0].map((h) => h.trim());
  const rows: string[][] = [];
  const kept: number[] = [];
  for (let i = 1; i < records.length; i++) {
    if (records[i].length === 1 && records[i][0] === '') continue; // a blank line
    rows.push(records[i]);
    kept.push(lines[i]);
  }
  const rowLines = Int32Array.from(kept);
  const where = (i: number): string => `${source}:${rowLines[i]}`;

  const problems: string[] = [];
  const report = (p: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const fail = (): never => {
    throw new CsvError(problems.length < MAX_PROBLEMS ? problems : [...problems, `(the first ${MAX_PROBLEMS} problems; there may be more)`]);
  };

  // Problems are collected and thrown together, so one run shows what is wrong with the times and the
  // values; only a problem that makes the next step meaningless (no such column) throws at once.
  const named = (name: string, what: string): number => {
    const k = findColumn(header, name);
    if (k < 0) report(`${source}:${start.line}: no ${what} column '${name}' (columns: ${header.join(', ')}; delimiter ${delimiterName(delimiter)})`);
    return k;
  };
  const timeK = opts.timeColumn === null ? -1 : opts.timeColumn !== undefined ? named(opts.timeColumn, 'time') : header.findIndex((h) => TIME_COLUMNS.includes(h.toLowerCase()));
  if (problems.length > 0) fail();
  const misplaced = timeK < 0 ? undefined : opts.notTime?.find((n) => findColumn(header, n.column) === timeK);
  if (misplaced !== undefined) throw new CsvError([`${source}: ${misplaced.problem}`]);

  for (let i = 0; i < rows.length; i++) {
    if (rows[i].length !== header.length) {
      report(`${where(i)}: ${rows[i].length} fields, the header has ${header.length} (delimiter ${delimiterName(delimiter)}; quote a field that holds it)`);
    }
  }
  if (rows.length === 0) report(`${source}: no data rows after the header (line ${start.line})`);
  if (problems.length > 0) fail();

  // Times.
  let times: Float64Array | null = null;
  const units: TimeUnit[] = [];
  let isoTimes = 0;
  let isoWithoutOffset = 0;
  if (timeK >= 0) {
    times = new Float64Array(rows.length);
    const col = header[timeK];
    const readZone = zone === 'local' ? systemTimeZone() : zone; // named once: its offsets are cached
    for (let i = 0; i < rows.length; i++) {
      const cell = rows[i][timeK];
      const t = parseTime(cell, readZone);
      if (t === null) {
        report(
          `${where(i)}: column '${col}': '${cell}' is not a time: want epoch seconds, ms or µs, or ISO 8601 such as 2026-11-30T10:00:00Z` +
            ` (a file without times: --timestamp-column none)`,
        );
        continue;
      }
      if (t.ms < MIN_TIME_MS) {
        report(`${where(i)}: column '${col}': '${cell}' is before 2000, so it is an index or a counter, not a clock: use --timestamp-column none (times are then synthesised) or name the real time column`);
        continue;
      }
      if (!units.includes(t.unit)) units.push(t.unit);
      if (t.unit === 'iso') {
        isoTimes++;
        if (t.offset !== true) isoWithoutOffset++;
      }
      // The hour repeated when clocks go back: its second pass is the later instant (rows are in time order).
      const previous = i > 0 ? times[i - 1] : -Infinity;
      times[i] = t.repeated !== undefined && t.ms <= previous && t.repeated > previous ? t.repeated : t.ms;
    }
  }

  // Value columns.
  const excluded = new Set<number>([timeK]);
  for (const name of opts.exclude ?? []) {
    const k = findColumn(header, name);
    if (k >= 0) excluded.add(k);
  }
  const hasData = (k: number): boolean => rows.some((r) => !isMissing(r[k]));
  const empty: string[] = [];
  let valueK: number[];
  if (opts.valueColumns !== undefined) {
    valueK = opts.valueColumns.map((name) => named(name, 'value'));
    if (valueK.includes(-1)) fail();
    for (const k of valueK) {
      if (k === timeK) report(`${source}:${start.line}: '${header[k]}' is the time column and cannot be a value column too`);
      else if (!hasData(k)) report(`${source}:${start.line}: value column '${header[k]}' holds no data (every cell is empty or nan/null): leave it out of --columns`);
    }
    if (new Set(valueK).size !== valueK.length) report(`${source}: a value column is named twice in --columns`);
  } else {
    const candidates = header.map((_, k) => k).filter((k) => !excluded.has(k) && !INDEX_COLUMNS.includes(header[k].toLowerCase()));
    const withData = candidates.filter(hasData);
    for (const k of candidates) if (!withData.includes(k)) empty.push(header[k]);
    const value = withData.find((k) => header[k].toLowerCase() === 'value');
    valueK = value !== undefined ? [value] : withData;
    if (valueK.length === 0) {
      report(`${source}:${start.line}: no column holds values (columns: ${header.join(', ')}; delimiter ${delimiterName(delimiter)}; time column: ${timeK >= 0 ? header[timeK] : 'none'})`);
    }
  }
  if (valueK.length === 0) fail();

  const C = valueK.length;
  const values = new Float64Array(rows.length * C);
  let missing = 0;
  const hint = opts.valueColumns === undefined ? '; choose the value columns with --columns' : '';
  for (let i = 0; i < rows.length; i++) {
    for (let c = 0; c < C; c++) {
      const cell = rows[i][valueK[c]];
      const v = numberOf(cell, delimiter);
      if (v === null) {
        report(`${where(i)}: column '${header[valueK[c]]}': '${cell}' is not a number (a missing value is written empty, nan or null${delimiter === ',' ? '; a decimal comma needs the ; delimiter' : ''}${hint})`);
      } else {
        if (Number.isNaN(v)) missing++;
        values[i * C + c] = v;
      }
    }
  }
  if (problems.length > 0) fail();

  return tableOf(
    {
      source,
      delimiter,
      headerLine: start.line,
      columns: header,
      timeColumn: timeK >= 0 ? header[timeK] : null,
      timeUnits: units,
      timeZone: zone,
      isoTimes,
      isoWithoutOffset,
      valueColumns: valueK.map((k) => header[k]),
      emptyColumns: empty,
      times,
      values,
      missing,
    },
    rows,
    rowLines,
  );
}

/** A column by exact name, else by a unique case-insensitive match; -1 when there is none. */
function findColumn(header: readonly string[], name: string): number {
  const exact = header.indexOf(name);
  if (exact >= 0) return exact;
  const lower = name.toLowerCase();
  const matches = header.flatMap((h, k) => (h.toLowerCase() === lower ? [k] : []));
  return matches.length === 1 ? matches[0] : -1;
}

function isMissing(cell: string): boolean {
  // Every token is at most 4 characters and none starts with a digit, a sign or a point: most cells skip the lookup.
  if (cell.length > 4) return false;
  return MISSING_VALUES.includes(cell.toLowerCase());
}

/** A cell as a number: NaN for a missing value, null for anything that is not a finite number. */
function numberOf(cell: string, delimiter: string): number | null {
  if (isMissing(cell)) return Number.NaN;
  let t = cell;
  if (delimiter !== ',') {
    const m = DECIMAL_COMMA.exec(t);
    if (m !== null) t = `${m[1]}.${m[2]}`;
  }
  if (!DECIMAL.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

function delimiterName(d: string): string {
  return d === '\t' ? 'tab' : `'${d}'`;
}

interface Start {
  /** 1-based line of the header. */
  readonly line: number;
  readonly header: string;
  /** The delimiter named by a `sep=X` first line. */
  readonly sep: string | null;
}

/** The header line (the first non-blank one, after a `sep=X` line if there is one). */
function findHeader(text: string, source: string): Start {
  let sep: string | null = null;
  let pos = 0;
  let line = 1;
  let first = true;
  while (pos < text.length) {
    const end = nextLineEnd(text, pos);
    const content = text.slice(pos, end).trim();
    if (content !== '') {
      const m = first ? SEP_LINE.exec(content) : null;
      first = false;
      if (m !== null) sep = m[1] === '\\t' || m[1] === '\\T' ? '\t' : m[1];
      else return { line, header: content, sep };
    }
    pos = end + (text.startsWith('\r\n', end) ? 2 : 1);
    line++;
  }
  throw new CsvError([`${source}: ${sep === null ? 'empty file' : 'nothing after the sep= line'}: want a header row (such as timestamp,value) and then one row per reading`]);
}

function nextLineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return text.length;
}

/** The delimiter that occurs most often outside quotes in the header; ',' when none does. */
function detectDelimiter(header: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ',';
  for (const d of DELIMITERS) if ((counts.get(d) ?? 0) > (counts.get(best) ?? 0)) best = d;
  return best;
}

/**
 * Every record from the header on, with its 1-based line. Blank lines come back as [''] so that, without
 * quoted line breaks, record i is line `headerLine + i`; when a quoted field spans lines the file is read
 * a second time with csv-parse's line info (slower, so only then).
 */
function parseRecords(text: string, delimiter: string, headerLine: number, source: string): { records: string[][]; lines: number[] } {
  const base = { delimiter, from_line: headerLine, relax_column_count: true, skip_empty_lines: false, trim: true, bom: false };
  try {
    const records = parse(text, base);
    if (records.length === physicalLines(text, headerLine)) return { records, lines: records.map((_, i) => headerLine + i) };
    const withInfo = parse(text, { ...base, info: true }) as unknown as { record: string[]; info: { lines: number } }[];
    return { records: withInfo.map((r) => r.record), lines: withInfo.map((r) => r.info.lines) };
  } catch (err) {
    const e = err as { code?: string; lines?: number; message: string };
    if (typeof e.code === 'string' && e.code.includes('QUOTE')) {
      throw new CsvError([`${source}:${e.lines ?? '?'}: ${e.message.replace(/ at line \d+/, '')}: a field that starts with " must end with " (write "" for a quote inside it)`]);
    }
    throw new CsvError([`${source}:${e.lines ?? '?'}: ${e.message}`]);
  }
}

/** Lines from `fromLine` (1-based) to the end, not counting the empty one after a final line break. */
function physicalLines(text: string, fromLine: number): number {
  let n = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      n++;
    } else if (c === 10) n++;
  }
  const last = text.charCodeAt(text.length - 1);
  if (last === 10 || last === 13) n--;
  return n - fromLine + 1;
}

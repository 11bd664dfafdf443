/**
 * Replay input from a CSV file: a header row, then one reading per row, optionally of several sensors.
 * Delimiter ',' or ';' (from the header; with ';' a decimal comma is accepted), double quotes, timestamps as
 * epoch ms or ISO 8601 (no offset = UTC), as for `anomalyd train`. Without a timestamp column, row i is
 * placed at a fixed origin + i * intervalMs (per sensor), for data that only has an index.
 *
 * Values are not checked here: a row with an empty or non-numeric value goes to the parser like any bad
 * MQTT payload and is rejected there, so a replay sees what the daemon would.
 */
import { readFile } from 'node:fs/promises';
import { CsvError, parseTimestamp, splitFields } from '../train/csv.js';
import type { ReplayRow } from './replay.js';

export interface ReplayCsvOptions {
  /** Time column; undefined = the first of timestamp, ts, time, datetime present; null = none (synthesised times). */
  readonly timestampColumn?: string | null;
  /** Value columns in this order; default: `value` if there is one, else every column but the time and sensor. */
  readonly valueColumns?: readonly string[];
  /** Column naming each row's sensor; without it every row belongs to `sensor`. */
  readonly sensorColumn?: string;
  /** Sensor of every row when there is no sensor column (default 'replay'). */
  readonly sensor?: string;
  /** Spacing of synthesised times (default 1000 ms). */
  readonly intervalMs?: number;
}

export interface ReplayInput {
  readonly rows: ReplayRow[];
  readonly channels: readonly string[];
  /** The time of each row as written in the file (or the row number when times were synthesised). */
  readonly timeTexts: readonly string[];
  readonly timestampColumn: string | null;
  readonly sensorColumn: string | null;
}

const TIMESTAMP_NAMES = ['timestamp', 'ts', 'time', 'datetime'];
/** The parser reads these keys of a payload as its time: a channel cannot have one of these names. */
const RESERVED_CHANNELS = ['ts', 'timestamp', 'time'];
/** 2020-01-01T00:00:00Z: where synthesised times start (any time the parser accepts would do). */
export const SYNTHETIC_ORIGIN_MS = Date.UTC(2020, 0, 1);
/** The parser refuses times before 2000-01-01: an index column read as epoch ms would be all rejected. */
const MIN_TS = Date.UTC(2000, 0, 1);

export async function readReplayCsv(path: string, opts: ReplayCsvOptions = {}): Promise<ReplayInput> {
  return parseReplayCsv(await readFile(path, 'utf8'), opts, path);
}

export function parseReplayCsv(text: string, opts: ReplayCsvOptions = {}, source = 'csv'): ReplayInput {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) throw new CsvError([`${source}: empty file`]);
  const headerLine = lines[headerIndex];
  const delimiter = headerLine.split(';').length > headerLine.split(',').length ? ';' : ',';
  const header = splitFields(headerLine, delimiter);
  const layout = resolveLayout(header, opts, `${source}:${headerIndex + 1}`);
  const channels = Object.freeze(layout.values.map((k) => header[k]));
  const interval = opts.intervalMs ?? 1000;
  if (!(interval > 0)) throw new CsvError([`${source}: intervalMs must be > 0, got ${interval}`]);
  const defaultSensor = opts.sensor ?? 'replay';

  const rows: ReplayRow[] = [];
  const timeTexts: string[] = [];
  const problems: string[] = [];
  const perSensor = new Map<string, number>();
  for (let i = headerIndex + 1; i < lines.length && problems.length < 10; i++) {
    if (lines[i].trim() === '') continue;
    const where = `${source}:${i + 1}`;
    const fields = splitFields(lines[i], delimiter);
    if (fields.length !== header.length) {
      problems.push(`${where}: ${fields.length} fields, the header has ${header.length}`);
      continue;
    }
    const sensor = layout.sensor >= 0 ? fields[layout.sensor] : defaultSensor;
    if (sensor === '') {
      problems.push(`${where}: empty sensor`);
      continue;
    }
    let ts: number;
    if (layout.timestamp >= 0) {
      ts = parseTimestamp(fields[layout.timestamp], where, problems);
      if (Number.isNaN(ts)) continue;
      if (ts < MIN_TS) {
        problems.push(`${where}: time ${fields[layout.timestamp]} is before 2000; for an index column use no timestamp column (times are then synthesised)`);
        continue;
      }
      timeTexts.push(fields[layout.timestamp]);
    } else {
      const n = perSensor.get(sensor) ?? 0;
      perSensor.set(sensor, n + 1);
      ts = SYNTHETIC_ORIGIN_MS + n * interval;
      timeTexts.push(String(rows.length));
    }
    const values = layout.values.map((k) => numberOf(fields[k], delimiter));
    rows.push({ sensor, ts, channels, values });
  }
  if (problems.length > 0) throw new CsvError(problems);
  if (rows.length === 0) throw new CsvError([`${source}: no data rows after the header`]);
  return {
    rows,
    channels,
    timeTexts,
    timestampColumn: layout.timestamp >= 0 ? header[layout.timestamp] : null,
    sensorColumn: layout.sensor >= 0 ? header[layout.sensor] : null,
  };
}

interface Layout {
  readonly timestamp: number;
  readonly sensor: number;
  readonly values: readonly number[];
}

function resolveLayout(header: readonly string[], opts: ReplayCsvOptions, where: string): Layout {
  const problems: string[] = [];
  const indexOf = (name: string): number => {
    const k = header.indexOf(name);
    if (k < 0) problems.push(`${where}: no column '${name}' (columns: ${header.join(', ')})`);
    return k;
  };
  const timestamp =
    opts.timestampColumn === null
      ? -1
      : opts.timestampColumn !== undefined
        ? indexOf(opts.timestampColumn)
        : header.findIndex((h) => TIMESTAMP_NAMES.includes(h.toLowerCase()));
  const sensor = opts.sensorColumn !== undefined ? indexOf(opts.sensorColumn) : -1;
  let values: number[];
  if (opts.valueColumns !== undefined) values = opts.valueColumns.map(indexOf);
  else if (header.includes('value')) values = [header.indexOf('value')];
  else values = header.map((_, k) => k).filter((k) => k !== timestamp && k !== sensor);
  if (problems.length > 0) throw new CsvError(problems);
  if (values.length === 0) throw new CsvError([`${where}: no value columns`]);
  for (const k of values) {
    if (k === timestamp || k === sensor) throw new CsvError([`${where}: '${header[k]}' cannot be both a value column and the time or sensor column`]);
    if (RESERVED_CHANNELS.includes(header[k])) throw new CsvError([`${where}: a value column cannot be named '${header[k]}' (it would read as a time)`]);
  }
  if (new Set(values).size !== values.length) throw new CsvError([`${where}: a value column is listed twice`]);
  return { timestamp, sensor, values };
}

function numberOf(field: string, delimiter: string): number {
  const text = delimiter === ';' ? field.replace(/^(-?\d+),(\d+)$/, '$1.$2') : field;
  return text.trim() === '' ? Number.NaN : Number(text);
}

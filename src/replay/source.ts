/**
 * Replay input from a CSV file, read by the one CSV reader (src/csv/table.ts; docs/CSV.md says what it
 * accepts), optionally with several sensors (a sensor column). Without a time column (an index-only file,
 * or `--timestamp-column none`) each sensor's rows are placed at SYNTHETIC_ORIGIN_MS + n * intervalMs.
 *
 * A missing value (empty, nan, null) is NaN in the row and goes to the parser as null, as a sensor sends
 * one; a row out of time order goes to it too (it rejects it as out_of_order): a replay sees what the
 * daemon would. With a recording column, a row whose recording differs from its sensor's previous row's begins a
 * new recording of that sensor (ReplayRow.newRecording: the step between the two is not the stream's).
 */
import { CsvError, parseCsvTable, readCsvTable, TIME_COLUMNS, type CsvReadOptions, type CsvTable } from '../csv/table.js';
import type { ReplayRow } from './drive.js';

export interface ReplayCsvOptions {
  /** Time column; undefined = the first of timestamp, ts, time, datetime present; null = none (synthesised times). */
  readonly timestampColumn?: string | null;
  /** Value columns in this order; default: the reader's (the `value` column, else every column holding data). */
  readonly valueColumns?: readonly string[];
  /** Column naming each row's sensor; without it every row belongs to `sensor`. */
  readonly sensorColumn?: string;
  /** Sensor of every row when there is no sensor column (default 'replay'). */
  readonly sensor?: string;
  /** Spacing of synthesised times (default 1000 ms). */
  readonly intervalMs?: number;
  /** Zone of ISO 8601 times without an offset: 'local' (default), 'UTC' or an IANA name. */
  readonly timeZone?: string;
  /** More columns that are never values by default (labels). */
  readonly exclude?: readonly string[];
  /**
   * Column naming each row's recording: a row whose recording differs from its sensor's previous row's begins a
   * new recording of that sensor (ReplayRow.newRecording; Detector.newRecording). Never a value column.
   */
  readonly recordingColumn?: string;
}

export interface ReplayInput {
  readonly rows: ReplayRow[];
  readonly channels: readonly string[];
  /** The time of each row as written in the file (or the row number when times were synthesised). */
  readonly timeTexts: readonly string[];
  readonly timestampColumn: string | null;
  readonly sensorColumn: string | null;
  readonly recordingColumn: string | null;
  /** The recording of each row as written in the file (recordingColumn), row by row as `rows`; null without the column. */
  readonly recordingTexts: readonly string[] | null;
  /** What the reader chose and left out, for the command's log and for other columns (labels). */
  readonly table: CsvTable;
}

/** 2020-01-01T00:00:00Z: where synthesised times start (any time the parser accepts would do). */
export const SYNTHETIC_ORIGIN_MS = Date.UTC(2020, 0, 1);

export async function readReplayCsv(path: string, opts: ReplayCsvOptions = {}): Promise<ReplayInput> {
  return replayInputOf(await readCsvTable(path, tableOptions(opts)), opts);
}

/** readReplayCsv on text already in memory; `source` names the file in errors. */
export function parseReplayCsv(text: string, opts: ReplayCsvOptions = {}, source = 'csv'): ReplayInput {
  return replayInputOf(parseCsvTable(text, tableOptions(opts), source), opts);
}

function tableOptions(opts: ReplayCsvOptions): CsvReadOptions {
  const exclude = [...(opts.sensorColumn !== undefined ? [opts.sensorColumn] : []), ...(opts.recordingColumn !== undefined ? [opts.recordingColumn] : []), ...(opts.exclude ?? [])];
  return {
    ...(opts.timestampColumn !== undefined ? { timeColumn: opts.timestampColumn } : {}),
    ...(opts.valueColumns !== undefined ? { valueColumns: opts.valueColumns } : {}),
    ...(opts.timeZone !== undefined ? { timeZone: opts.timeZone } : {}),
    ...(exclude.length > 0 ? { exclude } : {}),
    // Said before any problem of the times or the values (tryout 15 finding 9: three `'a' is not a number` lines
    // about a text column hid it).
    ...(opts.recordingColumn !== undefined ? { notTime: [{ column: opts.recordingColumn, problem: recordingIsTime(opts.recordingColumn) }] } : {}),
  };
}

function recordingIsTime(column: string): string {
  return `'${column}' is the time column: every row would begin a new recording; name the column that says which recording a row belongs to`;
}

/** A read table as replay rows: one per row, its sensor, its time (read or synthesised) and its values. */
export function replayInputOf(table: CsvTable, opts: ReplayCsvOptions = {}): ReplayInput {
  const interval = opts.intervalMs ?? 1000;
  if (!(interval > 0)) throw new CsvError([`${table.source}: intervalMs must be > 0, got ${interval}`]);
  const channels = Object.freeze([...table.valueColumns]);
  for (const c of channels) {
    // The parser reads these keys of a payload as its time: a channel cannot have one of these names.
    if (TIME_COLUMNS.includes(c.toLowerCase())) {
      throw new CsvError([`${table.source}:${table.headerLine}: a value column cannot be named '${c}' (it would read as a time): rename it`]);
    }
  }
  const sensors = opts.sensorColumn !== undefined ? table.text(opts.sensorColumn) : null;
  if (sensors !== null && opts.sensorColumn !== undefined && channels.includes(opts.sensorColumn)) {
    throw new CsvError([`${table.source}: '${opts.sensorColumn}' cannot be both the sensor column and a value column`]);
  }
  const recordings = opts.recordingColumn !== undefined ? table.text(opts.recordingColumn) : null;
  if (recordings !== null && opts.recordingColumn !== undefined && (channels.includes(opts.recordingColumn) || opts.recordingColumn === opts.sensorColumn)) {
    throw new CsvError([`${table.source}: '${opts.recordingColumn}' cannot be the recording column and a value or sensor column`]);
  }
  if (recordings !== null && opts.recordingColumn !== undefined && opts.recordingColumn === table.timeColumn) {
    throw new CsvError([`${table.source}: ${recordingIsTime(opts.recordingColumn)}`]);
  }
  /** Each sensor's recording so far (recordingColumn). */
  const recordingOf = new Map<string, string>();
  /** Each sensor's recordings already ended (recordingColumn): a recording's rows must be contiguous. */
  const endedOf = new Map<string, Set<string>>();
  const defaultSensor = opts.sensor ?? 'replay';
  const times = table.times;
  const texts = table.timeColumn !== null ? table.text(table.timeColumn) : null;
  const C = channels.length;
  const rows: ReplayRow[] = [];
  const timeTexts: string[] = [];
  const recordingTexts: string[] | null = recordings !== null ? [] : null;
  const perSensor = new Map<string, number>();
  const problems: string[] = [];
  for (let i = 0; i < table.rows; i++) {
    const sensor = sensors !== null ? sensors[i] : defaultSensor;
    if (sensor === '') {
      if (problems.length < 10) problems.push(`${table.source}:${table.lineOf(i)}: column '${opts.sensorColumn}': empty sensor name`);
      continue;
    }
    let ts: number;
    if (times !== null && texts !== null) {
      ts = times[i];
      timeTexts.push(texts[i]);
    } else {
      const n = perSensor.get(sensor) ?? 0;
      perSensor.set(sensor, n + 1);
      ts = SYNTHETIC_ORIGIN_MS + n * interval;
      timeTexts.push(String(i));
    }
    const values = new Array<number>(C);
    for (let c = 0; c < C; c++) values[c] = table.values[i * C + c];
    let newRecording = false;
    if (recordings !== null) {
      const previous = recordingOf.get(sensor);
      newRecording = previous !== undefined && previous !== recordings[i];
      if (newRecording) {
        const ended = endedOf.get(sensor) ?? new Set<string>();
        endedOf.set(sensor, ended);
        if (ended.has(recordings[i])) {
          // Interleaved recordings would reset the stream at every row and see nothing (tryout 14): refused.
          if (problems.length < 10) problems.push(`${table.source}:${table.lineOf(i)}: column '${opts.recordingColumn}': recording '${recordings[i]}' of sensor '${sensor}' comes back after recording '${String(previous)}' began: a recording's rows must be contiguous (sort the file by sensor and recording, then time)`);
        }
        ended.add(previous as string);
      }
      recordingOf.set(sensor, recordings[i]);
      recordingTexts?.push(recordings[i]);
    }
    rows.push(newRecording ? { sensor, ts, channels, values, newRecording } : { sensor, ts, channels, values });
  }
  if (problems.length > 0) throw new CsvError(problems);
  return { rows, channels, timeTexts, timestampColumn: table.timeColumn, sensorColumn: opts.sensorColumn ?? null, recordingColumn: opts.recordingColumn ?? null, recordingTexts, table };
}

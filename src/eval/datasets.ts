/**
 * The labelled recordings the evaluation runs on, each file as an `EvalStream` (protocols in BENCHMARKS.md,
 * "Evaluation"):
 *
 *   SKAB (../shared/datasets/skab): 8 channels of one sensor; rows [0, 400) are normal and learnt from, rows
 *        400 … end scored against the `anomaly` column (the benchmark's protocol).
 *   MSL (../shared/datasets/msl): the channel's train file, then its test file, as one 1 Hz stream of one
 *        sensor, the test file's first row marked as a new recording (StreamRow.newRecording: two recordings,
 *        the step between them not the stream's); the train rows are learnt from, the test rows scored against
 *        its `anomaly` column.
 *   NAB-layout corpus (`--corpus DIR`: DIR/data/<group>/<file>.csv with `timestamp,value`, DIR/labels/
 *        combined_windows.json, optionally our DIR/labels/anomaly_runs.json): the first min(15 %, 750) rows
 *        of each file are the probationary period, learnt from and not scored; every later row is scored.
 *   dev: our synthetic development corpus (corpus.ts), generated in memory, NAB protocol as above.
 *
 * NAB windows: the corpus' own combined_windows.json when there is one; otherwise our rule for labelled runs
 * (`windowsAroundRuns`) over the scored rows (SKAB, MSL) or over the whole file with its probation (corpora).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { readReplayCsv, SYNTHETIC_ORIGIN_MS, type ReplayInput } from '../replay/source.js';
import { devCorpus, labelsOf, windowsOf } from './corpus.js';
import { nabProbation, tidyWindows, windowsAroundRuns, type AnomalyWindow } from './nab.js';
import type { EvalStream, StreamRow } from './stream.js';

/** A file of a dataset, loaded when its turn comes. */
export interface StreamSource {
  readonly dataset: string;
  readonly file: string;
  readonly load: () => Promise<EvalStream>;
}

export const SKAB_LEARN_ROWS = 400;
export const SKAB_CHANNELS = [
  'Accelerometer1RMS',
  'Accelerometer2RMS',
  'Current',
  'Pressure',
  'Temperature',
  'Thermocouple',
  'Voltage',
  'Volume Flow RateRMS',
] as const;

/** The labelled files' times carry no offset: they are read in UTC, so no DST change can move a row. */
export const EVAL_TIME_ZONE = 'UTC';

/**
 * A label column of a file read by the one CSV reader (src/csv), one entry per row: 1 where the label is a
 * non-zero number, else 0.
 *
 * @throws CsvError naming the file when the column is missing.
 */
export function labelColumn(input: ReplayInput, column = 'anomaly'): Uint8Array {
  return Uint8Array.from(input.table.numbers(column), (v) => (v !== 0 && !Number.isNaN(v) ? 1 : 0));
}

/** Windows over the scored rows [scoreFrom, end) from their labelled runs (no probation: the learnt rows are it). */
function scoredWindows(labels: Uint8Array, scoreFrom: number): AnomalyWindow[] {
  return windowsAroundRuns(labels.subarray(scoreFrom), 0);
}

/** SKAB files in a fixed order (valve1, valve2, other; numerically), without the anomaly-free recording. */
export function skabFiles(root: string): string[] {
  const out: string[] = [];
  for (const group of ['valve1', 'valve2', 'other']) {
    const dir = join(root, 'skab', group);
    if (!existsSync(dir)) continue;
    const names = readdirSync(dir).filter((f) => f.endsWith('.csv'));
    names.sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    out.push(...names.map((f) => join(dir, f)));
  }
  return out;
}

/**
 * One SKAB file (`;`-separated, `datetime` + 8 channels + `anomaly`) as a stream: learn and score from row 400.
 *
 * @throws CsvError / Error naming the file on a malformed file or a missing column.
 */
export async function loadSkab(path: string): Promise<EvalStream> {
  const input = await readReplayCsv(path, { timestampColumn: 'datetime', valueColumns: SKAB_CHANNELS, sensor: 'skab', timeZone: EVAL_TIME_ZONE });
  const labels = labelColumn(input);
  if (labels.length !== input.rows.length) throw new Error(`${path}: ${labels.length} labels for ${input.rows.length} rows`);
  return {
    dataset: 'skab',
    file: `${basename(join(path, '..'))}/${basename(path)}`,
    rows: input.rows,
    learnRows: SKAB_LEARN_ROWS,
    scoreFrom: SKAB_LEARN_ROWS,
    labels,
    windows: scoredWindows(labels, SKAB_LEARN_ROWS),
  };
}

/** The SKAB files under `root`/skab, in `skabFiles` order; none when the folder is absent. */
export function skabSources(root: string): StreamSource[] {
  return skabFiles(root).map((path) => ({ dataset: 'skab', file: `${basename(join(path, '..'))}/${basename(path)}`, load: () => loadSkab(path) }));
}

/** MSL channel names (`<channel>.test.csv` under `root`/msl), sorted; none when the folder is absent. */
export function mslChannels(root: string): string[] {
  const dir = join(root, 'msl');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.csv'))
    .map((f) => f.slice(0, -'.test.csv'.length))
    .sort();
}

/**
 * The channel's train rows then its test rows, as one 1 Hz stream of one sensor (times synthesised from
 * 2020-01-01, 1 s apart), the first test row marked `newRecording` (the detector's new-recording boundary:
 * telemanom, Hundman et al. 2018, scores the test file from its own readings): learn from the train rows, score
 * the test rows.
 *
 * @throws CsvError / Error naming the file on a malformed file or a label count that does not match.
 */
export async function loadMsl(root: string, channel: string): Promise<EvalStream> {
  const trainPath = join(root, 'msl', `${channel}.train.csv`);
  const testPath = join(root, 'msl', `${channel}.test.csv`);
  const opts = { timestampColumn: null, valueColumns: ['value'], sensor: channel, intervalMs: 1000 } as const;
  const [trainInput, testInput] = await Promise.all([readReplayCsv(trainPath, opts), readReplayCsv(testPath, opts)]);
  const train = trainInput.rows;
  const test = testInput.rows;
  const shift = train.length * 1000;
  // Two recordings: the test file's first row begins a new one (its step from the train's last row is not the stream's).
  const rows = [...train, ...test.map((r, i) => ({ ...r, ts: r.ts + shift, ...(i === 0 ? { newRecording: true } : {}) }))];
  if (rows[0].ts !== SYNTHETIC_ORIGIN_MS) throw new Error('unexpected synthetic origin');
  const testLabels = labelColumn(testInput);
  if (testLabels.length !== test.length) throw new Error(`${testPath}: ${testLabels.length} labels for ${test.length} rows`);
  const labels = new Uint8Array(rows.length);
  labels.set(testLabels, train.length);
  return { dataset: 'msl', file: channel, rows, learnRows: train.length, scoreFrom: train.length, labels, windows: scoredWindows(labels, train.length) };
}

/** The MSL channels under `root`/msl as streams (`loadMsl`). */
export function mslSources(root: string): StreamSource[] {
  return mslChannels(root).map((channel) => ({ dataset: 'msl', file: channel, load: () => loadMsl(root, channel) }));
}

/** A stream under NAB's protocol: learn from and do not score the probation; windows over the whole file. */
function nabStream(dataset: string, file: string, rows: StreamRow[], labels: Uint8Array, windows: readonly AnomalyWindow[]): EvalStream {
  const probation = nabProbation(rows.length);
  return {
    dataset,
    file,
    rows,
    learnRows: probation,
    scoreFrom: probation,
    labels,
    windows: tidyWindows(windows, probation).map((w) => ({ start: w.start - probation, end: w.end - probation })),
  };
}

/** Our development corpus (corpus.ts), in memory. */
export function devSources(seed = 1): StreamSource[] {
  const corpus = devCorpus(seed);
  return corpus.map((s) => ({
    dataset: 'dev',
    file: s.path,
    load: () => {
      const channels = Object.freeze(['value']);
      const rows = Array.from(s.values, (v, i) => ({ sensor: s.path, ts: s.timestamps[i], channels, values: [v] }));
      return Promise.resolve(nabStream('dev', s.path, rows, labelsOf(s), windowsOf(s)));
    },
  }));
}

/** NAB's timestamps ("2014-02-19 10:50:00.000000", UTC) or any ISO 8601 / epoch-ms text, as epoch ms. */
export function parseNabTime(text: string): number {
  const t = text.trim();
  if (/^\d{12,}$/.test(t)) return Number(t);
  const iso = t.replace(' ', 'T');
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (!Number.isFinite(ms)) throw new Error(`timestamp '${text}' is neither NAB's format nor ISO 8601`);
  return ms;
}

function csvFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.csv')) out.push(full);
    }
  };
  walk(dir);
  return out;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A directory in NAB's layout. Labels: per row 1 inside a run of our anomaly_runs.json when present, else
 * inside a window of combined_windows.json.
 *
 * @throws Error when the directory has no data files or no labels/combined_windows.json.
 */
export function corpusSources(dir: string): StreamSource[] {
  const dataDir = existsSync(join(dir, 'data')) ? join(dir, 'data') : dir;
  const windowsPath = join(dir, 'labels', 'combined_windows.json');
  if (!existsSync(windowsPath)) throw new Error(`${dir}: no labels/combined_windows.json (NAB's layout: data/<group>/<file>.csv and labels/)`);
  const files = csvFilesUnder(dataDir);
  if (files.length === 0) throw new Error(`${dataDir}: no .csv files`);
  const dataset = basename(dir);
  let labelFiles: Promise<{ windows: Record<string, [string, string][]>; runs: Record<string, { start: string; end: string }[]> | null }> | null = null;
  const labelsOnce = () =>
    (labelFiles ??= (async () => {
      const runsPath = join(dir, 'labels', 'anomaly_runs.json');
      return {
        windows: (await readJson(windowsPath)) as Record<string, [string, string][]>,
        runs: existsSync(runsPath) ? ((await readJson(runsPath)) as Record<string, { start: string; end: string }[]>) : null,
      };
    })());
  return files.map((path) => {
    const file = relative(dataDir, path).split(sep).join('/');
    return {
      dataset,
      file,
      load: async () => {
        const { windows, runs } = await labelsOnce();
        const rows = (await readReplayCsv(path, { sensor: file, timeZone: EVAL_TIME_ZONE })).rows;
        const index = new Map<number, number>();
        rows.forEach((r, i) => index.set(r.ts, i));
        const rowOf = (t: string): number => {
          const i = index.get(parseNabTime(t));
          if (i === undefined) throw new Error(`${path}: label time ${t} is not a row of the file`);
          return i;
        };
        const spans = (list: readonly { start: string; end: string }[]): AnomalyWindow[] => list.map((w) => ({ start: rowOf(w.start), end: rowOf(w.end) }));
        const win = spans((windows[file] ?? []).map(([start, end]) => ({ start, end })));
        const labelled = runs?.[file] !== undefined ? spans(runs[file]) : win;
        const labels = new Uint8Array(rows.length);
        for (const w of labelled) labels.fill(1, w.start, w.end + 1);
        return nabStream(dataset, file, rows, labels, windows[file] !== undefined ? win : windowsAroundRuns(labels, nabProbation(rows.length)));
      },
    };
  });
}

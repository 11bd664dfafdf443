/**
 * The labelled evaluation behind `npm run evaluate` (issue 10, "How it is checked"): every file of a dataset
 * streamed through the detector under test with the SHIPPED configuration (config/default.yaml, or the file
 * given), and scored against its labels:
 *
 *   - point-wise P/R/F1 (every scored row a sample: SKAB's protocol);
 *   - event-wise P/R/F1 (Hundman et al. 2018: an event is found when an alarm row falls inside it; each alarm
 *     run that touches no event is one false positive), false alarms per day, mean detection delay;
 *   - the share of scored rows alarmed against the share labelled;
 *   - the streaming score of the Numenta Anomaly Benchmark (nab.ts) under its three profiles: on the per-row
 *     score with one threshold for the dataset chosen by NAB's sweep, and on the alarms as raised.
 *
 * The detector is a `StreamDetector` (stream.ts); `replayDetector()` (today's replay) is the default. Counts are
 * pooled per dataset. A file whose detector run fails is recorded with its error and scored as if it never
 * alarmed (score 0 on every row), so a failure costs what a silent detector costs.
 *
 * Robustness runs (transform.ts): the time-scale test (`compareRuns`: the same files re-stamped 1 s … 1 h apart
 * with jitter, drops and duplicates, compared with the unscaled run) and the short-history test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeepPartial } from '../config/dsl.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import {
  addEvents,
  addPoints,
  eventCounts,
  eventRatios,
  falseAlarmsPerDay,
  meanDelay,
  NO_EVENTS,
  NO_POINTS,
  pointCounts,
  pointRatios,
  runsOf,
  type EventCounts,
  type PointCounts,
} from './metrics.js';
import {
  NAB_PROFILE_NAMES,
  NAB_PROFILES,
  scoreCorpus,
  scoreCorpusDetections,
  windowsAroundRuns,
  type AnomalyWindow,
  type NabProfileName,
  type ScoredSeries,
} from './nab.js';
import type { EvalStream, StreamDetector, StreamOutput } from './stream.js';

/**
 * The configuration the daemon would run with: `path` (default config/default.yaml in `cwd`), validated by the
 * daemon's own loader. The environment is NOT applied, so a result does not depend on the shell it ran in.
 *
 * @throws Error listing every configuration error.
 */
export function loadEvalConfig(path?: string, cwd = process.cwd()): Config {
  const loaded = loadConfig({ ...(path !== undefined ? { path } : {}), env: {}, cwd });
  if (!loaded.ok) throw new Error(`configuration${loaded.file !== null ? ` ${loaded.file}` : ''}:\n  ${loaded.errors.join('\n  ')}`);
  return loaded.config;
}

/** A Config from the schema's defaults plus `overrides` only (for tests of one stage; not what ships). */
export function evalConfig(overrides: DeepPartial<Config>): Config {
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-eval-config-'));
  try {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'version: 1\n');
    const loaded = loadConfig({ path: file, env: {}, overrides });
    if (!loaded.ok) throw new Error(`evaluation config:\n  ${loaded.errors.join('\n  ')}`);
    return loaded.config;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The result of one file, as written to the JSON report. */
export interface FileResult {
  readonly dataset: string;
  readonly file: string;
  readonly rows: number;
  readonly learnRows: number;
  readonly scoredRows: number;
  /** Virtual time covered by the scored rows, ms (last − first + one nominal interval). */
  readonly scoredMs: number;
  readonly points: PointCounts;
  readonly events: EventCounts;
  readonly labelledRows: number;
  readonly alarmedRows: number;
  /** What the detector counted (rejected rows, windows, …). */
  readonly counts: Readonly<Record<string, number>>;
  readonly learnSeconds: number;
  readonly runSeconds: number;
  /** Why the detector failed on this file (it is then scored as never alarming), else null. */
  readonly error: string | null;
}

/** One file's run: its result and the detector's per-row outputs over the SCORED rows. */
export interface FileRun {
  readonly result: FileResult;
  /** NAB windows over the scored rows. */
  readonly windows: readonly AnomalyWindow[];
  /** Per scored row: its row in the original recording (differs from scoreFrom + j after a transform). */
  readonly origin: Int32Array;
  readonly score: Float64Array;
  readonly alarm: Uint8Array;
}

/** What one file's run is made of, over its scored rows. */
export interface RunParts {
  readonly dataset: string;
  readonly file: string;
  /** All rows of the stream, learnt ones included. */
  readonly rows: number;
  readonly learnRows: number;
  /** Per scored row: label (1 = inside a labelled anomaly), epoch ms, score, alarm (1 = alarmed). */
  readonly labels: ArrayLike<number>;
  readonly ts: ArrayLike<number>;
  readonly score: Float64Array;
  readonly alarm: Uint8Array;
  /** NAB windows over the scored rows; default: our rule for labelled runs (`windowsAroundRuns`). */
  readonly windows?: readonly AnomalyWindow[];
  readonly origin?: Int32Array;
  readonly counts?: Readonly<Record<string, number>>;
  readonly learnSeconds?: number;
  readonly runSeconds?: number;
  readonly error?: string | null;
}

/**
 * Scores one file's outputs (a detector run, or per-row outputs saved elsewhere) against its labels.
 *
 * @throws RangeError when the per-row arrays differ in length.
 */
export function fileRun(p: RunParts): FileRun {
  const n = p.labels.length;
  if (p.ts.length !== n || p.score.length !== n || p.alarm.length !== n) {
    throw new RangeError(`${p.dataset}/${p.file}: ${n} labels, ${p.ts.length} times, ${p.score.length} scores, ${p.alarm.length} alarms`);
  }
  const alarms = Array.from(p.alarm, (a) => a !== 0);
  let interval = 1000;
  if (n > 1) {
    const gaps = Array.from({ length: n - 1 }, (_, i) => p.ts[i + 1] - p.ts[i]).filter((g) => g > 0).sort((a, b) => a - b);
    if (gaps.length > 0) interval = gaps[Math.floor(gaps.length / 2)];
  }
  let labelled = 0;
  for (let i = 0; i < n; i++) labelled += p.labels[i] !== 0 ? 1 : 0;
  const learnRows = p.learnRows;
  return {
    result: {
      dataset: p.dataset,
      file: p.file,
      rows: p.rows,
      learnRows,
      scoredRows: n,
      scoredMs: n > 0 ? p.ts[n - 1] - p.ts[0] + interval : 0,
      points: pointCounts(p.labels, alarms),
      events: eventCounts(p.labels, alarms),
      labelledRows: labelled,
      alarmedRows: alarms.filter(Boolean).length,
      counts: p.counts ?? {},
      learnSeconds: p.learnSeconds ?? 0,
      runSeconds: p.runSeconds ?? 0,
      error: p.error ?? null,
    },
    windows: p.windows ?? windowsAroundRuns(p.labels, 0),
    origin: p.origin ?? Int32Array.from({ length: n }, (_, j) => p.rows - n + j),
    score: p.score,
    alarm: p.alarm,
  };
}

/**
 * Streams one file through `detector` and scores rows [scoreFrom, end). A detector that throws marks the file
 * failed (scored as never alarming).
 *
 * @throws RangeError when the detector answers with the wrong number of rows (a broken detector, not a
 *   failed file).
 */
export async function evaluateStream(stream: EvalStream, detector: StreamDetector, config: Config): Promise<FileRun> {
  const { rows, scoreFrom } = stream;
  const scored = rows.length - scoreFrom;
  let error: string | null = null;
  let out: StreamOutput | null = null;
  try {
    out = await detector({ name: `${stream.dataset}/${stream.file}`, rows, learnRows: stream.learnRows, config });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  if (out !== null && (out.score.length !== rows.length || out.alarm.length !== rows.length)) {
    throw new RangeError(`${stream.dataset}/${stream.file}: the detector answered ${out.score.length} scores and ${out.alarm.length} alarms for ${rows.length} rows`);
  }
  const source = stream.source;
  return fileRun({
    dataset: stream.dataset,
    file: stream.file,
    rows: rows.length,
    learnRows: stream.learnRows,
    labels: stream.labels.subarray(scoreFrom),
    ts: Float64Array.from({ length: scored }, (_, j) => rows[scoreFrom + j].ts),
    score: out === null ? new Float64Array(scored) : out.score.slice(scoreFrom),
    alarm: out === null ? new Uint8Array(scored) : out.alarm.slice(scoreFrom),
    windows: stream.windows,
    origin: Int32Array.from({ length: scored }, (_, j) => (source === undefined ? scoreFrom + j : source[scoreFrom + j])),
    ...(out === null ? {} : { counts: out.counts, learnSeconds: out.learnSeconds, runSeconds: out.runSeconds }),
    error,
  });
}

/** One NAB figure of a dataset: the normalised score and where it comes from. */
export interface NabFigure {
  /** 100 x (raw − null) / (perfect − null): 0 = never alarming, 100 = perfect. */
  readonly score: number;
  readonly raw: number;
  /** The single threshold chosen for the dataset (+Infinity written as null: no threshold beat never alarming). */
  readonly threshold: number | null;
  readonly windows: number;
  readonly detectedWindows: number;
  readonly fpRows: number;
}

export interface DatasetSummary {
  readonly dataset: string;
  readonly files: number;
  readonly failed: readonly { readonly file: string; readonly error: string }[];
  readonly rows: number;
  readonly scoredRows: number;
  readonly point: { readonly precision: number; readonly recall: number; readonly f1: number } & PointCounts;
  readonly event: { readonly precision: number; readonly recall: number; readonly f1: number; readonly events: number; readonly found: number; readonly falseAlarms: number };
  readonly falseAlarmsPerDay: number;
  /** Mean rows from an event's start to its first alarm, over found events (NaN when none was found). */
  readonly meanDelayRows: number;
  /** Share of scored rows alarmed / labelled. */
  readonly alarmedShare: number;
  readonly labelledShare: number;
  /** NAB score of the per-row score, one threshold for the dataset (NAB's sweep). */
  readonly nab: Readonly<Record<NabProfileName, NabFigure>>;
  /** NAB score of the alarms as the detector raised them. */
  readonly nabAlarms: Readonly<Record<NabProfileName, NabFigure>>;
  readonly learnSeconds: number;
  readonly runSeconds: number;
}

/** A file's entry in the report: its result and its NAB scores at the dataset's thresholds (null: no windows). */
export type FileReport = FileResult & {
  readonly nab: Readonly<Record<NabProfileName, number | null>>;
  readonly nabAlarms: Readonly<Record<NabProfileName, number | null>>;
};

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The NAB series of a run: its scored rows' scores and windows, no probation (the learnt rows are it). */
export function nabSeries(run: FileRun): ScoredSeries {
  return { name: `${run.result.dataset}/${run.result.file}`, scores: run.score, windows: run.windows, probation: 0 };
}

/** Pools the runs of one dataset into its summary, and each file's report line. */
export function summarise(dataset: string, runs: readonly FileRun[]): { summary: DatasetSummary; files: FileReport[] } {
  const results = runs.map((r) => r.result);
  const points = results.reduce((a, r) => addPoints(a, r.points), NO_POINTS);
  const events = results.reduce((a, r) => addEvents(a, r.events), NO_EVENTS);
  const scoredMs = results.reduce((a, r) => a + r.scoredMs, 0);
  const scoredRows = results.reduce((a, r) => a + r.scoredRows, 0);
  const series = runs.map(nabSeries);
  const alarms = runs.map((r) => r.alarm);
  const nab = {} as Record<NabProfileName, NabFigure>;
  const nabAlarms = {} as Record<NabProfileName, NabFigure>;
  const perFile = runs.map(() => ({ nab: {} as Record<NabProfileName, number | null>, nabAlarms: {} as Record<NabProfileName, number | null> }));
  for (const name of NAB_PROFILE_NAMES) {
    const swept = scoreCorpus(series, NAB_PROFILES[name], name);
    const raised = scoreCorpusDetections(series, alarms, NAB_PROFILES[name]);
    nab[name] = { score: swept.normalised, raw: swept.raw, threshold: finiteOrNull(swept.threshold), windows: swept.windows, detectedWindows: swept.detectedWindows, fpRows: swept.fpRows };
    nabAlarms[name] = { score: raised.normalised, raw: raised.raw, threshold: null, windows: raised.windows, detectedWindows: raised.detectedWindows, fpRows: raised.fpRows };
    swept.series.forEach((s, k) => (perFile[k].nab[name] = finiteOrNull(s.normalised)));
    raised.series.forEach((s, k) => (perFile[k].nabAlarms[name] = finiteOrNull(s.normalised)));
  }
  const summary: DatasetSummary = {
    dataset,
    files: results.length,
    failed: results.filter((r) => r.error !== null).map((r) => ({ file: r.file, error: r.error ?? '' })),
    rows: results.reduce((a, r) => a + r.rows, 0),
    scoredRows,
    point: { ...pointRatios(points), ...points },
    event: { ...eventRatios(events), events: events.events, found: events.found, falseAlarms: events.falseAlarms },
    falseAlarmsPerDay: falseAlarmsPerDay(events, scoredMs),
    meanDelayRows: meanDelay(events),
    alarmedShare: scoredRows > 0 ? results.reduce((a, r) => a + r.alarmedRows, 0) / scoredRows : 0,
    labelledShare: scoredRows > 0 ? results.reduce((a, r) => a + r.labelledRows, 0) / scoredRows : 0,
    nab,
    nabAlarms,
    learnSeconds: results.reduce((a, r) => a + r.learnSeconds, 0),
    runSeconds: results.reduce((a, r) => a + r.runSeconds, 0),
  };
  return { summary, files: results.map((r, k) => ({ ...r, ...perFile[k] })) };
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

function table(head: string[], lines: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
}

/** The detection table: point-wise, event-wise, false alarms, delay, alarmed vs labelled share, cost. */
export function formatTable(summaries: readonly DatasetSummary[]): string {
  return table(
    ['dataset', 'files (failed)', 'scored rows', 'point P', 'point R', 'point F1', 'event P', 'event R', 'event F1', 'events found', 'false alarms', 'FA/day', 'mean delay (rows)', 'alarmed / labelled', 'learn s', 'run s'],
    summaries.map((s) => [
      s.dataset,
      `${s.files} (${s.failed.length})`,
      String(s.scoredRows),
      f3(s.point.precision),
      f3(s.point.recall),
      f3(s.point.f1),
      f3(s.event.precision),
      f3(s.event.recall),
      f3(s.event.f1),
      `${s.event.found}/${s.event.events}`,
      String(s.event.falseAlarms),
      s.falseAlarmsPerDay < 1 ? s.falseAlarmsPerDay.toFixed(2) : f1(s.falseAlarmsPerDay),
      f1(s.meanDelayRows),
      `${pct(s.alarmedShare)} / ${pct(s.labelledShare)}`,
      f1(s.learnSeconds),
      f1(s.runSeconds),
    ]),
  );
}

/** The streaming (NAB-method) table: the three profiles, on the swept score and on the alarms as raised. */
export function formatNabTable(summaries: readonly DatasetSummary[]): string {
  // Thresholds of calibrated probabilities sit just below 1: show how far below.
  const thr = (t: number | null): string => (t === null ? 'never' : t < 1 && t > 0.999 ? `1 − ${(1 - t).toExponential(1)}` : Number(t.toPrecision(4)).toString());
  return table(
    ['dataset', 'windows', 'standard', 'low FP', 'low FN', 'threshold (standard)', 'windows detected / FP rows (standard)', 'alarms: standard', 'alarms: low FP', 'alarms: low FN'],
    summaries.map((s) => [
      s.dataset,
      String(s.nab.standard.windows),
      f1(s.nab.standard.score),
      f1(s.nab.reward_low_FP_rate.score),
      f1(s.nab.reward_low_FN_rate.score),
      thr(s.nab.standard.threshold),
      `${s.nab.standard.detectedWindows} / ${s.nab.standard.fpRows}`,
      f1(s.nabAlarms.standard.score),
      f1(s.nabAlarms.reward_low_FP_rate.score),
      f1(s.nabAlarms.reward_low_FN_rate.score),
    ]),
  );
}

/** The failed files of a summary, grouped by error: `skab: 2 file(s) failed: series too short … (valve1/0.csv, valve1/1.csv)`. */
export function formatFailures(s: DatasetSummary, maxFiles = 6): string | null {
  if (s.failed.length === 0) return null;
  const byError = new Map<string, string[]>();
  for (const f of s.failed) byError.set(f.error, [...(byError.get(f.error) ?? []), f.file]);
  const parts = [...byError].map(([error, files]) => `${error} (${files.slice(0, maxFiles).join(', ')}${files.length > maxFiles ? `, … ${files.length - maxFiles} more` : ''})`);
  return `${s.dataset}: ${s.failed.length} file(s) failed: ${parts.join('; ')}`;
}

/** Alarm onsets (first rows of alarm runs) of a run's scored rows, as rows of the ORIGINAL recording. */
export function alarmOnsets(run: FileRun): number[] {
  return runsOf(run.alarm).map((r) => run.origin[r.start]);
}

/** How the detections of a transformed run compare with the untransformed run's, file by file. */
export interface DetectionComparison {
  readonly file: string;
  readonly onsets: number;
  readonly otherOnsets: number;
  /** The onsets themselves, rows of the original recording: the base run's and the other's. */
  readonly baseAt: readonly number[];
  readonly otherAt: readonly number[];
  /** Onsets of the base run with no onset of the other within `tolerance` rows, and the reverse. */
  readonly unmatched: number;
  readonly otherUnmatched: number;
  /** Both lists match within the tolerance, and neither run failed. */
  readonly same: boolean;
}

function unmatchedIn(a: readonly number[], b: readonly number[], tolerance: number): number {
  let missing = 0;
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j] < x - tolerance) j++;
    if (j >= b.length || b[j] > x + tolerance) missing++;
  }
  return missing;
}

/**
 * The time-scale test's "same detections (within one reading)": every alarm onset of one run has an onset of
 * the other within `tolerance` rows of the original recording (dropped rows move an onset to the next kept
 * row; duplicated rows map to their original).
 */
export function compareDetections(base: FileRun, other: FileRun, tolerance = 1): DetectionComparison {
  const a = alarmOnsets(base);
  const b = alarmOnsets(other);
  const unmatched = unmatchedIn(a, b, tolerance);
  const otherUnmatched = unmatchedIn(b, a, tolerance);
  return {
    file: base.result.file,
    onsets: a.length,
    otherOnsets: b.length,
    baseAt: a,
    otherAt: b,
    unmatched,
    otherUnmatched,
    same: unmatched === 0 && otherUnmatched === 0 && base.result.error === null && other.result.error === null,
  };
}

/** Row by row, two runs of the same transformed rows (the time-scale test's scales with one seed). */
export interface RowComparison {
  readonly file: string;
  /** Both runs scored the same rows of the original recording in the same order (else nothing is compared). */
  readonly comparable: boolean;
  /** Scored rows whose alarm differs. */
  readonly alarmRows: number;
  /** Largest |score difference| over the scored rows (surprise units; NaN = NaN counts as equal). */
  readonly maxScoreDelta: number;
}

/**
 * Compares two runs row by row. The time-scale test's scales share the seed, so each scale drops, duplicates and
 * jitters the same rows: a detector whose every duration is counted in the sensor's own intervals gives each row
 * the same alarm, and the same score up to float rounding, at 1 s and at 1 h.
 */
export function compareRows(a: FileRun, b: FileRun): RowComparison {
  const n = a.origin.length;
  let comparable = n === b.origin.length;
  for (let j = 0; comparable && j < n; j++) comparable = a.origin[j] === b.origin[j];
  if (!comparable) return { file: a.result.file, comparable, alarmRows: 0, maxScoreDelta: 0 };
  let alarmRows = 0;
  let maxScoreDelta = 0;
  for (let j = 0; j < n; j++) {
    if (a.alarm[j] !== b.alarm[j]) alarmRows++;
    const x = a.score[j];
    const y = b.score[j];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const d = x === y ? 0 : Math.abs(x - y);
    maxScoreDelta = Math.max(maxScoreDelta, Number.isNaN(d) ? Infinity : d);
  }
  return { file: a.result.file, comparable, alarmRows, maxScoreDelta };
}

/** One metric of two runs of a dataset side by side. */
export interface MetricDelta {
  readonly metric: string;
  readonly base: number;
  readonly other: number;
  readonly delta: number;
  readonly ok: boolean;
}

/**
 * The time-scale test's "same metrics (within 0.01)": point and event P/R/F1, the alarmed share, and the NAB
 * scores divided by 100 (so 0.01 is one point). False alarms per day are not compared: they scale with time.
 */
export function compareSummaries(base: DatasetSummary, other: DatasetSummary, tolerance = 0.01): MetricDelta[] {
  const pairs: [string, number, number][] = [
    ['point precision', base.point.precision, other.point.precision],
    ['point recall', base.point.recall, other.point.recall],
    ['point F1', base.point.f1, other.point.f1],
    ['event precision', base.event.precision, other.event.precision],
    ['event recall', base.event.recall, other.event.recall],
    ['event F1', base.event.f1, other.event.f1],
    ['alarmed share', base.alarmedShare, other.alarmedShare],
    ...NAB_PROFILE_NAMES.map((p): [string, number, number] => [`NAB ${p} / 100`, base.nab[p].score / 100, other.nab[p].score / 100]),
    ...NAB_PROFILE_NAMES.map((p): [string, number, number] => [`NAB alarms ${p} / 100`, base.nabAlarms[p].score / 100, other.nabAlarms[p].score / 100]),
  ];
  return pairs.map(([metric, a, b]) => {
    const delta = b - a;
    const same = (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(delta) <= tolerance + 1e-12;
    return { metric, base: a, other: b, delta, ok: same };
  });
}

/** Runs `fn` over `items` with at most `jobs` at a time; results in input order. */
export async function mapPool<T, R>(items: readonly T[], jobs: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k], k);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

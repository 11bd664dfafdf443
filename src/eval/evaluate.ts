/**
 * The labelled evaluation behind `npm run evaluate`: every file of SKAB and MSL replayed through the
 * detector's stages with ONE configuration, each with a model learnt on its normal part only
 * (`--learn-first` semantics), and scored against the labels.
 *
 *   SKAB (protocol of the benchmark): rows [0, 400) of each file are normal and learnt from, the rest is
 *        scored point-wise on the `anomaly` column.
 *   MSL: the channel's train file is learnt from; its test file follows it in the same stream (so the
 *        hidden state, normalisation and score history carry over, as on a device) and is scored
 *        event-wise (Hundman et al.) and point-wise on the `anomaly` column.
 *
 * Alarms are the rows where the replay reports an open anomaly episode. Counts are pooled per dataset.
 */
import { readdirSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ModelLoader } from '../contract/ports.js';
import type { DeepPartial } from '../config/dsl.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { TrainOptions } from '../train/trainer.js';
import { learnModels, type LearnOptions } from '../replay/learn.js';
import { Replayer, type ReplayRow } from '../replay/replay.js';
import { readReplayCsv, SYNTHETIC_ORIGIN_MS, type ReplayInput } from '../replay/source.js';
import { createReplayStages } from '../replay/stages.js';
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
  type EventCounts,
  type PointCounts,
} from './metrics.js';

export type Dataset = 'skab' | 'msl';

/** The one configuration every file is replayed with: config overrides (on the schema's defaults) and training options. */
export interface EvalSettings {
  readonly config: DeepPartial<Config>;
  readonly train: Omit<TrainOptions, 'now' | 'source' | 'window' | 'hop'>;
}

/**
 * How a file's models are trained: the inline trainer by default. A sweep of scoring settings injects a
 * memoising trainer so each file is trained once for all the variants that share its training options.
 */
export type EvalTrainer = NonNullable<LearnOptions['trainer']>;

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

export interface FileResult {
  readonly dataset: Dataset;
  readonly file: string;
  readonly rows: number;
  readonly learnRows: number;
  readonly scoredRows: number;
  /** Virtual time covered by the scored rows, ms. */
  readonly scoredMs: number;
  readonly points: PointCounts;
  readonly events: EventCounts;
  readonly trainSeconds: number;
  readonly replaySeconds: number;
  readonly rejected: number;
}

export interface DatasetSummary {
  readonly dataset: Dataset;
  readonly files: number;
  readonly rows: number;
  readonly scoredRows: number;
  readonly point: { readonly precision: number; readonly recall: number; readonly f1: number } & PointCounts;
  readonly event: { readonly precision: number; readonly recall: number; readonly f1: number; readonly events: number; readonly found: number; readonly falseAlarms: number };
  readonly falseAlarmsPerDay: number;
  /** Mean rows (= seconds at 1 Hz) from an event's start to its first alarm, over found events. */
  readonly meanDelayRows: number;
  readonly trainSeconds: number;
  readonly replaySeconds: number;
  readonly replayRowsPerSecond: number;
}

/** Config from the schema's defaults plus `overrides` only: the package's default.yaml must not move the result. */
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

/** The labelled files are read in UTC: their times have no offset, and a DST change must not move rows. */
const EVAL_TIME_ZONE = 'UTC';

/** The label column of a replayed file, one number per row, read by the same CSV reader as the rows. */
export function labelsOf(input: ReplayInput, column = 'anomaly'): number[] {
  return Array.from(input.table.numbers(column));
}

/**
 * Replays one stream with a model per sensor learnt on rows [0, learnRows), and scores rows
 * [learnRows, end) against `labels` (one per scored row).
 */
export async function evaluateStream(
  dataset: Dataset,
  file: string,
  rows: readonly ReplayRow[],
  learnRows: number,
  labels: readonly number[],
  config: Config,
  settings: EvalSettings,
  loadModel: ModelLoader,
  trainer?: EvalTrainer,
): Promise<FileResult> {
  if (labels.length !== rows.length - learnRows) throw new Error(`${file}: ${labels.length} labels for ${rows.length - learnRows} scored rows`);
  const dir = await mkdtemp(join(tmpdir(), 'anomalyd-eval-'));
  try {
    const learned = await learnModels(rows, learnRows, {
      dir,
      loadModel,
      train: { ...settings.train, cell: config.model.cell, window: config.window.length, hop: config.window.hop },
      ...(trainer === undefined ? {} : { trainer }),
    });
    const models = [...learned.models.values()];
    try {
      const stages = createReplayStages(
        config,
        (sensor) => {
          const m = learned.models.get(sensor);
          if (m === undefined) throw new Error(`${file}: no model for sensor ${sensor}`);
          return m;
        },
        models,
      );
      const replayer = new Replayer(stages, { batchWindows: config.model.maxBatch, learnRows });
      const alarms: boolean[] = [];
      const t0 = performance.now();
      const counters = await replayer.run(rows, (o) => {
        if (o.index >= learnRows) alarms.push(o.anomaly);
      });
      const replaySeconds = (performance.now() - t0) / 1000;
      const scored = rows.slice(learnRows);
      const scoredMs = scored.length > 1 ? scored[scored.length - 1].ts - scored[0].ts + (scored[1].ts - scored[0].ts) : 0;
      return {
        dataset,
        file,
        rows: rows.length,
        learnRows,
        scoredRows: scored.length,
        scoredMs,
        points: pointCounts(labels, alarms),
        events: eventCounts(labels, alarms),
        trainSeconds: learned.seconds,
        replaySeconds,
        rejected: counters.rejected,
      };
    } finally {
      await Promise.allSettled(models.map((m) => m.release()));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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

/** `loadModel` loads each learnt model (the caller passes the onnxruntime adapter's `loadModel`). */
export async function evaluateSkabFile(path: string, config: Config, settings: EvalSettings, loadModel: ModelLoader, trainer?: EvalTrainer): Promise<FileResult> {
  const input = await readReplayCsv(path, { timestampColumn: 'datetime', valueColumns: SKAB_CHANNELS, sensor: 'skab', timeZone: EVAL_TIME_ZONE });
  const labels = labelsOf(input).slice(SKAB_LEARN_ROWS);
  const name = `${basename(join(path, '..'))}/${basename(path)}`;
  return evaluateStream('skab', name, input.rows, SKAB_LEARN_ROWS, labels, config, settings, loadModel, trainer);
}

export function mslChannels(root: string): string[] {
  const dir = join(root, 'msl');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.csv'))
    .map((f) => f.slice(0, -'.test.csv'.length))
    .sort();
}

/** The channel's train rows then its test rows, as one 1 Hz stream of one sensor. */
export async function evaluateMslChannel(
  root: string,
  channel: string,
  config: Config,
  settings: EvalSettings,
  loadModel: ModelLoader,
  trainer?: EvalTrainer,
): Promise<FileResult> {
  const trainPath = join(root, 'msl', `${channel}.train.csv`);
  const testPath = join(root, 'msl', `${channel}.test.csv`);
  const opts = { timestampColumn: null, valueColumns: ['value'], sensor: channel, intervalMs: 1000 } as const;
  const [trainInput, testInput] = await Promise.all([readReplayCsv(trainPath, opts), readReplayCsv(testPath, opts)]);
  const train = trainInput.rows;
  const test = testInput.rows;
  const shift = train.length * 1000;
  const rows = [...train, ...test.map((r) => ({ ...r, ts: r.ts + shift }))];
  if (rows[0].ts !== SYNTHETIC_ORIGIN_MS) throw new Error('unexpected synthetic origin');
  const labels = labelsOf(testInput);
  return evaluateStream('msl', channel, rows, train.length, labels, config, settings, loadModel, trainer);
}

export function summarise(dataset: Dataset, results: readonly FileResult[]): DatasetSummary {
  const points = results.reduce((a, r) => addPoints(a, r.points), NO_POINTS);
  const events = results.reduce((a, r) => addEvents(a, r.events), NO_EVENTS);
  const scoredMs = results.reduce((a, r) => a + r.scoredMs, 0);
  const replaySeconds = results.reduce((a, r) => a + r.replaySeconds, 0);
  const rows = results.reduce((a, r) => a + r.rows, 0);
  return {
    dataset,
    files: results.length,
    rows,
    scoredRows: results.reduce((a, r) => a + r.scoredRows, 0),
    point: { ...pointRatios(points), ...points },
    event: { ...eventRatios(events), events: events.events, found: events.found, falseAlarms: events.falseAlarms },
    falseAlarmsPerDay: falseAlarmsPerDay(events, scoredMs),
    meanDelayRows: meanDelay(events),
    trainSeconds: results.reduce((a, r) => a + r.trainSeconds, 0),
    replaySeconds,
    replayRowsPerSecond: replaySeconds > 0 ? rows / replaySeconds : 0,
  };
}

export function formatTable(summaries: readonly DatasetSummary[]): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
  const head = '| dataset | files | scored rows | point P | point R | point F1 | event P | event R | event F1 | events found | false alarms | FA/day | mean delay (rows) | train s | replay s | replay rows/s |';
  const sep = `|${head.slice(1, -1).split('|').map(() => '---').join('|')}|`;
  const lines = summaries.map(
    (s) =>
      `| ${s.dataset} | ${s.files} | ${s.scoredRows} | ${f(s.point.precision)} | ${f(s.point.recall)} | ${f(s.point.f1)} | ${f(s.event.precision)} | ${f(s.event.recall)} | ${f(s.event.f1)} | ${s.event.found}/${s.event.events} | ${s.event.falseAlarms} | ${s.falseAlarmsPerDay.toFixed(1)} | ${Number.isFinite(s.meanDelayRows) ? s.meanDelayRows.toFixed(1) : '-'} | ${s.trainSeconds.toFixed(1)} | ${s.replaySeconds.toFixed(1)} | ${Math.round(s.replayRowsPerSecond)} |`,
  );
  return [head, sep, ...lines].join('\n');
}

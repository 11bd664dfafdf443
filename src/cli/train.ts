/**
 * `anomalyd train`: trains an autoencoder on a CSV of normal data (in a worker thread) and writes
 * models/<name>.onnx + models/<name>.json. Exit 0 on success, 2 on bad usage, 1 when training fails.
 */
import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import pino from 'pino';
import { DB_FILE, SqliteStore } from '../adapters/sqlite-store.js';
import { parseArgs } from 'node:util';
import type { CellKind } from '../model/spec.js';
import { writeModel } from '../model/onnx-export.js';
import { readCsvSeries } from '../train/csv.js';
import { CSV_INPUT_HELP, csvFlags, CSV_OPTIONS, type CsvFlags } from './csv-flags.js';
import { trainInWorker, type WorkerTrainOptions } from '../train/in-worker.js';
import { createProgressReporter } from '../train/progress.js';
import { TRAIN_DEFAULTS, minTrainRows, resolveTrainOptions, sidecarOf, type TrainProgress, type TrainResult, type TrainSeries } from '../train/trainer.js';

export const TRAIN_USAGE = `Usage: anomalyd train (--input FILE.csv | --sensor NAME [--db PATH]) [options]

Trains a GRU or LSTM seq2seq autoencoder on recorded NORMAL data and exports it to ONNX (window, step
and decode graphs) with its sidecar (normalisation, calibration). The last --val-fraction of the rows
(in time) is held out for early stopping and calibration. Training runs in a worker thread, on one core.
A short series (fewer than 8 readings per window step) trains with a shorter window and hop; fewer than
${minTrainRows(TRAIN_DEFAULTS.window)} readings are refused.

Input (one of):
  --input FILE.csv          header row, one reading per row (docs/CSV.md); rows with a missing value
                            (empty, nan, null) are left out
  --sensor NAME             the readings the daemon stored for this sensor (its learning history)
  --db PATH                 with --sensor: the daemon's database (default data/anomalyd.db)
${CSV_INPUT_HELP}
Model and training:
  --cell gru|lstm           (default ${TRAIN_DEFAULTS.cell})
  --hidden N                hidden units (default ${TRAIN_DEFAULTS.hidden})
  --window N                window W, the steps a reconstruction covers (default ${TRAIN_DEFAULTS.window})
  --hop N                   steps between reconstructions (default window/4)
  --epochs N                maximum epochs (default ${TRAIN_DEFAULTS.epochs}; stops early on validation loss; raised
                            for a short series so a training gets at least --min-steps optimiser steps)
  --min-steps N             the step budget: at least N optimiser steps (Adam batches), early stopping
                            from N/2 on (default ${TRAIN_DEFAULTS.minSteps}); 0 = the epochs alone (--epochs is exact)
  --batch-size N            (default ${TRAIN_DEFAULTS.batchSize})
  --lr X                    Adam learning rate (default ${TRAIN_DEFAULTS.lr})
  --seed N                  same seed and data give the same model (default ${TRAIN_DEFAULTS.seed})
  --val-fraction X          (default ${TRAIN_DEFAULTS.valFraction})

Output:
  --name NAME               model name (default: the input file's name)
  --out-dir DIR             (default models)
  -h, --help                this help
`;

export type TrainFn = (
  series: TrainSeries,
  opts: WorkerTrainOptions,
  onProgress: (p: TrainProgress) => void,
) => Promise<TrainResult>;

export interface TrainCommandIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /** Whether stderr is a terminal (progress bar) or not (one line per epoch). */
  readonly stderrIsTTY: boolean;
  readonly stderrColumns?: number;
  /** Injected in tests; the worker by default. */
  readonly train: TrainFn;
}

const defaultIo: TrainCommandIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stderrIsTTY: process.stderr.isTTY,
  stderrColumns: process.stderr.columns,
  train: (series, opts, onProgress) => trainInWorker(series, opts, onProgress),
};

class UsageError extends Error {}

const DEFAULT_DB = join('data', DB_FILE);

/** The readings the daemon stored for a sensor (its learning history), oldest first. */
function storedSeries(db: string, sensor: string): TrainSeries {
  if (!existsSync(db)) throw new Error(`no database at ${db} (use --db PATH)`);
  const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 1_000_000, logger: pino({ level: 'silent' }) });
  try {
    const block = store.readReadings(sensor);
    if (block.ts.length === 0) throw new Error(`no stored readings for sensor ${sensor} in ${db}`);
    const C = block.channels;
    return {
      channels: Array.from({ length: C }, (_, c) => (C === 1 ? 'value' : `c${c}`)),
      values: Float64Array.from(block.values),
      timestamps: block.ts,
    };
  } finally {
    store.close();
  }
}

const OPTIONS = {
  input: { type: 'string' },
  sensor: { type: 'string' },
  db: { type: 'string' },
  ...CSV_OPTIONS,
  cell: { type: 'string' },
  hidden: { type: 'string' },
  window: { type: 'string' },
  hop: { type: 'string' },
  epochs: { type: 'string' },
  'min-steps': { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  'val-fraction': { type: 'string' },
  name: { type: 'string' },
  'out-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface Plan {
  /** A CSV file, or the readings the daemon stored for a sensor. */
  readonly input: string;
  readonly sensor: string | undefined;
  readonly db: string;
  readonly csv: CsvFlags;
  readonly name: string;
  readonly outDir: string;
  readonly opts: WorkerTrainOptions;
}

function numberFlag(text: string | undefined, flag: string, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new UsageError(`--${flag}: expected ${integer ? 'an integer' : 'a number'}, got '${text}'`);
  }
  return v;
}

/**
 * --min-steps N: the trainer's step budget (TrainOptions.minSteps = N, minStepsBeforeStop = ⌊N / 2⌋, the defaults'
 * ratio); absent: the defaults. @throws UsageError when N is not an integer ≥ 0
 */
function minStepsFlag(text: string | undefined): Pick<WorkerTrainOptions, 'minSteps' | 'minStepsBeforeStop'> {
  const n = numberFlag(text, 'min-steps', true);
  if (n === undefined) return {};
  if (n < 0) throw new UsageError(`--min-steps: expected an integer >= 0, got '${text}'`);
  return { minSteps: n, minStepsBeforeStop: Math.floor(n / 2) };
}

function cellFlag(raw: string | undefined): CellKind | undefined {
  if (raw === undefined || raw === 'gru' || raw === 'lstm') return raw;
  throw new UsageError(`--cell: expected gru or lstm, got '${raw}'`);
}

/** A model name from the input file: letters, digits, '.', '_' and '-' only (it becomes a file name). */
export function defaultModelName(input: string): string {
  const stem = basename(input, extname(input)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/-+$/, '');
  return stem === '' ? 'model' : stem;
}

function plan(argv: string[]): Plan | 'help' {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if ((values.input === undefined) === (values.sensor === undefined)) {
    throw new UsageError('give either --input FILE.csv or --sensor NAME (the readings the daemon stored for it)');
  }
  const input = values.input ?? `${values.db ?? DEFAULT_DB} sensor ${values.sensor}`;
  const opts: WorkerTrainOptions = {
    cell: cellFlag(values.cell),
    hidden: numberFlag(values.hidden, 'hidden', true),
    window: numberFlag(values.window, 'window', true),
    hop: numberFlag(values.hop, 'hop', true),
    epochs: numberFlag(values.epochs, 'epochs', true),
    ...minStepsFlag(values['min-steps']),
    batchSize: numberFlag(values['batch-size'], 'batch-size', true),
    lr: numberFlag(values.lr, 'lr', false),
    seed: numberFlag(values.seed, 'seed', true),
    valFraction: numberFlag(values['val-fraction'], 'val-fraction', false),
    source: values.input !== undefined ? basename(values.input) : `stored readings of ${values.sensor}`,
  };
  try {
    resolveTrainOptions(opts);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let csv: CsvFlags;
  try {
    csv = csvFlags(values);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    input,
    sensor: values.sensor,
    db: values.db ?? DEFAULT_DB,
    csv,
    name: values.name ?? defaultModelName(values.input ?? values.sensor ?? 'model'),
    outDir: values['out-dir'] ?? 'models',
    opts,
  };
}

export async function trainCommand(argv: string[], io: Partial<TrainCommandIo> = {}): Promise<number> {
  const { stdout, stderr, stderrIsTTY, stderrColumns, train } = { ...defaultIo, ...io };
  let p: Plan | 'help';
  try {
    p = plan(argv);
  } catch (err) {
    // parseArgs throws TypeErrors with a readable message for unknown flags and missing values.
    if (err instanceof UsageError || err instanceof TypeError) {
      stderr(`train: ${err.message}\n\n${TRAIN_USAGE}`);
      return 2;
    }
    throw err;
  }
  if (p === 'help') {
    stdout(TRAIN_USAGE);
    return 0;
  }
  const reporter = createProgressReporter({ write: stderr, isTTY: stderrIsTTY, columns: stderrColumns });
  try {
    let series: TrainSeries;
    if (p.sensor !== undefined) {
      series = storedSeries(p.db, p.sensor);
    } else {
      const csv = await readCsvSeries(p.input, {
        ...(p.csv.timeColumn !== undefined ? { timestampColumn: p.csv.timeColumn } : {}),
        ...(p.csv.columns !== undefined ? { valueColumns: p.csv.columns } : {}),
        timeZone: p.csv.timeZone,
      });
      stderr(`train: read ${p.input}: ${csv.table.describe()}${csv.skipped > 0 ? `; ${csv.skipped} rows with a missing value left out` : ''}\n`);
      series = csv;
    }
    const rows = series.values.length / series.channels.length;
    stderr(`train: ${rows} rows x ${series.channels.length} channels (${series.channels.join(', ')}) from ${p.input}\n`);
    const result = await train(series, p.opts, (progress) => reporter.update(progress));
    reporter.finish();
    const { onnxPath, sidecarPath } = await writeModel(p.outDir, sidecarOf(p.name, result), result.params);
    stdout(summary(result, onnxPath, sidecarPath));
    return 0;
  } catch (err) {
    reporter.finish();
    stderr(`train: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function summary(r: TrainResult, onnxPath: string, sidecarPath: string): string {
  const t = r.training;
  return [
    `model     ${onnxPath}`,
    `sidecar   ${sidecarPath}`,
    `training  ${t.epochs} epochs of ${r.maxEpochs} (best ${r.bestEpoch}${r.stoppedEarly ? ', stopped early' : ''}), ${r.steps} optimiser steps, ${t.trainWindows} train / ${t.valWindows} validation windows, ${t.seconds.toFixed(1)} s`,
    `vs naive  validation prediction MSE ${Number.isFinite(r.predVsPersistence) ? `${r.predVsPersistence.toFixed(2)}x` : 'n/a (a flat tail)'} persistence's (next reading = this one)`,
    ...r.warnings.map((w) => `WARNING   ${w}`),
    `loss      validation ${t.initialValLoss.toPrecision(4)} -> ${t.finalValLoss.toPrecision(4)}, training ${t.finalTrainLoss.toPrecision(4)}`,
    `window    ${r.window} steps, hop ${r.hop}${r.window < r.requestedWindow ? ` (shortened from ${r.requestedWindow} for a short series)` : ''}`,
    `calib     reconstruction ln(err) mean ${r.calibration.recon.logErrMean.toFixed(3)} std ${r.calibration.recon.logErrStd.toFixed(3)}; ` +
      `prediction ln(err) mean ${r.calibration.pred.logErrMean.toFixed(3)} std ${r.calibration.pred.logErrStd.toFixed(3)}; threshold ${r.calibration.threshold}`,
    '',
  ].join('\n');
}

/**
 * The detector under test by default: the replay (src/replay/run.ts: the daemon's detector, with a model per
 * stream learnt on the stream's first `learnRows` rows as `anomalyd replay --learn-first` does, or the shipped
 * model when learnRows is 0), adapted to the `StreamDetector` contract.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { ModelLoader } from '../contract/ports.js';
import { runReplay, trainOptionsOf, type ReplayRunOptions, type StreamLearning } from '../replay/run.js';
import type { StreamDetector } from './stream.js';

export { trainOptionsOf };

/** Trains one series: the inline trainer by default; a sweep injects `memoTrainer().train`. */
export type EvalTrainer = NonNullable<ReplayRunOptions['trainer']>;

export interface ReplayDetectorOptions {
  /** Loads a model (the caller passes the onnxruntime adapter: this folder does no I/O of its own). */
  readonly loadModel: ModelLoader;
  /** The shipped model's sidecar path for a config (model.dir, model.name or model.cell). */
  readonly shippedModel: (config: Config) => string;
  readonly trainer?: EvalTrainer;
}

/**
 * A file's streams by the model they were scored with: `fallbacks` (the shipped model, any reason), of them
 * `gateRejected` (own model rejected by the gate), `unchanged` (fine-tuning kept the shipped weights) and `drifted`
 * (learning rows drifting in their newest 20 %, not trained on: src/learn/drift-guard.ts), and `ownModels` (kept
 * their own model). All 0 without learning rows.
 */
export function learningCounts(learnt: readonly StreamLearning[]): { fallbacks: number; gateRejected: number; unchanged: number; drifted: number; ownModels: number } {
  const count = (o: StreamLearning['outcome']): number => learnt.filter((l) => l.outcome === o).length;
  return { fallbacks: learnt.length - count('own'), gateRejected: count('rejected'), unchanged: count('unchanged'), drifted: count('drifted'), ownModels: count('own') };
}

/**
 * The replay as a StreamDetector. Per row: `score` is the row's surprise (-log10(1 - score), unbounded, 0
 * while learning), `alarm` 1 while an anomaly episode is open. Counts: rejected rows, missing values, readings, errors, and
 * streams by the model they were scored with (learningCounts).
 *
 * @throws what the replay throws (a model that cannot be loaded), so the file is recorded as failed.
 */
export function replayDetector(opts: ReplayDetectorOptions): StreamDetector {
  return async ({ rows, learnRows, config }) => {
    const dir = await mkdtemp(join(tmpdir(), 'anomalyd-eval-'));
    try {
      const score = new Float64Array(rows.length);
      const alarm = new Uint8Array(rows.length);
      const res = await runReplay(
        rows,
        {
          config,
          learnRows,
          loadModel: opts.loadModel,
          shippedModel: opts.shippedModel(config),
          dir,
          ...(opts.trainer === undefined ? {} : { trainer: opts.trainer }),
          warn: () => undefined,
        },
        (o) => {
          score[o.index] = o.surprise;
          alarm[o.index] = o.anomaly ? 1 : 0;
        },
      );
      return {
        score,
        alarm,
        counts: { rejected: res.counters.rejected, missing: res.counters.missing, readings: res.counters.readings, errors: res.counters.errors, ...learningCounts(res.learnt) },
        learnSeconds: res.learnSeconds,
        runSeconds: res.runSeconds,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}

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
import { runReplay, trainOptionsOf, type ReplayRunOptions } from '../replay/run.js';
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
 * The replay as a StreamDetector. Per row: `score` is the row's surprise (-log10(1 - score), unbounded, 0
 * while learning), `alarm` 1 while an anomaly episode is open. Counts: rejected rows, missing values, readings, errors, and
 * streams that fell back to the shipped model.
 *
 * @throws what the replay throws (a model that cannot be loaded), so the file is recorded as failed.
 */
export function replayDetector(opts: ReplayDetectorOptions): StreamDetector {
  return async ({ rows, learnRows, config }) => {
    const dir = await mkdtemp(join(tmpdir(), 'anomalyd-eval-'));
    try {
      const score = new Float64Array(rows.length);
      const alarm = new Uint8Array(rows.length);
      let fallbacks = 0;
      const res = await runReplay(
        rows,
        {
          config,
          learnRows,
          loadModel: opts.loadModel,
          shippedModel: opts.shippedModel(config),
          dir,
          ...(opts.trainer === undefined ? {} : { trainer: opts.trainer }),
          warn: () => void fallbacks++,
        },
        (o) => {
          score[o.index] = o.surprise;
          alarm[o.index] = o.anomaly ? 1 : 0;
        },
      );
      return {
        score,
        alarm,
        counts: { rejected: res.counters.rejected, missing: res.counters.missing, readings: res.counters.readings, errors: res.counters.errors, fallbacks },
        learnSeconds: res.learnSeconds,
        runSeconds: res.runSeconds,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}

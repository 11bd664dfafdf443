/**
 * The default detector under test: today's replay (src/replay: the daemon's parse → window → ONNX model →
 * calibrated score → episode stages, in virtual time) with a model per sensor learnt on the stream's first
 * `learnRows` rows (`anomalyd replay --learn-first`), or the shipped model (`loadShipped`) when learnRows is 0. It adapts the
 * replay to the `StreamDetector` contract, so the evaluation does not depend on the replay's internals: a
 * new detector core is evaluated by passing its own `StreamDetector` instead.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { ModelRunner } from '../contract/ports.js';
import type { LoadedModel } from '../learn/registry.js';
import { learnModels, type LearnOptions } from '../replay/learn.js';
import { Replayer } from '../replay/replay.js';
import { createReplayStages } from '../replay/stages.js';
import type { TrainOptions } from '../train/trainer.js';
import type { StreamDetector } from './stream.js';

/** Trains one series: the inline trainer by default; a sweep injects `memoTrainer().train`. */
export type EvalTrainer = NonNullable<LearnOptions['trainer']>;

/**
 * The training options the daemon's on-device learner uses (src/learn/learner.ts): the cell of `model.cell`,
 * `learning.hidden` units, at most `learning.epochs` epochs, the window's length and hop, seed 1. Nothing
 * else: the evaluation has no settings of its own.
 */
export function trainOptionsOf(config: Config): Omit<TrainOptions, 'now' | 'source'> {
  return {
    cell: config.model.cell,
    hidden: config.learning.hidden,
    epochs: config.learning.epochs,
    window: config.window.length,
    hop: config.window.hop,
    seed: 1,
  };
}

export interface ReplayDetectorOptions {
  readonly trainer?: EvalTrainer;
  /**
   * Loads the shipped model the config names (model.dir, model.name or model.cell), for streams with
   * learnRows 0. This folder does no I/O of its own: the caller passes the adapter, e.g.
   * `(config) => OnnxModel.load(modelSidecarPath(config))`.
   */
  readonly loadShipped?: (config: Config) => Promise<LoadedModel>;
}

/**
 * Today's replay as a StreamDetector. Per row: `score` is the replay's calibrated score in [0, 1] (0 while
 * learning), `alarm` 1 while an anomaly episode is open. Counts: rejected rows, windows, scored windows.
 *
 * @throws what learning or the replay throws (e.g. a series too short to train on), so the file is
 *   recorded as failed.
 */
export function replayDetector(opts: ReplayDetectorOptions = {}): StreamDetector {
  return async ({ name, rows, learnRows, config }) => {
    const owned: LoadedModel[] = [];
    const runners = new Map<string, ModelRunner>();
    let shared: ModelRunner | null = null;
    let learnSeconds = 0;
    const dir = await mkdtemp(join(tmpdir(), 'anomalyd-eval-'));
    try {
      if (learnRows > 0) {
        const learned = await learnModels(rows, learnRows, {
          dir,
          train: trainOptionsOf(config),
          ...(opts.trainer === undefined ? {} : { trainer: opts.trainer }),
        });
        learnSeconds = learned.seconds;
        for (const [sensor, model] of learned.models) {
          runners.set(sensor, model);
          owned.push(model);
        }
      } else {
        if (opts.loadShipped === undefined) throw new Error(`${name}: learnRows is 0 and no loader for the shipped model was given`);
        const model = await opts.loadShipped(config);
        owned.push(model);
        shared = model;
      }
      const runnerFor = (sensor: string): ModelRunner => {
        const r = runners.get(sensor) ?? shared;
        if (r === null) throw new Error(`${name}: sensor ${sensor} has no rows among the first ${learnRows}: no model was learnt for it`);
        return r;
      };
      const replayer = new Replayer(createReplayStages(config, runnerFor, owned), { batchWindows: config.model.maxBatch, learnRows });
      const score = new Float64Array(rows.length);
      const alarm = new Uint8Array(rows.length);
      const t0 = performance.now();
      const counters = await replayer.run(rows, (o) => {
        score[o.index] = o.score;
        alarm[o.index] = o.anomaly ? 1 : 0;
      });
      return {
        score,
        alarm,
        counts: { rejected: counters.rejected, windows: counters.windows, scoredWindows: counters.scoredWindows },
        learnSeconds,
        runSeconds: (performance.now() - t0) / 1000,
      };
    } finally {
      await Promise.allSettled(owned.map((m) => m.release()));
      await rm(dir, { recursive: true, force: true });
    }
  };
}

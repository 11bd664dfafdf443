/**
 * A trainer that remembers what it trained, for sweeps of scoring settings: the model a file learns depends
 * only on its training rows and the training options, so variants that differ only in how scores become
 * alarms (threshold, hysteresis, maxEpisodeMs...) can share one training per file. Training is deterministic
 * (seeded), so a remembered result is the one a fresh training would give.
 */
import { createHash } from 'node:crypto';
import { trainModel, type TrainOptions, type TrainResult, type TrainSeries } from '../train/trainer.js';
import type { EvalTrainer } from './replay-detector.js';

/** Identifies a training: the series' channels, values and segments, and every option except the free-text `source` and the clock. */
export function trainingKey(series: TrainSeries, opts: TrainOptions): string {
  const { source: _source, now: _now, ...rest } = opts;
  const sorted = Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
  const values = series.values;
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ channels: series.channels, options: sorted }));
  hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  const segments = series.segments ?? new Int32Array(0);
  hash.update(new Uint8Array(segments.buffer, segments.byteOffset, segments.byteLength));
  return hash.digest('hex');
}

export interface MemoTrainer {
  readonly train: EvalTrainer;
  /** Trainings actually run (not answered from memory). */
  readonly trained: () => number;
}

/** `inner` defaults to the inline trainer. Memory grows with the distinct trainings; meant for one sweep process. */
export function memoTrainer(inner: EvalTrainer = (s, o) => Promise.resolve(trainModel(s, o))): MemoTrainer {
  const memory = new Map<string, Promise<TrainResult>>();
  let trained = 0;
  const train: EvalTrainer = (series, opts) => {
    const key = trainingKey(series, opts);
    let result = memory.get(key);
    if (result === undefined) {
      trained++;
      result = inner(series, opts);
      memory.set(key, result);
      // A failed training is not remembered: the next caller tries again.
      void result.catch(() => memory.delete(key));
    }
    return result;
  };
  return { train, trained: () => trained };
}

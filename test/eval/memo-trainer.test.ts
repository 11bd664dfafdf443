import { describe, expect, it } from 'vitest';
import { memoTrainer, trainingKey } from '../../src/eval/memo-trainer.js';
import type { TrainOptions, TrainResult, TrainSeries } from '../../src/train/trainer.js';

const series = (values: number[], segments?: number[]): TrainSeries => ({
  channels: ['a'],
  values: Float64Array.from(values),
  ...(segments === undefined ? {} : { segments: Int32Array.from(segments) }),
});
const opts = (o: Partial<TrainOptions> = {}): TrainOptions => ({ hidden: 4, epochs: 2, seed: 1, window: 16, hop: 4, ...o });

/** A stand-in trainer: the memo only passes results through, so their content does not matter. */
function countingTrainer(): { calls: TrainSeries[]; train: (s: TrainSeries, o: TrainOptions) => Promise<TrainResult> } {
  const calls: TrainSeries[] = [];
  return {
    calls,
    train: (s) => {
      calls.push(s);
      return Promise.resolve({ bestEpoch: calls.length } as unknown as TrainResult);
    },
  };
}

describe('trainingKey', () => {
  it('ignores the free-text source and the clock', () => {
    const a = trainingKey(series([1, 2, 3]), opts({ source: 'rows of skab' }));
    const b = trainingKey(series([1, 2, 3]), opts({ source: 'something else', now: () => 0 }));
    expect(a).toBe(b);
  });

  it('changes with the values, the channels, the segments and any training option', () => {
    const base = trainingKey(series([1, 2, 3]), opts());
    expect(trainingKey(series([1, 2, 4]), opts())).not.toBe(base);
    expect(trainingKey({ ...series([1, 2, 3]), channels: ['b'] }, opts())).not.toBe(base);
    expect(trainingKey(series([1, 2, 3], [0, 2]), opts())).not.toBe(base);
    expect(trainingKey(series([1, 2, 3]), opts({ hidden: 8 }))).not.toBe(base);
    expect(trainingKey(series([1, 2, 3]), opts({ window: 32 }))).not.toBe(base);
  });

  it('does not depend on the order the options were written in', () => {
    expect(trainingKey(series([1]), { hidden: 4, seed: 1 })).toBe(trainingKey(series([1]), { seed: 1, hidden: 4 }));
  });
});

describe('memoTrainer', () => {
  it('trains each distinct series and options once and answers repeats from memory', async () => {
    const inner = countingTrainer();
    const memo = memoTrainer(inner.train);
    const first = await memo.train(series([1, 2, 3]), opts({ source: 'one' }));
    const again = await memo.train(series([1, 2, 3]), opts({ source: 'two' }));
    const other = await memo.train(series([1, 2, 3]), opts({ hidden: 8 }));
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(inner.calls).toHaveLength(2);
    expect(memo.trained()).toBe(2);
  });

  it('does not remember a failed training', async () => {
    let fail = true;
    const memo = memoTrainer(() => (fail ? Promise.reject(new Error('boom')) : Promise.resolve({} as TrainResult)));
    await expect(memo.train(series([1]), opts())).rejects.toThrow('boom');
    fail = false;
    await expect(memo.train(series([1]), opts())).resolves.toEqual({});
    expect(memo.trained()).toBe(2);
  });
});

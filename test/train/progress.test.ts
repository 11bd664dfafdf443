import { describe, expect, it } from 'vitest';
import { createProgressReporter, formatDuration } from '../../src/train/progress.js';
import type { TrainProgress } from '../../src/train/trainer.js';

function progress(over: Partial<TrainProgress>): TrainProgress {
  return {
    epoch: 2, maxEpochs: 30, batch: 5, batches: 10, trainLoss: 0.012345, valLoss: 0.5, bestValLoss: 0.25,
    epochDone: false, elapsedMs: 1000, etaMs: 125_000, ...over,
  };
}

function sink(isTTY: boolean, columns?: number): { out: { write: (s: string) => void; isTTY: boolean; columns?: number }; text: () => string } {
  const chunks: string[] = [];
  return { out: { write: (s) => chunks.push(s), isTTY, columns }, text: () => chunks.join('') };
}

describe('progress reporter', () => {
  it('without a TTY writes one plain line per finished epoch and nothing per batch', () => {
    const s = sink(false);
    const r = createProgressReporter(s.out);
    r.update(progress({}));
    r.update(progress({ batch: 10, epochDone: true }));
    r.update(progress({ epoch: 3, batch: 1 }));
    r.finish();
    const lines = s.text().split('\n');
    expect(lines).toEqual(['epoch 2/30 train 0.01235 val 0.5000 best 0.2500 elapsed 1s eta 2m05s', '']);
    expect(s.text()).not.toContain('\r');
  });

  it('on a TTY redraws one bar line in place, throttled, and keeps finished epochs', () => {
    const s = sink(true);
    let clock = 0;
    const r = createProgressReporter(s.out, { now: () => clock, minIntervalMs: 100 });
    r.update(progress({ batch: 1 }));
    clock += 10;
    r.update(progress({ batch: 2 })); // too soon: skipped
    clock += 200;
    r.update(progress({ batch: 3 }));
    r.update(progress({ batch: 10, epochDone: true }));
    r.update(progress({ epoch: 3, batch: 1 }));
    r.finish();
    const text = s.text();
    expect(text.match(/\r/g)).toHaveLength(4);
    expect(text).toContain('epoch 2/30 [##..................] 1/10 loss 0.01235 val 0.5000 ETA 2m05s');
    expect(text).not.toContain(' 2/10 ');
    expect(text).toContain('[######..............] 3/10');
    expect(text).toContain('epoch 2/30 train 0.01235 val 0.5000 best 0.2500 elapsed 1s eta 2m05s\x1b[K\n');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('never draws wider than the terminal', () => {
    const s = sink(true, 30);
    createProgressReporter(s.out).update(progress({}));
    expect(s.text().replace('\r', '').replace('\x1b[K', '').length).toBeLessThan(30);
  });
});

describe('formatDuration', () => {
  it('picks units a person reads at a glance', () => {
    expect(formatDuration(4_400)).toBe('4s');
    expect(formatDuration(65_000)).toBe('1m05s');
    expect(formatDuration(3_725_000)).toBe('1h02m');
    expect(formatDuration(-5)).toBe('0s');
  });
});

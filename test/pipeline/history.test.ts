import { describe, expect, it } from 'vitest';
import type { ScoredWindow } from '../../src/contract/types.js';
import { ScoreHistory } from '../../src/pipeline/history.js';

interface WindowSpec {
  readonly sensor?: string;
  readonly endTs: number;
  readonly score?: number;
  readonly reconError?: number;
  readonly threshold?: number;
  readonly channels?: readonly string[];
  readonly validLength?: number;
  readonly maxLen?: number;
  readonly fill?: number;
}

function scored(spec: WindowSpec): ScoredWindow {
  const channels = spec.channels ?? ['value'];
  const maxLen = spec.maxLen ?? 4;
  const validLength = spec.validLength ?? maxLen;
  const data = new Float32Array(maxLen * channels.length);
  for (let i = 0; i < validLength * channels.length; i++) data[i] = (spec.fill ?? 0) + i;
  const score = spec.score ?? 0.5;
  const threshold = spec.threshold ?? 0.99;
  return {
    score,
    threshold,
    above: score >= threshold,
    result: {
      modelId: 'gru-test',
      reconError: spec.reconError ?? 0.1,
      channelErrors: channels.map(() => 0.1),
      predError: null,
      window: {
        sensor: spec.sensor ?? 's1',
        channels,
        startTs: spec.endTs - 1000,
        endTs: spec.endTs,
        maxLen,
        validLength,
        data,
        paddedFraction: (maxLen - validLength) / maxLen,
        advance: 1,
        resetState: false,
        filledSteps: 0,
        seq: spec.endTs,
      },
    },
  };
}

describe('ScoreHistory', () => {
  it('returns null and no sensors before anything is recorded', () => {
    const h = new ScoreHistory();
    expect(h.series('s1')).toBeNull();
    expect(h.sensors()).toEqual([]);
  });

  it('keeps every field of each window, oldest first', () => {
    const h = new ScoreHistory({ capacity: 10 });
    h.record(scored({ endTs: 1000, score: 0.2, reconError: 0.01, threshold: 0.9 }), false);
    h.record(scored({ endTs: 2000, score: 0.95, reconError: 0.5, threshold: 0.91 }), true);
    const s = h.series('s1')!;
    expect(s.sensor).toBe('s1');
    expect(s.capacity).toBe(10);
    expect(s.endTs).toEqual([1000, 2000]);
    expect(s.score).toEqual([0.2, 0.95]);
    expect(s.reconError).toEqual([0.01, 0.5]);
    expect(s.threshold).toEqual([0.9, 0.91]);
    expect(s.anomalous).toEqual([false, true]);
  });

  it('drops the oldest windows once the ring is full', () => {
    const h = new ScoreHistory({ capacity: 3 });
    for (let t = 1; t <= 7; t++) h.record(scored({ endTs: t * 1000, score: t / 10 }), t % 2 === 0);
    const s = h.series('s1')!;
    expect(s.endTs).toEqual([5000, 6000, 7000]);
    expect(s.score).toEqual([0.5, 0.6, 0.7]);
    expect(s.anomalous).toEqual([false, true, false]);
  });

  it('filters by sinceTs (strictly after), also across the ring wrap', () => {
    const h = new ScoreHistory({ capacity: 4 });
    for (let t = 1; t <= 6; t++) h.record(scored({ endTs: t * 1000 }), false);
    expect(h.series('s1', 4000)!.endTs).toEqual([5000, 6000]);
    expect(h.series('s1', 6000)!.endTs).toEqual([]);
    expect(h.series('s1', 0)!.endTs).toEqual([3000, 4000, 5000, 6000]);
  });

  it('latestTs is the newest window end, also after the ring wraps, and null for an unknown sensor', () => {
    const h = new ScoreHistory({ capacity: 3 });
    expect(h.latestTs('s1')).toBeNull();
    for (let t = 1; t <= 5; t++) {
      h.record(scored({ endTs: t * 1000 }), false);
      expect(h.latestTs('s1')).toBe(t * 1000);
    }
  });

  it('keeps sensors apart and lists them in first-seen order', () => {
    const h = new ScoreHistory();
    h.record(scored({ sensor: 'b', endTs: 1, score: 0.1 }), false);
    h.record(scored({ sensor: 'a', endTs: 2, score: 0.2 }), false);
    h.record(scored({ sensor: 'b', endTs: 3, score: 0.3 }), false);
    expect(h.sensors()).toEqual(['b', 'a']);
    expect(h.series('a')!.score).toEqual([0.2]);
    expect(h.series('b')!.score).toEqual([0.1, 0.3]);
  });

  it('keeps the last window’s valid raw values only, and they do not change with later records', () => {
    const h = new ScoreHistory();
    h.record(scored({ endTs: 1000, channels: ['x', 'y'], maxLen: 4, validLength: 4, fill: 100 }), false);
    h.record(scored({ endTs: 2000, channels: ['x', 'y'], maxLen: 4, validLength: 2, fill: 10 }), false);
    const last = h.series('s1')!.lastWindow!;
    expect(last.channels).toEqual(['x', 'y']);
    expect(last.endTs).toBe(2000);
    expect(last.startTs).toBe(1000);
    expect(last.model).toBe('gru-test');
    expect(last.values).toEqual([10, 11, 12, 13]);
    h.record(scored({ endTs: 3000, channels: ['x', 'y'], maxLen: 4, validLength: 4, fill: 0 }), false);
    expect(last.values).toEqual([10, 11, 12, 13]);
    expect(h.series('s1')!.lastWindow!.values).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('does not follow later changes to the window buffer it was given', () => {
    const h = new ScoreHistory();
    const w = scored({ endTs: 1000, fill: 1 });
    h.record(w, false);
    w.result.window.data.fill(-1);
    expect(h.series('s1')!.lastWindow!.values).toEqual([1, 2, 3, 4]);
  });

  it('stops taking new sensors at maxSensors but keeps recording the known ones', () => {
    const h = new ScoreHistory({ maxSensors: 2 });
    expect(h.record(scored({ sensor: 'a', endTs: 1 }), false)).toBe(true);
    expect(h.record(scored({ sensor: 'b', endTs: 1 }), false)).toBe(true);
    expect(h.record(scored({ sensor: 'c', endTs: 1 }), false)).toBe(false);
    expect(h.record(scored({ sensor: 'a', endTs: 2 }), false)).toBe(true);
    expect(h.sensors()).toEqual(['a', 'b']);
    expect(h.series('c')).toBeNull();
    expect(h.series('a')!.endTs).toEqual([1, 2]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new ScoreHistory({ capacity: 0 })).toThrow(RangeError);
    expect(() => new ScoreHistory({ capacity: 2.5 })).toThrow(RangeError);
    expect(() => new ScoreHistory({ maxSensors: -1 })).toThrow(RangeError);
  });

  it('keeps full double precision of scores and timestamps', () => {
    const h = new ScoreHistory();
    const ts = 1_764_115_200_123;
    h.record(scored({ endTs: ts, score: 0.123456789012345 }), false);
    const s = h.series('s1')!;
    expect(s.endTs[0]).toBe(ts);
    expect(s.score[0]).toBe(0.123456789012345);
  });
});

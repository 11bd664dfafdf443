import { describe, expect, it } from 'vitest';
import type { ScoredReading } from '../../src/contract/types.js';
import { ScoreHistory } from '../../src/pipeline/history.js';

interface ReadingSpec {
  readonly sensor?: string;
  readonly endTs: number;
  readonly score?: number;
  readonly threshold?: number;
  readonly value?: number;
  readonly expected?: number | null;
  readonly anomalous?: boolean;
}

function scored(spec: ReadingSpec): ScoredReading {
  const score = spec.score ?? 0.5;
  return {
    stream: spec.sensor ?? 's1',
    ts: spec.endTs,
    channels: ['value'],
    values: [spec.value ?? 1],
    expected: spec.expected === undefined ? [1] : spec.expected === null ? null : [spec.expected],
    spread: null,
    score,
    surprise: -Math.log10(1 - score),
    threshold: spec.threshold ?? 0.99,
    status: spec.anomalous === true ? 'anomalous' : 'ok',
    anomalyId: spec.anomalous === true ? 'a1' : null,
    modelId: 'gru-test',
  };
}

describe('ScoreHistory', () => {
  it('returns null and no sensors before anything is recorded', () => {
    const h = new ScoreHistory();
    expect(h.series('s1')).toBeNull();
    expect(h.sensors()).toEqual([]);
  });

  it('keeps every field of each reading, oldest first', () => {
    const h = new ScoreHistory({ capacity: 10 });
    h.record(scored({ endTs: 1000, score: 0.2, threshold: 0.9, value: 3, expected: 2.5, anomalous: false }));
    h.record(scored({ endTs: 2000, score: 0.999, threshold: 0.91, value: 7, expected: null, anomalous: true }));
    const s = h.series('s1')!;
    expect(s.sensor).toBe('s1');
    expect(s.capacity).toBe(10);
    expect(s.endTs).toEqual([1000, 2000]);
    expect(s.score).toEqual([0.2, 0.999]);
    expect(s.surprise[1]).toBeCloseTo(3, 4);
    expect(s.value).toEqual([3, 7]);
    expect(s.expected[0]).toBe(2.5);
    expect(Number.isNaN(s.expected[1])).toBe(true);
    expect(s.threshold).toEqual([0.9, 0.91]);
    expect(s.anomalous).toEqual([false, true]);
  });

  it('drops the oldest readings once the ring is full', () => {
    const h = new ScoreHistory({ capacity: 3 });
    for (let t = 1; t <= 7; t++) h.record(scored({ endTs: t * 1000, score: t / 10, anomalous: t % 2 === 0 }));
    const s = h.series('s1')!;
    expect(s.endTs).toEqual([5000, 6000, 7000]);
    expect(s.score).toEqual([0.5, 0.6, 0.7]);
    expect(s.anomalous).toEqual([false, true, false]);
  });

  it('filters by sinceTs (strictly after), also across the ring wrap', () => {
    const h = new ScoreHistory({ capacity: 4 });
    for (let t = 1; t <= 6; t++) h.record(scored({ endTs: t * 1000, anomalous: false }));
    expect(h.series('s1', 4000)!.endTs).toEqual([5000, 6000]);
    expect(h.series('s1', 6000)!.endTs).toEqual([]);
    expect(h.series('s1', 0)!.endTs).toEqual([3000, 4000, 5000, 6000]);
  });

  it('latestTs is the newest reading’s time, also after the ring wraps, and null for an unknown sensor', () => {
    const h = new ScoreHistory({ capacity: 3 });
    expect(h.latestTs('s1')).toBeNull();
    for (let t = 1; t <= 5; t++) {
      h.record(scored({ endTs: t * 1000, anomalous: false }));
      expect(h.latestTs('s1')).toBe(t * 1000);
    }
  });

  it('keeps sensors apart and lists them in first-seen order', () => {
    const h = new ScoreHistory();
    h.record(scored({ sensor: 'b', endTs: 1, score: 0.1, anomalous: false }));
    h.record(scored({ sensor: 'a', endTs: 2, score: 0.2, anomalous: false }));
    h.record(scored({ sensor: 'b', endTs: 3, score: 0.3, anomalous: false }));
    expect(h.sensors()).toEqual(['b', 'a']);
    expect(h.series('a')!.score).toEqual([0.2]);
    expect(h.series('b')!.score).toEqual([0.1, 0.3]);
  });

  it('stops taking new sensors at maxSensors but keeps recording the known ones', () => {
    const h = new ScoreHistory({ maxSensors: 2 });
    expect(h.record(scored({ sensor: 'a', endTs: 1, anomalous: false }))).toBe(true);
    expect(h.record(scored({ sensor: 'b', endTs: 1, anomalous: false }))).toBe(true);
    expect(h.record(scored({ sensor: 'c', endTs: 1, anomalous: false }))).toBe(false);
    expect(h.record(scored({ sensor: 'a', endTs: 2, anomalous: false }))).toBe(true);
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
    h.record(scored({ endTs: ts, score: 0.123456789012345, anomalous: false }));
    const s = h.series('s1')!;
    expect(s.endTs[0]).toBe(ts);
    expect(s.score[0]).toBe(0.123456789012345);
  });
});

/**
 * The raw readings kept across a clean stop (tryout 26, finding 7): SeriesStore.rawBlob and restoreRawBlob give a
 * stream's ring back reading for reading (float32 and float64 rings alike), and before the newest readings an open
 * episode's checkpoint put back already (restoreRecent), bounded by the ring's size as ever.
 */
import { describe, expect, it } from 'vitest';
import type { ScoredReading } from '../../src/contract/types.js';
import { SeriesStore } from '../../src/pipeline/series.js';

const T0 = Date.UTC(2026, 11, 3);

function reading(i: number, value: number): ScoredReading {
  return { stream: 's', ts: T0 + i * 1000, channels: ['a', 'b'], values: [value, -value], expected: i % 5 === 0 ? null : [value + 0.1, -value], spread: i % 5 === 0 ? null : [0.2, 0.3], score: 0.5, surprise: (i % 9) / 3, threshold: 0.99999, status: i < 10 ? 'learning' : i % 50 === 0 ? 'anomalous' : 'ok', anomalyId: null, modelId: 'm' };
}

describe('raw readings kept across a clean stop', () => {
  it('come back reading for reading, narrow and wide, within the span asked for', () => {
    for (const value of [(i: number) => Math.round(20 + Math.sin(i) * 100) / 100, (i: number) => 20210701 + i + 0.123]) {
      const a = new SeriesStore({ rawPoints: 300 });
      for (let i = 0; i < 500; i++) a.record(reading(i, value(i)));
      const blob = a.rawBlob('s', T0 + 250 * 1000)!;
      const b = new SeriesStore({ rawPoints: 300 });
      expect(b.restoreRawBlob('s', ['a', 'b'], blob)).toBe(250);
      expect(b.points('s')).toEqual(a.points('s', T0 + 250 * 1000));
      expect(b.isWide('s')).toBe(a.isWide('s'));
      expect(() => b.restoreRawBlob('t', ['a'], blob)).toThrow(/2 channels/);
      expect(() => b.restoreRawBlob('t', ['a', 'b'], blob.subarray(0, blob.length - 1))).toThrow(/length/);
    }
  });

  it('go before the newest readings an open episode’s checkpoint took back, the ring bounded as ever', () => {
    const a = new SeriesStore({ rawPoints: 300 });
    for (let i = 0; i < 500; i++) a.record(reading(i, i / 10));
    const all = a.points('s');
    const b = new SeriesStore({ rawPoints: 300 });
    expect(b.restoreRecent('s', ['a', 'b'], all.slice(-40))).toBe(40);
    expect(b.restoreRawBlob('s', ['a', 'b'], a.rawBlob('s')!)).toBe(260);
    expect(b.points('s')).toEqual(all);
  });
});

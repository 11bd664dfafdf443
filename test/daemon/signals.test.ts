import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AnomalyEvent, ScoredReading } from '../../src/contract/types.js';
import { logAlert, SignalBook } from '../../src/daemon/signals.js';
import { surpriseOf } from '../../src/pipeline/series.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;
const silent = pino({ level: 'silent' });

function reading(ts: number, value: number, status: ScoredReading['status'] = 'ok', score = 0.5): ScoredReading {
  return { stream: 'pump', ts, channels: ['value'], values: [value], expected: null, spread: null, score, surprise: surpriseOf(score), threshold: 0.999, status, anomalyId: null, modelId: 'gru' };
}

function event(kind: AnomalyEvent['kind'], startTs: number, endTs: number): AnomalyEvent {
  return { kind, sensor: 'pump', anomalyId: 'ep-1', startTs, endTs, peakScore: 0.9999, score: 0.9999, threshold: 0.999, modelId: 'gru', paddedFraction: 0, channelErrors: [2], channels: ['value'], windows: 3 };
}

describe('SignalBook.explain', () => {
  it('explains an event from the recorded readings, in the configured unit and zone', () => {
    const book = new SignalBook({ units: ['pu*=bar'], timeZone: 'UTC', persist: null, logger: silent });
    for (let i = 0; i < 300; i++) book.record(reading(T0 + i * SEC, 2.3 + 0.05 * Math.sin(i)));
    const start = T0 + 300 * SEC;
    for (let i = 0; i < 20; i++) book.record(reading(start + i * SEC, 4.1 + 0.05 * Math.sin(i), 'anomalous', 0.9999));
    const e = book.explain(event('open', start, start + 19 * SEC))!;
    expect(e.kind).toBe('level_shift');
    expect(e.unit).toBe('bar');
    expect(e.sentence).toMatch(/^pump 4\.1\d* bar, expected 2\.\d+ ± 0\.\d+ since 10:05 \(level shift\)$/);
    expect(e.stretch.ts[0]).toBe(start);
    expect(e.stretch.values).toHaveLength(20);
    expect(e.since).toBe(new Date(start).toISOString());
  });

  it('keeps the baseline and the first readings of a long episode: a 3-hour freeze is still a freeze', () => {
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    for (let i = 0; i < 300; i++) book.record(reading(T0 + i * SEC, 14 + 0.2 * Math.sin(i * 1.3)));
    const start = T0 + 300 * SEC;
    book.record(reading(start, 85, 'anomalous', 0.9999));
    // One reading off: a spike or the start of something lasting, it cannot be told yet.
    expect(book.explain(event('open', start, start))!.kind).toBeNull();
    // 3 hours at 1 Hz: far more than the ring holds.
    for (let i = 1; i < 10_800; i++) book.record(reading(start + i * SEC, 85, 'anomalous', 0.9999));
    const later = book.explain(event('update', start, start + 10_799 * SEC))!;
    expect(later.kind).toBe('stuck');
    expect(later.duration_ms).toBe(10_799 * SEC);
    expect(later.sentence).toMatch(/^pump 85\.0 unchanged for 3 h, expected 1\d\.\d+ ± 0\.\d+ since 10:05 \(stuck value\)$/);
    const resolved = book.explain(event('resolve', start, start + 10_799 * SEC))!;
    expect(resolved.kind).toBe('stuck');
  });

  it('returns null when there is nothing to explain with, and never throws', () => {
    const book = new SignalBook({ units: [], timeZone: null, persist: null, logger: silent });
    expect(book.explain(event('open', T0, T0))).toBeNull();
  });
});

describe('logAlert', () => {
  it('writes one line with the event, the sentence, the score and the id', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    logAlert(log, event('open', T0, T0), { kind: 'spike', sentence: 'pump 9.0 bar, expected 2.3 ± 0.2 at 10:00 (spike)' } as never);
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line.msg).toBe('alert open: pump 9.0 bar, expected 2.3 ± 0.2 at 10:00 (spike) (score 0.9999, id ep-1)');
    expect(line).toMatchObject({ alert: 'open', anomalyId: 'ep-1', sensor: 'pump', score: 0.9999, surprise: 4, kind: 'spike' });
  });
});

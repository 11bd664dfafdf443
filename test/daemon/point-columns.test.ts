/**
 * An open episode's readings (SignalBook: its baseline of BEFORE_POINTS normal readings and up to HEAD_POINTS of its
 * first) are held as columns (src/daemon/point-columns.ts PointColumns), not as one SeriesPoint object with three
 * arrays a reading, and come back from them number for number.
 *
 * Finding (mem1000, BENCHMARKS.md; the memopen brief): a heap snapshot of the daemon with 100 long-running streams held
 * 193 kB an open episode in SignalBook.open (~230 B a reading as objects): 1,000 sensors with an episode open would hold
 * ~190 MB for it alone. Every open episode of every stream paid for it.
 *
 * What could fail: the book holds an episode's readings as objects (main: 3,427 objects for its 856 readings); the columns
 * give back any reading (a float32 one, one of more digits after float32 ones, -0, NaN, no expectation, a closing
 * one, one of another channel count, every status) other than it came, or hold more than `max`.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AnomalyEvent, ScoredReading } from '../../src/contract/types.js';
import { PointColumns } from '../../src/daemon/point-columns.js';
import { SignalBook } from '../../src/daemon/signals.js';
import type { SeriesPoint } from '../../src/pipeline/series.js';
import { mulberry32 } from '../../src/train/rng.js';

const T0 = Date.UTC(2026, 11, 4, 10, 0, 0);
const SEC = 1000;
const STATUSES: readonly SeriesPoint['status'][] = ['learning', 'ok', 'anomalous'];

/** `n` readings of C channels from seed `seed`: float32 values (`wide` false) or values of 9 significant digits. */
function points(seed: number, n: number, C: number, wide: boolean): SeriesPoint[] {
  const rng = mulberry32(seed);
  const num = (): number => (wide ? Number((100 * rng()).toPrecision(9)) : Math.fround(100 * rng()));
  return Array.from({ length: n }, (_, i) => {
    const hasExp = rng() < 0.7;
    const closing = rng() < 0.1;
    const status = STATUSES[Math.floor(rng() * 3)];
    return {
      ts: T0 + i * SEC,
      values: Array.from({ length: C }, (_, c) => (c === 0 && i % 17 === 5 ? Number.NaN : i % 19 === 3 ? -0 : num())),
      expected: hasExp ? Array.from({ length: C }, (_, c) => (c === 1 ? Number.NaN : num())) : null,
      spread: hasExp ? Array.from({ length: C }, () => Math.abs(num())) : null,
      surprise: i % 13 === 0 ? Number.NaN : Math.fround(10 * rng()),
      status,
      ...(closing && status === 'anomalous' ? { closing: true as const } : {}),
    };
  });
}

/** Whether two lists of readings are the same number for number (Object.is: -0 and NaN as themselves). */
function same(a: readonly SeriesPoint[], b: readonly SeriesPoint[]): boolean {
  const eq = (x: readonly number[] | null, y: readonly number[] | null): boolean => (x === null || y === null ? x === y : x.length === y.length && x.every((v, i) => Object.is(v, y[i])));
  return a.length === b.length && a.every((p, i) => {
    const q = b[i];
    return Object.is(p.ts, q.ts) && eq(p.values, q.values) && eq(p.expected, q.expected) && eq(p.spread, q.spread) && Object.is(p.surprise, q.surprise) && p.status === q.status && p.closing === q.closing && Object.keys(p).length === Object.keys(q).length;
  });
}

describe('PointColumns: readings as columns', () => {
  it('gives back every reading as it came: float32 ones, then ones of more digits (held as float64 from then on), of another channel count', () => {
    for (const C of [1, 2, 3]) {
      const narrow = points(C, 300, C, false);
      const wide = points(100 + C, 300, C, true);
      const other = points(200 + C, 3, C + 1, false).map((p, i) => ({ ...p, ts: T0 + (600 + i) * SEC }));
      const all = [...narrow, ...wide.map((p, i) => ({ ...p, ts: T0 + (300 + i) * SEC })), ...other];
      const cols = new PointColumns(0, all.length);
      for (const p of all) expect(cols.push(p)).toBe(true);
      expect(same(cols.points(), all)).toBe(true);
      expect(same(cols.points(250, 320), all.slice(250, 320))).toBe(true);
      // Float32 readings alone stay in float32 columns, and come back the same.
      const f32 = PointColumns.of(narrow);
      expect(same(f32.points(), narrow)).toBe(true);
      expect(f32.bytes).toBe(300 * (8 + 4 * 3 * C + 4 + 1));
      for (let i = 0; i < all.length; i++) {
        expect(cols.tsAt(i)).toBe(all[i].ts);
        for (let c = 0; c < C + 1; c++) expect(Object.is(cols.valueAt(i, c), all[i].values[c] ?? Number.NaN)).toBe(true);
      }
      expect(cols.lastTs()).toBe(all.at(-1)!.ts);
    }
  });

  it('holds at most `max` readings, its room doubling from 16', () => {
    const ps = points(7, 300, 1, false);
    const cols = new PointColumns(0, 256);
    expect(ps.filter((p) => cols.push(p)).length).toBe(256);
    expect(cols.length).toBe(256);
    expect(same(cols.points(), ps.slice(0, 256))).toBe(true);
    expect(cols.bytes).toBe(256 * 25);
    const few = new PointColumns(0, 256);
    for (const p of ps.slice(0, 20)) few.push(p);
    expect(few.bytes).toBe(32 * 25);
    expect(new PointColumns(0, 4).lastTs()).toBe(-Infinity);
  });
});

/** Non-typed-array objects (arrays and objects) reachable from `root`, each counted once; typed arrays counted apart. */
function reach(root: unknown): { objects: number; typedBytes: number } {
  const seen = new Set<object>();
  let objects = 0;
  let typedBytes = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x !== 'object' || x === null || seen.has(x)) continue;
    seen.add(x);
    if (ArrayBuffer.isView(x)) {
      typedBytes += x.byteLength;
      continue;
    }
    objects++;
    for (const v of x instanceof Map ? x.values() : Object.values(x)) stack.push(v);
  }
  return { objects, typedBytes };
}

function reading(ts: number, value: number, status: ScoredReading['status'] = 'ok', score = 0.3): ScoredReading {
  return { stream: 'pump', ts, channels: ['value'], values: [value], expected: [2.3], spread: [0.05], score, surprise: -Math.log10(1 - score), threshold: 0.999, status, anomalyId: status === 'anomalous' ? 'ep-1' : null, modelId: 'gru' };
}

describe('SignalBook: an open episode’s readings', () => {
  it('holds its 600 readings before and 256 first ones as columns, ~25 B a one-channel reading, not ~3,400 objects (main: 3,427)', () => {
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
    for (let i = 0; i < 900; i++) book.record(reading(T0 + i * SEC, Math.round(230 + 5 * Math.sin(i)) / 100));
    const start = T0 + 900 * SEC;
    for (let i = 0; i < 400; i++) book.record(reading(start + i * SEC, Math.round(410 + 5 * Math.sin(i)) / 100, 'anomalous', 0.9999));
    const ev: AnomalyEvent = { kind: 'open', sensor: 'pump', anomalyId: 'ep-1', startTs: start, endTs: start + 399 * SEC, peakScore: 0.9999, score: 0.9999, threshold: 0.999, modelId: 'gru', paddedFraction: 0, channelErrors: [2], channels: ['value'], windows: 400 };
    expect(book.explain(ev)?.kind).toBe('level_shift');
    const open = (book as unknown as { open: Map<string, { before: unknown; head: unknown }> }).open.get('ep-1')!;
    const kept = reach([open.before, open.head]);
    expect(kept.objects).toBeLessThan(20);
    // Readings to 0.01 fit a float32 (the series ring's too): 8 B of time, 4 B of value, expectation, spread and surprise, 1 B of flags.
    expect(kept.typedBytes).toBe((600 + 256) * 25);
    // What the book holds is what it explains from: its state names the 600 and the 256.
    const base = book.episodeBase('ep-1')!.state;
    expect(base.before.ts).toHaveLength(600);
    expect(base.head.ts).toHaveLength(256);
  });
});

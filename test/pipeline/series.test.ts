import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import type { ScoredReading } from '../../src/contract/types.js';
import type { SeriesBucketStore } from '../../src/contract/series.js';
import { MAX_PENDING, SeriesStore, WRITE_BATCH, surpriseOf } from '../../src/pipeline/series.js';

const T0 = Date.UTC(2026, 0, 12, 0, 0, 0);
const SEC = 1000;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function reading(ts: number, value: number, over: Partial<ScoredReading> = {}): ScoredReading {
  const score = over.score ?? 0.5;
  return {
    stream: 's',
    ts,
    channels: ['value'],
    values: [value],
    expected: null,
    spread: null,
    score,
    surprise: surpriseOf(score),
    threshold: 0.999,
    status: 'ok',
    anomalyId: null,
    modelId: 'gru',
    ...over,
  };
}

let dir: string;
let store: SqliteStore;
let clock: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-series-'));
  store = SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
  clock = 0;
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function seriesStore(over: { rawPoints?: number; maxStreams?: number; writeIntervalMs?: number } = {}): SeriesStore {
  return new SeriesStore({ persist: store, now: () => clock, writeIntervalMs: 60_000, ...over });
}

describe('SeriesStore: raw readings', () => {
  it('readingDecimals: the most decimals the stream\'s newest readings were sent with, a float32-kept 21.14 as 2 (tryout 23, finding 4)', () => {
    const s = seriesStore();
    expect(s.readingDecimals('s')).toBeNull();
    // A statestream sensor's `21.37`, `21.36`, … `21.4`: two decimals, whatever the latest reading's own (`21.4`).
    [21.37, 21.36, 21.38, 21.35, 21.37, 21.39, 21.38, 21.4].forEach((v, i) => s.record(reading(T0 + i * SEC, v)));
    expect(s.readingDecimals('s')).toBe(2);
    // A device that sends raw floats: no more decimals than its noise (± 0.2 or so) shows, and one more.
    for (let i = 0; i < 40; i++) s.record(reading(T0 + i * SEC, 20 + 0.1 * Math.sin(i * 2.3) + 0.0123456 * Math.cos(i), { stream: 'f' }));
    expect(s.readingDecimals('f')).toBe(2);
    // A plug's whole watts: 0.
    for (let i = 0; i < 5; i++) s.record(reading(T0 + i * SEC, 80 + i, { stream: 'w' }));
    expect(s.readingDecimals('w')).toBe(0);
    // Every reading since the first counts, not only the newest looked at (the stream's precision: tryout 24, finding 3).
    expect(s.readingDecimals('s', 1)).toBe(2);
    expect(s.readingDecimals('s', 2)).toBe(2);
  });

  it('readingDecimals: a plug that sends `0` for longer than the readings looked at keeps the decimals it sent before, also after a restart (tryout 24, finding 3)', () => {
    const s = seriesStore();
    // `80.3` W, `0.6` W …, then 80 readings of `0` (more than READING_DECIMALS_OF): one decimal, `0.0 W`.
    for (let i = 0; i < 40; i++) s.record(reading(T0 + i * SEC, i % 2 === 0 ? [80.3, 80.5, 81.1][i % 3] : 0.6));
    for (let i = 40; i < 120; i++) s.record(reading(T0 + i * SEC, 0));
    expect(s.readingDecimals('s')).toBe(1);
    expect(s.sentDecimals('s')).toEqual([1]);
    // After a restart: its latest reading and its checkpoint's decimals (on main: null until its next reading).
    const again = seriesStore();
    again.restoreLatest(reading(T0 + 119 * SEC, 0));
    expect(again.readingDecimals('s')).toBeNull();
    again.restoreSentDecimals('s', s.sentDecimals('s')!);
    expect(again.readingDecimals('s')).toBe(1);
    // A malformed list is ignored; a count noted since the start is kept when larger.
    again.restoreSentDecimals('t', [1.5]);
    expect(again.sentDecimals('t')).toBeNull();
    again.record(reading(T0 + 120 * SEC, 0.25));
    again.restoreSentDecimals('s', [1]);
    expect(again.sentDecimals('s')).toEqual([2]);
    // A device that sends raw floats is still written no finer than its noise shows.
    for (let i = 0; i < 40; i++) again.record(reading(T0 + i * SEC, 20 + 0.1 * Math.sin(i * 2.3) + 0.0123456 * Math.cos(i), { stream: 'f' }));
    expect(again.sentDecimals('f')).toEqual([6]);
    expect(again.readingDecimals('f')).toBe(2);
  });

  it('a ring that grows as its stream goes on (16, then by half: 24, 36, then rawPoints) keeps every reading in order across each growth and wrap', () => {
    const s = seriesStore({ rawPoints: 40 });
    for (let i = 0; i < 100; i++) {
      s.record(reading(T0 + i * SEC, i, { expected: [i + 0.5], spread: [1] }));
      const from = Math.max(0, i - 39);
      if ([0, 15, 16, 17, 23, 24, 25, 31, 32, 33, 35, 36, 37, 39, 40, 41, 99].includes(i)) {
        const pts = s.points('s');
        expect(pts.map((p) => p.values[0])).toEqual(Array.from({ length: i - from + 1 }, (_, k) => from + k));
        expect(pts.map((p) => p.expected?.[0])).toEqual(Array.from({ length: i - from + 1 }, (_, k) => from + k + 0.5));
      }
    }
  });

  it('gives back every reading\'s time as recorded: whole ms held in 4 bytes (rebased past 2^32 ms), other times in 8', () => {
    const s = seriesStore({ rawPoints: 3 });
    /** The ring's time arrays (internal: a full ring of 1,800 times is 7.2 kB in 32 bits, 14.4 kB in 64). */
    const ring = (): { ts32: Uint32Array | null; ts64: Float64Array | null } => (s as unknown as { streams: Map<string, { ring: { ts32: Uint32Array | null; ts64: Float64Array | null } }> }).streams.get('s')!.ring;
    const times: number[] = [];
    const add = (ts: number): void => {
      expect(s.record(reading(ts, times.length))).toBe(true);
      times.push(ts);
      expect(s.points('s').map((p) => p.ts)).toEqual(times.slice(-3));
    };
    for (let i = 0; i < 20; i++) add(T0 + i * SEC);
    // Past 2^32 ms after the first time: the held times are still within 2^32 ms of each other (rebased).
    for (let k = 1; k <= 6; k++) add(T0 + k * 1e9);
    expect(ring().ts32).toBeInstanceOf(Uint32Array);
    expect(ring().ts64).toBeNull();
    expect(s.points('s', T0 + 5e9, T0 + 6e9).map((p) => p.ts)).toEqual([T0 + 5e9, T0 + 6e9]);
    // A time that is not a whole ms: the times themselves from then on, those held before unchanged.
    add(T0 + 6e9 + 0.25);
    expect(ring().ts32).toBeNull();
    expect(ring().ts64).toBeInstanceOf(Float64Array);
    for (let i = 1; i <= 4; i++) add(T0 + 6e9 + i * SEC);
    // Held times that span more than 2^32 ms, and times before 1970, in a ring of their own.
    const t = seriesStore({ rawPoints: 4 });
    const wide = [-5e9, -1, 0, 3e9, 8e9, 9e9];
    for (const ts of wide) t.record({ ...reading(ts, 1), stream: 'w' });
    expect(t.points('w').map((p) => p.ts)).toEqual(wide.slice(-4));
  });

  it('keeps the newest rawPoints readings in order, and the latest', () => {
    const s = seriesStore({ rawPoints: 5 });
    for (let i = 0; i < 8; i++) expect(s.record(reading(T0 + i * SEC, i))).toBe(true);
    expect(s.points('s').map((p) => p.values[0])).toEqual([3, 4, 5, 6, 7]);
    expect(s.points('s', T0 + 5 * SEC, T0 + 6 * SEC).map((p) => p.ts)).toEqual([T0 + 5 * SEC, T0 + 6 * SEC]);
    expect(s.latest('s')?.values).toEqual([7]);
    expect(s.points('other')).toEqual([]);
  });

  it('does not keep readings before the newest, nor malformed ones, and counts each by its reason; a new channel set starts afresh', () => {
    const s = seriesStore();
    expect(s.record(reading(T0 + 2 * SEC, 1))).toBe(true);
    expect(s.record(reading(T0 + 1 * SEC, 2))).toBe(false);
    expect(s.record(reading(T0 + 3 * SEC, 4, { values: [1, 2] }))).toBe(false);
    expect(s.notRecorded()).toEqual({ duplicate: 0, out_of_order: 1, malformed: 1, evicted: 0 });
    expect(s.record(reading(T0 + 4 * SEC, 5, { channels: ['a', 'b'], values: [5, 6] }))).toBe(true);
    expect(s.points('s').map((p) => p.values)).toEqual([[5, 6]]);
    expect(s.channelsOf('s')).toEqual(['a', 'b']);
  });

  it('keeps readings that share the newest time in arrival order (a hub\'s buffer flushed under one time stamp, a clock of whole seconds), in the ring, the buckets of the SQLite file and the API; one identical in time and values to a reading held is counted `duplicate`, not kept', () => {
    const s = seriesStore({ writeIntervalMs: 0 });
    const path = join(dir, 'a.db');
    expect(s.record(reading(T0, 10))).toBe(true);
    // Five readings a second from a clock of whole seconds, then a buffer of four flushed under one time stamp.
    for (const v of [11, 12, 13, 14, 15]) expect(s.record(reading(T0 + SEC, v))).toBe(true);
    for (const v of [21, 22, 21.5, 23]) expect(s.record(reading(T0 + 2 * SEC, v))).toBe(true);
    // The same message again (delivered twice), and one identical to an earlier reading of that time.
    expect(s.record(reading(T0 + 2 * SEC, 23))).toBe(false);
    expect(s.record(reading(T0 + 2 * SEC, 22))).toBe(false);
    // A value equal to one of an earlier time is a reading of its own.
    expect(s.record(reading(T0 + 3 * SEC, 23))).toBe(true);
    expect(s.notRecorded()).toEqual({ duplicate: 2, out_of_order: 0, malformed: 0, evicted: 0 });
    const kept = [10, 11, 12, 13, 14, 15, 21, 22, 21.5, 23, 23];
    expect(s.points('s').map((p) => p.values[0])).toEqual(kept);
    expect(s.points('s').map((p) => (p.ts - T0) / SEC)).toEqual([0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3]);
    expect(s.lastNormalPoints('s', T0 + 2 * SEC, 3).map((p) => p.values[0])).toEqual([22, 21.5, 23]);
    const v = s.query('s', { rangeMs: HOUR })!;
    expect(v.value[0]).toEqual(kept);
    expect(v.count.reduce((a, n) => a + n, 0)).toBe(kept.length);
    // The minute's bucket in the SQLite file counts every reading kept, its mean and extremes of them all.
    s.close();
    store.close();
    store = SqliteStore.open(path, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
    const [minute] = store.readSeriesBuckets('s', 1, T0, T0 + DAY);
    expect(minute.count).toBe(kept.length);
    expect([...minute.stats.slice(0, 3)].map((x) => Number(x.toPrecision(7)))).toEqual([Number((kept.reduce((a, x) => a + x, 0) / kept.length).toPrecision(7)), 10, 23]);
  });

  it('after a restart, a reading identical to the restored latest (delivered again) is a duplicate; another one of its time is kept', () => {
    const s = seriesStore();
    expect(s.restoreLatest(reading(T0, 7))).toBe(true);
    expect(s.record(reading(T0, 7))).toBe(false);
    expect(s.record(reading(T0, 8))).toBe(true);
    expect(s.record(reading(T0, 8))).toBe(false);
    expect(s.notRecorded().duplicate).toBe(2);
    expect(s.points('s').map((p) => p.values[0])).toEqual([8]);
  });

  it('a narrow (float32) ring tells a duplicate by the value as it holds it, and a value that does not fit a float32 from one that does', () => {
    const s = seriesStore();
    expect(s.record(reading(T0, 20.1))).toBe(true);
    expect(s.record(reading(T0, 20.1))).toBe(false);
    // 20.1000001 rounds to 20.1's float32 but does not fit one (fitsFloat32): a reading of its own (the ring widens).
    expect(Math.fround(20.1000001)).toBe(Math.fround(20.1));
    expect(s.record(reading(T0, 20.1000001))).toBe(true);
    expect(s.record(reading(T0, 20.1000001))).toBe(false);
    expect(s.points('s').map((p) => p.values[0])).toEqual([20.1, 20.1000001]);
  });

  it('keeps expectation, spread, surprise and status per reading', () => {
    const s = seriesStore();
    s.record(reading(T0, 21, { expected: [20], spread: [0.5], score: 0.9999, status: 'anomalous', anomalyId: 'x' }));
    const [p] = s.points('s');
    expect(p).toMatchObject({ values: [21], expected: [20], spread: [0.5], status: 'anomalous' });
    expect(p.surprise).toBeCloseTo(4, 3);
  });

  it('gives the newest normal points before a time and the oldest time held as the full listing would (an alert explanation reads them)', () => {
    const s = seriesStore({ rawPoints: 40 });
    expect(s.oldestTs('s')).toBe(Infinity);
    expect(s.lastNormalPoints('s', Infinity, 5)).toEqual([]);
    for (let i = 0; i < 100; i++) {
      s.record(reading(T0 + i * SEC, i, i % 7 < 2 ? { status: 'anomalous', score: 0.9999, anomalyId: 'x' } : {}));
      if (i % 9 !== 0) continue;
      expect(s.oldestTs('s')).toBe(s.points('s')[0].ts);
      for (const [toTs, n] of [[Infinity, 5], [T0 + (i - 3) * SEC, 10], [T0 + i * SEC - 1, 600], [T0 - 1, 3]] as const) {
        expect(s.lastNormalPoints('s', toTs, n)).toEqual(s.points('s', -Infinity, toTs).filter((p) => p.status !== 'anomalous').slice(-n));
      }
    }
  });

  it('tracks at most maxStreams streams: a new one past it takes the place of the stream recorded least recently, counted `evicted`, whose buckets stay (tryout 25, finding 4)', () => {
    const s = seriesStore({ maxStreams: 2 });
    expect(s.record(reading(T0, 1, { stream: 'a' }))).toBe(true);
    expect(s.record(reading(T0, 1, { stream: 'b' }))).toBe(true);
    // `a` read again: `b` is now the one recorded least recently.
    expect(s.record(reading(T0 + SEC, 2, { stream: 'a' }))).toBe(true);
    expect(s.record(reading(T0 + SEC, 1, { stream: 'c' }))).toBe(true);
    expect(s.streamIds()).toEqual(['a', 'c']);
    expect(s.points('c').map((p) => p.values[0])).toEqual([1]);
    expect(s.points('b')).toEqual([]);
    expect(s.notRecorded()).toEqual({ duplicate: 0, out_of_order: 0, malformed: 0, evicted: 1 });
    // Its minute stays: queued for the database, then stored and shown.
    s.flush(true);
    expect(store.readSeriesBuckets('b', 1, T0, T0 + DAY)).toMatchObject([{ startTs: T0, count: 1 }]);
    expect(s.query('b', { rangeMs: DAY })).toMatchObject({ source: 'minutes', count: [1] });
  });
});

describe('SeriesStore.restoreRecent: an open episode\'s readings back after a restart', () => {
  it('takes them into the empty ring of a restored stream, as they were, and adds them to no bucket', () => {
    const before = seriesStore();
    for (let i = 0; i < 10; i++) before.record(reading(T0 + i * SEC, 20 + i, { expected: [20], spread: [0.5], status: i >= 5 ? 'anomalous' : 'ok' }));
    const pts = before.points('s', T0 + 5 * SEC);
    const after = seriesStore();
    expect(after.restoreLatest(before.latest('s')!)).toBe(true);
    expect(after.restoreRecent('s', ['value'], pts)).toBe(5);
    expect(after.points('s')).toEqual(pts);
    expect(after.oldestTs('s')).toBe(T0 + 5 * SEC);
    after.close();
    expect(store.readSeriesBuckets('s', 1, -Infinity, Infinity)).toEqual([]);
    // The next reading goes on after them.
    expect(after.record(reading(T0 + 10 * SEC, 30))).toBe(true);
    expect(after.points('s').map((p) => p.ts)).toEqual([5, 6, 7, 8, 9, 10].map((i) => T0 + i * SEC));
  });

  it('refuses readings into a ring that has some, of other channels, out of order, or after the latest reading', () => {
    const a = seriesStore();
    a.record(reading(T0, 1));
    const p = (i: number) => ({ ts: T0 + i * SEC, values: [1], expected: null, spread: null, surprise: 0.3, status: 'ok' as const });
    expect(a.restoreRecent('s', ['value'], [p(-2), p(-1)])).toBe(0);
    const b = seriesStore();
    b.restoreLatest(reading(T0 + 5 * SEC, 1));
    expect(b.restoreRecent('s', ['other'], [p(1)])).toBe(0);
    expect(b.restoreRecent('s', ['value'], [p(2), p(1)])).toBe(0);
    expect(b.restoreRecent('s', ['value'], [p(6)])).toBe(0);
    expect(b.points('s')).toEqual([]);
    expect(b.restoreRecent('s', ['value'], [p(1), p(5)])).toBe(2);
    // Readings that share a time (the ring keeps them so) come back too.
    const c = seriesStore();
    c.restoreLatest(reading(T0 + 5 * SEC, 1));
    expect(c.restoreRecent('s', ['value'], [p(1), p(1), p(5)])).toBe(3);
  });
});

describe('SeriesStore: buckets and the database', () => {
  it('sums each channel of a bucket on its own: mean, min, max, and the mean of the expected values and spreads given', () => {
    const s = seriesStore();
    // Two channels over one minute: a = i, b = 5 - 2i; expected given for a at even i only (b's NaN), spread at i < 10.
    for (let i = 0; i < 60; i++) {
      s.record({
        ...reading(T0 + i * SEC, 0),
        channels: ['a', 'b'],
        values: [i, 5 - 2 * i],
        expected: i % 2 === 0 ? [i + 1, Number.NaN] : null,
        spread: i < 10 ? [0.5, 2] : null,
      });
    }
    s.record({ ...reading(T0 + MIN, 0), channels: ['a', 'b'], values: [0, 0] });
    clock = 60_000;
    s.flush();
    const [minute] = store.readSeriesBuckets('s', 1, T0, T0 + DAY);
    expect(minute.count).toBe(60);
    const at = (c: number): number[] => Array.from(minute.stats.slice(c * 5, c * 5 + 5));
    // Even i in 0..58: mean 29, plus 1.
    expect(at(0)).toEqual([29.5, 0, 59, 30, 0.5]);
    expect(at(1).slice(0, 3)).toEqual([-54, -113, 5]);
    expect(Number.isNaN(at(1)[3])).toBe(true);
    expect(at(1)[4]).toBe(2);
  });

  it('writes closed 1- and 15-minute buckets at most once per writeIntervalMs, the open ones at close', () => {
    const s = seriesStore();
    for (let i = 0; i < 180; i++) s.record(reading(T0 + i * SEC, i % 60, { status: i >= 70 && i < 75 ? 'anomalous' : 'ok', score: i === 72 ? 0.99999 : 0.5 }));
    clock = 60_000;
    s.flush();
    const minutes = store.readSeriesBuckets('s', 1, T0, T0 + DAY);
    expect(minutes.map((b) => b.startTs)).toEqual([T0, T0 + MIN]);
    expect(minutes[0]).toMatchObject({ count: 60, anomalous: 0, channels: ['value'] });
    expect([...minutes[0].stats.slice(0, 3)]).toEqual([29.5, 0, 59]);
    expect(Number.isNaN(minutes[0].stats[3])).toBe(true);
    expect(minutes[1].anomalous).toBe(5);
    expect(minutes[1].surpriseMax).toBeCloseTo(5, 3);
    // Not due again yet: the next closed bucket waits.
    for (let i = 180; i < 240; i++) s.record(reading(T0 + i * SEC, 1));
    clock = 90_000;
    s.flush();
    expect(store.readSeriesBuckets('s', 1, T0, T0 + DAY)).toHaveLength(2);
    s.close();
    expect(store.readSeriesBuckets('s', 1, T0, T0 + DAY).map((b) => b.startTs)).toEqual([T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
    expect(store.readSeriesBuckets('s', 2, T0, T0 + DAY)).toMatchObject([{ startTs: T0, count: 240 }]);
  });

  it('a history of days loaded in seconds: the queue is written as WRITE_BATCH buckets wait (writeDue), none dropped, every reading in the 7-day and 24-hour views (tryout 38, finding 4)', () => {
    const s = seriesStore();
    // 20 streams of 10 days at 5 min (2,880 readings each), loaded in one wall-clock instant stream by stream, as a
    // backfill over MQTT: 57,600 minute buckets and 19,200 quarter-hours close, more than MAX_PENDING.
    const n = 2880;
    const streams = Array.from({ length: 20 }, (_, k) => `wx${k}`);
    let writes = 0;
    for (const stream of streams) {
      for (let i = 0; i < n; i++) {
        s.record(reading(T0 + i * 5 * MIN, 5 + Math.sin(i / 20), { stream }));
        if (s.writeDue) {
          s.flush();
          writes++;
        }
      }
    }
    expect(WRITE_BATCH * 5).toBeLessThanOrEqual(MAX_PENDING);
    expect(writes).toBeGreaterThanOrEqual(Math.floor((n * 20 * 4) / 3 / WRITE_BATCH) - 1);
    expect(s.droppedBuckets).toBe(0);
    const last = T0 + (n - 1) * 5 * MIN;
    for (const stream of streams) {
      // 7 days: quarter-hours, 673 of them (the one the span begins in whole), each of its 3 readings.
      const week = s.query(stream, { rangeMs: 7 * DAY, maxPoints: 5000 })!;
      expect(week.source).toBe('quarter-hours');
      expect(week.count).toEqual(new Array<number>(673).fill(3));
      // 24 hours: minutes, one reading each (289 points).
      const day = s.query(stream, { rangeMs: DAY, maxPoints: 5000 })!;
      expect(day.source).toBe('minutes');
      expect(day.count).toEqual(new Array<number>(289).fill(1));
    }
    // In the database too, once the rest is written (the stop): every quarter-hour of the 8 days kept behind each
    // stream's newest reading (TIER_RETENTION_MS), 11,520 min / 15 = 768.
    s.close();
    for (const stream of streams) expect(store.readSeriesBuckets(stream, 2, last - 8 * DAY, last).length).toBe(768);
    // 57,600 readings: 8 s on an idle 2-core machine, 104 s at a load average of 45 (beyond the default 60 s).
  }, 300_000);

  it('writeDue: after a write the database refused, not again before writeIntervalMs (no failing write per reading)', () => {
    let tries = 0;
    const refusing: SeriesBucketStore = {
      writeSeriesBuckets: () => {
        tries++;
        throw new Error('SQLITE_FULL');
      },
      readSeriesBuckets: () => [],
      newestSeriesBucket: () => null,
      pruneSeriesBuckets: () => 0,
    };
    const s = new SeriesStore({ persist: refusing, now: () => clock, writeIntervalMs: 60_000 });
    clock = 1_000_000;
    let i = 0;
    while (!s.writeDue) s.record(reading(T0 + i++ * MIN, 1));
    expect(() => s.flush()).toThrow('SQLITE_FULL');
    expect(tries).toBe(1);
    // Queued still, more than a batch, but not due until a minute after the refusal.
    for (let k = 0; k < 100; k++) s.record(reading(T0 + i++ * MIN, 1));
    expect(s.writeDue).toBe(false);
    clock += 59_999;
    expect(s.writeDue).toBe(false);
    clock += 1;
    expect(s.writeDue).toBe(true);
    expect(s.droppedBuckets).toBe(0);
    // While it refuses, the queue is bounded: past MAX_PENDING the oldest go, counted, once WRITE_BATCH more wait.
    while (s.droppedBuckets === 0) s.record(reading(T0 + i++ * MIN, 1));
    // A minute closed per reading and a quarter-hour per 15 (16 buckets per 15 readings): none dropped before
    // MAX_PENDING + WRITE_BATCH were queued, then WRITE_BATCH at once.
    expect(((i - 1) * 16) / 15).toBeGreaterThanOrEqual(MAX_PENDING + WRITE_BATCH - 2);
    expect(s.droppedBuckets).toBe(WRITE_BATCH);
    expect(tries).toBe(1);
  });

  it('a minute and a quarter-hour in progress at a stop take in the readings after the restart, not overwritten by them (a real SQLite file; tryout 25, finding 5)', () => {
    const path = join(dir, 'a.db');
    // 35 readings at 1 Hz from 10:07:00, then a stop; the values 0 … 34.
    const first = seriesStore();
    for (let i = 0; i < 35; i++) first.record(reading(T0 + 7 * MIN + i * SEC, i, { status: i === 3 ? 'anomalous' : 'ok', score: i === 3 ? 0.99999 : 0.5, expected: [i], spread: [1] }));
    const stoppedAt = first.latest('s')!;
    first.close();
    store.close();
    // The restart: the same file, the stream's latest reading given back, 25 more readings of that minute (100 … 124),
    // then one of the next minute closing it.
    store = SqliteStore.open(path, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
    const second = seriesStore();
    expect(second.restoreLatest(stoppedAt)).toBe(true);
    for (let i = 35; i < 60; i++) second.record(reading(T0 + 7 * MIN + i * SEC, 65 + i, { expected: [65 + i], spread: [3] }));
    second.record(reading(T0 + 8 * MIN, 0));
    second.close();
    const [minute] = store.readSeriesBuckets('s', 1, T0 + 7 * MIN, T0 + 7 * MIN);
    expect(minute).toMatchObject({ startTs: T0 + 7 * MIN, count: 60, anomalous: 1 });
    const values = [...Array.from({ length: 35 }, (_, i) => i), ...Array.from({ length: 25 }, (_, i) => 100 + i)];
    const mean = values.reduce((a, b) => a + b, 0) / 60;
    expect(minute.stats[0]).toBeCloseTo(mean, 3);
    expect([minute.stats[1], minute.stats[2]]).toEqual([0, 124]);
    expect(minute.stats[3]).toBeCloseTo((17 * 35 + 112 * 25) / 60, 3);
    expect(minute.stats[4]).toBeCloseTo((1 * 35 + 3 * 25) / 60, 5);
    expect(minute.surpriseMax).toBeCloseTo(5, 3);
    expect(store.readSeriesBuckets('s', 2, T0, T0)).toMatchObject([{ count: 61 }]);
    // The API's 24 h view (minutes) shows the minute whole.
    expect(second.query('s', { rangeMs: DAY })).toMatchObject({ count: [60, 1] });
  });

  it('a stream dropped from memory (forget) and back within the same minute adds to the minute queued for the database, not in place of it', () => {
    const s = seriesStore();
    for (let i = 0; i < 10; i++) s.record(reading(T0 + i * SEC, 1));
    s.forget('s');
    for (let i = 10; i < 30; i++) s.record(reading(T0 + i * SEC, 3));
    s.close();
    expect(store.readSeriesBuckets('s', 1, T0, T0)).toMatchObject([{ count: 30 }]);
    expect(store.readSeriesBuckets('s', 1, T0, T0)[0].stats[0]).toBeCloseTo((10 + 60) / 30, 5);
    // Other channels are another series: that bucket is not taken in (it is replaced, as before).
    const t = seriesStore();
    t.record(reading(T0 + 40 * SEC, 5, { channels: ['a'] }));
    t.close();
    expect(store.readSeriesBuckets('s', 1, T0, T0)).toMatchObject([{ count: 1, channels: ['a'] }]);
  });

  it('prunes each tier behind the stream’s newest reading (26 h of minutes, 8 days of quarter-hours)', () => {
    const s = seriesStore({ writeIntervalMs: 0 });
    for (let h = 0; h <= 10 * 24; h++) s.record(reading(T0 + h * HOUR, h));
    s.flush();
    const newest = T0 + 240 * HOUR;
    const minutes = store.readSeriesBuckets('s', 1, 0, Infinity);
    const quarters = store.readSeriesBuckets('s', 2, 0, Infinity);
    expect(minutes[0].startTs).toBeGreaterThanOrEqual(newest - 27 * HOUR);
    expect(quarters[0].startTs).toBeGreaterThanOrEqual(newest - 8 * DAY - HOUR);
    expect(quarters.length).toBeGreaterThan(7 * 24);
  });
});

describe('SeriesStore: queries', () => {
  it('1 h: the raw readings, with the 1-minute buckets for what the ring no longer holds, no overlap', () => {
    const s = seriesStore({ rawPoints: 600, writeIntervalMs: 0 });
    for (let i = 0; i < 3600; i++) s.record(reading(T0 + i * SEC, i));
    s.flush();
    const v = s.query('s', { rangeMs: HOUR, maxPoints: 5000 })!;
    expect(v.source).toBe('raw');
    // The page's caption says what one merged point covers: a minute (it said "0 s") ...
    expect(v.resolutionMs).toBe(MIN);
    // ... and k minutes where k of them were merged to fit the points asked for (it said a minute).
    const thinned = s.query('s', { rangeMs: HOUR, maxPoints: 100 })!;
    const k = Math.max(...thinned.count) / 60;
    expect(k).toBeGreaterThanOrEqual(2);
    expect(thinned.resolutionMs).toBeGreaterThanOrEqual(Math.floor(k) * MIN);
    expect(v.to).toBe(T0 + 3599 * SEC);
    const raw = v.ts.filter((_, i) => v.count[i] === 1);
    const buckets = v.ts.filter((_, i) => v.count[i] > 1);
    expect(raw).toHaveLength(600);
    expect(buckets.length).toBeGreaterThanOrEqual(49);
    expect(Math.max(...buckets)).toBeLessThan(raw[0]);
    expect(v.ts).toEqual([...v.ts].sort((a, b) => a - b));
    // A bucket point is the minute's mean, with its min and max.
    const b0 = v.count.findIndex((c) => c > 1);
    expect(v.value[0][b0]! - (v.min[0][b0]! + v.max[0][b0]!) / 2).toBeCloseTo(0, 3);
    expect(v.min[0][v.ts.length - 1]).toBeNull();
  });

  it('thins to maxPoints, keeping extremes, the highest surprise and every anomalous stretch', () => {
    const s = seriesStore();
    for (let i = 0; i < 1800; i++) {
      const spike = i === 1001;
      s.record(reading(T0 + i * SEC, spike ? 100 : 1, { score: spike ? 0.999999 : 0.5, status: spike ? 'anomalous' : 'ok' }));
    }
    const v = s.query('s', { rangeMs: HOUR, maxPoints: 100 })!;
    expect(v.ts.length).toBeLessThanOrEqual(100);
    expect(v.count.reduce((a, b) => a + b, 0)).toBe(1800);
    expect(Math.max(...v.max[0].map((x) => x ?? -Infinity))).toBe(100);
    expect(Math.max(...v.surprise.map((x) => x ?? 0))).toBeCloseTo(6, 3);
    expect(v.anomalous.filter(Boolean)).toHaveLength(1);
    expect(v.resolutionMs).toBeGreaterThan(10_000);
  });

  it('shows the surprise capped at 16 as every output does (raw, buckets, latest); the points keep the detector\'s own', () => {
    // Tryout: replay and the API gave 29.1 where the alert line said 16.0 (score > 0.99999999).
    const s = seriesStore({ writeIntervalMs: 0 });
    for (let i = 0; i < 180; i++) s.record(reading(T0 + i * SEC, i === 170 ? 100 : 1, i === 170 ? { score: 1, surprise: 29.1, status: 'anomalous' } : {}));
    s.record(reading(T0 + 180 * SEC, 100, { score: 1, surprise: 27, status: 'anomalous' }));
    const raw = s.query('s', { rangeMs: HOUR })!;
    expect(Math.max(...raw.surprise.map((x) => x ?? 0))).toBe(16);
    expect(raw.latest!.surprise).toBe(16);
    expect(s.latest('s')!.surprise).toBe(27);
    expect(Math.max(...s.points('s').map((p) => p.surprise))).toBeCloseTo(29.1, 5);
    clock += HOUR;
    s.flush(true);
    const fromBuckets = seriesStore().query('s', { rangeMs: DAY })!;
    expect(fromBuckets.source).toBe('minutes');
    expect(Math.max(...fromBuckets.surprise.map((x) => x ?? 0))).toBe(16);
  });

  it('24 h from 1-minute buckets, 7 d from 15-minute buckets, also after a restart (from the database alone)', () => {
    const s = seriesStore({ writeIntervalMs: 0 });
    for (let i = 0; i < 3 * 24 * 60; i++) s.record(reading(T0 + i * MIN, i % 7, { expected: [3], spread: [1] }));
    s.close();
    const again = seriesStore();
    const day = again.query('s', { rangeMs: DAY, maxPoints: 5000 })!;
    expect(day.source).toBe('minutes');
    expect(day.ts.length).toBeGreaterThanOrEqual(1439);
    expect(day.ts.length).toBeLessThanOrEqual(1441);
    expect(day.expected[0].every((e) => e === 3)).toBe(true);
    const week = again.query('s', { rangeMs: 7 * DAY })!;
    expect(week.source).toBe('quarter-hours');
    expect(week.ts.length).toBe(3 * 24 * 4);
    expect(week.resolutionMs).toBe(15 * MIN);
    expect(again.query('s', { rangeMs: DAY, since: T0 + 3 * DAY - HOUR })!.ts.length).toBeLessThanOrEqual(61);
    expect(again.query('nothing', { rangeMs: DAY })).toBeNull();
  });

  it('every range up to 8 d covers its whole span: past the 26 h of 1-minute buckets kept, the older part from 15-minute buckets, no gap, no overlap (a real SQLite file, readings every 5 min over 3 days; tryout 27, finding 5)', () => {
    const s = seriesStore({ writeIntervalMs: 0 });
    const newest = T0 + 3 * DAY;
    // Yesterday's episode: an hour of anomalous readings 36 h before the newest one.
    const faultAt = newest - 36 * HOUR;
    for (let ts = T0; ts <= newest; ts += 5 * MIN) {
      const off = ts >= faultAt && ts < faultAt + HOUR;
      s.record(reading(ts, off ? 85 : 20, off ? { status: 'anomalous', score: 0.99999, anomalyId: 'a1' } : {}));
    }
    s.close();
    for (const again of [seriesStore(), s]) {
      for (const rangeH of [27, 30, 36, 48, 72]) {
        const v = again.query('s', { rangeMs: rangeH * HOUR, maxPoints: 5000 })!;
        // The span ends at the newest reading (after a restart: the middle of its stored minute).
        expect(v.to - newest).toBeLessThanOrEqual(MIN / 2);
        expect(v.from).toBe(v.to - rangeH * HOUR);
        // Its first point within a quarter-hour of the span's start, its last at the newest reading's minute.
        expect(v.ts[0]).toBeLessThanOrEqual(v.from + 15 * MIN);
        expect(v.ts[v.ts.length - 1]).toBeGreaterThan(newest - MIN);
        // Times rising, no step longer than a quarter-hour (no hole), every reading of the span counted once.
        for (let i = 1; i < v.ts.length; i++) {
          expect(v.ts[i]).toBeGreaterThan(v.ts[i - 1]);
          expect(v.ts[i] - v.ts[i - 1]).toBeLessThanOrEqual(15 * MIN);
        }
        const readings = v.count.reduce((a, b) => a + b, 0);
        const inSpan = Math.floor((rangeH * HOUR) / (5 * MIN)) + 1;
        expect(readings).toBeGreaterThanOrEqual(inSpan - 1);
        expect(readings).toBeLessThanOrEqual(inSpan + 2);
        // Yesterday's episode is in every span that reaches back to it.
        expect(v.anomalous.some(Boolean)).toBe(rangeH >= 36);
        expect(Math.max(...v.value[0].map((x) => x ?? -Infinity))).toBe(rangeH >= 36 ? 85 : 20);
        // The coarsest point says how wide it is.
        expect(v.resolutionMs).toBe(rangeH > 26 ? 15 * MIN : MIN);
      }
    }
  });

  it('keeps the digits a meter needs (20210701 … 20210712, 123456.101 …) in raw points, buckets and after a restart; short values stay short (tryout 13, finding 7)', () => {
    const s = seriesStore({ writeIntervalMs: 0 });
    const meter = (i: number): number => 20210701 + i;
    const kwh = (i: number): number => Math.round((123456.101 + i * 0.001) * 1000) / 1000;
    const short = (i: number): number => Math.round((20.1 + i * 0.1) * 10) / 10;
    // Short values first, then the meter's: the ring widens at its first long value and keeps the short ones' digits.
    for (let i = 0; i < 12; i++) s.record(reading(T0 + i * SEC, short(i), { stream: 'meter' }));
    for (let i = 0; i < 12; i++) s.record(reading(T0 + (12 + i) * SEC, meter(i), { stream: 'meter', expected: [meter(i) - 1], spread: [0.5] }));
    for (let i = 0; i < 12; i++) s.record(reading(T0 + i * SEC, kwh(i), { stream: 'kwh' }));
    for (let i = 0; i < 12; i++) s.record(reading(T0 + i * SEC, short(i), { stream: 'temp' }));
    const m = s.query('meter', { rangeMs: HOUR })!;
    expect(m.value[0]).toEqual([...Array.from({ length: 12 }, (_, i) => short(i)), ...Array.from({ length: 12 }, (_, i) => meter(i))]);
    expect(m.expected[0].slice(12)).toEqual(Array.from({ length: 12 }, (_, i) => meter(i) - 1));
    expect(s.query('kwh', { rangeMs: HOUR })!.value[0]).toEqual(Array.from({ length: 12 }, (_, i) => kwh(i)));
    expect(s.query('temp', { rangeMs: HOUR })!.value[0]).toEqual(Array.from({ length: 12 }, (_, i) => short(i)));
    // Minutes of the meter, written and read back from the database: its mean, min and max keep their digits.
    for (let i = 0; i < 3 * 60; i++) s.record(reading(T0 + MIN + i * SEC, meter(100 + i), { stream: 'kwh2' }));
    s.close();
    const again = seriesStore();
    const day = again.query('kwh2', { rangeMs: DAY })!;
    expect(day.source).toBe('minutes');
    expect(day.min[0]).toEqual([meter(100), meter(160), meter(220)]);
    expect(day.max[0]).toEqual([meter(159), meter(219), meter(279)]);
    expect(day.value[0]).toEqual([meter(100) + 29.5, meter(160) + 29.5, meter(220) + 29.5]);
  });

  it('where the model gave no expectation, a baseline band from the preceding normal points, not following the anomaly', () => {
    const s = seriesStore();
    for (let i = 0; i < 200; i++) {
      const bad = i >= 150;
      s.record(reading(T0 + i * SEC, bad ? 50 : 10 + (i % 2), { status: bad ? 'anomalous' : 'ok' }));
    }
    const v = s.query('s', { rangeMs: HOUR })!;
    expect(v.expected[0].every((e) => e === null)).toBe(true);
    expect(v.baseline[0][0]).toBeNull();
    expect(v.baseline[0][199]).toBeCloseTo(10.5, 1);
    expect(v.baselineSpread[0][199]).toBeGreaterThan(0);
    expect(v.baselineSpread[0][199]).toBeLessThan(2);
  });
});

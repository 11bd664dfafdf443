/**
 * The twenty-ninth session's tryout, finding 2: an episode's closing readings (those that hold it open after its end as
 * told, alerts.closeAfter, each scored `anomalous`) were shaded as its own: a spike's shading ran 8 min past it at a
 * reading every 30 s. SeriesStore.settleEpisode shades an episode over its own readings, in the raw readings and in
 * the minute and quarter-hour buckets (open, queued, and written to the database), follows a told end that moves on,
 * and keeps the scored statuses for what reads them (an explanation's normal readings). A real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import type { ScoredReading } from '../../src/contract/types.js';
import { SeriesStore, surpriseOf, type SeriesView } from '../../src/pipeline/series.js';

const T0 = Date.UTC(2026, 0, 12, 0, 0, 0);
const STEP = 10_000;
const HOUR = 3_600_000;
const ts = (i: number): number => T0 + i * STEP;

/** Reading i of stream `s`: `anomalous` (its episode open) from `from` to `to`, else ok. */
function reading(i: number, from: number, to: number): ScoredReading {
  const on = i >= from && i <= to;
  const score = on ? 0.9999 : 0.5;
  return { stream: 's', ts: ts(i), channels: ['value'], values: [i === from ? 27 : 21], expected: [21], spread: [0.1], score, surprise: surpriseOf(score), threshold: 0.999, status: on ? 'anomalous' : 'ok', anomalyId: on ? 'ep' : null, modelId: 'gru' };
}

const shaded = (v: SeriesView | null): number[] => (v === null ? [] : v.ts.filter((_, k) => v.anomalous[k]));

let dir: string;
let store: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-series-settle-'));
  store = SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SeriesStore.settleEpisode', () => {
  it('shades an episode to its told end, not its closing readings: raw, minutes written to the database and open, as the end moves on and at its resolve', () => {
    const series = new SeriesStore({ persist: store, now: () => 0, writeIntervalMs: 0 });
    // 60 normal readings, an episode opened by a spike at 60 and held open by 20 closing readings (at 10 s: 3 min 20 s).
    for (let i = 0; i < 81; i++) {
      series.record(reading(i, 60, 80));
      // As the daemon does at each reading of an open episode: its end as told so far, the spike's reading.
      if (i >= 60) series.settleEpisode('s', ts(60));
      // Closed minutes go to the database as they close: the settled counts must reach them there.
      series.flush(true);
    }
    const hour = (): number[] => shaded(series.query('s', { rangeMs: HOUR }));
    /** The minutes shaded at 24 h, by their start. */
    const day = (): number[] => shaded(series.query('s', { rangeMs: 24 * HOUR })).map((t) => Math.floor(t / 60_000) * 60_000);
    /** The minutes of readings `from` to `to`, by their start. */
    const minutesOf = (from: number, to: number): number[] => [...new Set(Array.from({ length: to - from + 1 }, (_, k) => Math.floor(ts(from + k) / 60_000) * 60_000))];
    expect(hour()).toEqual([ts(60)]);
    // On main: the spike's minute and the 3 after it (its closing readings').
    expect(day()).toEqual(minutesOf(60, 60));
    // The scored statuses stay for what reads them: the closing readings are no normal readings of an explanation.
    expect(series.points('s', ts(60)).every((p) => p.status === 'anomalous')).toBe(true);
    expect(series.lastNormalPoints('s', ts(80), 5).map((p) => p.ts)).toEqual([55, 56, 57, 58, 59].map(ts));

    // A later reading held it again (its told end moves on to reading 75): the readings to it are its own again.
    expect(series.settleEpisode('s', ts(75))).toBe(15);
    expect(hour()).toEqual([60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75].map(ts));
    expect(day()).toEqual(minutesOf(60, 75));

    // Resolved at reading 81 (ok), its end reading 75 after all: 76 to 80 are closing readings, 81 not of it.
    series.record(reading(81, 60, 80));
    expect(series.settleEpisode('s', ts(75), ts(81))).toBe(0);
    series.settleEpisode('s', ts(72), ts(81));
    expect(hour()).toEqual([60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72].map(ts));
    expect(day()).toEqual(minutesOf(60, 72));
    // What the database holds after a restart of the series (closed buckets only) says the same of the closed minutes.
    series.close();
    const again = new SeriesStore({ persist: store, now: () => 0 });
    const stored = shaded(again.query('s', { rangeMs: 24 * HOUR })).map((t) => Math.floor(t / 60_000) * 60_000);
    expect(stored).toEqual(minutesOf(60, 72));
  });

  it('leaves a reading out of every episode alone, and keeps a closing reading across a clean stop (rawBlob)', () => {
    const series = new SeriesStore({ persist: store, now: () => 0 });
    for (let i = 0; i < 30; i++) series.record(reading(i, 20, 29));
    expect(series.settleEpisode('s', ts(20))).toBe(9);
    // An end before any shaded reading of it changes nothing before the episode (the readings before 20 are ok).
    expect(series.settleEpisode('nope', ts(20))).toBe(0);
    const blob = series.rawBlob('s')!;
    const back = new SeriesStore({ persist: null, now: () => 0 });
    expect(back.restoreRawBlob('s', ['value'], blob)).toBe(30);
    expect(shaded(back.query('s', { rangeMs: HOUR }))).toEqual([ts(20)]);
    expect(back.points('s', ts(21)).every((p) => p.status === 'anomalous' && p.closing === true)).toBe(true);
  });
});

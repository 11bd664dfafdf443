/**
 * The readings a stop kept unscored (src/daemon/kept-readings.ts) on the real SQLite store: written whole by a stop,
 * given back at the next start in order per stream, and dropped only with the stream's next checkpoint written once
 * they are scored (in that write's transaction), or with the stream forgotten; a row that cannot be read is said lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { KeptReadings, type KeptOptions, type KeptSubject } from '../../src/daemon/kept-readings.js';
import type { KeptStream } from '../../src/pipeline/kept.js';
import { SeriesStore } from '../../src/pipeline/series.js';
import type { StepItem } from '../../src/pipeline/steps.js';
import { capturingLogger } from '../helpers/in-process.js';

const silent = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(commitIntervalMs = 0): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-kept-'));
  dirs.push(dir);
  return SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs, outboxMax: 100, logger: silent });
}

/** The clock at the starts of these tests: a day after the kept readings' times. */
const NOW = Date.UTC(2026, 11, 6);
/** KeptOptions of a start at NOW (ingest.maxFutureMs as shipped), with `more`. */
const at = (more: Partial<KeptOptions> = {}): KeptOptions => ({ now: () => NOW, maxFutureMs: 60_000, ...more });

/**
 * A subject that records what it is given back; `busy` streams say readings of them wait for the model; `bounds` its
 * streams' checkpoints (none known by default).
 */
function subject(busy: Set<string> = new Set(), bounds: Record<string, { takenTs: number | null; channels: readonly string[] | null }> = {}): KeptSubject & { given: KeptStream[] } {
  const given: KeptStream[] = [];
  return {
    given,
    busy: (s) => busy.has(s),
    keptBounds: (s) => bounds[s] ?? { takenTs: null, channels: null },
    restoreKept: (kept) => {
      given.push(...kept);
      return kept.reduce((n, k) => n + k.items.filter((i) => i.kind !== 'fill').length, 0);
    },
  };
}

/** A stream's kept items: a fill, then `n` readings 1 s apart from `t0`, with marks. */
function keptOf(stream: string, n: number, t0 = Date.UTC(2026, 11, 5)): KeptStream {
  const items = [
    { kind: 'fill' as const, ts: t0 - 1000, values: Float64Array.of(1, 2), reset: false, filled: 0, origin: { seq: 3, index: 0 } },
    ...Array.from({ length: n }, (_, k) => ({
      kind: 'reading' as const,
      ts: t0 + k * 1000,
      values: Float64Array.of(20 + k, k === 1 ? 0.5 : -k),
      reset: k === 0,
      filled: k === 0 ? 1 : 0,
      origin: { seq: 3 + k, index: 0 },
      ...(k === 2 ? { burst: true as const, ownQuiet: true as const, counterReset: { from: 9, to: 1 } } : {}),
    })),
  ];
  return { stream, channels: ['a', 'b'], items, restate: null };
}

describe('kept readings', () => {
  it('a stop writes them whole; the next start gives them back in order, with their values and marks', () => {
    const store = open();
    const first = new KeptReadings(store, subject(), silent, at());
    expect(first.save([keptOf('boiler', 3), keptOf('pump', 5)], 1000)).toEqual({ readings: 8, streams: 2 });
    // A later stop replaces them all.
    expect(first.save([keptOf('boiler', 4)], 2000)).toEqual({ readings: 4, streams: 1 });
    const back = subject();
    const log = capturingLogger();
    expect(new KeptReadings(store, back, log.logger, at()).restore()).toEqual({ readings: 4, streams: 1, rejected: 0, byReason: {}, lost: 0 });
    expect(back.given.map((k) => k.stream)).toEqual(['boiler']);
    const items = back.given[0].items;
    expect(items.map((i) => [i.kind, i.ts - Date.UTC(2026, 11, 5), i.reset, i.filled])).toEqual([
      ['fill', -1000, false, 0],
      ['reading', 0, true, 1],
      ['reading', 1000, false, 0],
      ['reading', 2000, false, 0],
      ['reading', 3000, false, 0],
    ]);
    expect(Array.from(items[2].values)).toEqual([21, 0.5]);
    expect(items[3]).toMatchObject({ burst: true, ownQuiet: true, counterReset: { from: 9, to: 1 } });
    expect(items[2]).not.toHaveProperty('burst');
    expect(log.lines.find((l) => l.msg.startsWith('readings kept at the last stop given back'))).toMatchObject({ kept: 4, streams: 1 });
    store.close();
  });

  it("a stream's row goes with its next checkpoint written once its readings are scored, in one transaction; not while they wait", () => {
    const store = open();
    new KeptReadings(store, subject(), silent, at()).save([keptOf('boiler', 3), keptOf('pump', 3)], 1000);
    const busy = new Set(['pump']);
    const kept = new KeptReadings(store, subject(busy), silent, at());
    kept.restore();
    expect([...kept.waiting()].sort()).toEqual(['boiler', 'pump']);
    const checkpoints = kept.checkpointStore();
    // pump's readings still wait for the model: its checkpoint row is written, its kept row stays.
    checkpoints.saveSensorStates([
      { sensor: 'boiler', blob: Buffer.from('{}'), updatedAt: 2000 },
      { sensor: 'pump', blob: Buffer.from('{}'), updatedAt: 2000 },
    ]);
    expect(store.loadKeptReadings().map((r) => r.stream)).toEqual(['pump']);
    expect([...kept.waiting()]).toEqual(['pump']);
    expect(store.loadSensorState('boiler')).not.toBeNull();
    // A forgotten stream's checkpoint goes, and its kept readings with it, busy or not.
    checkpoints.deleteSensorStates!(['pump']);
    expect(store.loadKeptReadings()).toEqual([]);
    expect(kept.waiting().size).toBe(0);
    store.close();
  });

  it('a checkpoint write that fails keeps the row (both roll back)', () => {
    const store = open();
    new KeptReadings(store, subject(), silent, at()).save([keptOf('boiler', 3)], 1000);
    const failing = Object.assign(Object.create(store) as SqliteStore, {
      saveSensorStates: (): void => {
        throw new Error('disk I/O error');
      },
    });
    const checkpoints = new KeptReadings(failing, subject(), silent, at());
    checkpoints.restore();
    expect(() => checkpoints.checkpointStore().saveSensorStates([{ sensor: 'boiler', blob: Buffer.from('{}'), updatedAt: 2000 }])).toThrow(/disk I\/O error/);
    expect(store.loadKeptReadings().map((r) => r.stream)).toEqual(['boiler']);
    expect([...checkpoints.waiting()]).toEqual(['boiler']);
    store.close();
  });

  it('a row that cannot be read is deleted and its readings said lost; the others are given back', () => {
    const store = open();
    store.replaceKeptReadings([
      { stream: 'bad', items: '{"format":"anomalyd-kept/1","channels":["v"],"items":[{"kind":"reading","ts":"soon","values":[1],"reset":false,"filled":0}]}', readings: 1, keptAt: 1 },
      { stream: 'good', items: '{"format":"anomalyd-kept/1","channels":["v"],"items":[{"kind":"reading","ts":5,"values":[7.5],"reset":false,"filled":0}]}', readings: 1, keptAt: 1 },
    ]);
    const back = subject();
    const log = capturingLogger();
    expect(new KeptReadings(store, back, log.logger, at()).restore()).toEqual({ readings: 1, streams: 1, rejected: 0, byReason: {}, lost: 1 });
    expect(back.given.map((k) => k.stream)).toEqual(['good']);
    expect(Array.from(back.given[0].items[0].values)).toEqual([7.5]);
    expect(log.lines.find((l) => l.level === 50)).toMatchObject({ sensor: 'bad', readings: 1 });
    expect(store.loadKeptReadings().map((r) => r.stream)).toEqual(['good']);
    store.close();
  });
  it("a damaged row's items that break a live reading's rules are not given back: each counted under its reason, logged once; the rest are", () => {
    const store = open();
    const T = Date.UTC(2026, 11, 5, 12);
    const item = (ts: number, values: readonly (number | null | string)[], kind = 'reading'): Record<string, unknown> => ({ kind, ts, values, reset: false, filled: kind === 'reading' ? 0 : 0 });
    const row = (stream: string, channels: readonly string[], items: readonly Record<string, unknown>[]): { stream: string; items: string; readings: number; keptAt: number } => ({
      stream,
      items: JSON.stringify({ format: 'anomalyd-kept/1', channels, items }),
      readings: items.filter((i) => i.kind !== 'fill').length,
      keptAt: 1,
    });
    store.replaceKeptReadings([
      row('room', ['value'], [
        item(T + 1000, [20.5]), // good
        item(T + 3 * 365 * 86_400_000, [21]), // 3 years ahead of the clock at the start
        item(1, [21]), // before the stream's newest scored reading (and the item before it)
        item(T + 2000, [null]), // a missing value in a one-channel stream
        item(T + 3000, ['inf']), // not finite
        item(T + 4000, [2e15]), // beyond ±1e15
        item(T + 5000, [21, 22]), // two values for one channel
        item(T + 6000, [21.5]), // good
        item(T + 60_000, [22]), // after the newest time its checkpoint took in
      ]),
      // A whole row of another channel set than the stream's model state: none of it given back, the row deleted now.
      row('pump', ['a', 'b'], [item(T + 1000, [1, 2]), item(T + 2000, [1, 2])]),
    ]);
    const back = subject(new Set(), { room: { takenTs: T + 10_000, channels: ['value'] }, pump: { takenTs: T + 10_000, channels: ['value'] } });
    const log = capturingLogger();
    const kept = new KeptReadings(store, back, log.logger, at({ now: () => T + 20_000, scoredTs: (s) => (s === 'room' ? T : null) }));
    const restored = kept.restore();
    expect(restored).toEqual({
      readings: 2,
      streams: 1,
      rejected: 9,
      byReason: { future_timestamp: 1, out_of_order: 1, missing_value: 1, non_finite: 1, out_of_range: 1, channels: 3, past_checkpoint: 1 },
      lost: 0,
    });
    expect(back.given.map((k) => [k.stream, k.items.map((i) => i.ts - T)])).toEqual([['room', [1000, 6000]]]);
    // Logged once, with the counts (not per item).
    const warned = log.lines.filter((l) => l.level === 40);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ rejected: 9, byReason: { future_timestamp: 1, channels: 3 }, streams: 2 });
    expect(warned[0].msg).toMatch(/^9 readings kept at the last stop were not given back/);
    expect(log.lines.find((l) => l.msg.startsWith('readings kept at the last stop given back'))).toMatchObject({ kept: 2, streams: 1, rejected: 9 });
    // pump's row (nothing to give back) is gone; room's waits for its checkpoint.
    expect(store.loadKeptReadings().map((r) => r.stream)).toEqual(['room']);
    expect([...kept.waiting()]).toEqual(['room']);
    store.close();
  });

  it('a rejected reading takes its fills with it; the next reading is judged after the last one given back', () => {
    const store = open();
    const T = Date.UTC(2026, 11, 5, 12);
    const fill = (ts: number, v: number): StepItem<{ seq: number; index: number }> => ({ kind: 'fill', ts, values: Float64Array.of(v), reset: false, filled: 0, origin: { seq: 1, index: 0 } });
    const reading = (ts: number, v: number, filled = 0): StepItem<{ seq: number; index: number }> => ({ kind: 'reading', ts, values: Float64Array.of(v), reset: false, filled, origin: { seq: 1, index: 0 } });
    new KeptReadings(store, subject(), silent, at()).save(
      [{ stream: 'room', channels: ['value'], items: [reading(T + 1000, 20), fill(T + 2000, 20), reading(T + 3000, Number.NaN, 1), fill(T + 4000, 20), reading(T + 5000, 21, 1)], restate: { ts: T + 3000, arrivals: Float64Array.of(1, 2), mostMissed: 0 } }],
      1,
    );
    const back = subject(new Set(), { room: { takenTs: T + 5000, channels: ['value'] } });
    const restored = new KeptReadings(store, back, silent, at({ now: () => T + 6000, scoredTs: () => T })).restore();
    expect(restored).toMatchObject({ readings: 2, rejected: 1, byReason: { missing_value: 1 } });
    expect(back.given[0].items.map((i) => [i.kind, i.ts - T])).toEqual([
      ['reading', 1000],
      ['fill', 4000],
      ['reading', 5000],
    ]);
    // The arrivals to restate at the rejected reading are not restated at another.
    expect(back.given[0].restate).toBeNull();
    store.close();
  });

  it("the series of the readings given back are written in the transaction that deletes their row: both committed, or neither", () => {
    // commitIntervalMs 60 s: writes wait in the store's open batch until its commit (close), as the daemon's group commit.
    const store = open(60_000);
    const dbPath = store.path;
    new KeptReadings(store, subject(), silent, at()).save([keptOf('boiler', 3)], 1000);
    store.flush();
    const written: string[][] = [];
    const series = new SeriesStore({ persist: store, now: () => NOW });
    const kept = new KeptReadings(store, subject(), silent, at({ writeSeries: (streams) => {
      written.push([...streams]);
      series.writeStreams(streams);
    } }));
    kept.restore();
    // The readings given back are scored (the detector's outputs, recorded by the dashboard's series): one minute, open.
    const t0 = Date.UTC(2026, 11, 5);
    for (let k = 0; k < 3; k++) series.record({ stream: 'boiler', ts: t0 + k * 1000, channels: ['a', 'b'], values: [20 + k, -k], expected: null, spread: null, score: 0, surprise: 0, threshold: 0.99, status: 'ok', anomalyId: null, modelId: null });
    kept.checkpointStore().saveSensorStates([{ sensor: 'boiler', blob: Buffer.from('{}'), updatedAt: 2000 }]);
    expect(written).toEqual([['boiler']]);
    // Another connection (a start after a kill -9 now) sees neither before the commit, then both.
    const look = (): { kept: number; minutes: number } => {
      const other = new Database(dbPath, { readonly: true });
      try {
        return {
          kept: (other.prepare('SELECT COUNT(*) AS n FROM kept_readings').get() as { n: number }).n,
          minutes: (other.prepare("SELECT COALESCE(SUM(count), 0) AS n FROM series_buckets WHERE stream = 'boiler' AND tier = 1").get() as { n: number }).n,
        };
      } finally {
        other.close();
      }
    };
    expect(look()).toEqual({ kept: 1, minutes: 0 });
    store.flush();
    // No series flush of its own ran (it writes once a minute): the checkpoint's commit took the open minute with it.
    expect(look()).toEqual({ kept: 0, minutes: 3 });
    store.close();
  });

  it('a series write that fails keeps the row and the checkpoint out (the transaction rolls back)', () => {
    const store = open();
    new KeptReadings(store, subject(), silent, at()).save([keptOf('boiler', 3)], 1000);
    const kept = new KeptReadings(store, subject(), silent, at({ writeSeries: () => {
      throw new Error('disk I/O error');
    } }));
    kept.restore();
    expect(() => kept.checkpointStore().saveSensorStates([{ sensor: 'boiler', blob: Buffer.from('{}'), updatedAt: 2000 }])).toThrow(/disk I\/O error/);
    expect(store.loadKeptReadings().map((r) => r.stream)).toEqual(['boiler']);
    expect(store.loadSensorState('boiler')).toBeNull();
    store.close();
  });
});

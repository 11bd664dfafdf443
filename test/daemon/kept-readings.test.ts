/**
 * The readings a stop kept unscored (src/daemon/kept-readings.ts) on the real SQLite store: written whole by a stop,
 * given back at the next start in order per stream, and dropped only with the stream's next checkpoint written once
 * they are scored (in that write's transaction), or with the stream forgotten; a row that cannot be read is said lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { KeptReadings, type KeptSubject } from '../../src/daemon/kept-readings.js';
import type { KeptStream } from '../../src/pipeline/kept.js';
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

/** A subject that records what it is given back; `busy` streams say readings of them wait for the model. */
function subject(busy: Set<string> = new Set()): KeptSubject & { given: KeptStream[] } {
  const given: KeptStream[] = [];
  return {
    given,
    busy: (s) => busy.has(s),
    restoreKept: (kept) => {
      given.push(...kept);
      return kept.reduce((n, k) => n + k.items.filter((i) => i.kind !== 'fill').length, 0);
    },
  };
}

/** A stream's kept items: a fill, then `n` readings 1 s apart from `t0`, with a missing channel and marks. */
function keptOf(stream: string, n: number, t0 = Date.UTC(2026, 11, 5)): KeptStream {
  const items = [
    { kind: 'fill' as const, ts: t0 - 1000, values: Float64Array.of(1, 2), reset: false, filled: 0, origin: { seq: 3, index: 0 } },
    ...Array.from({ length: n }, (_, k) => ({
      kind: 'reading' as const,
      ts: t0 + k * 1000,
      values: Float64Array.of(20 + k, k === 1 ? Number.NaN : -k),
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
    const first = new KeptReadings(store, subject(), silent);
    expect(first.save([keptOf('boiler', 3), keptOf('pump', 5)], 1000)).toEqual({ readings: 8, streams: 2 });
    // A later stop replaces them all.
    expect(first.save([keptOf('boiler', 4)], 2000)).toEqual({ readings: 4, streams: 1 });
    const back = subject();
    const log = capturingLogger();
    expect(new KeptReadings(store, back, log.logger).restore()).toEqual({ readings: 4, streams: 1 });
    expect(back.given.map((k) => k.stream)).toEqual(['boiler']);
    const items = back.given[0].items;
    expect(items.map((i) => [i.kind, i.ts - Date.UTC(2026, 11, 5), i.reset, i.filled])).toEqual([
      ['fill', -1000, false, 0],
      ['reading', 0, true, 1],
      ['reading', 1000, false, 0],
      ['reading', 2000, false, 0],
      ['reading', 3000, false, 0],
    ]);
    expect(Array.from(items[2].values)).toEqual([21, Number.NaN]);
    expect(items[3]).toMatchObject({ burst: true, ownQuiet: true, counterReset: { from: 9, to: 1 } });
    expect(items[2]).not.toHaveProperty('burst');
    expect(log.lines.find((l) => l.msg.startsWith('readings kept at the last stop given back'))).toMatchObject({ kept: 4, streams: 1 });
    store.close();
  });

  it("a stream's row goes with its next checkpoint written once its readings are scored, in one transaction; not while they wait", () => {
    const store = open();
    new KeptReadings(store, subject(), silent).save([keptOf('boiler', 3), keptOf('pump', 3)], 1000);
    const busy = new Set(['pump']);
    const kept = new KeptReadings(store, subject(busy), silent);
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
    new KeptReadings(store, subject(), silent).save([keptOf('boiler', 3)], 1000);
    const failing = Object.assign(Object.create(store) as SqliteStore, {
      saveSensorStates: (): void => {
        throw new Error('disk I/O error');
      },
    });
    const checkpoints = new KeptReadings(failing, subject(), silent);
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
      { stream: 'good', items: '{"format":"anomalyd-kept/1","channels":["v"],"items":[{"kind":"reading","ts":5,"values":[null],"reset":false,"filled":0}]}', readings: 1, keptAt: 1 },
    ]);
    const back = subject();
    const log = capturingLogger();
    expect(new KeptReadings(store, back, log.logger).restore()).toEqual({ readings: 1, streams: 1 });
    expect(back.given.map((k) => k.stream)).toEqual(['good']);
    expect(Number.isNaN(back.given[0].items[0].values[0])).toBe(true);
    expect(log.lines.find((l) => l.level === 50)).toMatchObject({ sensor: 'bad', readings: 1 });
    expect(store.loadKeptReadings().map((r) => r.stream)).toEqual(['good']);
    store.close();
  });
});

/**
 * The daemon's view for the HTTP API (src/daemon/http-view.ts) with the real status board and series store:
 * what /api/status and /api/sensors say of a sensor learning its own model, and the surprise as shown.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { OwnModelProgress } from '../../src/contract/own-model.js';
import type { ScoredReading } from '../../src/contract/types.js';
import { daemonView } from '../../src/daemon/http-view.js';
import { otherCellNote } from '../../src/learn/own-model.js';
import { byName } from '../../src/http/view.js';
import { SensorStatusBoard } from '../../src/daemon/sensor-status.js';
import { SeriesStore } from '../../src/pipeline/series.js';

const T0 = Date.UTC(2026, 0, 1);

function reading(stream: string, ts: number, surprise: number, value = 1): ScoredReading {
  return { stream, ts, channels: ['value'], values: [value], expected: null, spread: null, score: 1 - 10 ** -surprise, surprise, threshold: 0.99999, status: 'ok', anomalyId: null, modelId: 'gru' };
}

interface Setup {
  view: ReturnType<typeof daemonView>;
  own: Map<string, OwnModelProgress | null>;
  learningPeriod: Set<string>;
  /** Open episode ids by sensor. */
  open: Map<string, string>;
  series: SeriesStore;
  clock: { now: number };
}

function setup(learningEnabled: boolean, staleAfter = 0, storeOpen?: string[]): Setup {
  const own = new Map<string, OwnModelProgress | null>();
  const learningPeriod = new Set<string>();
  const open = new Map<string, string>();
  const clock = { now: T0 };
  const board = new SensorStatusBoard(
    {
      modelOf: () => 'gru',
      learning: (s) => learningPeriod.has(s),
      openAnomaly: (s) => open.get(s) ?? null,
      ownModel: (s) => own.get(s) ?? null,
      intervalOf: () => 1000,
    },
    { staleAfter, now: () => clock.now, logger: pino({ level: 'silent' }), publish: () => undefined },
  );
  const series = new SeriesStore();
  for (const s of ['newbie', 'pump1', 'fresh']) {
    series.record(reading(s, T0, s === 'pump1' ? 29.1 : 0.3));
    board.arrived(s);
    board.refresh(s, T0);
  }
  const view = daemonView({
    startedAt: T0,
    now: () => T0,
    uptimeMs: () => 0,
    counters: () => ({}),
    rejections: () => ({}) as never,
    defaultModel: () => 'gru',
    modelOf: () => 'gru',
    pinned: (s) => s === 'pump1',
    modelNote: (s) => (s === 'pump1' ? otherCellNote(s, 'gru', 'lstm', 0) : null),
    mqtt: () => ({ url: 'mqtt://x', connected: true }),
    board,
    series,
    unitOf: () => null,
    learningEnabled,
    store: () => {
      if (storeOpen === undefined) throw new Error('closed');
      return { openSensors: () => storeOpen, outboxPending: () => 0, droppedCount: () => 0 } as unknown as ReturnType<Parameters<typeof daemonView>[0]['store']>;
    },
  });
  return { view, own, learningPeriod, open, series, clock };
}

describe('daemonView', () => {
  it('/api/status counts the scored readings the series did not keep, by reason (a message delivered twice: duplicate); readings sharing a time with other values are kept', () => {
    const { view, series } = setup(false);
    expect(view.status().seriesNotKept).toEqual({});
    expect(series.record(reading('pump1', T0, 0.3, 2))).toBe(true);
    expect(series.record(reading('pump1', T0, 0.3, 2))).toBe(false);
    expect(series.record(reading('pump1', T0 - 1, 0.3, 3))).toBe(false);
    expect(view.status().seriesNotKept).toEqual({ duplicate: 1, out_of_order: 1 });
    expect(view.series('pump1', { rangeMs: 3_600_000 })!.value[0]).toEqual([1, 2]);
  });

  it("says how far each sensor's own model is, apart from the scorer's learning period, in /api/sensors and /api/status", () => {
    const { view, own, learningPeriod } = setup(true);
    own.set('newbie', { phase: 'collecting', readings: 1234, needed: 3600 });
    own.set('fresh', { phase: 'training', readings: 3600, needed: 3600 });
    learningPeriod.add('fresh');
    const sensors = view.sensors();
    expect(sensors.map((s) => [s.sensor, s.status, s.ownModel])).toEqual([
      ['fresh', 'learning', { phase: 'training', readings: 3600, needed: 3600 }],
      ['newbie', 'ok', { phase: 'collecting', readings: 1234, needed: 3600 }],
      ['pump1', 'ok', null],
    ]);
    expect(view.status().sensors).toEqual({ total: 3, byStatus: { ok: 2, anomalous: 0, learning: 1, stale: 0 }, openEpisodes: 0, openSensors: [], ownModel: { collecting: 1, queued: 0, training: 1, stopped: 0 }, pinned: 1 });
    // A sensor the operator pinned to its model (tryout 9, finding 8): said in /api/sensors.
    expect(sensors.map((s) => [s.sensor, s.pinned])).toEqual([
      ['fresh', false],
      ['newbie', false],
      ['pump1', true],
    ]);
    // An own model of another cell than model.cell (tryout 39, finding 11): said for that sensor alone.
    expect(sensors.map((s) => [s.sensor, s.modelNote ?? null])).toEqual([
      ['fresh', null],
      ['newbie', null],
      ['pump1', otherCellNote('pump1', 'gru', 'lstm', 0)],
    ]);
    expect(otherCellNote('pump1', 'gru', 'lstm', 0)).toBe(
      "its own gru model, learnt before model.cell was lstm, stays until retrained (learning.retrainIntervalMs is 0, so only with 'anomalyd models rollback pump1 shared --no-pin': the shared lstm model, then a new own lstm model after learning.minReadings readings)",
    );
    expect(otherCellNote('pump1', 'gru', 'lstm', 86_400_000)).toMatch(/^its own gru model, learnt before model\.cell was lstm, stays until retrained \(retrained with model\.cell lstm by learning\.retrainIntervalMs, or at once with 'anomalyd models rollback pump1 shared --no-pin'/);
    expect(otherCellNote('pump1', 'lstm', 'lstm', 0)).toBeNull();
  });

  it('leaves the own-model counts out with learning off, and shows the surprise capped at 16', () => {
    const { view } = setup(false);
    expect(view.status().sensors).toEqual({ total: 3, byStatus: { ok: 3, anomalous: 0, learning: 0, stale: 0 }, openEpisodes: 0, openSensors: [] });
    expect(view.sensors().find((s) => s.sensor === 'pump1')!.surprise).toBe(16);
  });

  it('counts a stale sensor whose silence opened a missing-data episode as an open problem (tryout 13, finding 7)', () => {
    // Only silences open: every sensor stale, none anomalous, yet two have an open episode.
    const { view, open, clock } = setup(false, 5);
    open.set('pump1', 'ep-1');
    open.set('fresh', 'ep-2');
    clock.now = T0 + 60_000;
    expect(view.sensors().map((s) => [s.sensor, s.status, s.openEpisode])).toEqual([
      ['fresh', 'stale', 'ep-2'],
      ['newbie', 'stale', null],
      ['pump1', 'stale', 'ep-1'],
    ]);
    expect(view.status().sensors).toEqual({ total: 3, byStatus: { ok: 0, anomalous: 0, learning: 0, stale: 3 }, openEpisodes: 2, openSensors: ['fresh', 'pump1'] });
  });

  it('counts what the store holds open too, also of a sensor it holds no state of (tryout 16, finding 2)', () => {
    const { view, open } = setup(false, 0, ['gone', 'pump1']);
    open.set('pump1', 'ep-1');
    expect(view.status().sensors).toMatchObject({ total: 3, openEpisodes: 2, openSensors: ['gone', 'pump1'] });
  });

  it('lists sensors by name case-insensitively, not uppercase first', () => {
    const { view, series } = setup(false);
    expect(series.latest('pump1')).not.toBeNull();
    const names = view.sensors().map((s) => s.sensor);
    expect(names).toEqual(['fresh', 'newbie', 'pump1']);
    expect(['boiler', 'Living Room', 'Acurite', 'alpha'].sort(byName)).toEqual(['Acurite', 'alpha', 'boiler', 'Living Room']);
  });

  it("gives a reading's value at full precision: a meter's 20210701 is not 20210700 (tryout 13, finding 7)", () => {
    const { view, series } = setup(false);
    series.record(reading('newbie', T0 + 1000, 0.3, 20210701));
    series.record(reading('pump1', T0 + 1000, 0.3, 123456.101));
    series.record(reading('fresh', T0 + 1000, 0.3, 21.3));
    const value = (name: string): number | null => view.sensors().find((s) => s.sensor === name)?.value ?? null;
    expect(value('newbie')).toBe(20210701);
    expect(value('pump1')).toBe(123456.101);
    expect(value('fresh')).toBe(21.3);
  });
});

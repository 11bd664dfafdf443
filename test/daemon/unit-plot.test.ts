/**
 * A stream whose hub changed its unit is plotted truthfully (tryout 28, finding 10: a Tasmota DS18B20 switched
 * °C → °F; the minute of the change was stored as the mean of 19.5 °C and 67 °F readings, "42", a value that never
 * existed). The series store with a real SQLite file, the SignalBook that notes the change, and the daemon's HTTP view
 * that answers GET /api/sensors/:sensor/series: no minute, quarter-hour or thinned point mixes the two units, across a
 * restart too, and each point says its unit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScoredReading } from '../../src/contract/types.js';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { daemonView } from '../../src/daemon/http-view.js';
import { SensorStatusBoard } from '../../src/daemon/sensor-status.js';
import type { SeriesAnswer } from '../../src/http/view.js';

const silent = pino({ level: 'silent' });
const STREAM = 'tplug/DS18B20.Temperature';
const SEC = 1000;
const MIN = 60 * SEC;
/** A minute-aligned start, 10:00 UTC. */
const T0 = Date.UTC(2026, 11, 3, 10, 0);
/** The hub's change °C → °F: half-way through minute 40, so the minute holds readings of both units. */
const CHANGE = T0 + 40 * MIN + 30 * SEC;
const END = T0 + 50 * MIN;

/** 19.5 °C before the change, 67 °F from it on; the model's expectation follows the new level over 20 readings. */
function reading(ts: number): ScoredReading {
  const after = ts >= CHANGE;
  const wobble = 0.1 * Math.sin(ts / 7000);
  const value = (after ? 67 : 19.5) + wobble;
  const expected = after ? 19.5 + (67 - 19.5) * Math.min(1, (ts - CHANGE) / (20 * SEC)) : 19.5;
  return { stream: STREAM, ts, channels: ['value'], values: [value], expected: [expected], spread: [0.1], score: 0.5, surprise: 0.3, threshold: 0.999, status: 'ok', anomalyId: null, modelId: 'gru' };
}

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openStore(file: string): SqliteStore {
  const store = SqliteStore.open(file, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
  stores.push(store);
  return store;
}

/** The unit the hub states now: °C until the change is noted. */
function book(store: SqliteStore, stated: () => string): SignalBook {
  return new SignalBook({ units: [], timeZone: 'UTC', persist: store, logger: silent, stated, now: () => 0 });
}

/** The daemon's view of `signals` as the daemon builds it (src/daemon.ts: unitOf at the latest reading, unitChangesOf). */
function viewOf(signals: SignalBook): ReturnType<typeof daemonView> {
  const board = new SensorStatusBoard(
    { modelOf: () => 'gru', learning: () => false, openAnomaly: () => null, ownModel: () => null, intervalOf: () => 1000 },
    { staleAfter: 0, now: () => END, logger: silent, publish: () => undefined },
  );
  return daemonView({
    startedAt: T0,
    now: () => END,
    uptimeMs: () => 0,
    counters: () => ({}),
    rejections: () => ({}) as never,
    defaultModel: () => 'gru',
    modelOf: () => 'gru',
    mqtt: () => ({ url: 'mqtt://x', connected: true }),
    board,
    series: signals.series,
    unitOf: (sensor) => signals.unitOf(sensor, signals.series.latest(sensor)?.ts),
    unitChangesOf: (sensor) => signals.unitChangesOf(sensor),
    learningEnabled: false,
    store: () => {
      throw new Error('not asked');
    },
  });
}

/** Every point is in one unit: °C ones read about 19.5 (mean, min, max, expected), °F ones about 67. */
function expectUnmixed(a: SeriesAnswer): void {
  expect(a.unit).toHaveLength(a.ts.length);
  a.ts.forEach((ts, i) => {
    const unit = a.unit![i];
    const nums = [a.value[0][i], a.min[0][i], a.max[0][i]].filter((v): v is number => v !== null);
    expect(nums.length, `point ${new Date(ts).toISOString()}`).toBeGreaterThan(0);
    if (unit === '°C') {
      for (const v of nums) expect(v, `${new Date(ts).toISOString()} °C`).toBeLessThan(20);
      // The band of the readings before the change is the model's °C expectation, not pulled up by the °F after it.
      expect(a.expected[0][i], `${new Date(ts).toISOString()} expected`).toBeLessThan(20);
    } else {
      expect(unit).toBe('°F');
      for (const v of nums) expect(v, `${new Date(ts).toISOString()} °F`).toBeGreaterThan(66);
    }
  });
  // Both units are answered, °C first.
  expect(a.unit![0]).toBe('°C');
  expect(a.unit![a.unit!.length - 1]).toBe('°F');
}

/** Records readings of [from, to) at 1 Hz, noting the hub's change at its reading (as the parser does, before scoring). */
function feed(signals: SignalBook, from: number, to: number, onChange: () => void): void {
  for (let ts = from; ts < to; ts += SEC) {
    if (ts === CHANGE) {
      onChange();
      signals.noteUnitChange(STREAM, ts, '°C', '°F');
    }
    signals.record(reading(ts));
  }
}

describe('a stream whose unit changed, in the series store and the API (tryout 28, finding 10)', () => {
  it('splits the minute and the quarter-hour of the change, stored apart in SQLite; every point of the API says its unit and none averages both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-unitplot-'));
    dirs.push(dir);
    const store = openStore(join(dir, 'a.db'));
    let stated = '°C';
    const signals = book(store, () => stated);
    feed(signals, T0, END, () => (stated = '°F'));
    signals.series.close();

    // The minute of the change is two rows: the readings before it, and those from it on, starting at the change.
    for (const [tier, width] of [[1, MIN], [2, 15 * MIN]] as const) {
      const rows = store.readSeriesBuckets(STREAM, tier, Math.floor(CHANGE / width) * width, CHANGE + width);
      expect(rows.map((r) => r.startTs).slice(0, 2)).toEqual([Math.floor(CHANGE / width) * width, CHANGE]);
      for (const r of rows) {
        const [, min, max] = r.stats;
        expect(max < 20 || min > 66, `tier ${tier} bucket at ${new Date(r.startTs).toISOString()}: ${min} … ${max}`).toBe(true);
      }
    }

    const view = viewOf(signals);
    // 24 h: the minutes. 1 h: the older minutes and the raw readings, thinned to 100 points (30 readings each).
    // 7 d: the quarter-hours.
    for (const q of [{ rangeMs: 24 * 60 * MIN }, { rangeMs: 60 * MIN, maxPoints: 100 }, { rangeMs: 7 * 24 * 60 * MIN }]) {
      const a = view.series(STREAM, q)!;
      expectUnmixed(a);
      expect(a.unitChanges).toEqual([{ ts: CHANGE, from: '°C', to: '°F' }]);
    }
  });

  it('keeps the two parts of the minute apart across a restart within it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-unitplot-'));
    dirs.push(dir);
    const file = join(dir, 'a.db');
    let stated = '°C';
    const store = openStore(file);
    const first = book(store, () => stated);
    // Stopped 15 s after the change: the open minute's second part is written as it is.
    const stop = CHANGE + 15 * SEC;
    feed(first, T0, stop, () => (stated = '°F'));
    const changes = first.unitChangesOf(STREAM);
    first.series.close();
    store.close();
    stores.splice(stores.indexOf(store), 1);

    const again = openStore(file);
    const second = book(again, () => stated);
    // The checkpoint gives the changes back before the first reading (src/daemon.ts restores units at start).
    second.restoreUnitChanges(STREAM, changes);
    feed(second, stop, END, () => undefined);
    second.series.close();

    const rows = again.readSeriesBuckets(STREAM, 1, CHANGE - 30 * SEC, CHANGE + 29 * SEC);
    expect(rows.map((r) => [r.startTs, r.count])).toEqual([
      [CHANGE - 30 * SEC, 30],
      // The part before the stop and the part after it, one bucket of the 30 °F readings.
      [CHANGE, 30],
    ]);
    const a = viewOf(second).series(STREAM, { rangeMs: 24 * 60 * MIN })!;
    expectUnmixed(a);
  });
});

describe('a stream whose hub flaps its unit more often than the changes kept (MAX_UNIT_CHANGES)', () => {
  /** 12 changes, every 2 min from 10:02: °C, °F, °C, … each stretch read at 1 Hz; 19.5 °C or 67 °F. */
  const FLAPS = 12;
  const flapAt = (k: number): number => T0 + 2 * k * MIN;
  const fahrenheit = (ts: number): boolean => Math.floor((ts - T0) / (2 * MIN)) % 2 === 1;
  const run = (signals: SignalBook, from: number, to: number, state: { stated: string }): void => {
    for (let ts = from; ts < to; ts += SEC) {
      const k = Math.floor((ts - T0) / (2 * MIN));
      if (k >= 1 && k <= FLAPS && ts === flapAt(k)) {
        const [was, now] = fahrenheit(ts) ? ['°C', '°F'] : ['°F', '°C'];
        state.stated = now;
        signals.noteUnitChange(STREAM, ts, was, now);
      }
      const r = reading(ts);
      signals.record({ ...r, values: [fahrenheit(ts) ? 67 : 19.5], expected: null, spread: null });
    }
  };
  const expectTruthful = (signals: SignalBook): void => {
    // The 8 newest changes kept (flaps 5 to 12); the readings before flap 4, the newest forgotten, are of no known unit.
    const horizon = flapAt(FLAPS - 8);
    expect(signals.unitChangesOf(STREAM).map((c) => c.ts)).toEqual(Array.from({ length: 8 }, (_, i) => flapAt(FLAPS - 7 + i)));
    expect(signals.unitKnownFromOf(STREAM)).toBe(horizon);
    // An explanation of a reading before it is told in no unit, not in the oldest kept change's `from` (°C here, wrong
    // for flap 3's °F readings); from it on, each in its own.
    expect(signals.unitOf(STREAM, flapAt(3) + 30 * SEC)).toBeNull();
    expect(signals.unitOf(STREAM, flapAt(4) + 30 * SEC)).toBe('°C');
    expect(signals.unitOf(STREAM, flapAt(5) + 30 * SEC)).toBe('°F');
    for (const q of [{ rangeMs: 24 * 60 * MIN }, { rangeMs: 60 * MIN, maxPoints: 10 }, { rangeMs: 7 * 24 * 60 * MIN }]) {
      const a = viewOf(signals).series(STREAM, q)!;
      expect(a.unitKnownFrom).toBe(horizon);
      expect(a.ts.length).toBeGreaterThan(0);
      a.ts.forEach((ts, i) => {
        expect(ts, JSON.stringify(q)).toBeGreaterThanOrEqual(horizon);
        const nums = [a.value[0][i], a.min[0][i], a.max[0][i]].filter((v): v is number => v !== null);
        for (const v of nums) expect(a.unit![i] === '°F' ? v > 66 : a.unit![i] === '°C' && v < 20, `${JSON.stringify(q)} ${new Date(ts).toISOString()} ${v} ${a.unit![i]}`).toBe(true);
      });
    }
  };

  it('forgets the oldest changes and the unit of the readings before them: none told or plotted in a wrong unit, across a restart too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-unitflap-'));
    dirs.push(dir);
    const file = join(dir, 'a.db');
    const state = { stated: '°C' };
    const store = openStore(file);
    const first = book(store, () => state.stated);
    run(first, T0, flapAt(FLAPS) + 2 * MIN, state);
    expectTruthful(first);
    const changes = first.unitChangesOf(STREAM);
    const knownFrom = first.unitKnownFromOf(STREAM);
    first.series.close();
    store.close();
    stores.splice(stores.indexOf(store), 1);

    // After a restart: the changes and the horizon from the checkpoint (src/daemon.ts statedUnits), the minutes from SQLite.
    const again = openStore(file);
    const second = book(again, () => state.stated);
    second.restoreUnitChanges(STREAM, changes, knownFrom);
    expectTruthful(second);
  });
});

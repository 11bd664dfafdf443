import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Reading, Window } from '../../src/contract/types.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { windowReadings, Windower, type WindowOptions } from '../../src/pipeline/window.js';

const T0 = Date.UTC(2026, 0, 1);
const VALUE = ['value'];

function opts(over: Partial<WindowOptions> = {}): WindowOptions {
  return { length: 8, hop: 2, intervalMs: 1000, maxFillSteps: 2, gapResetMs: 60_000, ...over };
}

function reading(ts: number, value: number, sensor = 's'): Reading {
  return { sensor, ts, channels: VALUE, values: [value] };
}

/** Pushes readings and collects every window, then flushes if asked. */
function run(w: Windower, rs: readonly Reading[], flush = false): Window[] {
  const out: Window[] = [];
  for (const r of rs) out.push(...(w.push(r) ?? []));
  if (flush) out.push(...w.flush());
  return out;
}

function series(n: number, f: (i: number) => number = (i) => i + 1, interval = 1000, sensor = 's'): Reading[] {
  return Array.from({ length: n }, (_, i) => reading(T0 + i * interval, f(i), sensor));
}

function valid(w: Window): number[] {
  return Array.from(w.data.subarray(0, w.validLength * w.channels.length));
}

describe('Windower', () => {
  it('emits growing, right-padded windows every hop steps from the start', () => {
    const ws = run(new Windower(opts()), series(6));
    expect(ws.map((w) => w.validLength)).toEqual([2, 4, 6]);
    const [first] = ws;
    expect(first.resetState).toBe(true);
    expect(ws.slice(1).every((w) => !w.resetState)).toBe(true);
    expect(first.maxLen).toBe(8);
    expect(first.data).toHaveLength(8);
    expect(Array.from(first.data)).toEqual([1, 2, 0, 0, 0, 0, 0, 0]);
    expect(first.paddedFraction).toBeCloseTo(6 / 8);
    expect(ws.map((w) => w.advance)).toEqual([0, 0, 0]); // still growing: the next window starts at the same step
    expect(ws.map((w) => [w.startTs, w.endTs])).toEqual([
      [T0, T0 + 1000],
      [T0, T0 + 3000],
      [T0, T0 + 5000],
    ]);
    expect(ws.map((w) => w.seq)).toEqual([0, 1, 2]);
  });

  it('slides full windows by hop in steady state, advancing by hop', () => {
    const ws = run(new Windower(opts({ length: 8, hop: 3 })), series(30));
    const full = ws.filter((w) => w.validLength === 8);
    expect(full.length).toBeGreaterThan(3);
    for (const w of full) {
      expect(w.paddedFraction).toBe(0);
      expect(w.advance).toBe(3);
      const expected = Array.from({ length: 8 }, (_, t) => (w.startTs - T0) / 1000 + 1 + t);
      expect(Array.from(w.data)).toEqual(expected);
      expect(w.endTs - w.startTs).toBe(7000);
    }
    for (let i = 1; i < ws.length; i++) expect(ws[i].endTs - ws[i - 1].endTs).toBe(3000);
    // the window just before the first full one already hands over the steps the full one no longer has
    const k = ws.indexOf(full[0]);
    expect(ws[k - 1].validLength).toBe(6);
    expect(ws[k - 1].advance).toBe(1);
  });

  it('emits one window per hop new steps', () => {
    for (const hop of [1, 4, 8]) {
      expect(run(new Windower(opts({ length: 8, hop })), series(40))).toHaveLength(Math.floor(40 / hop));
    }
  });

  it('fills short gaps by linear interpolation and counts them', () => {
    const rs = [reading(T0, 10), reading(T0 + 1000, 20), reading(T0 + 4000, 50), reading(T0 + 5000, 60)];
    const ws = run(new Windower(opts({ length: 8, hop: 6, maxFillSteps: 2 })), rs);
    expect(ws).toHaveLength(1);
    expect(valid(ws[0])).toEqual([10, 20, 30, 40, 50, 60]);
    expect(ws[0].filledSteps).toBe(2);
    expect(ws[0].endTs).toBe(T0 + 5000);
  });

  it('snaps jittered readings to the grid and averages readings sharing a step', () => {
    const rs = [reading(T0, 1), reading(T0 + 1400, 2), reading(T0 + 1600, 4), reading(T0 + 2600, 9), reading(T0 + 3100, 7), reading(T0 + 4000, 5)];
    // steps: 0, 1 (1.4), 2 (1.6), 3 (2.6), 3 (3.1: shares step 3), 4
    const ws = run(new Windower(opts({ length: 8, hop: 5 })), rs);
    expect(ws).toHaveLength(1);
    expect(valid(ws[0])).toEqual([1, 2, 4, 8, 5]);
    expect(ws[0].endTs).toBe(T0 + 4000);
  });

  it('starts a new padded segment after a gap longer than maxFillSteps, resetting only beyond gapResetMs', () => {
    const w = new Windower(opts({ length: 4, hop: 2, maxFillSteps: 1, gapResetMs: 10_000 }));
    const a = series(4); // steps 0..3
    const b = [reading(T0 + 8000, 100), reading(T0 + 9000, 101)]; // 4 s gap: new segment, no reset
    const c = [reading(T0 + 30_000, 200), reading(T0 + 31_000, 201), reading(T0 + 32_000, 202)]; // 21 s gap: reset
    const ws = run(w, [...a, ...b, ...c]);
    expect(ws.map((x) => [valid(x), x.advance, x.resetState])).toEqual([
      [[1, 2], 0, true],
      [[1, 2, 3, 4], 2, false],
      [[3, 4], 2, false], // tail of segment a: the state has consumed steps 0..1 only
      [[100, 101], 0, false],
      [[100, 101], 2, false], // tail of segment b (it never grew past the first window)
      [[200, 201], 0, true],
    ]);
    const tail = w.flush();
    expect(tail).toHaveLength(1);
    expect(valid(tail[0])).toEqual([200, 201, 202]);
    expect(tail[0].advance).toBe(3);
    expect(tail[0].resetState).toBe(false);
    expect(w.flush()).toEqual([]); // nothing left
  });

  it('emits a tail window for steps no window has covered when a segment ends', () => {
    const w = new Windower(opts({ length: 4, hop: 4, maxFillSteps: 0 }));
    const ws = run(w, [...series(6), reading(T0 + 20_000, 99)]);
    // window at step 4 (advance 4: hop = W), then the gap ends the segment: tail over steps 4..5
    expect(ws.map((x) => [valid(x), x.advance])).toEqual([
      [[1, 2, 3, 4], 4],
      [[5, 6], 2],
    ]);
    expect(ws[1].startTs).toBe(T0 + 4000);
  });

  it('ends idle segments on request, so a silent sensor still gets its tail', () => {
    const w = new Windower(opts({ length: 4, hop: 4, gapResetMs: 60_000 }));
    run(w, [...series(5), reading(T0 + 4000, 1, 'other')]);
    expect(w.flushIdle(T0 + 4000 + 30_000, 30_000)).toEqual([]); // exactly idleMs old: not yet
    const tails = w.flushIdle(T0 + 4001 + 30_000, 30_000);
    expect(tails.map((x) => [x.sensor, valid(x), x.advance])).toEqual([
      ['s', [5], 1],
      ['other', [1], 1],
    ]);
    expect(w.flushIdle(T0 + 100_000, 30_000)).toEqual([]);
    // the next reading after a long silence starts over with a reset; after a short one without
    const [next] = run(w, [reading(T0 + 70_000, 7), reading(T0 + 71_000, 8), reading(T0 + 72_000, 9), reading(T0 + 73_000, 10)]);
    expect(next.resetState).toBe(true);
    expect(valid(next)).toEqual([7, 8, 9, 10]);
    const [other] = run(w, [1, 2, 3, 4].map((i) => reading(T0 + 40_000 + i * 1000, i, 'other')));
    expect(other.resetState).toBe(false);
  });

  it('learns the interval as the median of the first 8 intervals', () => {
    const w = new Windower(opts({ intervalMs: 0, length: 4, hop: 4 }));
    const jitter = [0, 5, -5, 0, 0, 5, 0, 0, 0, 10, -10, 0]; // intervals 255 240 255 250 255 245 250 250: median 250
    const rs = jitter.map((j, i) => reading(T0 + i * 250 + j, i));
    const before = run(w, rs.slice(0, 8));
    expect(before).toEqual([]); // held back until 8 intervals are known
    expect(w.intervalOf('s')).toBe(0);
    const after = run(w, rs.slice(8));
    expect(w.intervalOf('s')).toBe(250);
    expect(after.map(valid)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(after[0].resetState).toBe(true);
    expect(after[0].startTs).toBe(T0);
  });

  it('lays out several channels time-major', () => {
    const ch = ['a', 'b'];
    const rs: Reading[] = [0, 1, 2].map((i) => ({ sensor: 'm', ts: T0 + i * 1000, channels: ch, values: [i, 10 * i] }));
    const [w] = run(new Windower(opts({ length: 4, hop: 3 })), rs);
    expect(w.channels).toEqual(ch);
    expect(Array.from(w.data)).toEqual([0, 0, 1, 10, 2, 20, 0, 0]);
  });

  it('keeps sensors apart', () => {
    const w = new Windower(opts({ length: 4, hop: 2 }));
    const ws = run(w, [reading(T0, 1, 'x'), reading(T0, 100, 'y'), reading(T0 + 1000, 2, 'x'), reading(T0 + 1000, 200, 'y')]);
    expect(ws.map((x) => [x.sensor, valid(x), x.seq])).toEqual([
      ['x', [1, 2], 0],
      ['y', [100, 200], 0],
    ]);
  });

  it('cuts a parsed burst into the same windows as single readings', () => {
    const now = T0 + 100_000;
    const parser = new MessageParser({
      sensorOf: () => 'burst',
      maxPayloadBytes: 1 << 16,
      maxFutureMs: 0,
      outOfOrderToleranceMs: 0,
      maxReadingsPerMessage: 1000,
      longBurst: 'split',
      window: 8,
    });
    const values = Array.from({ length: 37 }, (_, i) => Math.sin(i / 3));
    const r = parser.parse({ topic: 't', payload: Buffer.from(JSON.stringify({ values, interval_ms: 100 })), receivedAt: now });
    if (r.kind !== 'readings') throw new Error('burst rejected');
    const fromBurst = run(new Windower(opts({ intervalMs: 100, length: 8, hop: 4 })), r.readings, true);
    const singles = values.map((v, i) => ({ sensor: 'burst', ts: now - (36 - i) * 100, channels: VALUE, values: [v] }));
    const fromSingles = run(new Windower(opts({ intervalMs: 100, length: 8, hop: 4 })), singles, true);
    expect(fromBurst).toEqual(fromSingles);
    expect(fromBurst).toHaveLength(10); // 9 regular windows + a tail for the last step
    expect(fromBurst[9].endTs).toBe(now);
  });

  it.each([
    [16, 4],
    [16, 16],
    [16, 5],
    [16, 1],
    [1, 1],
  ])('W=%i hop=%i: the windows\' leading `advance` steps concatenate to the stream exactly', (length, hop) => {
    const n = 997;
    const rs = series(n, (i) => Math.round(1000 * Math.sin(i * 0.37) + i)); // integers: exact in float32
    const ws = run(new Windower(opts({ length, hop })), rs, true);
    const replay: number[] = [];
    for (const w of ws) {
      expect(w.advance).toBeGreaterThanOrEqual(0);
      expect(w.advance).toBeLessThanOrEqual(w.validLength);
      replay.push(...Array.from(w.data.subarray(0, w.advance)));
      expect(Array.from(w.data.subarray(w.validLength))).toEqual(new Array(length - w.validLength).fill(0));
    }
    expect(replay).toEqual(rs.map((r) => r.values[0]));
  });

  it('keeps the advance invariant across segments: tails hand over every step exactly once', () => {
    // 600 readings in runs of 50 separated by 20 s gaps (too long to fill, too short to reset)
    const rs = Array.from({ length: 600 }, (_, i) => reading(T0 + i * 1000 + Math.floor(i / 50) * 20_000, i));
    const ws = run(new Windower(opts({ length: 16, hop: 6, maxFillSteps: 2, gapResetMs: 60_000 })), rs, true);
    const replay = ws.flatMap((w) => Array.from(w.data.subarray(0, w.advance)));
    expect(replay).toEqual(rs.map((r) => r.values[0]));
    expect(ws.filter((w) => w.resetState)).toHaveLength(1);
    expect(ws.filter((w) => w.validLength === 16).length).toBeGreaterThan(0);
  });

  it('validates its options', () => {
    expect(() => new Windower(opts({ hop: 9, length: 8 }))).toThrow(/hop/);
    expect(() => new Windower(opts({ length: 0 }))).toThrow(/length/);
    expect(() => new Windower(opts({ intervalMs: -1 }))).toThrow(/intervalMs/);
  });
});

describe('windowReadings (marbles)', () => {
  const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('emits a window every hop readings and a tail on completion', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: reading(T0, 1), b: reading(T0 + 1000, 2), c: reading(T0 + 1000 * 2, 3), d: reading(T0 + 3000, 4), e: reading(T0 + 4000, 5) };
      const source = cold('-a-b-c-d-e-|', values);
      const win = (data: number[], validLength: number, advance: number, seq: number, start: number, end: number): Window => ({
        sensor: 's',
        channels: VALUE,
        startTs: T0 + start * 1000,
        endTs: T0 + end * 1000,
        maxLen: 4,
        validLength,
        data: Float32Array.from(data),
        paddedFraction: (4 - validLength) / 4,
        advance,
        resetState: seq === 0,
        filledSteps: 0,
        seq,
      });
      const expected = {
        x: win([1, 2, 0, 0], 2, 0, 0, 0, 1),
        y: win([1, 2, 3, 4], 4, 2, 1, 0, 3),
        z: win([3, 4, 5, 0], 3, 3, 2, 2, 4), // tail: from the carried step 2 to the end, all of it advanced
      };
      const out = source.pipe(windowReadings(new Windower(opts({ length: 4, hop: 2 }))));
      expectObservable(out).toBe('---x---y---(z|)', expected);
      expectSubscriptions(source.subscriptions).toBe('^----------!');
    });
  });

  it('passes errors through and unsubscribes from the source', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-#', { a: reading(T0, 1) });
      expectObservable(source.pipe(windowReadings(new Windower(opts())))).toBe('---#');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});

describe('Windower snapshot/restore', () => {
  /** Jittered readings with same-step duplicates, short (filled) gaps and a long (resetting) gap. */
  function messyStream(n: number, sensor = 's'): Reading[] {
    const out: Reading[] = [];
    let ts = T0;
    for (let i = 0; i < n; i++) {
      if (i === 23) ts += 2_000; // filled gap
      if (i === 41) ts += 120_000; // new segment with a reset
      if (i % 17 === 5) out.push(reading(ts + 200, -i, sensor)); // same-step duplicate: merged
      out.push(reading(ts + ((i * 37) % 7) * 40, Math.sin(i) * 10 + i, sensor));
      ts += 1000;
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  function roundTrip(w: Windower, sensor: string): unknown {
    return JSON.parse(JSON.stringify(w.snapshot(sensor))) as unknown;
  }

  it.each([0, 1000])('continues exactly as without a restart at every split point (intervalMs %i)', (intervalMs) => {
    const o = opts({ length: 6, hop: 2, intervalMs, gapResetMs: 60_000 });
    const rs = messyStream(60);
    const whole = run(new Windower(o), rs, true);
    for (let k = 1; k < rs.length; k++) {
      const before = new Windower(o);
      const first = run(before, rs.slice(0, k));
      const after = new Windower(o);
      after.restore('s', roundTrip(before, 's'));
      const rest = run(after, rs.slice(k), true);
      expect([...first, ...rest]).toEqual(whole);
    }
  });

  it('returns null for an unknown sensor and restores sensors independently', () => {
    const o = opts();
    const w = new Windower(o);
    expect(w.snapshot('nobody')).toBeNull();
    run(w, [...series(5, (i) => i, 1000, 'a'), ...series(3, (i) => 10 * i, 1000, 'b')]);
    const other = new Windower(o);
    other.restore('a', roundTrip(w, 'a'));
    expect(other.snapshot('a')).toEqual(w.snapshot('a'));
    expect(other.snapshot('b')).toBeNull();
  });

  it('refuses a snapshot taken under other window options or a malformed one, keeping the sensor as it was', () => {
    const w = new Windower(opts({ length: 8, hop: 2 }));
    run(w, series(10));
    const snap = roundTrip(w, 's') as Record<string, unknown>;
    expect(() => new Windower(opts({ length: 8, hop: 4 })).restore('s', snap)).toThrow(/other window options/);
    expect(() => new Windower(opts({ length: 4, hop: 2 })).restore('s', snap)).toThrow(/other window options/);
    const target = new Windower(opts({ length: 8, hop: 2 }));
    expect(() => target.restore('s', { ...snap, ring: [1, 2] })).toThrow(/ring/);
    expect(() => target.restore('s', { ...snap, sinceWindow: 2 })).toThrow(/sinceWindow/);
    expect(() => target.restore('s', { ...snap, channels: [] })).toThrow(/channels/);
    expect(() => target.restore('s', null)).toThrow(/not an object/);
    expect(target.snapshot('s')).toBeNull();
  });
});

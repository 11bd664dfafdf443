import { describe, expect, it } from 'vitest';
import { MAX_STREAMS, MIN_BATCH, MIN_RUN, OutOfOrderRuns, QUIET_MS, outOfOrderRunText } from '../../src/pipeline/out-of-order-runs.js';

const T0 = Date.UTC(2026, 11, 1, 10);
const MIN = 60_000;

/** `n` readings of `stream` rejected out_of_order, one a minute from `from`. */
function reject(runs: OutOfOrderRuns, stream: string, n: number, from = T0): void {
  for (let i = 0; i < n; i++) runs.rejected(stream, from + i * MIN);
}

describe('OutOfOrderRuns', () => {
  it('tells a run of MIN_RUN or more, ended by a taken reading, with its count and time range; a shorter run not at all', () => {
    const runs = new OutOfOrderRuns();
    reject(runs, 'gw/temp', 30);
    reject(runs, 'gw/hum', MIN_RUN - 1);
    expect(runs.active).toBe(true);
    runs.taken('gw/temp');
    runs.taken('gw/hum');
    expect(runs.active).toBe(false);
    expect(runs.drain(T0)).toEqual([{ stream: 'gw/temp', count: 30, firstTs: T0, lastTs: T0 + 29 * MIN, unwarned: 0, batch: false }]);
    expect(runs.drain(T0 + 1)).toEqual([]);
  });

  it('a taken reading in between starts a new run: readings in a row, not in all', () => {
    const runs = new OutOfOrderRuns();
    for (let i = 0; i < 5; i++) {
      reject(runs, 's', MIN_RUN - 1);
      runs.taken('s');
    }
    expect(runs.drain(T0)).toEqual([]);
  });

  it('tells a run that stopped growing between two drains (a flush over before the next live reading)', () => {
    const runs = new OutOfOrderRuns();
    reject(runs, 's', 12);
    expect(runs.drain(T0)).toEqual([]); // still growing as far as this drain knows
    reject(runs, 's', 3, T0 + 12 * MIN);
    expect(runs.drain(T0 + 2000)).toEqual([]);
    expect(runs.drain(T0 + 4000)).toMatchObject([{ stream: 's', count: 15, firstTs: T0, lastTs: T0 + 14 * MIN }]);
  });

  it('warns once per stream per hour; the runs in between are counted into the next warning', () => {
    const runs = new OutOfOrderRuns();
    reject(runs, 's', 20);
    runs.taken('s');
    expect(runs.drain(T0)).toHaveLength(1);
    for (const n of [10, 15]) {
      reject(runs, 's', n);
      runs.taken('s');
      expect(runs.drain(T0 + 10 * MIN)).toEqual([]);
    }
    reject(runs, 'other', 10);
    runs.taken('other');
    expect(runs.drain(T0 + 20 * MIN)).toMatchObject([{ stream: 'other', count: 10 }]);
    reject(runs, 's', 11);
    runs.taken('s');
    const [next] = runs.drain(T0 + QUIET_MS);
    expect(next).toMatchObject({ stream: 's', count: 11, unwarned: 25 });
    expect(outOfOrderRunText(next)).toContain('25 more were lost in such runs since the last warning');
  });

  it('tells a slow run once it holds MIN_RUN readings (a device whose clock stepped back, one reading a minute), and counts the rest into the next warning', () => {
    const runs = new OutOfOrderRuns();
    const told: number[] = [];
    // One rejection a minute, drains every 2 s: the run pauses between its readings.
    for (let m = 0; m < 40; m++) {
      runs.rejected('slow', T0 + m * MIN);
      for (const at of [1, 2]) told.push(...runs.drain(T0 + m * MIN + at * 2000).map((r) => r.count));
    }
    expect(told).toEqual([MIN_RUN]);
    runs.taken('slow');
    expect(runs.drain(T0 + 41 * MIN)).toEqual([]);
    reject(runs, 'slow', 12, T0 + 50 * MIN);
    runs.taken('slow');
    expect(runs.drain(T0 + 41 * MIN + QUIET_MS)).toMatchObject([{ stream: 'slow', count: 12, unwarned: 40 - MIN_RUN }]);
  });

  it('forgets a run that has not grown for QUIET_MS (a stream gone quiet): memory stays bounded', () => {
    const runs = new OutOfOrderRuns();
    reject(runs, 'gone', 3);
    runs.drain(T0);
    expect(runs.drain(T0 + QUIET_MS - 1)).toEqual([]);
    expect(runs.active).toBe(true);
    expect(runs.drain(T0 + QUIET_MS)).toEqual([]);
    expect(runs.active).toBe(false);
  });

  it('ends the runs in progress at stop', () => {
    const runs = new OutOfOrderRuns();
    reject(runs, 's', 10);
    runs.endAll();
    expect(runs.drain(T0)).toMatchObject([{ stream: 's', count: 10 }]);
  });

  it('says the stream, how many, the time range, the likely cause and the remedy', () => {
    const text = outOfOrderRunText({ stream: 'gw1/temp', count: 30, firstTs: T0, lastTs: T0 + 29 * MIN, unwarned: 0, batch: false });
    expect(text).toBe(
      "out_of_order run: 30 readings of gw1/temp rejected out_of_order in a row (times 2026-12-01T10:00:00.000Z to 2026-12-01T10:29:00.000Z), older than the stream's newest reading, and lost: " +
        'each stream is judged in time order and a judged reading cannot be judged again. ' +
        'Likely a gateway that sent a live reading before flushing its buffer of older readings (or a device clock that stepped back). ' +
        "Remedy: have the gateway send its buffer before the live reading, or in one message with it (a JSON array: a message's readings are taken in time order); " +
        "history sent after a stream's live readings is lost the same way " +
        '(docs/DEPLOY.md, "Loading history": anomalyd replay judges it offline) (told once per stream per hour)',
    );
  });

  it('tells a gateway buffer of a few readings sent in one message after a live one, however short (tryout 38, finding 13)', () => {
    const runs = new OutOfOrderRuns();
    // live2.sh: soil0's live reading, then its buffer of 3 readings 60, 40 and 20 min older in one JSON array.
    for (const ago of [60, 40, 20]) runs.rejected('soil0/moisture', T0 - ago * MIN, 3);
    // The same few readings one message each (a clock that stepped back for a moment) stay a count only.
    for (const ago of [60, 40, 20]) runs.rejected('other', T0 - ago * MIN, 1);
    runs.taken('soil0/moisture');
    runs.taken('other');
    const told = runs.drain(T0);
    expect(told).toEqual([{ stream: 'soil0/moisture', count: 3, firstTs: T0 - 60 * MIN, lastTs: T0 - 20 * MIN, unwarned: 0, batch: true }]);
    expect(MIN_BATCH).toBe(2);
    expect(outOfOrderRunText(told[0])).toMatch(/^out_of_order run: 3 readings of soil0\/moisture rejected out_of_order in a batch of older readings sent after a newer one .* Remedy: have the gateway send its buffer before the live reading, or in one message with it/);
    // Paused (no reading taken since), it is told at the next drain that finds it not growing.
    runs.rejected('paused', T0 - MIN, 2);
    runs.rejected('paused', T0 - 2 * MIN, 2);
    expect(runs.drain(T0 + 1000)).toEqual([]);
    expect(runs.drain(T0 + 3000)).toMatchObject([{ stream: 'paused', count: 2, batch: true }]);
  });

  it('watches at most MAX_STREAMS streams at once', () => {
    const runs = new OutOfOrderRuns();
    for (let s = 0; s < MAX_STREAMS + 50; s++) reject(runs, `s${s}`, MIN_RUN);
    runs.endAll();
    expect(runs.drain(T0)).toHaveLength(MAX_STREAMS);
  });
});

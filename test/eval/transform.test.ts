import { describe, expect, it } from 'vitest';
import type { EvalStream, StreamRow } from '../../src/eval/stream.js';
import { mapStream, nominalIntervalMs, rescaleRows, rescaleStream, runStarts, shortHistory, TIME_SCALES } from '../../src/eval/transform.js';

const T0 = Date.UTC(2020, 0, 1);
const CH = Object.freeze(['value']);

function rows(n: number, intervalMs = 1000): StreamRow[] {
  return Array.from({ length: n }, (_, i) => ({ sensor: 's', ts: T0 + i * intervalMs, channels: CH, values: [Math.sin(i / 10)] }));
}

/** 2,000 rows, learn 400, score from 500, labelled runs at 800–819 and 1500–1500. */
function stream(): EvalStream {
  const labels = new Uint8Array(2000);
  labels.fill(1, 800, 820);
  labels[1500] = 1;
  return {
    dataset: 'test',
    file: 'f',
    rows: rows(2000),
    learnRows: 400,
    scoreFrom: 500,
    labels,
    windows: [
      { start: 250, end: 350 },
      { start: 950, end: 1050 },
    ],
  };
}

describe('rescaleRows (the time-scale test)', () => {
  const input = rows(5000);
  const out = rescaleRows(input, { intervalMs: TIME_SCALES['1m'], seed: 3 });

  it('re-stamps readings one interval apart, each within ±2 % of its slot, values untouched', () => {
    expect(nominalIntervalMs(input)).toBe(1000);
    let worst = 0;
    let sameValues = true;
    for (let j = 0; j < out.rows.length; j++) {
      const i = out.source[j];
      sameValues &&= out.rows[j].values === input[i].values;
      worst = Math.max(worst, Math.abs(out.rows[j].ts - (T0 + i * 60_000)));
    }
    expect(sameValues).toBe(true);
    expect(worst).toBeLessThanOrEqual(0.02 * 60_000 + 1);
    expect(worst).toBeGreaterThan(0.01 * 60_000); // there is jitter
    expect(out.source[0]).toBe(0);
  });

  it('drops 1 % of the readings and delivers a few twice, with the same timestamp, right after the first', () => {
    const kept = new Set(out.source);
    expect(input.length - kept.size).toBe(50);
    const twice = out.source.filter((s, j) => j > 0 && out.source[j - 1] === s);
    expect(twice.length).toBe(5); // max(3, 0.1 % of 5,000)
    for (let j = 1; j < out.rows.length; j++) {
      if (out.source[j] === out.source[j - 1]) expect(out.rows[j].ts).toBe(out.rows[j - 1].ts);
      else expect(out.rows[j].ts).toBeGreaterThan(out.rows[j - 1].ts);
    }
  });

  it('is deterministic per seed', () => {
    const again = rescaleRows(input, { intervalMs: TIME_SCALES['1m'], seed: 3 });
    expect(again.source).toEqual(out.source);
    expect(again.rows.map((r) => r.ts)).toEqual(out.rows.map((r) => r.ts));
    const other = rescaleRows(input, { intervalMs: TIME_SCALES['1m'], seed: 4 });
    expect(other.source).not.toEqual(out.source);
  });

  it('scales the stream’s own gaps and keeps each sensor’s times increasing', () => {
    const gappy = [...rows(10), ...rows(10).map((r) => ({ ...r, ts: r.ts + 100_000 }))];
    const r = rescaleRows(gappy, { intervalMs: 3_600_000, drop: 0, duplicates: 0 });
    expect(r.rows[10].ts - r.rows[9].ts).toBeGreaterThan(80 * 3_600_000);
    const two = rows(100).map((x, i) => ({ ...x, sensor: i % 2 === 0 ? 'a' : 'b', ts: T0 + Math.floor(i / 2) * 1000 }));
    const t = rescaleRows(two, { intervalMs: 60_000, drop: 0, duplicates: 0 });
    for (const s of ['a', 'b']) {
      const ts = t.rows.filter((x) => x.sensor === s).map((x) => x.ts);
      for (let i = 1; i < ts.length; i++) expect(ts[i] - ts[i - 1]).toBeGreaterThan(0.9 * 60_000);
    }
  });

  it('never drops a row it is told to keep', () => {
    const keep = (i: number): boolean => i % 2 === 0;
    const r = rescaleRows(input, { intervalMs: 1000, drop: 0.3, keep });
    const kept = new Set(r.source);
    for (let i = 0; i < input.length; i += 2) expect(kept.has(i)).toBe(true);
    expect(kept.size).toBe(input.length - 1500);
  });

  it('keeps a new recording where it begins: a dropped first row passes its mark to the next kept row; a copy delivered twice is no second one', () => {
    const marked = rows(3000).map((r, i) => (i % 100 === 50 ? { ...r, newRecording: true } : r));
    const t = rescaleRows(marked, { intervalMs: TIME_SCALES['1m'], seed: 5, drop: 0.2, duplicates: 300 });
    // Per input row marked, the first output row from it or later carries the mark; no other output row does.
    const expected = new Set<number>();
    for (let i = 50; i < 3000; i += 100) expected.add(t.source.findIndex((s) => s >= i));
    const got = t.rows.flatMap((r, j) => (r.newRecording === true ? [j] : []));
    expect(got).toEqual([...expected].sort((a, b) => a - b));
    // The case is exercised: some marked rows were dropped, some delivered twice.
    expect(got.some((j) => t.source[j] % 100 !== 50)).toBe(true);
    expect(got.some((j) => t.source[j + 1] === t.source[j])).toBe(true);
  });

  it('rejects bad options', () => {
    expect(() => rescaleRows(input, { intervalMs: 0 })).toThrow(/intervalMs must be > 0/);
    expect(() => rescaleRows(input, { intervalMs: 1000, jitter: 2 })).toThrow(/jitter/);
    expect(() => rescaleRows(input, { intervalMs: 1000, drop: -1 })).toThrow(/drop/);
  });
});

describe('mapStream and rescaleStream', () => {
  it('carry labels, the learning and scoring boundaries and the windows to the transformed rows', () => {
    const s = stream();
    const t = rescaleStream(s, TIME_SCALES['5m'], 2);
    expect(t.rows.length).toBe(2000 - 20 + 3);
    expect(t.source!.length).toBe(t.rows.length);
    for (let j = 0; j < t.rows.length; j++) expect(t.labels[j]).toBe(s.labels[t.source![j]]);
    expect(t.source![t.learnRows]).toBeGreaterThanOrEqual(400);
    expect(t.source![t.learnRows - 1]).toBeLessThan(400);
    expect(t.source![t.scoreFrom]).toBeGreaterThanOrEqual(500);
    expect(t.source![t.scoreFrom - 1]).toBeLessThan(500);
    // Each window covers exactly the transformed rows whose source is in the original window.
    for (const [k, w] of t.windows.entries()) {
      const o = s.windows[k];
      for (let j = t.scoreFrom; j < t.rows.length; j++) {
        const inside = t.source![j] - s.scoreFrom >= o.start && t.source![j] - s.scoreFrom <= o.end;
        expect(inside).toBe(j - t.scoreFrom >= w.start && j - t.scoreFrom <= w.end);
      }
    }
    // The first reading of every labelled anomaly survives.
    const kept = new Set(t.source);
    for (const start of runStarts(s.labels)) expect(kept.has(start)).toBe(true);
  });

  it('composes sources: a transform of a transform still points at the original rows', () => {
    const s = stream();
    const once = rescaleStream(s, 60_000, 1);
    const twice = mapStream(once, { rows: once.rows.slice(0, 10), source: Int32Array.from({ length: 10 }, (_, j) => j) });
    expect(Array.from(twice.source!)).toEqual(Array.from(once.source!.slice(0, 10)));
  });
});

describe('shortHistory', () => {
  it('learns from the first N rows only and scores the same rows', () => {
    const s = stream();
    const short = shortHistory(s, 150);
    expect(short.learnRows).toBe(150);
    expect(short.scoreFrom).toBe(500);
    expect(short.windows).toBe(s.windows);
    expect(shortHistory(s, 1000).learnRows).toBe(400);
    expect(() => shortHistory(s, -1)).toThrow(/learnRows/);
  });
});

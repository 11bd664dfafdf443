/**
 * The new normal by evidence (issue 10; src/pipeline/segment.ts): a lasting change is accepted once a learning
 * period of its readings (score.learnReadings, counted in readings) is one stable level, not after a fixed count,
 * and the same reading at any sampling rate; a change that keeps moving is held to alerts.newNormalAfter as before.
 */
import { describe, expect, it } from 'vitest';
import { detect, normal, type ReadingOutput } from './detector-helpers.js';

/** The shipped episode lengths: a learning period of 256 readings, the new normal at the latest after 1,000. */
const SCORER = { threshold: 0.99999, learnReadings: 256, newNormalAfter: 1000 } as const;

const at = (out: readonly ReadingOutput[], kind: 'open' | 'resolve'): number[] => out.flatMap((o, i) => (o.events.some((e) => e.kind === kind) ? [i] : []));
const resolutions = (out: readonly ReadingOutput[]): (string | undefined)[] => out.flatMap((o) => o.events.filter((e) => e.kind === 'resolve').map((e) => e.resolution));

describe('the new normal by evidence', () => {
  it('a lasting shift of 6 sd that holds one level is the new normal once its own learning period of readings is one level, at the same reading 1 s and 1 min apart', async () => {
    const z = normal(41);
    const rows = Array.from({ length: 4000 }, (_, i) => [10 + z() + (i >= 2000 ? 6 : 0)]);
    const ends: number[] = [];
    for (const intervalMs of [1000, 60_000]) {
      // Learnt from its first 400 readings (known normal): its own learning period, longer than learnReadings.
      const out = await detect(rows, { knownNormal: 400, intervalMs, scorer: SCORER });
      const opens = at(out, 'open');
      const resolves = at(out, 'resolve');
      expect(opens[0]).toBeGreaterThanOrEqual(2000);
      expect(opens[0] - 2000).toBeLessThan(4);
      expect(resolutions(out)[0]).toBe('new_normal');
      // Its learning period of readings after the onset (25 blocks of 16), a few blocks more while the onset's
      // block leaves the span: well before newNormalAfter (on main: the 1,000th reading of the episode).
      expect(resolves[0] - opens[0]).toBeGreaterThanOrEqual(400 - 1);
      expect(resolves[0] - opens[0]).toBeLessThan(400 + 4 * 16);
      // The new level is normal from then on: nothing opens again.
      expect(opens.filter((i) => i > resolves[0])).toEqual([]);
      ends.push(resolves[0]);
    }
    expect(ends[1]).toBe(ends[0]);
  });

  it('a drift that goes on is no stable level: held to newNormalAfter readings, as before', async () => {
    // A step of 6 sd at 2000 that goes on drifting, +0.01 sd a reading: 2.56 sd over a learning period, a ramp,
    // never one level.
    const z = normal(42);
    const rows = Array.from({ length: 3400 }, (_, i) => [10 + z() + (i >= 2000 ? 6 + 0.01 * (i - 2000) : 0)]);
    const out = await detect(rows, { knownNormal: 1000, scorer: SCORER });
    const opens = at(out, 'open');
    const resolves = at(out, 'resolve');
    expect(opens.length).toBeGreaterThan(0);
    expect(resolutions(out)[0]).toBe('new_normal');
    expect(resolves[0] - opens[0]).toBe(SCORER.newNormalAfter - 1);
  });

  it('a stuck value after a shift is never the new normal, however long it holds one level', async () => {
    // A shift of 6 sd for 100 readings, then the sensor repeats its last value for 1,500 readings.
    const z = normal(43);
    const rows: number[][] = Array.from({ length: 2100 }, (_, i) => [10 + z() + (i >= 2000 ? 6 : 0)]);
    const last = rows[2099][0];
    for (let i = 0; i < 1500; i++) rows.push([last]);
    const out = await detect(rows, { knownNormal: 1000, scorer: SCORER });
    expect(resolutions(out).filter((r) => r === 'new_normal')).toEqual([]);
    expect(out.slice(2100).every((o) => o.reading.status === 'anomalous')).toBe(true);
  });
});

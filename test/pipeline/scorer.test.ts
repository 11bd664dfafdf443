import { describe, expect, it } from 'vitest';
import { alarmed, detect, normal } from './detector-helpers.js';

const THRESHOLD = 4; // surprise of the test options' threshold 0.9999

describe('StreamScorer: stuck', () => {
  it('flags a noisy signal that freezes within a few readings, by its stuck evidence', async () => {
    const z = normal(11);
    const rows: number[][] = [];
    for (let i = 0; i < 2000; i++) rows.push([20 + z()]);
    const frozen = rows[rows.length - 1][0];
    for (let i = 0; i < 200; i++) rows.push([frozen]);
    const out = await detect(rows, { knownNormal: 500 });
    const first = alarmed(out).find((i) => i >= 2000);
    expect(first).toBeDefined();
    expect(first! - 2000).toBeLessThan(8);
    expect(out[first!].deviationEvidence.stuck).toBeGreaterThanOrEqual(THRESHOLD);
  });

  it('does not flag a signal that is flat by nature, nor a plateau no longer than those seen before', async () => {
    // A duty cycle: plateaus of 150 to 400 readings at one of two values (no noise).
    const u = normal(12);
    const rows: number[][] = [];
    let level = 0;
    while (rows.length < 6000) {
      const len = 150 + Math.floor(250 * Math.abs(Math.tanh(u())));
      for (let i = 0; i < len; i++) rows.push([level]);
      level = 1 - level;
    }
    const out = await detect(rows, { knownNormal: 2000 });
    const stuck = out.slice(2000).map((o) => o.deviationEvidence.stuck);
    expect(Math.max(...stuck.filter((s) => !Number.isNaN(s)))).toBeLessThan(THRESHOLD);
    // A constant stream: no run ever ends, and being constant is never stuck.
    const flat = await detect(Array.from({ length: 3000 }, () => [7.5]), { knownNormal: 500 });
    expect(flat.every((o) => !(o.deviationEvidence.stuck >= 1))).toBe(true);
    expect(alarmed(flat)).toEqual([]);
  });
});

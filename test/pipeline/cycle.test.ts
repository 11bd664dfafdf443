import { describe, expect, it } from 'vitest';
import { CycleProfile, MAX_PERIOD } from '../../src/pipeline/cycle.js';
import { normal } from './detector-helpers.js';

describe('CycleProfile: the ring of held readings', () => {
  it('grows by half as readings come and holds the last 2 · MAX_PERIOD in order, across each growth and wrap, filled steps included', () => {
    const z = normal(5);
    const p = new CycleProfile();
    // What a fixed ring of 2 · MAX_PERIOD would hold: every value pushed, the last 2048 of them.
    const all: number[] = [];
    const checks = new Set([1, 2, 63, 64, 65, 96, 97, 144, 145, 320, 1641, 1642, 2047, 2048, 2049, 2600, 5000]);
    for (let i = 1; all.length < 5000; i++) {
      const x = 10 * Math.sin((2 * Math.PI * i) / 40) + z();
      // Every 37th reading comes after two filled steps (holding the value before them).
      const filled = i % 37 === 0 && all.length > 0 ? 2 : 0;
      for (let k = 0; k < filled; k++) all.push(all[all.length - 1]);
      all.push(x);
      p.advance(x, filled, false);
      const n = all.length;
      if (![...checks].some((c) => c <= n && c > n - 1 - filled)) continue;
      const held = Math.min(n, 2 * MAX_PERIOD);
      expect(Array.from(p.readings())).toEqual(all.slice(n - held));
      // Room for at most half as many again as it holds (64 at the first growth), never beyond 2 · MAX_PERIOD.
      if (n >= 2) expect(p.capacity).toBeLessThanOrEqual(Math.max(64, Math.ceil(1.5 * held)));
      expect(p.capacity).toBeLessThanOrEqual(2 * MAX_PERIOD);
      expect(p.capacity).toBeGreaterThanOrEqual(n >= 2 ? held : 0);
    }
    expect(p.period).toBeGreaterThan(0);
  });

  it('a restored profile holds the same readings and expects the same values as the one it was saved from', () => {
    const z = normal(6);
    const a = new CycleProfile();
    for (let i = 0; i < 700; i++) a.advance(5 * Math.sin((2 * Math.PI * i) / 30) + 0.1 * z(), 0, false);
    const b = CycleProfile.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(Array.from(b.readings())).toEqual(Array.from(a.readings()));
    for (let i = 700; i < 1600; i++) {
      expect(b.expected()).toBe(a.expected());
      const x = 5 * Math.sin((2 * Math.PI * i) / 30) + 0.1 * z();
      a.teach(x, 3);
      b.teach(x, 3);
      a.advance(x, 0, false);
      b.advance(x, 0, false);
    }
    expect(b.period).toBe(a.period);
    expect(Array.from(b.readings())).toEqual(Array.from(a.readings()));
  });
});

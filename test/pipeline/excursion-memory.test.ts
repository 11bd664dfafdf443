/**
 * The level excursion's ring of held block means is sized by what the stream has held (src/pipeline/excursion.ts
 * MEANS_FIRST, doubled up to RING), not made whole (RING = 256 block means, 2 kB) at its first block.
 *
 * Finding (mem1000, BENCHMARKS.md): a heap snapshot of the daemon after 1,000 sensors × 128 readings held 3.5 kB a
 * stream in LevelExcursion, 2 kB of it this ring with a few of its 256 places used (a block is `span` readings). Every
 * tracker of that shape (fewer than RING blocks held) paid for the whole ring.
 *
 * What could fail: a young stream's buffer is RING long (main); a tracker whose buffer grew, wrapped, or was restored
 * from a checkpoint at any size (just below, at and just above each doubling and the wrap) tells anything, at any
 * reading, that one fed straight through does not, or checkpoints differently.
 */
import { describe, expect, it } from 'vitest';
import { LevelExcursion } from '../../src/pipeline/excursion.js';
import { normal } from './detector-helpers.js';

const SPAN = 31;
const LEARN = 256;
const T0 = Date.UTC(2026, 11, 4, 8);

/** The tracker's buffer of held block means (private; null before its first block). */
const buffer = (t: LevelExcursion): Float64Array | null => (t as unknown as { means: Float64Array | null }).means;

/**
 * 21 + N(0, 0.1) to 0.01 over 12,600 readings (406 blocks), steady (every block held: the ring fills and wraps) or
 * drifting +12 over 10,800 readings from reading 1,800 (told; its blocks beyond the envelope are not held).
 */
function stream(kind: 'steady' | 'drift', seed: number): number[] {
  const g = normal(seed * 1000 + 7);
  return Array.from({ length: 12_600 }, (_, k) => Math.round((21 + 0.1 * g() + (kind === 'drift' && k >= 1800 ? (12 * (k - 1799)) / 10_800 : 0)) * 100) / 100);
}

describe('level excursion: the held block means’ buffer', () => {
  it('holds a young stream’s few blocks in a small buffer, not the 256 of a full ring', () => {
    const xs = stream('steady', 1);
    const t = new LevelExcursion(SPAN, 0);
    expect(buffer(t)).toBeNull();
    // 128 readings: 4 blocks of 31; 496 readings: 16.
    xs.slice(0, 496).forEach((x, k) => {
      t.update(x, true, k < LEARN, 0.01, T0 + k * 1000);
      if (k === 127) expect(buffer(t)!.length).toBeLessThanOrEqual(16);
    });
    expect(buffer(t)!.length).toBe(16);
    xs.slice(496).forEach((x, k) => t.update(x, true, k + 496 < LEARN, 0.01, T0 + (k + 496) * 1000));
    // Past 256 blocks the ring is full and wraps.
    expect(buffer(t)!.length).toBe(256);
  });

  it('tells the same at every reading, and checkpoints the same, across each growth, the wrap and restores at any size', () => {
    for (const [kind, seed] of [['steady', 2], ['drift', 2], ['drift', 3]] as const) {
      const xs = stream(kind, seed);
      const a = new LevelExcursion(SPAN, 0);
      let b = new LevelExcursion(SPAN, 0);
      // Block ends (k + 1 a multiple of 31) just below, at and just above each doubling (16, 32, 64, 128) and the wrap (256).
      const restoreAt = new Set([15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 300].map((blocks) => blocks * SPAN - 1));
      const sizes = new Set<number>();
      const da: string[] = [];
      const db: string[] = [];
      const state = (t: LevelExcursion): string => JSON.stringify([t.drifting, t.told, t.growing(33)]);
      xs.forEach((x, k) => {
        a.update(x, true, k < LEARN, 0.01, T0 + k * 1000);
        b.update(x, true, k < LEARN, 0.01, T0 + k * 1000);
        if (restoreAt.has(k)) {
          const saved = b.toJSON();
          expect(JSON.stringify(saved)).toBe(JSON.stringify(a.toJSON()));
          b = LevelExcursion.fromJSON(JSON.parse(JSON.stringify(saved)) as ReturnType<LevelExcursion['toJSON']>);
        }
        sizes.add(buffer(b)?.length ?? 0);
        da.push(state(a));
        db.push(state(b));
      });
      expect(db).toEqual(da);
      expect(JSON.stringify(b.toJSON())).toBe(JSON.stringify(a.toJSON()));
      // The drift was told; the steady stream's buffer went through every size on its way to the full ring.
      expect(da.some((s) => s.startsWith('[true'))).toBe(kind === 'drift');
      if (kind === 'steady') expect([...sizes].filter((n) => n > 0).sort((p, q) => p - q)).toEqual([16, 32, 64, 128, 256]);
    }
  });
});

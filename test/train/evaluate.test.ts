import { describe, expect, it } from 'vitest';
import { evaluateCarried, evaluateRanges } from '../../src/train/evaluate.js';
import { mulberry32 } from '../../src/train/rng.js';
import { initParams } from '../../src/train/seq2seq.js';

const T = 8;
const hop = 2;

function series(rows: number, C: number, seed: number): Float64Array {
  const rng = mulberry32(seed);
  return Float64Array.from({ length: rows * C }, (_, i) => Math.sin(i / 7) + 0.3 * (rng() - 0.5));
}

describe('evaluateRanges', () => {
  const p = initParams({ cell: 'lstm', channels: 2, hidden: 5 }, mulberry32(1));
  const z = series(120, 2, 2);

  it('is evaluateCarried for a single range', () => {
    const one = evaluateRanges(p, z, [{ from: 10, to: 90 }], T, hop, 0.5);
    const direct = evaluateCarried(p, z, 10, 90, T, hop, 0.5);
    expect(one).toEqual(direct);
  });

  it('starts every range from a zero state and pools the windows and predictions', () => {
    const ranges = [{ from: 0, to: 40 }, { from: 40, to: 57 }, { from: 60, to: 120 }];
    const pooled = evaluateRanges(p, z, ranges, T, hop, 0.5);
    const parts = ranges.map((r) => evaluateCarried(p, z, r.from, r.to, T, hop, 0.5));
    expect(Array.from(pooled.starts)).toEqual(parts.flatMap((e) => Array.from(e.starts)));
    // Same errors as each range alone: no state carried across a range boundary.
    expect(Array.from(pooled.reconErrors)).toEqual(parts.flatMap((e) => Array.from(e.reconErrors)));
    expect(Array.from(pooled.channelErrors)).toEqual(parts.flatMap((e) => Array.from(e.channelErrors)));
    // ...whereas carrying state across them would differ.
    const carried = evaluateCarried(p, z, 0, 120, T, hop, 0.5);
    const at60 = Array.from(carried.starts).indexOf(60);
    expect(carried.reconErrors[at60]).not.toBe(pooled.reconErrors[Array.from(pooled.starts).indexOf(60)]);

    const windows = pooled.starts.length;
    const recon = pooled.reconErrors.reduce((a, b) => a + b, 0) / windows;
    expect(pooled.reconLoss).toBeCloseTo(recon, 12);
    expect(pooled.predictions).toBe(parts.reduce((n, e) => n + e.predictions, 0));
    // A range's last window has no next reading inside its range.
    expect(pooled.predictions).toBeLessThan(windows);
    const pred = parts.reduce((a, e) => a + e.predLoss * e.predictions, 0) / pooled.predictions;
    expect(pooled.loss).toBeCloseTo(recon + 0.5 * pred, 12);
  });

  it('skips ranges too short for a window', () => {
    const r = evaluateRanges(p, z, [{ from: 0, to: 5 }, { from: 5, to: 30 }], T, hop, 0.5);
    expect(Array.from(r.starts)).toEqual(Array.from(evaluateCarried(p, z, 5, 30, T, hop, 0.5).starts));
    expect(evaluateRanges(p, z, [{ from: 0, to: 5 }, { from: 6, to: 9 }], T, hop, 0.5).loss).toBe(0);
  });
});

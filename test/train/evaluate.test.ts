import { describe, expect, it } from 'vitest';
import { evaluateCarried, evaluateRanges } from '../../src/train/evaluate.js';
import { mulberry32 } from '../../src/train/rng.js';
import { forwardWindow, initParams } from '../../src/train/seq2seq.js';

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

describe('evaluateCarried', () => {
  // The reference steps window by window with forwardWindow, each from the previous one's carry, with
  // no reuse of overlapping encoder steps; evaluateCarried reuses them and must agree exactly.
  function reference(cell: 'gru' | 'lstm', z: Float64Array, C: number, hop_: number): number[] {
    const p = initParams({ cell, channels: C, hidden: 5 }, mulberry32(3));
    const rows = z.length / C;
    const errors: number[] = [];
    let h: Float64Array | null = null;
    let c: Float64Array | null = null;
    for (let start = 0; start + T <= rows; start += hop_) {
      const x = z.subarray(start * C, (start + T) * C);
      const out = forwardWindow(p, x, T, T, Math.min(hop_, T), h, c);
      // Summed per channel, then over channels, as the detector's per-channel errors are.
      let s = 0;
      for (let ch = 0; ch < C; ch++) {
        let sc = 0;
        for (let t = 0; t < T; t++) sc += (out.recon[t * C + ch] - x[t * C + ch]) ** 2;
        s += sc;
      }
      errors.push(s / (T * C));
      h = out.hCarry;
      c = out.cCarry;
    }
    return errors;
  }

  it.each([
    ['gru', 1],
    ['gru', 3],
    ['lstm', 2],
    ['lstm', T],
  ] as const)('%s with hop %i equals stepping window by window with the carried state', (cell, hop_) => {
    const C = 2;
    const z = series(41, C, 4);
    const p = initParams({ cell, channels: C, hidden: 5 }, mulberry32(3));
    const got = evaluateCarried(p, z, 0, 41, T, hop_, 0.5);
    const want = reference(cell, z, C, hop_);
    expect(got.starts.length).toBe(want.length);
    expect(Array.from(got.reconErrors)).toEqual(want);
  });
});

import { describe, expect, it } from 'vitest';
import { evaluateStream, type StreamRange } from '../../src/train/evaluate.js';
import { mulberry32 } from '../../src/train/rng.js';
import { decodeState, initParams, stepSequence, type Seq2SeqParams64 } from '../../src/train/seq2seq.js';

const W = 8;

function series(rows: number, C: number, seed: number): Float64Array {
  const rng = mulberry32(seed);
  return Float64Array.from({ length: rows * C }, (_, i) => Math.sin(i / 7) + 0.3 * (rng() - 0.5));
}

interface Expected {
  decodeEnds: number[];
  decodeLengths: number[];
  reconErrors: number[];
  predErrors: number[];
}

/**
 * The detector's way, transcribed with the port references only: step one reading at a time from zero at
 * burnFrom (stepSequence), predict the next reading at every scored step, and every hop scored steps decode
 * min(W, steps since the reset) from the state (decodeState, most recent step first).
 */
function reference(p: Seq2SeqParams64, z: Float64Array, r: StreamRange, hop: number): Expected {
  const C = p.channels;
  const out: Expected = { decodeEnds: [], decodeLengths: [], reconErrors: [], predErrors: [] };
  let h: Float64Array | null = null;
  let c: Float64Array | null = null;
  for (let t = r.burnFrom; t < r.to; t++) {
    const s = stepSequence(p, z.subarray(t * C, (t + 1) * C), 1, h, c);
    h = s.h;
    c = s.c;
    if (t < r.from) continue;
    if (t + 1 < r.to) {
      let e = 0;
      for (let ch = 0; ch < C; ch++) e += (s.preds[ch] - z[(t + 1) * C + ch]) ** 2;
      out.predErrors.push(e / C);
    }
    if ((t + 1 - r.from) % hop === 0) {
      const n = Math.min(W, t + 1 - r.burnFrom);
      const recon = decodeState(p, h, c, n);
      let e = 0;
      for (let k = 0; k < n; k++) for (let ch = 0; ch < C; ch++) e += (recon[k * C + ch] - z[(t - k) * C + ch]) ** 2;
      out.decodeEnds.push(t + 1);
      out.decodeLengths.push(n);
      out.reconErrors.push(e / (n * C));
    }
  }
  return out;
}

function close(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i]), `[${i}]`).toBeLessThan(1e-12 * Math.max(1, Math.abs(expected[i])));
}

describe.each<['gru' | 'lstm', number, number]>([
  ['gru', 1, 1],
  ['gru', 2, 3],
  ['lstm', 2, 2],
  ['lstm', 1, W],
])('evaluateStream (%s, %i channels, hop %i)', (cell, C, hop) => {
  const p = initParams({ cell, channels: C, hidden: 5 }, mulberry32(3));
  const z = series(60, C, 4);

  it('steps one reading at a time with the carried state, predicts every step and reconstructs every hop steps', () => {
    for (const r of [{ burnFrom: 0, from: 0, to: 41 }, { burnFrom: 10, from: 16, to: 60 }, { burnFrom: 20, from: 20, to: 23 }]) {
      const got = evaluateStream(p, z, [r], W, hop, 0.5);
      const want = reference(p, z, r, hop);
      expect(Array.from(got.decodeEnds)).toEqual(want.decodeEnds);
      expect(Array.from(got.decodeLengths)).toEqual(want.decodeLengths);
      close(got.reconErrors, want.reconErrors);
      close(got.predErrors, want.predErrors);
    }
  });

  it('starts every range from a zero state and pools the reconstructions and predictions', () => {
    const ranges = [{ burnFrom: 0, from: 5, to: 30 }, { burnFrom: 30, from: 38, to: 60 }];
    const pooled = evaluateStream(p, z, ranges, W, hop, 0.5);
    const parts = ranges.map((r) => reference(p, z, r, hop));
    close(pooled.reconErrors, parts.flatMap((e) => e.reconErrors));
    close(pooled.predErrors, parts.flatMap((e) => e.predErrors));
    expect(Array.from(pooled.decodeEnds)).toEqual(parts.flatMap((e) => e.decodeEnds));
    // reconLoss pools squared errors over steps; predLoss averages the per-step errors.
    const lengths = parts.flatMap((e) => e.decodeLengths);
    const errors = parts.flatMap((e) => e.reconErrors);
    const recon = errors.reduce((s, e, k) => s + e * lengths[k], 0) / lengths.reduce((a, b) => a + b, 0);
    const preds = parts.flatMap((e) => e.predErrors);
    const pred = preds.reduce((a, b) => a + b, 0) / preds.length;
    expect(pooled.reconLoss).toBeCloseTo(recon, 12);
    expect(pooled.predLoss).toBeCloseTo(pred, 12);
    expect(pooled.loss).toBeCloseTo(recon + 0.5 * pred, 12);
    // ...whereas carrying the state across the boundary would differ.
    const carried = evaluateStream(p, z, [{ burnFrom: 0, from: 5, to: 60 }], W, hop, 0.5);
    expect(carried.predErrors[carried.predErrors.length - 1]).not.toBe(pooled.predErrors[pooled.predErrors.length - 1]);
  });

  it('gives per-channel errors that average to the reconstruction error', () => {
    const got = evaluateStream(p, z, [{ burnFrom: 0, from: 0, to: 40 }], W, hop, 0.5);
    for (let k = 0; k < got.reconErrors.length; k++) {
      let s = 0;
      for (let ch = 0; ch < C; ch++) s += got.channelErrors[k * C + ch];
      expect(s / C).toBeCloseTo(got.reconErrors[k], 12);
    }
  });
});

describe('evaluateStream input checks', () => {
  const p = initParams({ cell: 'gru', channels: 1, hidden: 3 }, mulberry32(1));
  it('rejects ranges outside the series and burn-ins after the range', () => {
    const z = series(20, 1, 1);
    expect(() => evaluateStream(p, z, [{ burnFrom: 0, from: 0, to: 21 }], W, 2, 0)).toThrow(/does not fit a series of 20 rows/);
    expect(() => evaluateStream(p, z, [{ burnFrom: 5, from: 4, to: 10 }], W, 2, 0)).toThrow(/does not fit/);
    expect(() => evaluateStream(p, z, [], 0, 2, 0)).toThrow(/positive integers/);
    expect(evaluateStream(p, z, [], W, 2, 0.5).loss).toBe(0);
  });
});

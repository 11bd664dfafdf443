/** Shared fixtures for the model and onnx-runner tests: seeded parameters, sidecars and batch packing. */
import type { SidecarInput } from '../../src/model/onnx-export.js';
import type { CellKind, Seq2SeqParams } from '../../src/model/spec.js';
import { mulberry32, type Rng } from '../../src/train/rng.js';
import { initParams, PARAM_NAMES, toSeq2SeqParams } from '../../src/train/seq2seq.js';

/**
 * The trainer's initialisation plus random biases everywhere: with zero biases a swapped Wb/Rb or a
 * misplaced gate bias would go unnoticed.
 */
export function randomParams(cell: CellKind, channels: number, hidden: number, seed: number): Seq2SeqParams {
  const rng = mulberry32(seed);
  const p = initParams({ cell, channels, hidden }, rng);
  for (const name of PARAM_NAMES) {
    if (name.endsWith('b') || name.endsWith('B')) {
      const a = p[name];
      for (let i = 0; i < a.length; i++) a[i] = rng() - 0.5;
    }
  }
  return toSeq2SeqParams(p);
}

export function uniform(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng() - 1) * scale;
  return a;
}

export function sidecarInput(p: Seq2SeqParams, name: string, window: number): SidecarInput {
  const channels = Array.from({ length: p.channels }, (_, i) => `ch${i}`);
  return {
    name,
    cell: p.cell,
    hidden: p.hidden,
    channels,
    window,
    hop: Math.max(1, Math.floor(window / 4)),
    normalisation: { mean: channels.map(() => 0.5), std: channels.map(() => 2) },
    calibration: {
      recon: { logErrMean: -3, logErrStd: 0.7, quantiles: { p50: -3, p99: -1.4 }, count: 10 },
      pred: { logErrMean: -2.5, logErrStd: 0.9, quantiles: { p50: -2.5, p99: -0.4 }, count: 60 },
      threshold: 0.99,
    },
    training: {
      source: 'fixture.csv', rows: 1000, trainWindows: 40, valWindows: 10, epochs: 3,
      finalTrainLoss: 0.2, finalValLoss: 0.25, initialValLoss: 1.1, seed: 7, seconds: 1.5,
    },
  };
}

/** One sensor's window as the reference sees it: x is [T, C] time-major; padding beyond L. */
export interface Row {
  readonly x: Float32Array;
  readonly L: number;
  readonly carry: number;
  readonly h0: Float32Array;
  readonly c0: Float32Array | null;
}

export interface PackedBatch {
  readonly x: Float32Array;
  readonly seqLens: BigInt64Array;
  readonly carryLens: BigInt64Array;
  readonly h0: Float32Array;
  readonly c0?: Float32Array;
  readonly B: number;
  readonly T: number;
}

/** Rows -> the graph's time-major [T, B, C] layout and [B, H] states. */
export function pack(rows: readonly Row[], T: number, C: number, H: number): PackedBatch {
  const B = rows.length;
  const x = new Float32Array(T * B * C);
  rows.forEach((r, b) => {
    for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) x[(t * B + b) * C + c] = r.x[t * C + c];
  });
  const h0 = new Float32Array(B * H);
  rows.forEach((r, b) => h0.set(r.h0, b * H));
  const lstm = rows.some((r) => r.c0 !== null);
  const c0 = new Float32Array(B * H);
  rows.forEach((r, b) => c0.set(r.c0 ?? new Float32Array(H), b * H));
  return {
    x, B, T, h0,
    seqLens: BigInt64Array.from(rows, (r) => BigInt(r.L)),
    carryLens: BigInt64Array.from(rows, (r) => BigInt(r.carry)),
    ...(lstm ? { c0 } : {}),
  };
}

/** Row b of a time-major [T, B, C] output, as [T, C]. */
export function unpackRow(y: Float32Array, T: number, B: number, C: number, b: number): Float32Array {
  const out = new Float32Array(T * C);
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) out[t * C + c] = y[(t * B + b) * C + c];
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, n = Math.max(a.length, b.length)): number {
  if (a.length < n || b.length < n) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

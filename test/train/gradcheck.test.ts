import { describe, expect, it } from 'vitest';
import type { CellKind } from '../../src/model/spec.js';
import { batchGradient, batchLoss, createBackwardScratch, type WindowItem } from '../../src/train/backprop.js';
import { mulberry32 } from '../../src/train/rng.js';
import { PARAM_NAMES, createWorkspace, forwardWindow, initParams, stepSequence, zeroParams, type Seq2SeqParams64 } from '../../src/train/seq2seq.js';

const C = 2;
const T = 5;
const PRED_WEIGHT = 0.7;

function randomModel(cell: CellKind, H: number, seed: number): Seq2SeqParams64 {
  const rng = mulberry32(seed);
  const p = initParams({ cell, channels: C, hidden: H }, rng);
  // Larger weights and non-zero biases so that no gate sits in a flat, trivially-checked regime.
  for (const name of PARAM_NAMES) {
    const a = p[name];
    for (let i = 0; i < a.length; i++) a[i] += 0.6 * (2 * rng() - 1);
  }
  return p;
}

function randomState(rng: () => number, H: number): Float64Array {
  return Float64Array.from({ length: H }, () => 2 * rng() - 1);
}

interface Case {
  readonly name: string;
  readonly items: (rng: () => number, H: number) => WindowItem[];
}

const cases: Case[] = [
  {
    name: 'full windows from zero state',
    items: () => [
      { start: 0, length: T, hasNext: true, h0: null, c0: null },
      { start: 3, length: T, hasNext: true, h0: null, c0: null },
    ],
  },
  {
    name: 'padded windows (L < T), one without a next reading',
    items: () => [
      { start: 1, length: 2, hasNext: true, h0: null, c0: null },
      { start: 4, length: T, hasNext: true, h0: null, c0: null },
      { start: 9, length: 3, hasNext: false, h0: null, c0: null },
    ],
  },
  {
    name: 'non-zero h0/c0 with padding',
    items: (rng, H) => [
      { start: 0, length: T, hasNext: true, h0: randomState(rng, H), c0: randomState(rng, H) },
      { start: 2, length: 1, hasNext: true, h0: randomState(rng, H), c0: randomState(rng, H) },
      { start: 6, length: 4, hasNext: true, h0: randomState(rng, H), c0: randomState(rng, H) },
    ],
  },
  {
    // Per-step prediction targets: none for a one-step window without a next reading, all but the last for
    // a full window without one; an odd count so one window runs alone after the lockstep pairs.
    name: 'non-zero h0/c0, masks and windows without a next reading',
    items: (rng, H) => [
      { start: 8, length: T, hasNext: false, h0: randomState(rng, H), c0: randomState(rng, H) },
      { start: 12, length: 1, hasNext: false, h0: randomState(rng, H), c0: randomState(rng, H) },
      { start: 3, length: 3, hasNext: true, h0: null, c0: null },
      { start: 0, length: 2, hasNext: false, h0: randomState(rng, H), c0: randomState(rng, H) },
      { start: 5, length: T, hasNext: true, h0: randomState(rng, H), c0: randomState(rng, H) },
    ],
  },
];

/**
 * The loss of docs/MODEL.md written with the references of the graphs: the window's masked reconstruction
 * (forwardWindow) and the per-step predictions (stepSequence), each step predicting the next row, the last
 * one only when the next row exists.
 */
function documentedLoss(p: Seq2SeqParams64, series: Float64Array, items: readonly WindowItem[]): { recon: number; pred: number } {
  let reconSum = 0;
  let steps = 0;
  let predSum = 0;
  let targets = 0;
  for (const it of items) {
    const x = series.subarray(it.start * C, (it.start + it.length) * C);
    const win = forwardWindow(p, x, it.length, it.length, it.length, it.h0, it.c0);
    for (let i = 0; i < it.length * C; i++) reconSum += (win.recon[i] - x[i]) ** 2;
    steps += it.length;
    const st = stepSequence(p, x, it.length, it.h0, it.c0);
    const n = it.length - 1 + (it.hasNext ? 1 : 0);
    for (let t = 0; t < n; t++) for (let c = 0; c < C; c++) predSum += (st.preds[t * C + c] - series[(it.start + t + 1) * C + c]) ** 2;
    targets += n;
  }
  return { recon: reconSum / (C * steps), pred: predSum / (C * targets) };
}

// H = 3 runs the kernels' edge paths only; H = 6 also their blocked paths (4 hidden units, 2 gate rows at a time).
describe.each<[CellKind, number]>([
  ['gru', 3],
  ['lstm', 3],
  ['gru', 6],
  ['lstm', 6],
])('BPTT gradients (%s, hidden %i) against central finite differences', (cell, H) => {
  it.each(cases)('$name', ({ items: makeItems }) => {
    const rng = mulberry32(cell === 'gru' ? 5 : 6);
    const p = randomModel(cell, H, cell === 'gru' ? 1 : 2);
    const series = Float64Array.from({ length: 13 * C }, () => 2 * rng() - 1);
    const items = makeItems(rng, H);
    const ws = createWorkspace(p, T);
    const grads = zeroParams(p);
    const analytic = batchGradient(p, grads, ws, createBackwardScratch(H, C), series, items, PRED_WEIGHT);
    expect(analytic.loss).toBeCloseTo(batchLoss(p, ws, series, items, PRED_WEIGHT).loss, 12);
    expect(analytic.pred).toBeGreaterThan(0);
    const documented = documentedLoss(p, series, items);
    expect(analytic.recon).toBeCloseTo(documented.recon, 12);
    expect(analytic.pred).toBeCloseTo(documented.pred, 12);
    expect(analytic.loss).toBeCloseTo(documented.recon + PRED_WEIGHT * documented.pred, 12);

    const eps = 1e-6;
    for (const name of PARAM_NAMES) {
      const a = p[name];
      const numeric = new Float64Array(a.length);
      for (let i = 0; i < a.length; i++) {
        const saved = a[i];
        a[i] = saved + eps;
        const up = batchLoss(p, ws, series, items, PRED_WEIGHT).loss;
        a[i] = saved - eps;
        const down = batchLoss(p, ws, series, items, PRED_WEIGHT).loss;
        a[i] = saved;
        numeric[i] = (up - down) / (2 * eps);
      }
      const g = grads[name];
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < a.length; i++) {
        diff += (g[i] - numeric[i]) ** 2;
        norm += g[i] ** 2 + numeric[i] ** 2;
        // Element-wise as well, with an absolute floor for entries that are (near) zero.
        expect(Math.abs(g[i] - numeric[i]), `${name}[${i}]`).toBeLessThan(1e-4 * Math.max(Math.abs(numeric[i]), 1e-3));
      }
      expect(norm, `${name} has a non-zero gradient`).toBeGreaterThan(0);
      expect(Math.sqrt(diff / norm), name).toBeLessThan(1e-4);
    }
  });
});

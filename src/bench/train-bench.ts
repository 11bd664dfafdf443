/**
 * Training throughput of the float64 BPTT trainer at the default model size (window 64, hidden 32),
 * for 1 and 8 channels and both cells. Figures only, no assertions: the trainer is single-threaded,
 * so these are per-core numbers.
 */
import { performance } from 'node:perf_hooks';
import type { CellKind } from '../model/spec.js';
import { evaluateStream } from '../train/evaluate.js';
import { mulberry32 } from '../train/rng.js';
import { initParams } from '../train/seq2seq.js';
import { ROWS_PER_WINDOW, trainModel } from '../train/trainer.js';

export interface TrainBenchOptions {
  readonly cells?: readonly CellKind[];
  readonly channels?: readonly number[];
  /** Training windows per configuration (a few hundred keeps the whole bench under a minute or so). */
  readonly trainWindows?: number;
  readonly window?: number;
  readonly hidden?: number;
  readonly epochs?: number;
}

/** Noisy sines with a different period per channel: realistic enough that nothing is degenerate. */
function syntheticSeries(rows: number, C: number, seed: number): Float64Array {
  const rng = mulberry32(seed);
  const v = new Float64Array(rows * C);
  for (let t = 0; t < rows; t++) {
    for (let c = 0; c < C; c++) v[t * C + c] = Math.sin((2 * Math.PI * t) / (40 + 7 * c)) + 0.1 * (rng() - 0.5);
  }
  return v;
}

export function benchTraining(opts: TrainBenchOptions = {}): Promise<Record<string, number>[]> {
  const T = opts.window ?? 64;
  const H = opts.hidden ?? 32;
  const hop = T / 4;
  const windows = opts.trainWindows ?? 320;
  const epochs = opts.epochs ?? 2;
  // Enough rows for `windows` training windows, and never so few that the trainer shortens the window.
  const rows = Math.max(Math.ceil(((windows - 1) * hop + T + 1) / 0.8), ROWS_PER_WINDOW * T);
  const rowsOut: Record<string, number>[] = [];
  for (const cell of opts.cells ?? (['gru', 'lstm'] as const)) {
    for (const C of opts.channels ?? [1, 8]) {
      const values = syntheticSeries(rows, C, 1);
      // Fixed epoch count (patience > epochs) so every configuration does the same work.
      const r = trainModel({ channels: Array.from({ length: C }, (_, c) => `c${c}`), values }, {
        cell, hidden: H, window: T, hop, epochs, patience: epochs + 1, seed: 1, maxTrainWindows: windows,
      });
      const epochMs = r.losses.reduce((s, l) => s + l.ms, 0) / r.losses.length;
      const p = initParams({ cell, channels: C, hidden: H }, mulberry32(2));
      const t0 = performance.now();
      const scored = evaluateStream(p, values, [{ burnFrom: 0, from: 0, to: rows }], T, hop, 0.5);
      const scoreMs = performance.now() - t0;
      rowsOut.push({
        cellLstm: cell === 'lstm' ? 1 : 0,
        channels: C,
        window: T,
        hidden: H,
        trainWindows: r.training.trainWindows,
        valWindows: r.training.valWindows,
        epochMs: Math.round(epochMs),
        trainWindowsPerSec: Math.round(r.training.trainWindows / (epochMs / 1000)),
        forwardWindowsPerSec: Math.round(scored.reconErrors.length / (scoreMs / 1000)),
      });
    }
  }
  return Promise.resolve(rowsOut);
}

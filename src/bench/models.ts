/**
 * The models the benchmark runs: the shipped models/<cell>.json when present (trained weights, the
 * real calibration), else an untrained model of the same shape written to a temp dir. Cost does not
 * depend on the weights; alert counts do, so the result records which was used.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeModel } from '../model/onnx-export.js';
import type { CellKind } from '../model/spec.js';
import { mulberry32, type Rng } from '../train/rng.js';
import { initParams, toSeq2SeqParams, type Seq2SeqParams64 } from '../train/seq2seq.js';

export const SHIPPED_MODELS = fileURLToPath(new URL('../../models', import.meta.url));

export interface BenchModels {
  readonly dir: string;
  /** 'shipped' or 'untrained' per cell. */
  readonly source: Readonly<Record<CellKind, 'shipped' | 'untrained'>>;
}

/**
 * Random biases as in onnx-bench.ts: with the trainer's zero biases an untrained GRU decoder decays to
 * tiny values that onnxruntime runs ~3x slower (denormals), which a trained model never shows.
 */
function untrainedParams(cell: CellKind, H: number, rng: Rng): Seq2SeqParams64 {
  const p = initParams({ cell, channels: 1, hidden: H }, rng);
  for (const bias of [p.encWb, p.encRb, p.decWb, p.decRb, p.outB, p.predB]) {
    for (let i = 0; i < bias.length; i++) bias[i] = rng() - 0.5;
  }
  return p;
}

export async function benchModels(opts: { window: number; hidden: number; preferShipped?: boolean }): Promise<BenchModels> {
  const cells: CellKind[] = ['gru', 'lstm'];
  const shipped = (cell: CellKind): boolean => (opts.preferShipped ?? true) && existsSync(join(SHIPPED_MODELS, `${cell}.json`));
  if (cells.every(shipped)) return { dir: SHIPPED_MODELS, source: { gru: 'shipped', lstm: 'shipped' } };
  const dir = await mkdtemp(join(tmpdir(), 'anomalyd-bench-models-'));
  for (const cell of cells) {
    const params = toSeq2SeqParams(untrainedParams(cell, opts.hidden, mulberry32(cell === 'gru' ? 11 : 12)));
    await writeModel(
      dir,
      {
        name: cell,
        cell,
        hidden: opts.hidden,
        channels: ['value'],
        window: opts.window,
        hop: Math.max(1, Math.floor(opts.window / 4)),
        normalisation: { mean: [0], std: [1] },
        // Wide enough that an untrained model's errors on ordinary data rarely cross the threshold.
        calibration: { recon: { logErrMean: 0, logErrStd: 3, quantiles: {}, count: 0 }, pred: { logErrMean: 0, logErrStd: 3, quantiles: {}, count: 0 }, threshold: 0.999 },
        training: { source: 'benchmark (untrained)', rows: 0, trainWindows: 0, valWindows: 0, epochs: 0, finalTrainLoss: 0, finalValLoss: 0, initialValLoss: 0, seed: 0, seconds: 0 },
      },
      params,
    );
  }
  return { dir, source: { gru: 'untrained', lstm: 'untrained' } };
}

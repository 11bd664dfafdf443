/**
 * Cost of one onnxruntime call of the exported model's graphs, over batch sizes: the window graph per
 * window (benchOnnx) and the step and decode graphs per reading (benchStepDecode). The detector batches
 * what is ready in one tick, so this tells how much batching buys.
 * Run alone: `node dist/bench/onnx-bench.js [step]` prints one JSON row per configuration.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadModel } from '../adapters/onnx-runner.js';
import type { LoadedModel, ModelBatchInput } from '../contract/ports.js';
import { writeModel } from '../model/onnx-export.js';
import type { CellKind } from '../model/spec.js';
import { mulberry32, type Rng } from '../train/rng.js';
import { initParams, toSeq2SeqParams, type Seq2SeqParams64 } from '../train/seq2seq.js';

export interface OnnxBenchOptions {
  readonly batchSizes?: readonly number[];
  readonly cells?: readonly CellKind[];
  readonly T?: number;
  readonly H?: number;
  readonly C?: number;
  /** Carried-state advance per window (the hop); the carry encoder runs this many steps. */
  readonly hop?: number;
  /** Measure each configuration for at least this long. */
  readonly minMs?: number;
}

function filled(rng: Rng, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng() - 1) * scale;
  return a;
}

function makeBatch(rng: Rng, cell: CellKind, B: number, T: number, H: number, C: number, hop: number): ModelBatchInput {
  return {
    B, T,
    x: filled(rng, T * B * C, 1),
    seqLens: new BigInt64Array(B).fill(BigInt(T)),
    carryLens: new BigInt64Array(B).fill(BigInt(hop)),
    h0: filled(rng, B * H, 0.5),
    ...(cell === 'lstm' ? { c0: filled(rng, B * H, 0.5) } : {}),
  };
}

/**
 * The trainer's initialisation with random biases. With its zero biases the untrained GRU decoder
 * decays towards 0 and onnxruntime's GRU ran about 3x slower on those tiny values (measured on x86),
 * which a trained model does not show.
 */
function benchParams(cell: CellKind, C: number, H: number, rng: Rng): Seq2SeqParams64 {
  const p = initParams({ cell, channels: C, hidden: H }, rng);
  for (const bias of [p.encWb, p.encRb, p.decWb, p.decRb, p.outB, p.predB]) {
    for (let i = 0; i < bias.length; i++) bias[i] = rng() - 0.5;
  }
  return p;
}

/**
 * Wall time and process CPU time: on a machine shared with other work the CPU time is the steadier
 * measure of what a call costs (the session is single-threaded, so CPU ~ compute).
 */
async function timeCalls(model: LoadedModel, batch: ModelBatchInput, minMs: number): Promise<{ calls: number; ms: number; cpuMs: number }> {
  return timeCall(() => model.runBatch(batch), minMs);
}

async function timeCall(call: () => Promise<unknown>, minMs: number): Promise<{ calls: number; ms: number; cpuMs: number }> {
  for (let i = 0; i < 3; i++) await call();
  let calls = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < minMs || calls < 5) {
    await call();
    calls++;
    elapsed = performance.now() - start;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { calls, ms: elapsed, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const BENCH_PRIOR = { logErrMean: 0, logErrStd: 1, quantiles: {}, count: 0 };
const BENCH_CALIBRATION = { recon: BENCH_PRIOR, pred: BENCH_PRIOR, threshold: 0.99 };

/** Writes an untrained model per cell to a temporary directory, loads it and runs `measure` on it; removes it all after. */
async function perCell(
  cells: readonly CellKind[],
  dims: { readonly C: number; readonly H: number; readonly T: number; readonly hop: number },
  measure: (model: LoadedModel, cell: CellKind, rng: Rng) => Promise<void>,
): Promise<void> {
  const { C, H, T, hop } = dims;
  const dir = await mkdtemp(join(tmpdir(), 'anomalyd-onnx-bench-'));
  try {
    for (const cell of cells) {
      const rng = mulberry32(1234);
      const params = toSeq2SeqParams(benchParams(cell, C, H, rng));
      const channels = Array.from({ length: C }, (_, i) => `c${i}`);
      const { sidecarPath } = await writeModel(dir, {
        name: `bench-${cell}`, cell, hidden: H, channels, window: T, hop,
        normalisation: { mean: channels.map(() => 0), std: channels.map(() => 1) },
        calibration: BENCH_CALIBRATION,
        training: { source: 'bench', rows: 0, trainWindows: 0, valWindows: 0, epochs: 0, finalTrainLoss: 0, finalValLoss: 0, initialValLoss: 0, seed: 1234, seconds: 0 },
      }, params);
      const model = await loadModel(sidecarPath);
      try {
        await measure(model, cell, rng);
      } finally {
        await model.release();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The window graph: one row per (cell, B): `lstm` is 1 for LSTM and 0 for GRU; `msPerCall` and `usPerWindow`
 * are wall-clock means, `cpuMsPerCall` and `cpuUsPerWindow` the process CPU time (single-threaded session).
 */
export async function benchOnnx(opts: OnnxBenchOptions = {}): Promise<Record<string, number>[]> {
  const { batchSizes = [1, 16, 128, 512], cells = ['gru', 'lstm'], T = 64, H = 32, C = 1, minMs = 400 } = opts;
  const hop = opts.hop ?? Math.max(1, Math.floor(T / 4));
  const rows: Record<string, number>[] = [];
  await perCell(cells, { C, H, T, hop }, async (model, cell, rng) => {
    for (const B of batchSizes) {
      const { calls, ms, cpuMs } = await timeCalls(model, makeBatch(rng, cell, B, T, H, C, hop), minMs);
      rows.push({
        lstm: cell === 'lstm' ? 1 : 0, B, T, H, C, hop, calls,
        msPerCall: ms / calls,
        usPerWindow: (1000 * ms) / (calls * B),
        cpuMsPerCall: cpuMs / calls,
        cpuUsPerWindow: (1000 * cpuMs) / (calls * B),
      });
    }
  });
  return rows;
}

/**
 * The step engine's calls: one `step` of T = 1 reading for B streams, and one `decode` of W = T steps for B
 * streams. One row per (cell, B); `usPerReadingStep` is the step call per reading and `usPerReading` adds a
 * decode every `hop` readings (step + decode / hop), wall clock; the `cpu…` fields are process CPU time.
 */
export async function benchStepDecode(opts: OnnxBenchOptions = {}): Promise<Record<string, number>[]> {
  const { batchSizes = [1, 16, 128, 512], cells = ['gru', 'lstm'], T = 64, H = 32, C = 1, minMs = 400 } = opts;
  const hop = opts.hop ?? Math.max(1, Math.floor(T / 4));
  const rows: Record<string, number>[] = [];
  await perCell(cells, { C, H, T, hop }, async (model, cell, rng) => {
    const lstm = cell === 'lstm';
    for (const B of batchSizes) {
      const step = {
        B, T: 1, x: filled(rng, B * C, 1), seqLens: new BigInt64Array(B).fill(1n), h0: filled(rng, B * H, 0.5),
        ...(lstm ? { c0: filled(rng, B * H, 0.5) } : {}),
      };
      const decode = { B, W: T, h: filled(rng, B * H, 0.5), ...(lstm ? { c: filled(rng, B * H, 0.5) } : {}) };
      const s = await timeCall(() => model.step(step), minMs);
      const d = await timeCall(() => model.decode(decode), minMs);
      const perReading = (ms: number, calls: number): number => (1000 * ms) / (calls * B);
      rows.push({
        lstm: lstm ? 1 : 0, B, W: T, H, C, hop,
        usPerReadingStep: perReading(s.ms, s.calls),
        usPerStreamDecode: perReading(d.ms, d.calls),
        usPerReading: perReading(s.ms, s.calls) + perReading(d.ms, d.calls) / hop,
        cpuUsPerReadingStep: perReading(s.cpuMs, s.calls),
        cpuUsPerStreamDecode: perReading(d.cpuMs, d.calls),
        cpuUsPerReading: perReading(s.cpuMs, s.calls) + perReading(d.cpuMs, d.calls) / hop,
      });
    }
  });
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = process.argv[2] === 'step' ? await benchStepDecode() : await benchOnnx();
  for (const r of rows) console.log(JSON.stringify(r));
}

import type { ModelSidecar } from '../model/spec.js';

/** One batched call of a model: B windows of T steps, time-major [T, B, C], already normalised. */
export interface ModelBatchInput {
  readonly x: Float32Array;
  readonly seqLens: BigInt64Array;
  /** Per row, 1..seqLens[b]: how far the carried state advances. */
  readonly carryLens: BigInt64Array;
  readonly h0: Float32Array;
  readonly c0?: Float32Array;
  readonly B: number;
  readonly T: number;
}

export interface ModelBatchOutput {
  /** [T, B, C], aligned with x. */
  readonly recon: Float32Array;
  /** [B, C]: the reading after each window's last valid step. */
  readonly pred: Float32Array;
  /** [B, H] */
  readonly hCarry: Float32Array;
  readonly cCarry?: Float32Array;
}

/** The model port the inference stage needs; the onnxruntime adapter implements it. */
export interface ModelRunner {
  readonly id: string;
  readonly sidecar: ModelSidecar;
  runBatch(batch: ModelBatchInput): Promise<ModelBatchOutput>;
}

/**
 * The clock port: arrival stamps and every "now" of the daemon. Epoch ms, never decreasing for an
 * anchored clock (src/util/clock.ts), so a wall-clock step cannot reorder live readings.
 */
export interface Clock {
  now(): number;
}

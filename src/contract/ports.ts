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
 * One step call of a model: B streams, each with seqLens[b] new steps (1..T), normalised, time-major.
 * Carrying h/c from call to call makes stepping a stream in chunks of any size equal one pass over it.
 */
export interface StepBatchInput {
  /** [T, B, C] normalised steps; padding beyond seqLens[b] is ignored. */
  readonly x: Float32Array;
  /** [B] valid steps per row, 1..T. */
  readonly seqLens: BigInt64Array;
  /** [B, H] carried hidden state (zeros after a reset). */
  readonly h0: Float32Array;
  /** [B, H] carried cell state, LSTM only. */
  readonly c0?: Float32Array;
  readonly B: number;
  readonly T: number;
}

export interface StepBatchOutput {
  /** [T, B, C]: pred[t, b] predicts the step after x[t, b], from the state after x[t, b]; undefined beyond seqLens[b]. */
  readonly pred: Float32Array;
  /** [B, H] state after seqLens[b] steps. */
  readonly h: Float32Array;
  /** [B, H] cell state after seqLens[b] steps, LSTM only. */
  readonly c?: Float32Array;
}

/** One decode call: reconstruct the last W steps of B streams from their current states. */
export interface DecodeBatchInput {
  /** [B, H] */
  readonly h: Float32Array;
  /** [B, H], LSTM only. */
  readonly c?: Float32Array;
  readonly B: number;
  /** Steps to reconstruct, 1..sidecar.window. */
  readonly W: number;
}

export interface DecodeBatchOutput {
  /** [W, B, C]: recon[k, b] reconstructs the k-th most recent step consumed (k = 0: the last one). */
  readonly recon: Float32Array;
}

/** The step/decode interface of a model (the detector core's model port). */
export interface StepModel {
  readonly id: string;
  readonly sidecar: ModelSidecar;
  step(input: StepBatchInput): Promise<StepBatchOutput>;
  decode(input: DecodeBatchInput): Promise<DecodeBatchOutput>;
}

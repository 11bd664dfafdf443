import type { ModelSidecar } from '../model/spec.js';

/**
 * One call of the step graph: B streams, each advancing by seqLens[b] new steps (1..T), one recurrent
 * step per reading, from its carried state. All values are normalised (the stream's own running statistics).
 * C = sidecar.channels.length, H = sidecar.hidden.
 */
export interface StepBatchInput {
  /** [T, B, C] normalised steps, time-major; steps at and beyond seqLens[b] are ignored (any value). */
  readonly x: Float32Array;
  /** [B] new steps per stream, each in 1..T. */
  readonly seqLens: BigInt64Array;
  /** [B, H] carried hidden state (zeros after a reset: stream start, long gap, model change). */
  readonly h0: Float32Array;
  /** [B, H] carried cell state; required for an LSTM, ignored for a GRU. */
  readonly c0?: Float32Array;
  readonly B: number;
  readonly T: number;
}

export interface StepBatchOutput {
  /**
   * [T, B, C]: pred[t, b] predicts the step AFTER x[t, b], from the state after x[t, b] (so pred[t, b] is
   * compared with x[t + 1, b], or with the first step of the stream's next call). Undefined (a constant)
   * at and beyond seqLens[b]: mask it.
   */
  readonly pred: Float32Array;
  /** [B, H] hidden state after seqLens[b] steps: the stream's next h0. */
  readonly h: Float32Array;
  /** [B, H] cell state after seqLens[b] steps (LSTM only). */
  readonly c?: Float32Array;
}

/** One call of the decode graph: B streams' current states, W steps reconstructed from each. */
export interface DecodeBatchInput {
  /** [B, H] the state after the last step consumed (a StepBatchOutput's h). */
  readonly h: Float32Array;
  /** [B, H] (LSTM only). */
  readonly c?: Float32Array;
  readonly B: number;
  /** Steps to reconstruct, 1..sidecar.window; after a reset, no more than the steps consumed since. */
  readonly W: number;
}

export interface DecodeBatchOutput {
  /**
   * [W, B, C]: recon[k, b] reconstructs the k-th most recent step stream b consumed (k = 0: the last one),
   * in normalised units (Malhotra et al. 2016: reversed reconstruction from the encoder's final state).
   */
  readonly recon: Float32Array;
}

/**
 * The window interface of the current engine (one call per window, the carry computed inside the graph).
 * Kept until the step engine replaces it; B windows of T steps, time-major [T, B, C], already normalised.
 */
export interface ModelBatchInput {
  /** [T, B, C] */
  readonly x: Float32Array;
  /** [B] valid steps of each window, 1..T. */
  readonly seqLens: BigInt64Array;
  /** [B] per row, 1..seqLens[b]: how far the carried state advances. */
  readonly carryLens: BigInt64Array;
  /** [B, H] */
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

/** The window-per-call model port of the current engine (src/pipeline/infer.ts); goes with it. */
export interface WindowModelRunner {
  readonly id: string;
  readonly sidecar: ModelSidecar;
  /** Throws RangeError on a malformed batch; rejects after release(). */
  runBatch(batch: ModelBatchInput): Promise<ModelBatchOutput>;
}

/**
 * The model port of the step engine: one recurrent step per reading (step), and the reconstruction of the
 * last W steps from a stream's state (decode). See docs/MODEL.md. Outputs are fresh arrays owned by the
 * caller; inputs may be subarrays of larger buffers and are not kept.
 */
export interface ModelRunner {
  /** `<name>@<12 hex of sha256 over the graphs and the sidecar>`: changes whenever weights or calibration do. */
  readonly id: string;
  readonly sidecar: ModelSidecar;
  /** Throws RangeError naming the problem when shapes or lengths are wrong; rejects after release(). */
  step(input: StepBatchInput): Promise<StepBatchOutput>;
  /** Throws RangeError when W is outside 1..sidecar.window or a state has the wrong size; rejects after release(). */
  decode(input: DecodeBatchInput): Promise<DecodeBatchOutput>;
}

/** A model loaded by a ModelLoader: both interfaces until the window engine goes, and its owner releases it. */
export interface LoadedModel extends ModelRunner, WindowModelRunner {
  /** Frees the model's sessions. Idempotent; calls afterwards reject. */
  release(): Promise<void>;
}

/**
 * Loads the model described by a sidecar (`<dir>/<name>.json`, formatVersion 2) and its graphs.
 * Rejects with a SidecarError for an invalid or older-format sidecar (formatVersion 1: re-train), and with
 * an Error naming the graph when a graph is missing or does not match the sidecar's cell and sizes.
 * Implementations: `loadModel` (src/adapters/onnx-runner.ts) and InferenceWorkerHost.load (in a worker thread).
 */
export type ModelLoader = (sidecarPath: string) => Promise<LoadedModel>;

/** The step engine's name for the model port. */
export type StepModel = ModelRunner;

/**
 * The clock port: arrival stamps and every "now" of the daemon. Epoch ms, never decreasing for an
 * anchored clock (src/util/clock.ts), so a wall-clock step cannot reorder live readings.
 */
export interface Clock {
  now(): number;
}

/**
 * The sequence-to-sequence autoencoder shared by the trainer (src/train) and the
 * detector (ONNX export + onnxruntime). One definition; both sides must agree on it to 1e-4.
 * See docs/MODEL.md for the maths.
 *
 * Weight layout is ONNX's (opset 14, GRU/LSTM operators, one direction), so export is a copy:
 *   GRU  gates stacked in the order z, r, h   (G = 3), linear_before_reset = 1
 *   LSTM gates stacked in the order i, o, f, c (G = 4), no peepholes
 * All matrices are row-major Float32Array.
 */
export type CellKind = 'gru' | 'lstm';

export function gateCount(cell: CellKind): number {
  return cell === 'gru' ? 3 : 4;
}

export interface Seq2SeqDims {
  readonly cell: CellKind;
  /** Channels per reading (C). */
  readonly channels: number;
  /** Hidden size (H). */
  readonly hidden: number;
}

export interface Seq2SeqParams extends Seq2SeqDims {
  /** Encoder input weights  [G*H, C]. */
  readonly encW: Float32Array;
  /** Encoder recurrent weights [G*H, H]. */
  readonly encR: Float32Array;
  /** Encoder input bias [G*H] (ONNX Wb). */
  readonly encWb: Float32Array;
  /** Encoder recurrent bias [G*H] (ONNX Rb). */
  readonly encRb: Float32Array;
  /** Decoder recurrent weights [G*H, H]. The decoder has no input (it is fed zeros). */
  readonly decR: Float32Array;
  /** Decoder input bias [G*H] (ONNX Wb; acts as a plain bias since the input is zero). */
  readonly decWb: Float32Array;
  /** Decoder recurrent bias [G*H] (ONNX Rb). */
  readonly decRb: Float32Array;
  /** Readout from decoder state to a reconstructed reading: [C, H] and [C]. */
  readonly outW: Float32Array;
  readonly outB: Float32Array;
  /** Next-reading prediction head from the encoder's final state: [C, H] and [C]. */
  readonly predW: Float32Array;
  readonly predB: Float32Array;
}

/**
 * The window graph (`<name>.onnx`), the interface of the window-per-call engine (names are part of the contract).
 * Inputs:
 *   x        float32 [T, B, C]  normalised window, time-major, right-padded with zeros
 *   seq_lens int64   [B]        valid length L_b of each window (1..T)
 *   carry_lens int64 [B]        per row, steps the carried state advances over (1..L_b). The detector passes
 *                               max(1, window.advance) and keeps h0 itself for rows whose advance is 0.
 *   h0       float32 [1, B, H]  carried hidden state
 *   c0       float32 [1, B, H]  carried cell state (LSTM only)
 * Outputs:
 *   recon    float32 [T, B, C]  recon[t] reconstructs x[t] for t < L_b (garbage beyond: mask it)
 *   pred     float32 [B, C]     prediction of the reading after x[L_b - 1]
 *   h_carry  float32 [1, B, H]  encoder state after carry_lens[b] steps: the next window's h0
 *   c_carry  float32 [1, B, H]  (LSTM only)
 */
export const ONNX_IO = {
  inputs: { x: 'x', seqLens: 'seq_lens', carryLens: 'carry_lens', h0: 'h0', c0: 'c0' },
  outputs: { recon: 'recon', pred: 'pred', hCarry: 'h_carry', cCarry: 'c_carry' },
} as const;

/**
 * The step graph (`<name>.step.onnx`): B streams advance by up to T new steps each, one recurrent step per
 * reading, with the per-step next-reading prediction. Names are part of the contract.
 * Inputs:
 *   x        float32 [T, B, C]  normalised steps, time-major; steps at and beyond seq_lens[b] are ignored
 *   seq_lens int64   [B]        new steps of each stream (1..T)
 *   h0       float32 [1, B, H]  carried hidden state (zeros after a reset)
 *   c0       float32 [1, B, H]  carried cell state (LSTM only)
 * Outputs:
 *   pred     float32 [T, B, C]  pred[t, b] = predW·h_{t+1} + predB: the reading after x[t, b], predicted from the
 *                               state after x[t, b] (predB alone beyond seq_lens[b]: mask it)
 *   h        float32 [1, B, H]  state after seq_lens[b] steps
 *   c        float32 [1, B, H]  (LSTM only)
 */
export const ONNX_STEP_IO = {
  inputs: { x: 'x', seqLens: 'seq_lens', h0: 'h0', c0: 'c0' },
  outputs: { pred: 'pred', h: 'h', c: 'c' },
} as const;

/**
 * The decode graph (`<name>.decode.onnx`): the seq2seq decoder run from a state (Malhotra et al. 2016,
 * reversed reconstruction). Names are part of the contract.
 * Inputs:
 *   h0       float32 [1, B, H]  state after the last step consumed (the encoder's final state)
 *   c0       float32 [1, B, H]  (LSTM only)
 *   steps    int64   [1]        W, how many steps to reconstruct (1..sidecar.window)
 * Outputs:
 *   recon    float32 [W, B, C]  recon[k, b] reconstructs the k-th most recent step consumed (k = 0: the last one)
 */
export const ONNX_DECODE_IO = {
  inputs: { h0: 'h0', c0: 'c0', steps: 'steps' },
  outputs: { recon: 'recon' },
} as const;

/** Per-channel normalisation (from the training split only). */
export interface Normalisation {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * A log-normal prior of an error, measured on the validation split: the natural log of the error is
 * treated as roughly normal with this mean and std (std floored by the trainer's minLogErrStd).
 */
export interface LogNormalPrior {
  readonly logErrMean: number;
  readonly logErrStd: number;
  /** Quantiles of the validation log-error (p50, p90, p99, max), for the record. */
  readonly quantiles: Readonly<Record<string, number>>;
  /** How many errors the prior was measured on. */
  readonly count: number;
}

/** The log-normal prior of `bias`'s errors (squared means of `span` residuals); see Calibration.bias. */
export interface BiasPrior extends LogNormalPrior {
  /** Residuals (readings) in each mean. */
  readonly span: number;
}

/**
 * Score calibration from the validation split, measured the detector's way (docs/MODEL.md,
 * "Calibration"): each segment's validation tail stepped with the state carried in from its training
 * rows. The detector starts each stream from these and then follows the stream's own error history.
 */
export interface Calibration {
  /**
   * Reconstruction error: every `hop` steps, the decoder's mean squared error over the last
   * min(window, steps since reset) steps and all channels (normalised units).
   */
  readonly recon: LogNormalPrior;
  /** Next-reading prediction error: per step, the squared error of pred[t] against x[t+1], mean over channels. */
  readonly pred: LogNormalPrior;
  /**
   * The detector's `bias` evidence (src/pipeline/scorer.ts): per channel, the square of the mean of `span`
   * consecutive signed next-reading residuals x[t+1] − pred[t] (normalised units), every such run of the
   * validation tail. Absent in sidecars written before it was measured, and when the tail holds no run of `span`
   * predictions: the detector's bias history then starts without a prior.
   */
  readonly bias?: BiasPrior;
  /** Default threshold on the [0,1] anomaly score. */
  readonly threshold: number;
}

/** File names of a model's ONNX graphs, relative to the sidecar (see docs/MODEL.md, "ONNX graphs"). */
export interface ModelGraphs {
  /** The window graph (ONNX_IO): one call per window, the carry computed inside. */
  readonly window: string;
  /** The step graph (ONNX_STEP_IO): one recurrent step per reading. */
  readonly step: string;
  /** The decode graph (ONNX_DECODE_IO): the last W steps reconstructed from a state. */
  readonly decode: string;
}

/** The sidecar format this version writes and reads; version 1 (one graph, no step/decode) is refused. */
export const SIDECAR_FORMAT_VERSION = 2;

/** The JSON sidecar beside every model's graphs: models/<name>.json */
export interface ModelSidecar {
  readonly format: 'anomalyd-model';
  readonly formatVersion: typeof SIDECAR_FORMAT_VERSION;
  readonly name: string;
  readonly cell: CellKind;
  readonly hidden: number;
  readonly channels: readonly string[];
  /**
   * Window length W the model was trained on, in steps: the most steps the decode graph reconstructs.
   * Shorter than asked when the training series was short (docs/MODEL.md, "Learning from little").
   */
  readonly window: number;
  /** Steps between two reconstructions (decodes) in training and calibration. */
  readonly hop: number;
  readonly normalisation: Normalisation;
  readonly calibration: Calibration;
  readonly training: {
    readonly source: string;
    readonly rows: number;
    readonly trainWindows: number;
    /** Reconstructions (decodes every hop steps) in the validation split. */
    readonly valWindows: number;
    readonly epochs: number;
    /** Optimiser (Adam) steps taken over all epochs; absent in sidecars written before it was recorded. */
    readonly steps?: number;
    /**
     * The model's next-reading prediction MSE on the validation tail as a multiple of persistence's (x[t+1] = x[t])
     * on the same readings: above 1 the model predicts worse than repeating the last reading. null when the tail
     * does not move; absent in sidecars written before it was recorded.
     */
    readonly predVsPersistence?: number | null;
    readonly finalTrainLoss: number;
    readonly finalValLoss: number;
    readonly initialValLoss: number;
    readonly seed: number;
    readonly seconds: number;
  };
  readonly anomalydVersion: string;
  readonly createdAt: string;
  /** The model's graphs, file names relative to the sidecar. */
  readonly graphs: ModelGraphs;
}

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
 * ONNX graph interface (names are part of the contract).
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

/** Per-channel normalisation (from the training split only). */
export interface Normalisation {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * Score calibration from the validation split: the log of a window's masked reconstruction MSE
 * is treated as roughly normal with this mean and std. The detector starts each sensor from these
 * and then follows the sensor's own error history.
 */
export interface Calibration {
  readonly logErrMean: number;
  readonly logErrStd: number;
  /** Default threshold on the [0,1] anomaly score. */
  readonly threshold: number;
  /** Quantiles of the validation log-error, for the record. */
  readonly quantiles: Readonly<Record<string, number>>;
}

/** The JSON sidecar beside every model.onnx: models/<name>.json */
export interface ModelSidecar {
  readonly format: 'anomalyd-model';
  readonly formatVersion: 1;
  readonly name: string;
  readonly cell: CellKind;
  readonly hidden: number;
  readonly channels: readonly string[];
  /** Window length T the model was trained on. */
  readonly window: number;
  readonly normalisation: Normalisation;
  readonly calibration: Calibration;
  readonly training: {
    readonly source: string;
    readonly rows: number;
    readonly trainWindows: number;
    readonly valWindows: number;
    readonly epochs: number;
    readonly finalTrainLoss: number;
    readonly finalValLoss: number;
    readonly initialValLoss: number;
    readonly seed: number;
    readonly seconds: number;
  };
  readonly anomalydVersion: string;
  readonly createdAt: string;
  /** File name of the ONNX graph, relative to the sidecar. */
  readonly onnx: string;
}

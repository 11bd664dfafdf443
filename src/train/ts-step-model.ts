/**
 * The step/decode port (src/contract/ports.ts StepModel) computed in TypeScript from a model's weights:
 * the reference the ONNX graphs are checked against, and a dependency-free runner for tests and the
 * trainer's own evaluation. Equations: docs/MODEL.md (ONNX gate layouts: GRU z, r, h with
 * linear_before_reset = 1; LSTM i, o, f, c).
 */
import type { DecodeBatchInput, DecodeBatchOutput, StepBatchInput, StepBatchOutput, StepModel } from '../contract/ports.js';
import type { ModelSidecar, Seq2SeqParams } from '../model/spec.js';

export class TsStepModel implements StepModel {
  readonly id: string;

  constructor(
    readonly sidecar: ModelSidecar,
    private readonly p: Seq2SeqParams,
    id?: string,
  ) {
    this.id = id ?? sidecar.name;
  }

  step(input: StepBatchInput): Promise<StepBatchOutput> {
    const { B, T } = input;
    const { channels: C, hidden: H } = this.p;
    const lstm = this.p.cell === 'lstm';
    const pred = new Float32Array(T * B * C);
    const hOut = new Float32Array(B * H);
    const cOut = lstm ? new Float32Array(B * H) : undefined;
    const h = new Float64Array(H);
    const c = new Float64Array(H);
    const x = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        h[j] = input.h0[b * H + j];
        c[j] = input.c0 ? input.c0[b * H + j] : 0;
      }
      const L = Number(input.seqLens[b]);
      for (let t = 0; t < L; t++) {
        for (let k = 0; k < C; k++) x[k] = input.x[(t * B + b) * C + k];
        this.cell(this.p.encW, this.p.encR, this.p.encWb, this.p.encRb, x, h, c);
        for (let k = 0; k < C; k++) {
          let v = this.p.predB[k];
          for (let j = 0; j < H; j++) v += this.p.predW[k * H + j] * h[j];
          pred[(t * B + b) * C + k] = v;
        }
      }
      for (let j = 0; j < H; j++) {
        hOut[b * H + j] = h[j];
        if (cOut) cOut[b * H + j] = c[j];
      }
    }
    return Promise.resolve(cOut ? { pred, h: hOut, c: cOut } : { pred, h: hOut });
  }

  decode(input: DecodeBatchInput): Promise<DecodeBatchOutput> {
    const { B, W } = input;
    const { channels: C, hidden: H } = this.p;
    const recon = new Float32Array(W * B * C);
    const h = new Float64Array(H);
    const c = new Float64Array(H);
    const zero = new Float64Array(0);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        h[j] = input.h[b * H + j];
        c[j] = input.c ? input.c[b * H + j] : 0;
      }
      for (let k = 0; k < W; k++) {
        this.cell(null, this.p.decR, this.p.decWb, this.p.decRb, zero, h, c);
        for (let o = 0; o < C; o++) {
          let v = this.p.outB[o];
          for (let j = 0; j < H; j++) v += this.p.outW[o * H + j] * h[j];
          recon[(k * B + b) * C + o] = v;
        }
      }
    }
    return Promise.resolve({ recon });
  }

  /** One cell step in place: h (and c) <- cell(x, h, c). W null = zero input. */
  private cell(W: Float32Array | null, R: Float32Array, Wb: Float32Array, Rb: Float32Array, x: Float64Array, h: Float64Array, c: Float64Array): void {
    const H = this.p.hidden;
    const C = x.length;
    const G = this.p.cell === 'gru' ? 3 : 4;
    const gx = new Float64Array(G * H);
    const gh = new Float64Array(G * H);
    for (let r = 0; r < G * H; r++) {
      let a = Wb[r];
      if (W !== null) for (let k = 0; k < C; k++) a += W[r * C + k] * x[k];
      gx[r] = a;
      let bsum = Rb[r];
      for (let j = 0; j < H; j++) bsum += R[r * H + j] * h[j];
      gh[r] = bsum;
    }
    // The state is kept in float32 after every step, as the graphs keep it (and as it is carried between
    // calls): stepping in chunks of any size then gives exactly what one pass gives.
    if (this.p.cell === 'gru') {
      for (let j = 0; j < H; j++) {
        const z = sigmoid(gx[j] + gh[j]);
        const r = sigmoid(gx[H + j] + gh[H + j]);
        const n = Math.tanh(gx[2 * H + j] + r * gh[2 * H + j]);
        h[j] = Math.fround((1 - z) * n + z * h[j]);
      }
    } else {
      for (let j = 0; j < H; j++) {
        const i = sigmoid(gx[j] + gh[j]);
        const o = sigmoid(gx[H + j] + gh[H + j]);
        const f = sigmoid(gx[2 * H + j] + gh[2 * H + j]);
        const g = Math.tanh(gx[3 * H + j] + gh[3 * H + j]);
        c[j] = Math.fround(f * c[j] + i * g);
        h[j] = Math.fround(o * Math.tanh(c[j]));
      }
    }
  }
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

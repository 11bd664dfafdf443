/**
 * The onnxruntime adapter behind the ModelRunner port: one InferenceSession per model, batched calls.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { ModelBatchInput, ModelBatchOutput, ModelRunner } from '../contract/ports.js';
import { loadSidecar, onnxPathOf } from '../model/sidecar.js';
import { ONNX_IO, type ModelSidecar } from '../model/spec.js';

const IN = ONNX_IO.inputs;
const OUT = ONNX_IO.outputs;

/**
 * One thread per session: the Pi has few cores, the daemon runs one session per model, and at our
 * sizes (H = 32) intra-op threading costs more in synchronisation than it saves.
 */
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

function shortHash(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 12);
}

function sameNames(actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && expected.every((n) => actual.includes(n));
}

/** Checks that the graph has our interface and the sidecar's sizes, so a mismatched pair fails at load, not mid-stream. */
function checkInterface(session: ort.InferenceSession, sidecar: ModelSidecar, where: string): void {
  const lstm = sidecar.cell === 'lstm';
  const inputs = [IN.x, IN.seqLens, IN.carryLens, IN.h0, ...(lstm ? [IN.c0] : [])];
  const outputs = [OUT.recon, OUT.pred, OUT.hCarry, ...(lstm ? [OUT.cCarry] : [])];
  if (!sameNames(session.inputNames, inputs) || !sameNames(session.outputNames, outputs)) {
    throw new Error(
      `${where}: graph interface (${session.inputNames.join(',')} -> ${session.outputNames.join(',')}) ` +
        `does not match a ${sidecar.cell} model (${inputs.join(',')} -> ${outputs.join(',')})`,
    );
  }
  const dims = (name: string): readonly (number | string)[] => {
    const meta = session.inputMetadata.find((m) => m.name === name);
    return meta?.isTensor === true ? meta.shape : [];
  };
  const C = dims(IN.x)[2];
  const H = dims(IN.h0)[2];
  if (C !== sidecar.channels.length || H !== sidecar.hidden) {
    throw new Error(`${where}: graph has C=${String(C)}, H=${String(H)}; sidecar says C=${sidecar.channels.length}, H=${sidecar.hidden}`);
  }
}

export class OnnxModel implements ModelRunner {
  private released = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly sidecar: ModelSidecar,
    /** `<name>@<12 hex of sha256(graph + sidecar)>`: changes whenever weights or calibration do. */
    readonly id: string,
  ) {}

  static async load(sidecarPath: string): Promise<OnnxModel> {
    const sidecar = loadSidecar(sidecarPath);
    const onnxPath = onnxPathOf(sidecarPath, sidecar);
    const [graph, sidecarBytes] = await Promise.all([readFile(onnxPath), readFile(sidecarPath)]);
    const session = await ort.InferenceSession.create(graph, SESSION_OPTIONS);
    try {
      checkInterface(session, sidecar, onnxPath);
    } catch (err) {
      await session.release();
      throw err;
    }
    return new OnnxModel(session, sidecar, `${sidecar.name}@${shortHash(graph, sidecarBytes)}`);
  }

  get hidden(): number {
    return this.sidecar.hidden;
  }

  get channels(): number {
    return this.sidecar.channels.length;
  }

  /**
   * One batched forward pass. Inputs are wrapped as tensors over the caller's buffers (no copy), so
   * callers can keep one set of preallocated buffers per batch size and pass subarrays. Outputs are
   * fresh arrays owned by the caller.
   */
  async runBatch(batch: ModelBatchInput): Promise<ModelBatchOutput> {
    if (this.released) throw new Error(`${this.id}: runBatch after release()`);
    this.checkBatch(batch);
    const { B, T } = batch;
    const H = this.hidden;
    const stateDims = [1, B, H];
    const feeds: Record<string, ort.Tensor> = {
      [IN.x]: new ort.Tensor('float32', batch.x, [T, B, this.channels]),
      [IN.seqLens]: new ort.Tensor('int64', batch.seqLens, [B]),
      [IN.carryLens]: new ort.Tensor('int64', batch.carryLens, [B]),
      [IN.h0]: new ort.Tensor('float32', batch.h0, stateDims),
    };
    const lstm = this.sidecar.cell === 'lstm';
    if (lstm && batch.c0 !== undefined) feeds[IN.c0] = new ort.Tensor('float32', batch.c0, stateDims);
    const out = await this.session.run(feeds);
    const data = (name: string): Float32Array => {
      const t = out[name];
      if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`${this.id}: output ${name} missing or not float32`);
      return t.data;
    };
    return {
      recon: data(OUT.recon),
      pred: data(OUT.pred),
      hCarry: data(OUT.hCarry),
      ...(lstm ? { cCarry: data(OUT.cCarry) } : {}),
    };
  }

  /** Cheap O(B) checks: onnxruntime's own errors for these are cryptic or, for bad lengths, silent garbage. */
  private checkBatch(batch: ModelBatchInput): void {
    const { B, T, x, seqLens, carryLens, h0, c0 } = batch;
    const C = this.channels;
    const H = this.hidden;
    const problems: string[] = [];
    if (!Number.isInteger(B) || B < 1) problems.push(`B=${B} must be a positive integer`);
    if (!Number.isInteger(T) || T < 1) problems.push(`T=${T} must be a positive integer`);
    if (x.length !== T * B * C) problems.push(`x has ${x.length} values, expected T*B*C = ${T * B * C}`);
    if (seqLens.length !== B) problems.push(`seqLens has ${seqLens.length} entries, expected B = ${B}`);
    if (carryLens.length !== B) problems.push(`carryLens has ${carryLens.length} entries, expected B = ${B}`);
    if (h0.length !== B * H) problems.push(`h0 has ${h0.length} values, expected B*H = ${B * H}`);
    if (this.sidecar.cell === 'lstm' && c0?.length !== B * H) problems.push(`c0 must have B*H = ${B * H} values for an LSTM`);
    if (problems.length === 0) {
      const bigT = BigInt(T);
      // A few examples say enough; B can be in the hundreds.
      for (let b = 0; b < B && problems.length < 3; b++) {
        const L = seqLens[b];
        const A = carryLens[b];
        if (L < 1n || L > bigT) problems.push(`seqLens[${b}] = ${L} outside 1..${T}`);
        else if (A < 1n || A > L) problems.push(`carryLens[${b}] = ${A} outside 1..seqLens[${b}] = ${L}`);
      }
    }
    if (problems.length > 0) throw new RangeError(`${this.id}: runBatch: ${problems.join('; ')}`);
  }

  /** Idempotent. A failure is passed on for the owner's stop() to log; the model is unusable either way. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/**
 * The onnxruntime adapter behind the model ports (src/contract/ports.ts): `loadModel` opens one
 * InferenceSession per graph of a model (window, step, decode; docs/MODEL.md) and serves batched calls.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
// Before onnxruntime-node: turns its telemetry off (ORT_DISABLE_TELEMETRY) before the runtime initialises.
import './onnxruntime-env.js';
import * as ort from 'onnxruntime-node';
import type {
  DecodeBatchInput,
  DecodeBatchOutput,
  LoadedModel,
  ModelBatchInput,
  ModelBatchOutput,
  ModelLoader,
  StepBatchInput,
  StepBatchOutput,
} from '../contract/ports.js';
import { graphPathsOf, loadSidecar } from '../model/sidecar.js';
import { ONNX_DECODE_IO, ONNX_IO, ONNX_STEP_IO, type ModelGraphs, type ModelSidecar } from '../model/spec.js';

const IN = ONNX_IO.inputs;
const OUT = ONNX_IO.outputs;
const SI = ONNX_STEP_IO.inputs;
const SO = ONNX_STEP_IO.outputs;
const DI = ONNX_DECODE_IO.inputs;
const DO = ONNX_DECODE_IO.outputs;

/**
 * One thread per session: the Pi has few cores, the daemon runs a few sessions per model, and at our
 * sizes (H = 32) intra-op threading costs more in synchronisation than it saves.
 */
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

const ROLES = ['window', 'step', 'decode'] as const;

function shortHash(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 12);
}

function sameNames(actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && expected.every((n) => actual.includes(n));
}

/** The names each graph must have for the sidecar's cell. */
function expectedInterface(role: keyof ModelGraphs, lstm: boolean): { inputs: string[]; outputs: string[] } {
  switch (role) {
    case 'window':
      return {
        inputs: [IN.x, IN.seqLens, IN.carryLens, IN.h0, ...(lstm ? [IN.c0] : [])],
        outputs: [OUT.recon, OUT.pred, OUT.hCarry, ...(lstm ? [OUT.cCarry] : [])],
      };
    case 'step':
      return { inputs: [SI.x, SI.seqLens, SI.h0, ...(lstm ? [SI.c0] : [])], outputs: [SO.pred, SO.h, ...(lstm ? [SO.c] : [])] };
    case 'decode':
      return { inputs: [DI.h0, ...(lstm ? [DI.c0] : []), DI.steps], outputs: [DO.recon] };
  }
}

/** Checks that a graph has our interface and the sidecar's sizes, so a mismatched pair fails at load, not mid-stream. */
function checkInterface(session: ort.InferenceSession, role: keyof ModelGraphs, sidecar: ModelSidecar, where: string): void {
  const { inputs, outputs } = expectedInterface(role, sidecar.cell === 'lstm');
  if (!sameNames(session.inputNames, inputs) || !sameNames(session.outputNames, outputs)) {
    throw new Error(
      `${where}: ${role} graph interface (${session.inputNames.join(',')} -> ${session.outputNames.join(',')}) ` +
        `does not match a ${sidecar.cell} model (${inputs.join(',')} -> ${outputs.join(',')})`,
    );
  }
  const dims = (name: string): readonly (number | string)[] => {
    const meta = session.inputMetadata.find((m) => m.name === name);
    return meta?.isTensor === true ? meta.shape : [];
  };
  const H = dims(IN.h0)[2];
  const C = role === 'decode' ? sidecar.channels.length : dims(IN.x)[2];
  if (C !== sidecar.channels.length || H !== sidecar.hidden) {
    throw new Error(`${where}: graph has C=${String(C)}, H=${String(H)}; sidecar says C=${sidecar.channels.length}, H=${sidecar.hidden}`);
  }
}

type Sessions = Record<keyof ModelGraphs, ort.InferenceSession>;

class OnnxModel implements LoadedModel {
  private released = false;
  private readonly C: number;
  private readonly H: number;
  private readonly lstm: boolean;

  constructor(
    private readonly sessions: Sessions,
    readonly sidecar: ModelSidecar,
    readonly id: string,
  ) {
    this.C = sidecar.channels.length;
    this.H = sidecar.hidden;
    this.lstm = sidecar.cell === 'lstm';
  }

  private checkOpen(what: string): void {
    if (this.released) throw new Error(`${this.id}: ${what} after release()`);
  }

  private static output(out: ort.InferenceSession.ReturnType, name: string, id: string): Float32Array {
    const t = out[name];
    if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`${id}: output ${name} missing or not float32`);
    return t.data;
  }

  /**
   * One batched window pass (the current engine). Inputs are wrapped as tensors over the caller's buffers
   * (no copy), so callers can keep one set of preallocated buffers per batch size and pass subarrays.
   */
  async runBatch(batch: ModelBatchInput): Promise<ModelBatchOutput> {
    this.checkOpen('runBatch');
    this.checkWindowBatch(batch);
    const { B, T } = batch;
    const stateDims = [1, B, this.H];
    const feeds: Record<string, ort.Tensor> = {
      [IN.x]: new ort.Tensor('float32', batch.x, [T, B, this.C]),
      [IN.seqLens]: new ort.Tensor('int64', batch.seqLens, [B]),
      [IN.carryLens]: new ort.Tensor('int64', batch.carryLens, [B]),
      [IN.h0]: new ort.Tensor('float32', batch.h0, stateDims),
    };
    if (this.lstm && batch.c0 !== undefined) feeds[IN.c0] = new ort.Tensor('float32', batch.c0, stateDims);
    const out = await this.sessions.window.run(feeds);
    const data = (name: string): Float32Array => OnnxModel.output(out, name, this.id);
    return {
      recon: data(OUT.recon),
      pred: data(OUT.pred),
      hCarry: data(OUT.hCarry),
      ...(this.lstm ? { cCarry: data(OUT.cCarry) } : {}),
    };
  }

  /** B streams advance by seqLens[b] steps each (the step graph). Inputs are wrapped without a copy. */
  async step(input: StepBatchInput): Promise<StepBatchOutput> {
    this.checkOpen('step');
    this.checkStep(input);
    const { B, T } = input;
    const stateDims = [1, B, this.H];
    const feeds: Record<string, ort.Tensor> = {
      [SI.x]: new ort.Tensor('float32', input.x, [T, B, this.C]),
      [SI.seqLens]: new ort.Tensor('int64', input.seqLens, [B]),
      [SI.h0]: new ort.Tensor('float32', input.h0, stateDims),
    };
    if (this.lstm && input.c0 !== undefined) feeds[SI.c0] = new ort.Tensor('float32', input.c0, stateDims);
    const out = await this.sessions.step.run(feeds);
    const data = (name: string): Float32Array => OnnxModel.output(out, name, this.id);
    return { pred: data(SO.pred), h: data(SO.h), ...(this.lstm ? { c: data(SO.c) } : {}) };
  }

  /** The last W steps of B streams reconstructed from their states (the decode graph). */
  async decode(input: DecodeBatchInput): Promise<DecodeBatchOutput> {
    this.checkOpen('decode');
    this.checkDecode(input);
    const { B, W } = input;
    const stateDims = [1, B, this.H];
    const feeds: Record<string, ort.Tensor> = {
      [DI.h0]: new ort.Tensor('float32', input.h, stateDims),
      [DI.steps]: new ort.Tensor('int64', BigInt64Array.of(BigInt(W)), [1]),
    };
    if (this.lstm && input.c !== undefined) feeds[DI.c0] = new ort.Tensor('float32', input.c, stateDims);
    const out = await this.sessions.decode.run(feeds);
    return { recon: OnnxModel.output(out, DO.recon, this.id) };
  }

  private fail(what: string, problems: string[]): void {
    if (problems.length > 0) throw new RangeError(`${this.id}: ${what}: ${problems.join('; ')}`);
  }

  private checkSizes(problems: string[], B: number, fields: readonly [string, number, number][]): void {
    if (!Number.isInteger(B) || B < 1) problems.push(`B=${B} must be a positive integer`);
    for (const [name, actual, expected] of fields) {
      if (actual !== expected) problems.push(`${name} has ${actual} values, expected ${expected}`);
    }
  }

  /** Cheap O(B) checks: onnxruntime's own errors for these are cryptic or, for bad lengths, silent garbage. */
  private checkWindowBatch(batch: ModelBatchInput): void {
    const { B, T, x, seqLens, carryLens, h0, c0 } = batch;
    const { C, H } = this;
    const problems: string[] = [];
    if (!Number.isInteger(T) || T < 1) problems.push(`T=${T} must be a positive integer`);
    if (x.length !== T * B * C) problems.push(`x has ${x.length} values, expected T*B*C = ${T * B * C}`);
    if (seqLens.length !== B) problems.push(`seqLens has ${seqLens.length} entries, expected B = ${B}`);
    if (carryLens.length !== B) problems.push(`carryLens has ${carryLens.length} entries, expected B = ${B}`);
    if (h0.length !== B * H) problems.push(`h0 has ${h0.length} values, expected B*H = ${B * H}`);
    if (this.lstm && c0?.length !== B * H) problems.push(`c0 must have B*H = ${B * H} values for an LSTM`);
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
    this.fail('runBatch', problems);
  }

  private checkStep(input: StepBatchInput): void {
    const { B, T, x, seqLens, h0, c0 } = input;
    const { C, H } = this;
    const problems: string[] = [];
    if (!Number.isInteger(T) || T < 1) problems.push(`T=${T} must be a positive integer`);
    this.checkSizes(problems, B, [
      ['x', x.length, T * B * C],
      ['seqLens', seqLens.length, B],
      ['h0', h0.length, B * H],
    ]);
    if (this.lstm && c0?.length !== B * H) problems.push(`c0 must have B*H = ${B * H} values for an LSTM`);
    if (problems.length === 0) {
      const bigT = BigInt(T);
      for (let b = 0; b < B && problems.length < 3; b++) {
        // sequence_lens 0 would hand back a zero state, not h0 (docs/MODEL.md): a stream with nothing new stays out of the call.
        if (seqLens[b] < 1n || seqLens[b] > bigT) problems.push(`seqLens[${b}] = ${seqLens[b]} outside 1..${T}`);
      }
    }
    this.fail('step', problems);
  }

  private checkDecode(input: DecodeBatchInput): void {
    const { B, W, h, c } = input;
    const H = this.H;
    const problems: string[] = [];
    if (!Number.isInteger(W) || W < 1 || W > this.sidecar.window) problems.push(`W=${W} outside 1..${this.sidecar.window} (the model's window)`);
    this.checkSizes(problems, B, [['h', h.length, B * H]]);
    if (this.lstm && c?.length !== B * H) problems.push(`c must have B*H = ${B * H} values for an LSTM`);
    this.fail('decode', problems);
  }

  /** Idempotent. A failure is passed on for the owner's stop() to log; the model is unusable either way. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const results = await Promise.allSettled(ROLES.map((role) => this.sessions[role].release()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * The ModelLoader port on onnxruntime, on the calling thread: reads and validates the sidecar, opens one
 * session per graph and checks each graph's interface against the sidecar. The model's id hashes the
 * three graphs and the sidecar. Errors: see ModelLoader.
 */
export const loadModel: ModelLoader = async (sidecarPath) => {
  const sidecar = loadSidecar(sidecarPath);
  const paths = graphPathsOf(sidecarPath, sidecar);
  const [windowBytes, stepBytes, decodeBytes, sidecarBytes] = await Promise.all([
    readFile(paths.window),
    readFile(paths.step),
    readFile(paths.decode),
    readFile(sidecarPath),
  ]);
  const bytes: Record<keyof ModelGraphs, Uint8Array> = { window: windowBytes, step: stepBytes, decode: decodeBytes };
  const opened: Partial<Sessions> = {};
  try {
    for (const role of ROLES) {
      const session = await ort.InferenceSession.create(bytes[role], SESSION_OPTIONS);
      opened[role] = session;
      checkInterface(session, role, sidecar, paths[role]);
    }
  } catch (err) {
    await Promise.allSettled(Object.values(opened).map((s) => s.release()));
    throw err;
  }
  const sessions = opened as Sessions;
  return new OnnxModel(sessions, sidecar, `${sidecar.name}@${shortHash(windowBytes, stepBytes, decodeBytes, sidecarBytes)}`);
};

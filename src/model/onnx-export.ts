/**
 * Export of the seq2seq autoencoder (src/model/spec.ts, docs/MODEL.md) to its three ONNX graphs (window,
 * step, decode), and the atomic write of a model's graphs and `.json` sidecar.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  gateCount,
  ONNX_DECODE_IO,
  ONNX_IO,
  ONNX_STEP_IO,
  SIDECAR_FORMAT_VERSION,
  type ModelGraphs,
  type ModelSidecar,
  type Seq2SeqParams,
} from './spec.js';
import { encodeModel, type GraphSpec, type NodeSpec, type TensorSpec, type ValueInfoSpec } from './onnx-proto.js';

const IN = ONNX_IO.inputs;
const OUT = ONNX_IO.outputs;

/** TensorProto.DataType.INT32, the `to` of the Casts feeding GRU/LSTM sequence_lens. */
const TO_INT32 = 6;

function f32(name: string, dims: readonly number[], data: Float32Array): TensorSpec {
  return { name, type: 'float32', dims, data };
}

function i64(name: string, values: readonly number[]): TensorSpec {
  return { name, type: 'int64', dims: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** [rows, cols] row-major -> [cols, rows], so a MatMul can apply W·h to time-major [T, B, H]. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

function checkLength(field: string, actual: number, expected: number): void {
  if (actual !== expected) throw new RangeError(`Seq2SeqParams.${field}: length ${actual}, expected ${expected}`);
}

function validateParams(p: Seq2SeqParams): void {
  const G = gateCount(p.cell);
  const { hidden: H, channels: C } = p;
  if (!Number.isInteger(H) || H < 1) throw new RangeError(`Seq2SeqParams.hidden: ${H} is not a positive integer`);
  if (!Number.isInteger(C) || C < 1) throw new RangeError(`Seq2SeqParams.channels: ${C} is not a positive integer`);
  checkLength('encW', p.encW.length, G * H * C);
  checkLength('encR', p.encR.length, G * H * H);
  checkLength('encWb', p.encWb.length, G * H);
  checkLength('encRb', p.encRb.length, G * H);
  checkLength('decR', p.decR.length, G * H * H);
  checkLength('decWb', p.decWb.length, G * H);
  checkLength('decRb', p.decRb.length, G * H);
  checkLength('outW', p.outW.length, C * H);
  checkLength('outB', p.outB.length, C);
  checkLength('predW', p.predW.length, C * H);
  checkLength('predB', p.predB.length, C);
}

function initializers(p: Seq2SeqParams): TensorSpec[] {
  const GH = gateCount(p.cell) * p.hidden;
  const { hidden: H, channels: C } = p;
  return [
    f32('enc_W', [1, GH, C], p.encW),
    f32('enc_R', [1, GH, H], p.encR),
    f32('enc_B', [1, 2 * GH], concat(p.encWb, p.encRb)),
    // The decoder is fed zeros, so its input weights are zeros over a single dummy input channel.
    f32('dec_W', [1, GH, 1], new Float32Array(GH)),
    f32('dec_R', [1, GH, H], p.decR),
    f32('dec_B', [1, 2 * GH], concat(p.decWb, p.decRb)),
    f32('out_Wt', [H, C], transpose(p.outW, C, H)),
    f32('out_B', [C], p.outB),
    f32('pred_W', [C, H], p.predW),
    f32('pred_B', [C], p.predB),
    i64('axis0', [0]),
    i64('axis1', [1]),
    i64('two', [2]),
    i64('one', [1]),
  ];
}

/**
 * A GRU or LSTM node (forward, one layer). `state` holds the initial [h] or [h, c] and `outputs`
 * the wanted [Y, Y_h(, Y_c)], '' for any that are not needed.
 */
function rnnNode(p: Seq2SeqParams, name: string, x: string, weights: readonly [string, string, string], seqLens: string,
  state: readonly string[], outputs: readonly string[]): NodeSpec {
  const common = { hidden_size: { kind: 'int', value: p.hidden } } as const;
  const [W, R, B] = weights;
  switch (p.cell) {
    case 'gru':
      return {
        name, opType: 'GRU', inputs: [x, W, R, B, seqLens, state[0]], outputs: outputs.slice(0, 2),
        attributes: { ...common, linear_before_reset: { kind: 'int', value: 1 } },
      };
    case 'lstm':
      return { name, opType: 'LSTM', inputs: [x, W, R, B, seqLens, state[0], state[1]], outputs, attributes: common };
    default: {
      const never: never = p.cell;
      throw new Error(`unknown cell ${String(never)}`);
    }
  }
}

function nodes(p: Seq2SeqParams): NodeSpec[] {
  const lstm = p.cell === 'lstm';
  const enc = ['enc_W', 'enc_R', 'enc_B'] as const;
  const dec = ['dec_W', 'dec_R', 'dec_B'] as const;
  const initialState = lstm ? [IN.h0, IN.c0] : [IN.h0];
  const encState = lstm ? ['enc_h', 'enc_c'] : ['enc_h'];
  return [
    // ONNX GRU/LSTM take int32 sequence_lens; ReverseSequence takes int64, hence int64 at the interface.
    { opType: 'Cast', inputs: [IN.seqLens], outputs: ['seq_lens_i32'], attributes: { to: { kind: 'int', value: TO_INT32 } } },
    { opType: 'Cast', inputs: [IN.carryLens], outputs: ['carry_lens_i32'], attributes: { to: { kind: 'int', value: TO_INT32 } } },

    // 1. Encoder over the valid steps: its final state e feeds the decoder and the prediction head.
    rnnNode(p, 'encoder', IN.x, enc, 'seq_lens_i32', initialState, ['', ...encState]),

    // 2. Carry: the same encoder over x[0 : max(carry_lens)] stopping at carry_lens per row.
    { opType: 'ReduceMax', inputs: [IN.carryLens], outputs: ['carry_max'], attributes: { axes: { kind: 'ints', value: [0] }, keepdims: { kind: 'int', value: 1 } } },
    { opType: 'Slice', inputs: [IN.x, 'axis0', 'carry_max', 'axis0'], outputs: ['x_carry'] },
    rnnNode(p, 'carry_encoder', 'x_carry', enc, 'carry_lens_i32', initialState, lstm ? ['', OUT.hCarry, OUT.cCarry] : ['', OUT.hCarry]),

    // 3. Decoder fed zeros of shape [T, B, 1], started from e.
    { opType: 'Shape', inputs: [IN.x], outputs: ['x_shape'] },
    { opType: 'Slice', inputs: ['x_shape', 'axis0', 'two', 'axis0'], outputs: ['tb'] },
    { opType: 'Concat', inputs: ['tb', 'one'], outputs: ['dec_in_shape'], attributes: { axis: { kind: 'int', value: 0 } } },
    {
      opType: 'ConstantOfShape', inputs: ['dec_in_shape'], outputs: ['dec_in'],
      attributes: { value: { kind: 'tensor', value: { type: 'float32', dims: [1], data: new Float32Array(1) } } },
    },
    rnnNode(p, 'decoder', 'dec_in', dec, 'seq_lens_i32', encState, ['dec_y']),
    { opType: 'Squeeze', inputs: ['dec_y', 'axis1'], outputs: ['dec_h'] },
    { opType: 'MatMul', inputs: ['dec_h', 'out_Wt'], outputs: ['dec_out'] },
    { opType: 'Add', inputs: ['dec_out', 'out_B'], outputs: ['recon_reversed'] },

    // 4. y_k reconstructs x_{L-1-k}: reverse the first L steps of each row.
    {
      opType: 'ReverseSequence', inputs: ['recon_reversed', IN.seqLens], outputs: [OUT.recon],
      attributes: { time_axis: { kind: 'int', value: 0 }, batch_axis: { kind: 'int', value: 1 } },
    },

    // 5. Prediction head from e.
    { opType: 'Squeeze', inputs: ['enc_h', 'axis0'], outputs: ['enc_h_2d'] },
    { opType: 'Gemm', inputs: ['enc_h_2d', 'pred_W', 'pred_B'], outputs: [OUT.pred], attributes: { transB: { kind: 'int', value: 1 } } },
  ];
}

function interface_(p: Seq2SeqParams): { inputs: ValueInfoSpec[]; outputs: ValueInfoSpec[] } {
  const { hidden: H, channels: C } = p;
  const state = (name: string): ValueInfoSpec => ({ name, elemType: 'float32', shape: [1, 'B', H] });
  const lstm = p.cell === 'lstm';
  return {
    inputs: [
      { name: IN.x, elemType: 'float32', shape: ['T', 'B', C] },
      { name: IN.seqLens, elemType: 'int64', shape: ['B'] },
      { name: IN.carryLens, elemType: 'int64', shape: ['B'] },
      state(IN.h0),
      ...(lstm ? [state(IN.c0)] : []),
    ],
    outputs: [
      { name: OUT.recon, elemType: 'float32', shape: ['T', 'B', C] },
      { name: OUT.pred, elemType: 'float32', shape: ['B', C] },
      state(OUT.hCarry),
      ...(lstm ? [state(OUT.cCarry)] : []),
    ],
  };
}

/**
 * The ONNX graph of docs/MODEL.md with the interface `ONNX_IO`. T and B stay symbolic so one
 * session serves any batch size and windows shorter than the training window; `window` is only
 * recorded in the model's metadata.
 */
export function buildModelProto(params: Seq2SeqParams, opts: { window?: number } = {}): Uint8Array {
  validateParams(params);
  const graph: GraphSpec = {
    name: `anomalyd_seq2seq_${params.cell}`,
    nodes: nodes(params),
    initializers: initializers(params),
    ...interface_(params),
  };
  return encodeModel({ graph, producerVersion: anomalydVersion(), metadata: graphMetadata(params, 'window', opts.window) });
}

/** The step graph of docs/MODEL.md ("ONNX graphs") with the interface `ONNX_STEP_IO`. T and B are symbolic. */
export function buildStepProto(params: Seq2SeqParams): Uint8Array {
  validateParams(params);
  const { hidden: H, channels: C } = params;
  const GH = gateCount(params.cell) * H;
  const lstm = params.cell === 'lstm';
  const SI = ONNX_STEP_IO.inputs;
  const SO = ONNX_STEP_IO.outputs;
  const state = (name: string): ValueInfoSpec => ({ name, elemType: 'float32', shape: [1, 'B', H] });
  const graph: GraphSpec = {
    name: `anomalyd_step_${params.cell}`,
    nodes: [
      { opType: 'Cast', inputs: [SI.seqLens], outputs: ['seq_lens_i32'], attributes: { to: { kind: 'int', value: TO_INT32 } } },
      // Y (every step's state, zero beyond seq_lens) feeds the prediction head; Y_h (and Y_c) is the state after seq_lens[b] steps.
      rnnNode(params, 'encoder', SI.x, ['enc_W', 'enc_R', 'enc_B'], 'seq_lens_i32', lstm ? [SI.h0, SI.c0] : [SI.h0], lstm ? ['enc_y', SO.h, SO.c] : ['enc_y', SO.h]),
      { opType: 'Squeeze', inputs: ['enc_y', 'axis1'], outputs: ['enc_states'] },
      { opType: 'MatMul', inputs: ['enc_states', 'pred_Wt'], outputs: ['pred_raw'] },
      { opType: 'Add', inputs: ['pred_raw', 'pred_B'], outputs: [SO.pred] },
    ],
    initializers: [
      f32('enc_W', [1, GH, C], params.encW),
      f32('enc_R', [1, GH, H], params.encR),
      f32('enc_B', [1, 2 * GH], concat(params.encWb, params.encRb)),
      f32('pred_Wt', [H, C], transpose(params.predW, C, H)),
      f32('pred_B', [C], params.predB),
      i64('axis1', [1]),
    ],
    inputs: [
      { name: SI.x, elemType: 'float32', shape: ['T', 'B', C] },
      { name: SI.seqLens, elemType: 'int64', shape: ['B'] },
      state(SI.h0),
      ...(lstm ? [state(SI.c0)] : []),
    ],
    outputs: [{ name: SO.pred, elemType: 'float32', shape: ['T', 'B', C] }, state(SO.h), ...(lstm ? [state(SO.c)] : [])],
  };
  return encodeModel({ graph, producerVersion: anomalydVersion(), metadata: graphMetadata(params, 'step') });
}

/** The decode graph of docs/MODEL.md ("ONNX graphs") with the interface `ONNX_DECODE_IO`. W and B are symbolic. */
export function buildDecodeProto(params: Seq2SeqParams): Uint8Array {
  validateParams(params);
  const { hidden: H, channels: C } = params;
  const GH = gateCount(params.cell) * H;
  const lstm = params.cell === 'lstm';
  const DI = ONNX_DECODE_IO.inputs;
  const DO = ONNX_DECODE_IO.outputs;
  const state = (name: string): ValueInfoSpec => ({ name, elemType: 'float32', shape: [1, 'B', H] });
  const graph: GraphSpec = {
    name: `anomalyd_decode_${params.cell}`,
    nodes: [
      // The decoder is fed zeros of shape [W, B, 1]: B from the state, W from `steps`.
      { opType: 'Shape', inputs: [DI.h0], outputs: ['h_shape'] },
      { opType: 'Slice', inputs: ['h_shape', 'one', 'two', 'axis0'], outputs: ['b'] },
      { opType: 'Concat', inputs: [DI.steps, 'b', 'one'], outputs: ['dec_in_shape'], attributes: { axis: { kind: 'int', value: 0 } } },
      {
        opType: 'ConstantOfShape', inputs: ['dec_in_shape'], outputs: ['dec_in'],
        attributes: { value: { kind: 'tensor', value: { type: 'float32', dims: [1], data: new Float32Array(1) } } },
      },
      rnnNode(params, 'decoder', 'dec_in', ['dec_W', 'dec_R', 'dec_B'], '', lstm ? [DI.h0, DI.c0] : [DI.h0], ['dec_y']),
      { opType: 'Squeeze', inputs: ['dec_y', 'axis1'], outputs: ['dec_h'] },
      { opType: 'MatMul', inputs: ['dec_h', 'out_Wt'], outputs: ['dec_out'] },
      // Decoder step k reconstructs the k-th most recent step: no reversal, unlike the window graph.
      { opType: 'Add', inputs: ['dec_out', 'out_B'], outputs: [DO.recon] },
    ],
    initializers: [
      f32('dec_W', [1, GH, 1], new Float32Array(GH)),
      f32('dec_R', [1, GH, H], params.decR),
      f32('dec_B', [1, 2 * GH], concat(params.decWb, params.decRb)),
      f32('out_Wt', [H, C], transpose(params.outW, C, H)),
      f32('out_B', [C], params.outB),
      i64('axis0', [0]),
      i64('axis1', [1]),
      i64('one', [1]),
      i64('two', [2]),
    ],
    inputs: [state(DI.h0), ...(lstm ? [state(DI.c0)] : []), { name: DI.steps, elemType: 'int64', shape: [1] }],
    outputs: [{ name: DO.recon, elemType: 'float32', shape: ['W', 'B', C] }],
  };
  return encodeModel({ graph, producerVersion: anomalydVersion(), metadata: graphMetadata(params, 'decode') });
}

function graphMetadata(params: Seq2SeqParams, role: keyof ModelGraphs, window?: number): Record<string, string> {
  const metadata: Record<string, string> = { graph: role, cell: params.cell, hidden: String(params.hidden), channels: String(params.channels) };
  if (window !== undefined) metadata.window = String(window);
  return metadata;
}

let cachedVersion: string | undefined;

/** The package version, read once. The path is the same from src/model and dist/model. */
export function anomalydVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cachedVersion = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  }
  return cachedVersion;
}

export type SidecarInput = Omit<ModelSidecar, 'graphs' | 'format' | 'formatVersion' | 'anomalydVersion' | 'createdAt'>;

/** Write to a temp file in the same directory, then rename: readers never see a half-written file. */
async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkSidecarAgainstParams(sidecar: SidecarInput, params: Seq2SeqParams): void {
  const problems: string[] = [];
  if (!SAFE_NAME.test(sidecar.name)) problems.push(`name: '${sidecar.name}' must be letters, digits, '.', '_' or '-'`);
  if (sidecar.cell !== params.cell) problems.push(`cell: sidecar says ${sidecar.cell}, params are ${params.cell}`);
  if (sidecar.hidden !== params.hidden) problems.push(`hidden: sidecar says ${sidecar.hidden}, params have ${params.hidden}`);
  if (sidecar.channels.length !== params.channels) {
    problems.push(`channels: sidecar lists ${sidecar.channels.length}, params have ${params.channels}`);
  }
  if (!Number.isInteger(sidecar.window) || sidecar.window < 1) problems.push(`window: ${sidecar.window} is not a positive integer`);
  if (!Number.isInteger(sidecar.hop) || sidecar.hop < 1) problems.push(`hop: ${sidecar.hop} is not a positive integer`);
  if (problems.length > 0) throw new Error(`writeModel: ${problems.join('; ')}`);
}

/** The graph file names of a model called `name` (docs/MODEL.md, "ONNX graphs"). */
export function graphFileNames(name: string): ModelGraphs {
  return { window: `${name}.onnx`, step: `${name}.step.onnx`, decode: `${name}.decode.onnx` };
}

/**
 * Writes the model's three graphs (`<dir>/<name>.onnx`, `<name>.step.onnx`, `<name>.decode.onnx`) and then
 * `<dir>/<name>.json` (formatVersion 2), each atomically, so a sidecar never points at a missing or partial
 * graph. Throws before writing anything when the sidecar disagrees with the parameters.
 */
export async function writeModel(dir: string, sidecar: SidecarInput, params: Seq2SeqParams): Promise<{ onnxPath: string; sidecarPath: string; graphPaths: ModelGraphs }> {
  checkSidecarAgainstParams(sidecar, params);
  const graphs = graphFileNames(sidecar.name);
  const sidecarPath = join(dir, `${sidecar.name}.json`);
  const full: ModelSidecar = {
    format: 'anomalyd-model',
    formatVersion: SIDECAR_FORMAT_VERSION,
    ...sidecar,
    anomalydVersion: anomalydVersion(),
    createdAt: new Date().toISOString(),
    graphs,
  };
  const bytes: Record<keyof ModelGraphs, Uint8Array> = {
    window: buildModelProto(params, { window: sidecar.window }),
    step: buildStepProto(params),
    decode: buildDecodeProto(params),
  };
  await mkdir(dir, { recursive: true });
  const graphPaths: ModelGraphs = { window: join(dir, graphs.window), step: join(dir, graphs.step), decode: join(dir, graphs.decode) };
  for (const role of ['window', 'step', 'decode'] as const) await writeAtomic(graphPaths[role], bytes[role]);
  await writeAtomic(sidecarPath, `${JSON.stringify(full, null, 2)}\n`);
  return { onnxPath: graphPaths.window, sidecarPath, graphPaths };
}

/**
 * Reading a model's weights back from its window graph (`<name>.onnx`, written by src/model/onnx-export.ts):
 * the float32 initialisers enc_W, enc_R, enc_B, dec_R, dec_B, out_Wt, out_B, pred_W and pred_B, in the layout
 * the exporter writes them. What a training that starts from a trained model (fine-tuning, docs/MODEL.md
 * "Learning on the device") needs. Only the subset of the ONNX protobuf (onnx.proto3: ModelProto.graph = 7,
 * GraphProto.initializer = 5, TensorProto dims = 1, data_type = 2, name = 8, raw_data = 9) the exporter writes.
 */
import { readFileSync } from 'node:fs';
import type { Seq2SeqDims, Seq2SeqParams } from './spec.js';
import { loadSidecar, onnxPathOf } from './sidecar.js';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
/** TensorProto.DataType FLOAT. */
const FLOAT = 1;

interface Field {
  readonly no: number;
  readonly wire: number;
  /** Varint value (wire 0). */
  readonly value: number;
  /** Bytes of a length-delimited field (wire 2). */
  readonly bytes: Uint8Array | null;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    switch (wire) {
      case WIRE_VARINT:
        yield { no, wire, value: varint(), bytes: null };
        break;
      case WIRE_LEN: {
        const len = varint();
        if (pos + len > buf.length) throw new Error('truncated field');
        yield { no, wire, value: 0, bytes: buf.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case WIRE_FIXED64:
        pos += 8;
        break;
      case WIRE_FIXED32:
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

/** The float32 initialisers of an ONNX model (name -> values), from raw_data. */
export function floatInitialisers(model: Uint8Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const f of fields(model)) {
    if (f.no !== 7 || f.bytes === null) continue;
    for (const g of fields(f.bytes)) {
      if (g.no !== 5 || g.bytes === null) continue;
      let name = '';
      let type = 0;
      let raw: Uint8Array | null = null;
      for (const t of fields(g.bytes)) {
        if (t.no === 8 && t.bytes) name = new TextDecoder().decode(t.bytes);
        else if (t.no === 2) type = t.value;
        else if (t.no === 9 && t.bytes) raw = t.bytes;
      }
      if (type !== FLOAT || raw === null || raw.length % 4 !== 0) continue;
      const values = new Float32Array(raw.length / 4);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
      out.set(name, values);
    }
  }
  return out;
}

/**
 * The seq2seq weights of a window graph exported by writeModel, for the given dims (the sidecar's cell, channels
 * and hidden). Throws Error when an initialiser is missing or of the wrong size.
 */
export function readSeq2SeqParams(onnx: Uint8Array | string, dims: Seq2SeqDims): Seq2SeqParams {
  const init = floatInitialisers(typeof onnx === 'string' ? readFileSync(onnx) : onnx);
  const G = dims.cell === 'lstm' ? 4 : 3;
  const GH = G * dims.hidden;
  const { hidden: H, channels: C } = dims;
  const get = (name: string, n: number): Float32Array => {
    const v = init.get(name);
    if (v === undefined) throw new Error(`model graph has no initialiser ${name}`);
    if (v.length !== n) throw new Error(`initialiser ${name} has ${v.length} values, expected ${n}`);
    return v;
  };
  const encB = get('enc_B', 2 * GH);
  const decB = get('dec_B', 2 * GH);
  const outWt = get('out_Wt', H * C);
  // out_Wt is [H, C]: the exporter transposed outW [C, H].
  const outW = new Float32Array(C * H);
  for (let h = 0; h < H; h++) for (let c = 0; c < C; c++) outW[c * H + h] = outWt[h * C + c];
  return {
    ...dims,
    encW: get('enc_W', GH * C),
    encR: get('enc_R', GH * H),
    encWb: encB.slice(0, GH),
    encRb: encB.slice(GH),
    decR: get('dec_R', GH * H),
    decWb: decB.slice(0, GH),
    decRb: decB.slice(GH),
    outW,
    outB: get('out_B', C),
    predW: get('pred_W', C * H),
    predB: get('pred_B', C),
  };
}

/**
 * The weights of the model a sidecar describes (`<dir>/<name>.json` and its window graph). Throws SidecarError
 * for an invalid sidecar, Error for a missing or malformed graph.
 */
export function readModelParams(sidecarPath: string): Seq2SeqParams {
  const sidecar = loadSidecar(sidecarPath);
  return readSeq2SeqParams(onnxPathOf(sidecarPath, sidecar), { cell: sidecar.cell, channels: sidecar.channels.length, hidden: sidecar.hidden });
}

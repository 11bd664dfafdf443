import '../../src/adapters/onnxruntime-env.js'; // before onnxruntime-node: no telemetry
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel, encodeTensor, encodeVarint, rawData, type ModelSpec } from '../../src/model/onnx-proto.js';

/** A tiny protobuf reader, just enough to check field numbers and wire types of what we write. */
interface Field {
  readonly field: number;
  readonly wire: number;
  readonly value: bigint | Uint8Array;
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos++];
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, pos];
    shift += 7n;
  }
}

function decode(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(buf, p1);
      out.push({ field, wire, value: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, p1);
      out.push({ field, wire, value: buf.subarray(p2, p2 + Number(len)) });
      pos = p2 + Number(len);
    } else if (wire === 5) {
      out.push({ field, wire, value: buf.subarray(p1, p1 + 4) });
      pos = p1 + 4;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return out;
}

function only(fields: Field[], n: number): Field {
  const hits = fields.filter((f) => f.field === n);
  expect(hits).toHaveLength(1);
  return hits[0];
}

const text = (f: Field): string => new TextDecoder().decode(f.value as Uint8Array);

describe('encodeVarint', () => {
  // Examples from https://protobuf.dev/programming-guides/encoding/
  it('encodes the protobuf documentation examples', () => {
    expect(Array.from(encodeVarint(1))).toEqual([0x01]);
    expect(Array.from(encodeVarint(150))).toEqual([0x96, 0x01]);
    expect(Array.from(encodeVarint(300))).toEqual([0xac, 0x02]);
  });

  it('writes negative int64 as ten-byte two\'s complement', () => {
    expect(Array.from(encodeVarint(-1))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(readVarint(encodeVarint(-2), 0)[0]).toBe(2n ** 64n - 2n);
  });

  it('round-trips large values and rejects unsafe numbers', () => {
    expect(readVarint(encodeVarint(2 ** 40 + 5), 0)[0]).toBe(2n ** 40n + 5n);
    expect(() => encodeVarint(1.5)).toThrow(RangeError);
  });
});

describe('tensors', () => {
  it('writes raw_data little-endian', () => {
    expect(Array.from(rawData({ type: 'float32', data: Float32Array.of(1) }))).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect(Array.from(rawData({ type: 'int32', data: Int32Array.of(-2) }))).toEqual([0xfe, 0xff, 0xff, 0xff]);
    expect(Array.from(rawData({ type: 'int64', data: BigInt64Array.of(258n) }))).toEqual([2, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('uses TensorProto field numbers dims=1, data_type=2, name=8, raw_data=9', () => {
    const fields = decode(encodeTensor({ name: 'w', type: 'int64', dims: [2, 1], data: BigInt64Array.of(3n, 4n) }));
    expect(Array.from(only(fields, 1).value as Uint8Array)).toEqual([2, 1]);
    expect(only(fields, 2).value).toBe(7n);
    expect(text(only(fields, 8))).toBe('w');
    expect((only(fields, 9).value as Uint8Array).length).toBe(16);
  });

  it('refuses data that does not fill its dims', () => {
    expect(() => encodeTensor({ name: 'w', type: 'float32', dims: [2, 2], data: new Float32Array(3) })).toThrow(/4 elements/);
  });
});

/**
 * y = Transpose(Pad(x, reflect) * k) + bias32->float, over a symbolic batch: exercises INT, INTS,
 * FLOAT, STRING and TENSOR attributes, int32/int64/float32 initialisers and dim_param.
 */
const smallModel: ModelSpec = {
  producerVersion: '9.9.9',
  metadata: { purpose: 'test' },
  graph: {
    name: 'small',
    nodes: [
      { opType: 'Pad', inputs: ['x', 'pads'], outputs: ['padded'], attributes: { mode: { kind: 'string', value: 'reflect' } } },
      { opType: 'Transpose', inputs: ['padded'], outputs: ['t'], attributes: { perm: { kind: 'ints', value: [1, 0] } } },
      { opType: 'Cast', inputs: ['bias32'], outputs: ['bias'], attributes: { to: { kind: 'int', value: 1 } } },
      { opType: 'Add', inputs: ['t', 'bias'], outputs: ['tb'] },
      { opType: 'Shape', inputs: ['tb'], outputs: ['shape'] },
      { opType: 'ConstantOfShape', inputs: ['shape'], outputs: ['k'], attributes: { value: { kind: 'tensor', value: { type: 'float32', dims: [1], data: Float32Array.of(0.5) } } } },
      { opType: 'Mul', inputs: ['tb', 'k'], outputs: ['half'] },
      { opType: 'LeakyRelu', inputs: ['half'], outputs: ['y'], attributes: { alpha: { kind: 'float', value: 0.25 } } },
    ],
    initializers: [
      { name: 'pads', type: 'int64', dims: [4], data: BigInt64Array.of(0n, 1n, 0n, 1n) },
      { name: 'bias32', type: 'int32', dims: [1], data: Int32Array.of(-3) },
    ],
    inputs: [{ name: 'x', elemType: 'float32', shape: ['N', 3] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [5, 'N'] }],
  },
};

describe('encodeModel', () => {
  it('writes ir_version 8, producer anomalyd, opset 14 of the default domain', () => {
    const fields = decode(encodeModel(smallModel));
    expect(only(fields, 1).value).toBe(8n);
    expect(text(only(fields, 2))).toBe('anomalyd');
    expect(text(only(fields, 3))).toBe('9.9.9');
    const opset = decode(only(fields, 8).value as Uint8Array);
    expect(only(opset, 2).value).toBe(14n);
    expect(opset.filter((f) => f.field === 1).map(text)).toEqual(['']);
    const graph = decode(only(fields, 7).value as Uint8Array);
    expect(graph.filter((f) => f.field === 1)).toHaveLength(smallModel.graph.nodes.length);
    expect(graph.filter((f) => f.field === 5)).toHaveLength(2);
  });

  it('loads in onnxruntime and computes what the graph says', async () => {
    const s = await ort.InferenceSession.create(encodeModel(smallModel));
    const meta = s.inputMetadata[0];
    expect(meta.isTensor && meta.shape).toEqual(['N', 3]);
    // x = [[1, 2, 3], [4, 5, 6]]; reflect-pad each row to [2, 1, 2, 3, 2] and [5, 4, 5, 6, 5].
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) });
    await s.release();
    const padded = [[2, 1, 2, 3, 2], [5, 4, 5, 6, 5]];
    const expected: number[] = [];
    for (let j = 0; j < 5; j++) {
      for (let i = 0; i < 2; i++) {
        const v = (padded[i][j] - 3) * 0.5;
        expected.push(v < 0 ? 0.25 * v : v);
      }
    }
    expect(out.y.dims).toEqual([5, 2]);
    expect(Array.from(out.y.data as Float32Array)).toEqual(expected);
  });

  it('is rejected by onnxruntime when a node reads an undefined value (the reader really checks)', async () => {
    const broken: ModelSpec = {
      graph: { ...smallModel.graph, nodes: [{ opType: 'Relu', inputs: ['nope'], outputs: ['y'] }] },
    };
    await expect(ort.InferenceSession.create(encodeModel(broken))).rejects.toThrow();
  });
});

/**
 * A minimal protobuf WRITER for the subset of onnx.proto3 that our exporter needs.
 * Dependency-free on purpose: pulling protobufjs (and onnx's generated code) onto a Raspberry Pi
 * to emit a few dozen nodes is not worth it.
 *
 * Field numbers follow https://github.com/onnx/onnx/blob/main/onnx/onnx.proto3 and are listed in
 * the FIELD tables below so they can be checked against the spec at a glance.
 * Wire format: https://protobuf.dev/programming-guides/encoding/
 */

export type ElemType = 'float32' | 'int32' | 'int64';

/** TensorProto.DataType values. */
const DATA_TYPE: Readonly<Record<ElemType, number>> = { float32: 1, int32: 6, int64: 7 };

export function onnxDataType(type: ElemType): number {
  return DATA_TYPE[type];
}

const FIELD = {
  model: { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 },
  opset: { domain: 1, version: 2 },
  stringEntry: { key: 1, value: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 },
  attribute: { name: 1, f: 2, i: 3, s: 4, t: 5, ints: 8, type: 20 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9 },
  valueInfo: { name: 1, type: 2 },
  typeProto: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dimension: { dimValue: 1, dimParam: 2 },
} as const;

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, ints: 7 } as const;

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

export const IR_VERSION = 8;
export const OPSET_VERSION = 14;
export const PRODUCER_NAME = 'anomalyd';

export type TensorData =
  | { readonly type: 'float32'; readonly data: Float32Array }
  | { readonly type: 'int32'; readonly data: Int32Array }
  | { readonly type: 'int64'; readonly data: BigInt64Array };

export type TensorSpec = TensorData & {
  /** Required for initialisers; empty for an attribute tensor. */
  readonly name?: string;
  readonly dims: readonly number[];
};

export type AttributeValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: TensorSpec };

export interface NodeSpec {
  readonly opType: string;
  /** '' marks an omitted optional input or output. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A dimension is fixed (number) or symbolic (string, ONNX dim_param). */
export type Dim = number | string;

export interface ValueInfoSpec {
  readonly name: string;
  readonly elemType: ElemType;
  readonly shape: readonly Dim[];
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly inputs: readonly ValueInfoSpec[];
  readonly outputs: readonly ValueInfoSpec[];
}

export interface ModelSpec {
  readonly graph: GraphSpec;
  readonly producerVersion?: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

const utf8 = new TextEncoder();

/** Accumulates one message's fields; nested messages are encoded first and embedded as bytes. */
class MessageWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wireType: number): void {
    this.push(encodeVarint((field << 3) | wireType));
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(encodeVarint(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.push(encodeVarint(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** Packed repeated int64 (proto3's default encoding for repeated scalars). */
  packedVarints(field: number, values: readonly number[]): this {
    const body = new MessageWriter();
    for (const v of values) body.push(encodeVarint(v));
    return this.bytes(field, body.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

/**
 * Base-128 varint. Negative int64 values are written as their 64-bit two's complement (10 bytes),
 * which is how protobuf encodes a negative int64 (ONNX uses them for axes such as -1).
 */
export function encodeVarint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`varint: ${value} is not a safe integer`);
  }
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** Little-endian bytes regardless of the host's byte order, as TensorProto.raw_data requires. */
export function rawData(tensor: TensorData): Uint8Array {
  const { type } = tensor;
  switch (type) {
    case 'float32': {
      const out = new Uint8Array(tensor.data.length * 4);
      const view = new DataView(out.buffer);
      tensor.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
      return out;
    }
    case 'int32': {
      const out = new Uint8Array(tensor.data.length * 4);
      const view = new DataView(out.buffer);
      tensor.data.forEach((v, i) => view.setInt32(i * 4, v, true));
      return out;
    }
    case 'int64': {
      const out = new Uint8Array(tensor.data.length * 8);
      const view = new DataView(out.buffer);
      tensor.data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
      return out;
    }
    default: {
      const never: never = type;
      throw new Error(`unknown tensor type ${String(never)}`);
    }
  }
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

export function encodeTensor(tensor: TensorSpec): Uint8Array {
  if (elementCount(tensor.dims) !== tensor.data.length) {
    throw new RangeError(
      `tensor ${tensor.name ?? '(attribute)'}: dims [${tensor.dims.join(',')}] hold ${elementCount(tensor.dims)} elements, data has ${tensor.data.length}`,
    );
  }
  const w = new MessageWriter().packedVarints(FIELD.tensor.dims, tensor.dims).varint(FIELD.tensor.dataType, onnxDataType(tensor.type));
  if (tensor.name !== undefined && tensor.name !== '') w.string(FIELD.tensor.name, tensor.name);
  return w.bytes(FIELD.tensor.rawData, rawData(tensor)).finish();
}

function encodeAttribute(name: string, attr: AttributeValue): Uint8Array {
  const w = new MessageWriter().string(FIELD.attribute.name, name);
  const { kind } = attr;
  switch (kind) {
    case 'int':
      return w.varint(FIELD.attribute.i, attr.value).varint(FIELD.attribute.type, ATTRIBUTE_TYPE.int).finish();
    case 'ints':
      return w.packedVarints(FIELD.attribute.ints, attr.value).varint(FIELD.attribute.type, ATTRIBUTE_TYPE.ints).finish();
    case 'float':
      return w.float(FIELD.attribute.f, attr.value).varint(FIELD.attribute.type, ATTRIBUTE_TYPE.float).finish();
    case 'string':
      return w.string(FIELD.attribute.s, attr.value).varint(FIELD.attribute.type, ATTRIBUTE_TYPE.string).finish();
    case 'tensor':
      return w.bytes(FIELD.attribute.t, encodeTensor(attr.value)).varint(FIELD.attribute.type, ATTRIBUTE_TYPE.tensor).finish();
    default: {
      const never: never = kind;
      throw new Error(`unknown attribute kind ${String(never)}`);
    }
  }
}

export function encodeNode(node: NodeSpec): Uint8Array {
  const w = new MessageWriter();
  for (const input of node.inputs) w.string(FIELD.node.input, input);
  for (const output of node.outputs) w.string(FIELD.node.output, output);
  if (node.name !== undefined) w.string(FIELD.node.name, node.name);
  w.string(FIELD.node.opType, node.opType);
  for (const [name, attr] of Object.entries(node.attributes ?? {})) w.bytes(FIELD.node.attribute, encodeAttribute(name, attr));
  return w.finish();
}

function encodeDimension(dim: Dim): Uint8Array {
  const w = new MessageWriter();
  return (typeof dim === 'number' ? w.varint(FIELD.dimension.dimValue, dim) : w.string(FIELD.dimension.dimParam, dim)).finish();
}

export function encodeValueInfo(info: ValueInfoSpec): Uint8Array {
  const shape = new MessageWriter();
  for (const dim of info.shape) shape.bytes(FIELD.shape.dim, encodeDimension(dim));
  const tensorType = new MessageWriter()
    .varint(FIELD.tensorType.elemType, onnxDataType(info.elemType))
    .bytes(FIELD.tensorType.shape, shape.finish());
  const type = new MessageWriter().bytes(FIELD.typeProto.tensorType, tensorType.finish());
  return new MessageWriter().string(FIELD.valueInfo.name, info.name).bytes(FIELD.valueInfo.type, type.finish()).finish();
}

export function encodeGraph(graph: GraphSpec): Uint8Array {
  const w = new MessageWriter();
  for (const node of graph.nodes) w.bytes(FIELD.graph.node, encodeNode(node));
  w.string(FIELD.graph.name, graph.name);
  for (const init of graph.initializers) {
    if (init.name === undefined || init.name === '') throw new Error('graph initialisers must be named');
    w.bytes(FIELD.graph.initializer, encodeTensor(init));
  }
  for (const input of graph.inputs) w.bytes(FIELD.graph.input, encodeValueInfo(input));
  for (const output of graph.outputs) w.bytes(FIELD.graph.output, encodeValueInfo(output));
  return w.finish();
}

/** ModelProto with ir_version 8, the default ONNX domain at opset 14, producer 'anomalyd'. */
export function encodeModel(model: ModelSpec): Uint8Array {
  const opset = new MessageWriter().string(FIELD.opset.domain, '').varint(FIELD.opset.version, OPSET_VERSION).finish();
  const w = new MessageWriter()
    .varint(FIELD.model.irVersion, IR_VERSION)
    .string(FIELD.model.producerName, PRODUCER_NAME);
  if (model.producerVersion !== undefined) w.string(FIELD.model.producerVersion, model.producerVersion);
  if (model.docString !== undefined) w.string(FIELD.model.docString, model.docString);
  w.bytes(FIELD.model.graph, encodeGraph(model.graph)).bytes(FIELD.model.opsetImport, opset);
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.bytes(FIELD.model.metadataProps, new MessageWriter().string(FIELD.stringEntry.key, key).string(FIELD.stringEntry.value, value).finish());
  }
  return w.finish();
}

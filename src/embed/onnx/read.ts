// Decodes an ONNX model into a small typed summary: what the ANE checker, `sieve models check` and tests read.
// protobufjs hands back int64 fields as Long objects (the `long` package is installed), so every integer goes
// through toNumber.
import { decodeModel, onnx, type AttributeProto, type ModelProto, type TensorProto, type ValueInfoProto } from './builder.js';
import { SieveError } from '../../errors.js';

/** A dimension: a number when static, the dim_param name when symbolic, null when missing altogether. */
export type Dim = number | string | null;

export type ElementTypeName = 'float32' | 'float16' | 'int32' | 'int64' | 'int8' | 'uint8' | 'bool' | 'double' | 'other';

export interface TensorSummary {
  name: string;
  elemType: ElementTypeName;
  /** null when the value has no shape information at all (unknown rank). */
  dims: Dim[] | null;
}

export interface InitializerSummary {
  name: string;
  elemType: ElementTypeName;
  dims: number[];
}

export type AttributeSummary = number | number[] | string | { tensor: { elemType: ElementTypeName; dims: number[] } } | { other: string };

export interface NodeSummary {
  index: number;
  /** The node's name, or `<opType>#<index>` when the file has none, so reports can always point at it. */
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeSummary>;
}

export interface ModelSummary {
  irVersion: number;
  /** Version of the default ('' / ai.onnx) operator set. */
  opset: number;
  producer: string;
  graphName: string;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  valueInfo: TensorSummary[];
  initializers: InitializerSummary[];
  nodes: NodeSummary[];
  metadata: Record<string, string>;
}

/** Structural view of protobufjs' Long, so this file needs no dependency on the `long` package's types. */
interface LongLike {
  toNumber(): number;
}

export function toNumber(value: number | LongLike | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

const TYPE_NAMES: Record<number, ElementTypeName> = {
  [onnx.TensorProto.DataType.FLOAT]: 'float32',
  [onnx.TensorProto.DataType.FLOAT16]: 'float16',
  [onnx.TensorProto.DataType.INT32]: 'int32',
  [onnx.TensorProto.DataType.INT64]: 'int64',
  [onnx.TensorProto.DataType.INT8]: 'int8',
  [onnx.TensorProto.DataType.UINT8]: 'uint8',
  [onnx.TensorProto.DataType.BOOL]: 'bool',
  [onnx.TensorProto.DataType.DOUBLE]: 'double',
};

export function elementTypeName(code: number | null | undefined): ElementTypeName {
  return TYPE_NAMES[code ?? 0] ?? 'other';
}

function tensorSummary(info: ValueInfoProto): TensorSummary {
  const tensorType = info.type?.tensorType;
  const shape = tensorType?.shape;
  const dims: Dim[] | null = shape
    ? (shape.dim ?? []).map((d) => {
        if (d.dimParam) return d.dimParam;
        if (d.dimValue !== null && d.dimValue !== undefined) return toNumber(d.dimValue);
        return null;
      })
    : null;
  return { name: info.name ?? '', elemType: elementTypeName(tensorType?.elemType), dims };
}

function attributeSummary(a: AttributeProto): AttributeSummary {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return toNumber(a.i);
    case T.INTS:
      return (a.ints ?? []).map(toNumber);
    case T.FLOAT:
      return a.f ?? 0;
    case T.FLOATS:
      return [...(a.floats ?? [])];
    case T.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case T.TENSOR:
      return { tensor: { elemType: elementTypeName(a.t?.dataType), dims: (a.t?.dims ?? []).map(toNumber) } };
    default:
      return { other: T[a.type ?? 0] ?? 'UNDEFINED' };
  }
}

export function summarizeModel(model: ModelProto): ModelSummary {
  const graph = model.graph;
  if (!graph) throw new SieveError('MODEL_INVALID', 'the ONNX model has no graph');
  const defaultOpset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    irVersion: toNumber(model.irVersion),
    opset: toNumber(defaultOpset?.version),
    producer: model.producerName ?? '',
    graphName: graph.name ?? '',
    inputs: (graph.input ?? []).map(tensorSummary),
    outputs: (graph.output ?? []).map(tensorSummary),
    valueInfo: (graph.valueInfo ?? []).map(tensorSummary),
    initializers: (graph.initializer ?? []).map((t) => ({
      name: t.name ?? '',
      elemType: elementTypeName(t.dataType),
      dims: (t.dims ?? []).map(toNumber),
    })),
    nodes: (graph.node ?? []).map((n, index) => ({
      index,
      name: n.name || `${n.opType ?? '?'}#${index}`,
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attributes: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', attributeSummary(a)])),
    })),
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };
}

/** Decodes model bytes and summarises them. Throws MODEL_INVALID when the bytes are not an ONNX model. */
export function readModel(bytes: Uint8Array): ModelSummary {
  return summarizeModel(decodeModel(bytes));
}

/** The values of a FLOAT initializer, from raw_data (little-endian) or float_data. */
export function floatTensorValues(t: TensorProto): Float32Array {
  const count = (t.dims ?? []).map(toNumber).reduce((a, b) => a * b, 1);
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const out = new Float32Array(t.rawData.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  const data = Float32Array.from(t.floatData ?? []);
  if (data.length !== count) throw new SieveError('MODEL_INVALID', `initializer ${t.name ?? '?'} holds ${data.length} values for ${count} elements`);
  return data;
}

/** The raw IEEE half bit patterns of a FLOAT16 initializer (raw_data, or int32_data which ONNX uses for halves). */
export function float16TensorBits(t: TensorProto): Uint16Array {
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const out = new Uint16Array(t.rawData.byteLength / 2);
    for (let i = 0; i < out.length; i++) out[i] = view.getUint16(i * 2, true);
    return out;
  }
  return Uint16Array.from(t.int32Data ?? []);
}

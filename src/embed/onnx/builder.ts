// A small typed ONNX graph writer over onnx-proto, with helpers for the ops sieve's models need in the
// form the Apple Neural Engine runs well (DESIGN.md "ANE rules").
//
// Layout choice: every activation is a 4D NCHW tensor [N, C, H, L] with the sequence on the last axis (W) and
// H normally 1. Core ML's convolution path is 4D NCHW, so a "Conv1d" here is an ONNX Conv over [N, C, 1, L]
// with a kernel [out, in/group, 1, k]; a 1×1 Conv is the ANE form of a dense layer (MatMul/Gemm are not).
//
// onnx-proto is CommonJS and Node's ESM loader cannot see its named export, so it is imported by default.
import onnxProto from 'onnx-proto';
import { z } from 'zod';
import { SieveError } from '../../errors.js';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.IModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** Element types the builder writes for graph inputs and outputs. float16 appears only after fp16 conversion. */
export type TensorElementType = 'float32' | 'float16' | 'int32' | 'int64';
export type InitializerData = Float32Array | Int32Array | BigInt64Array;

export const ELEMENT_TYPE_CODE: Record<TensorElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
};

/**
 * A node attribute. Plain numbers and number arrays are written as INT / INTS (axes, pads, group, …, the
 * common case in these graphs); use `attr.float` / `attr.floats` for FLOAT attributes so nothing is guessed.
 */
export type AttributeValue =
  | number
  | number[]
  | string
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'tensor'; value: TensorProto };

export const attr = {
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  floats: (value: number[]): AttributeValue => ({ kind: 'floats', value }),
  tensor: (value: TensorProto): AttributeValue => ({ kind: 'tensor', value }),
};

export interface Conv1dOptions {
  /** [left, right] zero padding along L. Default [0, 0]. */
  pads?: [number, number];
  /** Dilation along L. Default 1. */
  dilation?: number;
  /** Channel groups. Default 1. */
  group?: number;
  name?: string;
}

export interface ToModelOptions {
  opset: number;
  producer: string;
  docString?: string;
  metadata?: Record<string, string>;
}

const toModelOptionsSchema = z.object({
  opset: z.number().int().min(13).max(23),
  producer: z.string().min(1),
  docString: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

/** ONNX IR version 8 is what opset 17 shipped with (ONNX 1.12); onnxruntime 1.30 reads it. */
const IR_VERSION = 8;

function invalid(message: string, details: Record<string, unknown> = {}): SieveError {
  return new SieveError('MODEL_INVALID', message, details);
}

function checkStaticDims(what: string, dims: readonly number[]): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d <= 0) throw invalid(`${what} has a non-static dimension ${d}; every dimension must be a positive integer`, { dims });
  }
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Packs a typed array into ONNX raw_data (little-endian, which is what ONNX specifies). */
export function tensorProto(name: string, data: InitializerData | Uint16Array, dims: readonly number[], dataType?: number): TensorProto {
  const type =
    dataType ??
    (data instanceof Float32Array
      ? ELEMENT_TYPE_CODE.float32
      : data instanceof Int32Array
        ? ELEMENT_TYPE_CODE.int32
        : data instanceof BigInt64Array
          ? ELEMENT_TYPE_CODE.int64
          : ELEMENT_TYPE_CODE.float16);
  const raw = new Uint8Array(data.byteLength);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i]!, true);
    else if (data instanceof Int32Array) view.setInt32(i * 4, data[i]!, true);
    else if (data instanceof BigInt64Array) view.setBigInt64(i * 8, data[i]!, true);
    else view.setUint16(i * 2, data[i]!, true);
  }
  return { name, dims: [...dims], dataType: type, rawData: raw };
}

export function valueInfo(name: string, type: TensorElementType, dims: readonly number[]): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: ELEMENT_TYPE_CODE[type], shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  };
}

function attributeProto(name: string, value: AttributeValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw invalid(`attribute ${name}=${value} is not an integer; use attr.float() for FLOAT attributes`);
    return { name, type: T.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (!value.every(Number.isInteger)) throw invalid(`attribute ${name} holds non-integers; use attr.floats() for FLOATS attributes`);
    return { name, type: T.INTS, ints: value };
  }
  switch (value.kind) {
    case 'float':
      return { name, type: T.FLOAT, f: value.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: value.value };
    case 'tensor':
      return { name, type: T.TENSOR, t: value.value };
  }
}

/**
 * Builds one ONNX graph. Every node gets a name (given or `<op>_<n>`) so checkers can point at it.
 * Helper methods return the name of the tensor they produce.
 */
export class GraphBuilder {
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly nodes: NodeProto[] = [];
  private readonly usedNames = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A tensor or node name not used yet, derived from `prefix`. */
  fresh(prefix: string): string {
    let candidate = prefix;
    while (this.usedNames.has(candidate)) candidate = `${prefix}_${++this.counter}`;
    this.usedNames.add(candidate);
    return candidate;
  }

  private claim(name: string, what: string): void {
    if (this.usedNames.has(name)) throw invalid(`${what} name "${name}" is already used in graph ${this.name}`);
    this.usedNames.add(name);
  }

  input(name: string, type: TensorElementType, dims: number[]): string {
    checkStaticDims(`input ${name}`, dims);
    this.claim(name, 'input');
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: TensorElementType, dims: number[]): string {
    checkStaticDims(`output ${name}`, dims);
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  initializer(name: string, data: InitializerData, dims: number[]): string {
    this.claim(name, 'initializer');
    return this.pushInitializer(name, data, dims);
  }

  /** Adds an initializer under a name already claimed (helpers name theirs with fresh()). */
  private pushInitializer(name: string, data: InitializerData, dims: number[]): string {
    if (dims.length > 0) checkStaticDims(`initializer ${name}`, dims);
    if (product(dims) !== data.length) {
      throw invalid(`initializer ${name} has ${data.length} values but dims ${JSON.stringify(dims)} need ${product(dims)}`);
    }
    this.initializers.push(tensorProto(name, data, dims));
    return name;
  }

  /** A scalar float constant (rank 0), named after its role. */
  scalar(prefix: string, value: number): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensorProto(name, new Float32Array([value]), []));
    return name;
  }

  /** An int64 vector constant, e.g. the `axes` input of ReduceSum (an input, not an attribute, since opset 13). */
  int64s(prefix: string, values: number[]): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensorProto(name, BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]));
    return name;
  }

  /** Adds a node; `name` defaults to a fresh `<opType>_<n>`. Returns its outputs. */
  node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}, name?: string): string[] {
    const nodeName = this.nameFor(name, opType);
    for (const out of outputs) this.usedNames.add(out);
    this.pushNode(nodeName, opType, inputs, outputs, attributes);
    return outputs;
  }

  /** Claims a caller-given name, or makes a fresh one from `prefix`. */
  private nameFor(given: string | undefined, prefix: string): string {
    if (given === undefined) return this.fresh(prefix);
    this.claim(given, 'node');
    return given;
  }

  private pushNode(name: string, opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue>): void {
    this.nodes.push({
      name,
      opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
    });
  }

  /**
   * One node with one output tensor named like the node (ONNX keeps node and tensor names apart, so this is
   * legal, and it makes a violation's node name also the tensor to look at). `nodeName` is already claimed.
   */
  private op(opType: string, inputs: string[], attributes: Record<string, AttributeValue>, nodeName: string): string {
    this.pushNode(nodeName, opType, inputs, [nodeName], attributes);
    return nodeName;
  }

  // ---- ANE-form helpers ----

  /**
   * Conv1d over [N, C_in, H, L] → [N, C_out, H, L'] as a 4D Conv with kernel [out, in/group, 1, k].
   * `weight` is row-major [out, in/group, k] (the usual Conv1d layout), `bias` [out] or null.
   */
  conv1d(x: string, weight: Float32Array, weightDims: [number, number, number], bias: Float32Array | null, opts: Conv1dOptions = {}): string {
    const [outC, inPerGroup, k] = weightDims;
    const name = this.nameFor(opts.name, 'conv');
    const w = this.pushInitializer(this.fresh(`${name}.weight`), weight, [outC, inPerGroup, 1, k]);
    const inputs = [x, w];
    if (bias) inputs.push(this.pushInitializer(this.fresh(`${name}.bias`), bias, [outC]));
    const [left, right] = opts.pads ?? [0, 0];
    const attributes = { kernel_shape: [1, k], pads: [0, left, 0, right], dilations: [1, opts.dilation ?? 1], strides: [1, 1], group: opts.group ?? 1 };
    return this.op('Conv', inputs, attributes, name);
  }

  relu(x: string, name?: string): string {
    return this.op('Relu', [x], {}, this.nameFor(name, 'relu'));
  }

  sigmoid(x: string, name?: string): string {
    return this.op('Sigmoid', [x], {}, this.nameFor(name, 'sigmoid'));
  }

  add(a: string, b: string, name?: string): string {
    return this.op('Add', [a, b], {}, this.nameFor(name, 'add'));
  }

  mul(a: string, b: string, name?: string): string {
    return this.op('Mul', [a, b], {}, this.nameFor(name, 'mul'));
  }

  /**
   * GELU, tanh approximation, from primitive ops (Mul/Add/Tanh) because ONNX's Gelu op is opset 20 and
   * Core ML's converter handles the primitives everywhere: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
   */
  gelu(x: string, name?: string): string {
    const n = this.nameFor(name, 'gelu');
    const sub = (part: string): string => this.fresh(`${n}.${part}`);
    const x2 = this.op('Mul', [x, x], {}, sub('x2'));
    const x3 = this.op('Mul', [x2, x], {}, sub('x3'));
    const cubic = this.op('Mul', [x3, this.scalar(`${n}.c`, 0.044715)], {}, sub('cubic'));
    const inner = this.op('Add', [x, cubic], {}, sub('inner'));
    const scaled = this.op('Mul', [inner, this.scalar(`${n}.k`, Math.sqrt(2 / Math.PI))], {}, sub('scaled'));
    const t = this.op('Tanh', [scaled], {}, sub('tanh'));
    const onePlus = this.op('Add', [t, this.scalar(`${n}.one`, 1)], {}, sub('onePlus'));
    const half = this.op('Mul', [x, this.scalar(`${n}.half`, 0.5)], {}, sub('halfX'));
    return this.op('Mul', [half, onePlus], {}, n);
  }

  /**
   * Masked mean over the sequence axis (3) of [N, C, H, L] with a float mask [N, 1, H, L] (1 = token, 0 = pad):
   * Σ(x·mask) / max(Σmask, eps) → [N, C, H, 1]. The eps keeps an all-pad row finite.
   */
  maskedMeanPool(x: string, mask: string, opts: { eps?: number; name?: string } = {}): string {
    const n = this.nameFor(opts.name, 'pool');
    const sub = (part: string): string => this.fresh(`${n}.${part}`);
    const axes = this.int64s(`${n}.axes`, [3]);
    const masked = this.op('Mul', [x, mask], {}, sub('masked'));
    const sum = this.op('ReduceSum', [masked, axes], { keepdims: 1 }, sub('sum'));
    const count = this.op('ReduceSum', [mask, axes], { keepdims: 1 }, sub('count'));
    const safe = this.op('Max', [count, this.scalar(`${n}.eps`, opts.eps ?? 1e-6)], {}, sub('safeCount'));
    return this.op('Div', [sum, safe], {}, n);
  }

  /** x / max(‖x‖₂ over channels, eps) for [N, C, H, W]; ReduceL2 takes `axes` as an attribute up to opset 17. */
  l2Normalize(x: string, opts: { eps?: number; name?: string } = {}): string {
    const n = this.nameFor(opts.name, 'l2norm');
    const norm = this.op('ReduceL2', [x], { axes: [1], keepdims: 1 }, this.fresh(`${n}.norm`));
    const safe = this.op('Max', [norm, this.scalar(`${n}.eps`, opts.eps ?? 1e-12)], {}, this.fresh(`${n}.safeNorm`));
    return this.op('Div', [x, safe], {}, n);
  }

  /**
   * The embedding lookup at the graph input, producing a channels-first tensor with no Transpose.
   * The table is stored transposed as [1, C, V] and gathered on axis 2 with integer ids [B, L]
   * (a graph input), so Gather's output is [1, C, B, L] — already NCHW. With B = 1 that is [1, C, 1, L];
   * with B > 1 the B rows are the bag (several hashed n-gram ids per position): pass `sumBag` to ReduceSum
   * them over axis 2 into [1, C, 1, L]. `table` is given row-major [V, C] (how training holds it).
   * Id 0 is conventionally the padding row and should be zero in the table.
   */
  gather(ids: string, table: Float32Array, tableDims: [number, number], opts: { sumBag?: boolean; name?: string } = {}): string {
    const [vocab, channels] = tableDims;
    const n = this.nameFor(opts.name, 'embed');
    if (table.length !== vocab * channels) throw invalid(`embedding table ${n} has ${table.length} values, expected ${vocab}×${channels}`);
    const transposed = new Float32Array(table.length);
    for (let v = 0; v < vocab; v++) for (let c = 0; c < channels; c++) transposed[c * vocab + v] = table[v * channels + c]!;
    const tableName = this.pushInitializer(this.fresh(`${n}.table`), transposed, [1, channels, vocab]);
    if (!opts.sumBag) return this.op('Gather', [tableName, ids], { axis: 2 }, n);
    const gathered = this.op('Gather', [tableName, ids], { axis: 2 }, this.fresh(`${n}.gather`));
    return this.op('ReduceSum', [gathered, this.int64s(`${n}.bagAxis`, [2])], { keepdims: 1 }, n);
  }

  /** The ModelProto as a plain object (before encoding), e.g. for fp16 conversion or inspection. */
  toModelProto(options: ToModelOptions): ModelProto {
    const opts = toModelOptionsSchema.parse(options);
    if (this.outputs.length === 0) throw invalid(`graph ${this.name} has no outputs`);
    return {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: opts.opset }],
      producerName: opts.producer,
      producerVersion: '1',
      docString: opts.docString ?? '',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  toModel(options: ToModelOptions): Uint8Array {
    return encodeModel(this.toModelProto(options));
  }
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new SieveError('MODEL_INVALID', `not an ONNX model: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
  }
}

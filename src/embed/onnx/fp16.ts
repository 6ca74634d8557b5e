// FP16 export: the ANE computes in IEEE half precision, so the shipped model carries half weights and IO.
// The bit conversion is exact IEEE 754 binary16 with round-to-nearest-even (finite values ≥ 65520 round to
// ±Inf there, as IEEE says); the model converter clamps finite weights beyond ±65504 to ±65504 first and
// reports them, because an Inf weight silently poisons every activation it touches.
import { decodeModel, encodeModel, onnx, type ModelProto, type TensorProto, type ValueInfoProto } from './builder.js';
import { float16TensorBits, floatTensorValues } from './read.js';
import { halfBitsOf, valueOfHalfBits } from '../../util/fp16.js';

export const FLOAT16_MAX = 65504;

/** IEEE binary16 bit patterns of `values`, round-to-nearest-even. */
export function float32ToFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfBitsOf(values[i]!);
  return out;
}

/** The float32 values of IEEE binary16 bit patterns (exact: every half is a float32). */
export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  if (bits.length < HALF_TABLE_MIN) {
    for (let i = 0; i < bits.length; i++) out[i] = valueOfHalfBits(bits[i]!);
    return out;
  }
  // A large array (an embedding table: 8 M halves) decodes by lookup, ~10× faster; the table costs 256 KiB once.
  halfTable ??= Float32Array.from({ length: 65536 }, (_, h) => valueOfHalfBits(h));
  for (let i = 0; i < bits.length; i++) out[i] = halfTable[bits[i]!]!;
  return out;
}

const HALF_TABLE_MIN = 1 << 16;
let halfTable: Float32Array | undefined;

export interface ClampedInitializer {
  name: string;
  /** How many finite values lay beyond ±65504 and were clamped to it. */
  count: number;
  maxAbs: number;
}

export interface Float16ConversionReport {
  convertedInitializers: number;
  convertedValues: number;
  clamped: ClampedInitializer[];
  totalClamped: number;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;

function halfTensor(t: TensorProto, clamped: ClampedInitializer[]): TensorProto {
  const values = floatTensorValues(t);
  let count = 0;
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v) && Math.abs(v) > FLOAT16_MAX) {
      count++;
      maxAbs = Math.max(maxAbs, Math.abs(v));
      values[i] = Math.sign(v) * FLOAT16_MAX;
    }
  }
  if (count > 0) clamped.push({ name: t.name ?? '', count, maxAbs });
  const bits = float32ToFloat16Bits(values);
  const raw = new Uint8Array(bits.length * 2);
  const view = new DataView(raw.buffer);
  bits.forEach((b, i) => view.setUint16(i * 2, b, true)); // ONNX raw_data is little-endian
  return { ...t, dataType: FLOAT16, floatData: [], rawData: raw };
}

function floatTensor(t: TensorProto): TensorProto {
  const values = float16BitsToFloat32(float16TensorBits(t));
  const raw = new Uint8Array(values.byteLength);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { ...t, dataType: FLOAT, int32Data: [], rawData: raw };
}

function retypeValue(info: ValueInfoProto, from: number, to: number): ValueInfoProto {
  const tensorType = info.type?.tensorType;
  if (!tensorType || tensorType.elemType !== from) return info;
  return { ...info, type: { ...info.type, tensorType: { ...tensorType, elemType: to } } };
}

/** Rewrites element type `from` → `to` everywhere a float type is declared: initializers, IO, value_info,
 * Constant values and Cast targets. `convert` turns one initializer's data. */
function retypeModel(model: ModelProto, from: number, to: number, convert: (t: TensorProto) => TensorProto): ModelProto {
  const graph = model.graph ?? {};
  const retypeTensor = (t: TensorProto): TensorProto => (t.dataType === from ? convert(t) : t);
  const nodes = (graph.node ?? []).map((n) => ({
    ...n,
    attribute: (n.attribute ?? []).map((a) => {
      if (a.t && a.t.dataType === from) return { ...a, t: retypeTensor(a.t) };
      if (n.opType === 'Cast' && a.name === 'to' && Number(a.i) === from) return { ...a, i: to };
      return a;
    }),
  }));
  return {
    ...model,
    graph: {
      ...graph,
      node: nodes,
      initializer: (graph.initializer ?? []).map(retypeTensor),
      input: (graph.input ?? []).map((v) => retypeValue(v, from, to)),
      output: (graph.output ?? []).map((v) => retypeValue(v, from, to)),
      valueInfo: (graph.valueInfo ?? []).map((v) => retypeValue(v, from, to)),
    },
  };
}

/**
 * A float16 copy of a float32 model: float initializers (and Constant values) become half, float graph
 * inputs/outputs become float16 (callers feed and read Float16 data), Casts to float become Casts to float16.
 * Integer tensors (ids, axes) are untouched.
 */
export function convertModelToFloat16(modelBytes: Uint8Array): { bytes: Uint8Array; report: Float16ConversionReport } {
  const model = decodeModel(modelBytes);
  const clamped: ClampedInitializer[] = [];
  let convertedInitializers = 0;
  let convertedValues = 0;
  const converted = retypeModel(model, FLOAT, FLOAT16, (t) => {
    convertedInitializers++;
    const half = halfTensor(t, clamped);
    convertedValues += (half.rawData?.length ?? 0) / 2;
    return half;
  });
  return {
    bytes: encodeModel(converted),
    report: { convertedInitializers, convertedValues, clamped, totalClamped: clamped.reduce((a, c) => a + c.count, 0) },
  };
}

/** The inverse widening (exact), e.g. so the range probe can run a half model on a CPU without half kernels. */
export function convertModelToFloat32(modelBytes: Uint8Array): Uint8Array {
  return encodeModel(retypeModel(decodeModel(modelBytes), FLOAT16, FLOAT, floatTensor));
}

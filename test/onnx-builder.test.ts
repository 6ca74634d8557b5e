import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { SieveError } from '../src/errors.js';
import { GraphBuilder, decodeModel, encodeModel } from '../src/embed/onnx/builder.js';
import { FLOAT16_MAX, convertModelToFloat16, convertModelToFloat32, float16BitsToFloat32, float32ToFloat16Bits } from '../src/embed/onnx/fp16.js';
import { float16TensorBits, readModel } from '../src/embed/onnx/read.js';
import { SeededRandom } from '../src/util/random.js';

// ---- straightforward JS references over [C, L] (N = H = 1) ----

function randomArray(rng: SeededRandom, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
}

/** y[o][t] = b[o] + Σ_i Σ_j w[o][i][j] · x[i][t + j·d − padLeft] (zero outside). Layout row-major. */
function conv1dRef(x: Float32Array, cIn: number, L: number, w: Float32Array, cOut: number, k: number, bias: Float32Array | null, padLeft: number, padRight: number, d = 1): { y: Float32Array; L: number } {
  const Lout = L + padLeft + padRight - d * (k - 1);
  const y = new Float32Array(cOut * Lout);
  for (let o = 0; o < cOut; o++) {
    for (let t = 0; t < Lout; t++) {
      let acc = bias ? bias[o]! : 0;
      for (let i = 0; i < cIn; i++) {
        for (let j = 0; j < k; j++) {
          const src = t + j * d - padLeft;
          if (src >= 0 && src < L) acc += w[(o * cIn + i) * k + j]! * x[i * L + src]!;
        }
      }
      y[o * Lout + t] = acc;
    }
  }
  return { y, L: Lout };
}

const relu = (a: Float32Array): Float32Array => a.map((v) => Math.max(0, v));
const sigmoid = (a: Float32Array): Float32Array => a.map((v) => 1 / (1 + Math.exp(-v)));
const gelu = (a: Float32Array): Float32Array => a.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

// ---- the models under test ----

const C = 8;
const HIDDEN = 16;
const OUT = 4;
const L = 32;

function buildMlp(rng: SeededRandom) {
  const w1 = randomArray(rng, HIDDEN * C);
  const b1 = randomArray(rng, HIDDEN, 0.1);
  const w2 = randomArray(rng, OUT * HIDDEN);
  const b2 = randomArray(rng, OUT, 0.1);
  const g = new GraphBuilder('mlp');
  const x = g.input('x', 'float32', [1, C, 1, L]);
  const h = g.relu(g.conv1d(x, w1, [HIDDEN, C, 1], b1, { name: 'fc1' }), 'act1');
  g.sigmoid(g.conv1d(h, w2, [OUT, HIDDEN, 1], b2, { name: 'fc2' }), 'score');
  g.output('score', 'float32', [1, OUT, 1, L]);
  const reference = (input: Float32Array): Float32Array => {
    const hid = relu(conv1dRef(input, C, L, w1, HIDDEN, 1, b1, 0, 0).y);
    return sigmoid(conv1dRef(hid, HIDDEN, L, w2, OUT, 1, b2, 0, 0).y);
  };
  return { model: g.toModel({ opset: 17, producer: 'sieve', metadata: { kind: 'relevance', version: 'test-1' } }), reference };
}

describe('float16 bit conversion', () => {
  const bits = (v: number): number => float32ToFloat16Bits(Float32Array.of(v))[0]!;

  it('encodes known values to their IEEE binary16 patterns', () => {
    expect(bits(1)).toBe(0x3c00);
    expect(bits(-2)).toBe(0xc000);
    expect(bits(0.5)).toBe(0x3800);
    expect(bits(65504)).toBe(0x7bff);
    expect(bits(0)).toBe(0x0000);
    expect(bits(-0)).toBe(0x8000);
    expect(bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(bits(Infinity)).toBe(0x7c00);
    expect(bits(-Infinity)).toBe(0xfc00);
    const nan = bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x03ff).not.toBe(0);
  });

  it('rounds to nearest, ties to even', () => {
    expect(bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 0x3C00 and 0x3C01 → even 0x3C00
    expect(bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between 0x3C01 and 0x3C02 → even 0x3C02
    expect(bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above halfway → up
    expect(bits(65519)).toBe(0x7bff); // below the midpoint to 65536 → max finite
    expect(bits(65520)).toBe(0x7c00); // the midpoint rounds to even, which is Inf
    expect(bits(2 ** -25)).toBe(0x0000); // halfway between 0 and the smallest subnormal → even 0
    expect(bits(0.75 * 2 ** -24)).toBe(0x0001); // above the midpoint to 0 → 1 step
    expect(bits(1.5 * 2 ** -24)).toBe(0x0002); // 1.5 steps → tie → even (2)
    expect(bits(2.5 * 2 ** -24)).toBe(0x0002); // 2.5 steps → tie → even (2)
    expect(bits(1023.5 * 2 ** -24)).toBe(0x0400); // rounds up out of the subnormals into the smallest normal
  });

  it('decodes every finite half exactly and round-trips all 65536 patterns', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const values = float16BitsToFloat32(all);
    expect(values[0x3c00]).toBe(1);
    expect(values[0xc000]).toBe(-2);
    expect(values[0x7bff]).toBe(65504);
    expect(values[0x0001]).toBe(2 ** -24);
    expect(values[0x7c00]).toBe(Infinity);
    expect(Number.isNaN(values[0x7e00])).toBe(true);
    const back = float32ToFloat16Bits(values);
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x03ff) !== 0;
      if (isNaN) expect(back[i]! & 0x7c00).toBe(0x7c00);
      else if (back[i] !== i) throw new Error(`pattern 0x${i.toString(16)} came back as 0x${back[i]!.toString(16)}`);
    }
  });
});

describe('GraphBuilder', () => {
  it('builds a 2-layer MLP in ANE form (1×1 Conv → Relu → 1×1 Conv → Sigmoid) that onnxruntime runs like the JS reference', async () => {
    const rng = new SeededRandom(7);
    const { model, reference } = buildMlp(rng);
    const x = randomArray(rng, C * L);
    const out = await run(model, { x: new ort.Tensor('float32', x, [1, C, 1, L]) });
    const score = out['score']!;
    expect(score.dims).toEqual([1, OUT, 1, L]);
    expect(maxAbsDiff(score.data as Float32Array, reference(x))).toBeLessThan(1e-5);
  });

  it('builds Conv1d with kernel 3, padding and dilation over [1, C, 1, L] matching the JS reference', async () => {
    const rng = new SeededRandom(11);
    const k = 3;
    const w = randomArray(rng, OUT * C * k);
    const b = randomArray(rng, OUT, 0.1);
    const g = new GraphBuilder('conv1d');
    const x = g.input('x', 'float32', [1, C, 1, L]);
    g.conv1d(x, w, [OUT, C, k], b, { pads: [1, 1], name: 'same' });
    g.conv1d(x, w, [OUT, C, k], null, { pads: [2, 2], dilation: 2, name: 'dilated' });
    g.output('same', 'float32', [1, OUT, 1, L]);
    g.output('dilated', 'float32', [1, OUT, 1, L]);
    const input = randomArray(rng, C * L);
    const out = await run(g.toModel({ opset: 17, producer: 'sieve' }), { x: new ort.Tensor('float32', input, [1, C, 1, L]) });
    expect(out['same']!.dims).toEqual([1, OUT, 1, L]);
    expect(maxAbsDiff(out['same']!.data as Float32Array, conv1dRef(input, C, L, w, OUT, k, b, 1, 1).y)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out['dilated']!.data as Float32Array, conv1dRef(input, C, L, w, OUT, k, null, 2, 2, 2).y)).toBeLessThan(1e-5);
  });

  it('builds the embedder shape: bag gather → Conv1d → GELU → masked mean pool → 1×1 projection → L2 normalise', async () => {
    const rng = new SeededRandom(3);
    const V = 50;
    const E = 8;
    const D = 4;
    const BAG = 2;
    const table = randomArray(rng, V * E);
    table.fill(0, 0, E); // id 0 is the padding row
    const w = randomArray(rng, E * E * 3, 0.5);
    const proj = randomArray(rng, D * E);
    const g = new GraphBuilder('embedder');
    const ids = g.input('ids', 'int64', [BAG, L]);
    const mask = g.input('mask', 'float32', [1, 1, 1, L]);
    const emb = g.gather(ids, table, [V, E], { sumBag: true, name: 'embed' });
    const h = g.gelu(g.conv1d(emb, w, [E, E, 3], null, { pads: [1, 1] }));
    const pooled = g.maskedMeanPool(h, mask);
    g.l2Normalize(g.conv1d(pooled, proj, [D, E, 1], null), { name: 'embedding' });
    g.output('embedding', 'float32', [1, D, 1, 1]);

    const tokens = 20; // the rest of the 32-slot bucket is padding
    const idData = new BigInt64Array(BAG * L);
    const maskData = new Float32Array(L);
    for (let t = 0; t < tokens; t++) {
      maskData[t] = 1;
      for (let bIdx = 0; bIdx < BAG; bIdx++) idData[bIdx * L + t] = BigInt(1 + rng.nextInt(V - 1));
    }
    const out = await run(g.toModel({ opset: 17, producer: 'sieve' }), {
      ids: new ort.Tensor('int64', idData, [BAG, L]),
      mask: new ort.Tensor('float32', maskData, [1, 1, 1, L]),
    });

    // Reference: sum the bag rows per position into [E, L], then the same stack.
    const embRef = new Float32Array(E * L);
    for (let t = 0; t < L; t++) for (let bIdx = 0; bIdx < BAG; bIdx++) {
      const id = Number(idData[bIdx * L + t]);
      for (let c = 0; c < E; c++) embRef[c * L + t]! += table[id * E + c]!;
    }
    const hRef = gelu(conv1dRef(embRef, E, L, w, E, 3, null, 1, 1).y);
    const pooledRef = new Float32Array(E);
    for (let c = 0; c < E; c++) {
      let s = 0;
      for (let t = 0; t < L; t++) s += hRef[c * L + t]! * maskData[t]!;
      pooledRef[c] = s / tokens;
    }
    const projected = conv1dRef(pooledRef, E, 1, proj, D, 1, null, 0, 0).y;
    const norm = Math.sqrt(projected.reduce((a, v) => a + v * v, 0));
    const expected = projected.map((v) => v / norm);
    const embedding = out['embedding']!;
    expect(embedding.dims).toEqual([1, D, 1, 1]);
    expect(maxAbsDiff(embedding.data as Float32Array, expected)).toBeLessThan(1e-5);
  });

  it('converts to FP16 and the half model stays within 1e-2 relative of the FP32 reference', async () => {
    const rng = new SeededRandom(21);
    const { model, reference } = buildMlp(rng);
    const { bytes, report } = convertModelToFloat16(model);
    expect(report.convertedInitializers).toBe(4);
    expect(report.totalClamped).toBe(0);
    const summary = readModel(bytes);
    expect(summary.inputs[0]!.elemType).toBe('float16');
    expect(summary.outputs[0]!.elemType).toBe('float16');
    expect(summary.initializers.every((i) => i.elemType === 'float16')).toBe(true);

    const x = randomArray(rng, C * L);
    const xHalf = float32ToFloat16Bits(x);
    const out = await run(bytes, { x: new ort.Tensor('float16', xHalf, [1, C, 1, L]) });
    const score = out['score']!;
    expect(score.type).toBe('float16');
    const got = float16BitsToFloat32(score.data as Uint16Array);
    const expected = reference(x);
    const scale = Math.max(...expected.map(Math.abs));
    expect(maxAbsDiff(got, expected) / scale).toBeLessThan(1e-2);
    // …and it really is a different (half) computation, not the FP32 model again.
    expect(maxAbsDiff(got, expected)).toBeGreaterThan(0);
  });

  it('clamps weights beyond ±65504 in the FP16 copy and reports them; widening back restores FP32 types', () => {
    const g = new GraphBuilder('big');
    const x = g.input('x', 'float32', [1, 2, 1, 32]);
    g.conv1d(x, Float32Array.of(1e5, -7e4, 3, 4), [2, 2, 1], null, { name: 'big' });
    g.output('big', 'float32', [1, 2, 1, 32]);
    const { bytes, report } = convertModelToFloat16(g.toModel({ opset: 17, producer: 'sieve' }));
    expect(report.totalClamped).toBe(2);
    expect(report.clamped).toEqual([{ name: 'big.weight', count: 2, maxAbs: 1e5 }]);
    const half = decodeModel(bytes).graph!.initializer![0]!;
    const values = float16BitsToFloat32(float16TensorBits(half));
    expect([...values]).toEqual([FLOAT16_MAX, -FLOAT16_MAX, 3, 4]);
    const widened = readModel(convertModelToFloat32(bytes));
    expect(widened.inputs[0]!.elemType).toBe('float32');
    expect(widened.initializers[0]!.elemType).toBe('float32');
  });

  it('round-trips through encode/decode and the typed summary', () => {
    const { model } = buildMlp(new SeededRandom(1));
    const again = encodeModel(decodeModel(model));
    expect(Buffer.from(again).equals(Buffer.from(model))).toBe(true);
    const summary = readModel(model);
    expect(summary.opset).toBe(17);
    expect(summary.producer).toBe('sieve');
    expect(summary.metadata).toEqual({ kind: 'relevance', version: 'test-1' });
    expect(summary.inputs).toEqual([{ name: 'x', elemType: 'float32', dims: [1, C, 1, L] }]);
    expect(summary.outputs).toEqual([{ name: 'score', elemType: 'float32', dims: [1, OUT, 1, L] }]);
    expect(summary.nodes.map((n) => [n.opType, n.name])).toEqual([
      ['Conv', 'fc1'],
      ['Relu', 'act1'],
      ['Conv', 'fc2'],
      ['Sigmoid', 'score'],
    ]);
    const fc1 = summary.nodes[0]!;
    expect(fc1.inputs).toEqual(['x', 'fc1.weight', 'fc1.bias']);
    expect(fc1.attributes).toEqual({ kernel_shape: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], strides: [1, 1], group: 1 });
    expect(summary.initializers).toContainEqual({ name: 'fc1.weight', elemType: 'float32', dims: [HIDDEN, C, 1, 1] });
    expect(summary.initializers).toContainEqual({ name: 'fc2.bias', elemType: 'float32', dims: [OUT] });
  });

  it('refuses dynamic dimensions, duplicate names and mis-sized initializers', () => {
    const g = new GraphBuilder('bad');
    expect(() => g.input('x', 'float32', [1, -1, 1, 32])).toThrow(SieveError);
    g.input('x', 'float32', [1, 4, 1, 32]);
    expect(() => g.input('x', 'float32', [1, 4, 1, 32])).toThrow(/already used/);
    expect(() => g.initializer('w', new Float32Array(3), [2, 2])).toThrow(/need 4/);
    expect(() => g.node('Clip', ['x'], ['y'], { min: 0.5 })).toThrow(/attr.float/);
    expect(() => new GraphBuilder('empty').toModel({ opset: 17, producer: 'sieve' })).toThrow(/no outputs/);
  });
});

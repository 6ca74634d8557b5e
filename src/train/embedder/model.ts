// The Conv1d embedder in node-mlx (core ops only; see train/mlx.ts for why): its parameters, forward pass,
// InfoNCE loss and optimisers. The same math is exported to ONNX by export.ts; the parity test holds them together.
//
//   word vectors (mean of each word's hashed bag, computed in JS from the table, see embed/tokenizer.ts)
//   → [B, L, E] gather by position → Conv1d(k) stack: ReLU, × mask, residual where widths match
//   → masked mean pool → projection (a 1×1 conv in ONNX) → L2 normalise.
//
// Speed (measured on the shared 2-core Linux box, CPU, OpenBLAS; numbers are noisy, the VM showed up to 60% steal):
//  - mlx's CPU conv1d: 9.3 s/step; one matmul over concatenated shifted views (im2col by hand): 0.67 s/step
//    (batch 64×128, 2 layers of 256). So a convolution here is pad → k shifted views → concat → one GEMM with
//    the bias fused (addmm).
//  - The shifted views come from mx.split, not index slicing: the VJP of a slice scatters into zeros and took
//    120 ms on a [128, 128, 128] tensor, split's 9 ms; a 3-layer 128-channel encoder's forward+backward went
//    from 1.93 s to 0.48 s (B = 128, L = 128) with that change alone.
//  - Elementwise ops cost ~3 ns/element on this backend, tanh ~45 ns, so the activation is ReLU (GELU's tanh
//    was 15× an add). mx.compile gained ~14% on one formulation and lost on fused elementwise chains (33 vs
//    23 ms), within the machine's noise, so it is not used.
//  - Per step at batch 128 (3 layers × 128 channels, queries ≤ 64 words, passages ≤ 128): ~0.9 s in mlx, plus
//    ~0.3 s in JS (batch layout, word vectors, gradient scatter, sparse Adam).
//
// The embedding table stays in JS (a Float32Array, updated by a lazy/sparse Adam on the rows a batch touched):
// a dense 2^17-row table would cost a full read/write of tens of MB per step in mlx, while a batch touches a few
// thousand distinct words. Only the batch's word vectors [W, E] cross into mlx, and their gradient comes back.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { EmbedderArchitecture } from '../../embed/onnx-embedder.js';
import type { Mlx } from '../mlx.js';
import { SeededRandom } from '../../util/random.js';

export type MxCore = Mlx['core'];
export type MxArray = InstanceType<MxCore['array']>;
export type { EmbedderArchitecture };

/**
 * The shipped shape. 128 channels rather than the reference run's 256: on this 2-core box a 256-channel stack
 * embedded ~600 passages/s at L = 128 and trained ~3× slower per step; 128 channels run ~2,000/s. The output
 * is 128-d because a projection from 128 channels to more dimensions adds none (its rank is at most 128).
 */
export const DEFAULT_ARCHITECTURE: EmbedderArchitecture = {
  embedDim: 64,
  channels: 128,
  layers: 3,
  kernel: 3,
  outputDim: 128,
  activation: 'relu',
};

/** The trained weights as plain row-major arrays: the hand-over format between training and export. */
export interface EmbedderWeights {
  architecture: EmbedderArchitecture;
  /** [buckets, embedDim]. */
  table: Float32Array;
  buckets: number;
  /** Conv1d weights in the usual [out, in, k] layout, and biases [out]. */
  convs: Array<{ weight: Float32Array; bias: Float32Array; inChannels: number; outChannels: number }>;
  /** Projection [out, in] and bias [out]. */
  projection: { weight: Float32Array; bias: Float32Array };
}

// ---- moving data between JS typed arrays and mlx ----

/**
 * node-mlx builds arrays only from nested JS arrays (1.7 s for 4M floats) and reads them back with tolist()
 * (0.9 s); its .npy load/save moves the same data in ~40 ms. Large tensors therefore cross through .npy files
 * in a private temp folder (RAM-backed /dev/shm where it exists). Small ones use the constructor.
 */
export class MxBridge {
  private dir: string | null = null;
  private counter = 0;
  constructor(private readonly mx: MxCore) {}

  private folder(): string {
    if (!this.dir) {
      const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
      this.dir = mkdtempSync(path.join(base, 'sieve-mlx-'));
    }
    return this.dir;
  }

  /** A float32 or int32 mlx array with `shape` holding `data` (row-major). */
  toMx(data: Float32Array | Int32Array, shape: number[]): MxArray {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`toMx: ${data.length} values for shape [${shape.join(', ')}]`);
    const dtype = data instanceof Float32Array ? this.mx.float32 : this.mx.int32;
    if (data.length <= 4096) return this.mx.array(Array.from(data), dtype).reshape(shape);
    const file = path.join(this.folder(), `in-${this.counter++ % 4}.npy`);
    writeFileSync(file, npyBytes(data, shape));
    const arr = this.mx.load(file);
    this.mx.eval(arr); // read the file now, before the name is reused
    return arr;
  }

  /** The values of a float32 mlx array, row-major. */
  toFloat32(arr: MxArray): Float32Array {
    const a = arr.dtype === this.mx.float32 ? arr : arr.astype(this.mx.float32);
    if (a.size <= 4096) return Float32Array.from(a.flatten().tolist() as number[]);
    const file = path.join(this.folder(), 'out.npy');
    this.mx.save(file, a);
    return readNpyFloat32(readFileSync(file));
  }

  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/** A version-1.0 .npy file for a little-endian float32/int32 row-major array. */
export function npyBytes(data: Float32Array | Int32Array, shape: number[]): Buffer {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const buf = Buffer.alloc(10 + header.length + data.byteLength);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, 10, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(buf, 10 + header.length);
  return buf;
}

const npyHeaderSchema = z.string().regex(/'descr':\s*'<f4'/, 'expected a little-endian float32 .npy');

/** The data of a float32 .npy (version 1 or 2) as a Float32Array. */
export function readNpyFloat32(bytes: Buffer): Float32Array {
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  npyHeaderSchema.parse(bytes.subarray(major === 1 ? 10 : 12, start).toString('latin1'));
  const out = new Float32Array((bytes.length - start) / 4);
  Buffer.from(out.buffer).set(bytes.subarray(start));
  return out;
}

// ---- parameters ----

/** The dense (mlx) parameters, in matmul layout: conv weights [k·in, out] (k-major: row j·in + i), projection [in, out]. */
export interface DenseParams {
  convWeights: MxArray[];
  convBiases: MxArray[];
  projWeight: MxArray;
  projBias: MxArray;
}

export function denseParamList(p: DenseParams): MxArray[] {
  return [...p.convWeights, ...p.convBiases, p.projWeight, p.projBias];
}

export function denseParamsFromList(list: MxArray[], layers: number): DenseParams {
  return {
    convWeights: list.slice(0, layers),
    convBiases: list.slice(layers, 2 * layers),
    projWeight: list[2 * layers]!,
    projBias: list[2 * layers + 1]!,
  };
}

function gaussian(rng: SeededRandom, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // Box–Muller from the seeded generator, so initial weights replay for a seed.
    const u = Math.max(rng.nextFloat(), 1e-12);
    const v = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Fresh weights for an architecture: He-normal convs, zero biases, a N(0, 0.3²) table. Deterministic per seed. */
export function initialWeights(arch: EmbedderArchitecture, buckets: number, seed: number): EmbedderWeights {
  const rng = new SeededRandom(seed);
  const convs: EmbedderWeights['convs'] = [];
  let inChannels = arch.embedDim;
  for (let i = 0; i < arch.layers; i++) {
    const fanIn = inChannels * arch.kernel;
    convs.push({
      weight: gaussian(rng, arch.channels * fanIn, Math.sqrt(2 / fanIn)),
      bias: new Float32Array(arch.channels),
      inChannels,
      outChannels: arch.channels,
    });
    inChannels = arch.channels;
  }
  return {
    architecture: arch,
    buckets,
    table: gaussian(rng, buckets * arch.embedDim, 0.3),
    convs,
    projection: { weight: gaussian(rng, arch.outputDim * inChannels, 1 / Math.sqrt(inChannels)), bias: new Float32Array(arch.outputDim) },
  };
}

/** [out, in, k] → [k·in, out] (row j·in + i holds w[o][i][j]). */
export function convToMatmulLayout(w: Float32Array, out: number, inC: number, k: number): Float32Array {
  const m = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inC; i++) for (let j = 0; j < k; j++) m[(j * inC + i) * out + o] = w[(o * inC + i) * k + j]!;
  return m;
}

/** [k·in, out] → [out, in, k]. */
export function convFromMatmulLayout(m: Float32Array, out: number, inC: number, k: number): Float32Array {
  const w = new Float32Array(m.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inC; i++) for (let j = 0; j < k; j++) w[(o * inC + i) * k + j] = m[(j * inC + i) * out + o]!;
  return w;
}

/** [out, in] ↔ [in, out]. */
export function transpose2d(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!;
  return t;
}

export function denseParamsToMx(w: EmbedderWeights, bridge: MxBridge): DenseParams {
  const k = w.architecture.kernel;
  return {
    convWeights: w.convs.map((c) => bridge.toMx(convToMatmulLayout(c.weight, c.outChannels, c.inChannels, k), [k * c.inChannels, c.outChannels])),
    convBiases: w.convs.map((c) => bridge.toMx(c.bias, [c.outChannels])),
    projWeight: bridge.toMx(transpose2d(w.projection.weight, w.architecture.outputDim, w.architecture.channels), [w.architecture.channels, w.architecture.outputDim]),
    projBias: bridge.toMx(w.projection.bias, [w.architecture.outputDim]),
  };
}

/** Copies the dense mlx parameters back into `w` (the table is already JS-side). */
export function denseParamsFromMx(p: DenseParams, w: EmbedderWeights, bridge: MxBridge): void {
  const k = w.architecture.kernel;
  w.convs.forEach((c, i) => {
    c.weight = convFromMatmulLayout(bridge.toFloat32(p.convWeights[i]!), c.outChannels, c.inChannels, k);
    c.bias = bridge.toFloat32(p.convBiases[i]!);
  });
  w.projection = {
    weight: transpose2d(bridge.toFloat32(p.projWeight), w.architecture.channels, w.architecture.outputDim),
    bias: bridge.toFloat32(p.projBias),
  };
}

// ---- forward ----

/**
 * Encodes a batch: `wordVectors` [W, E] (the batch's distinct words, plus an all-zero row that padding points at),
 * `positions` [B, L] int32 rows of wordVectors, `mask` [B, L, 1] (1 = word, 0 = padding) → unit vectors [B, D].
 * Padding positions are zeroed after every layer, so a text's embedding does not depend on how far it is padded
 * (the ONNX graph does the same, which makes every length bucket agree).
 */
export function encode(mx: MxCore, arch: EmbedderArchitecture, p: DenseParams, wordVectors: MxArray, positions: MxArray, mask: MxArray): MxArray {
  const [batch, length] = positions.shape as [number, number];
  const half = (arch.kernel - 1) / 2;
  let h = mx.take(wordVectors, positions, 0); // [B, L, E]
  let inChannels = arch.embedDim;
  for (let layer = 0; layer < arch.layers; layer++) {
    let columns: MxArray = h;
    if (arch.kernel > 1) {
      const padded = mx.pad(h, [
        [0, 0],
        [half, half],
        [0, 0],
      ]);
      // The shifted views come from split, not index slicing: mlx's VJP of a slice was 120 ms on a
      // [128, 128, 128] tensor (it scatters into zeros) where split's was 9 ms.
      const views: MxArray[] = [];
      for (let j = 0; j < arch.kernel; j++) {
        const cuts = j === 0 ? [length] : j === 2 * half ? [j] : [j, j + length];
        views.push(mx.split(padded, cuts, 1)[j === 0 ? 0 : 1]!);
      }
      columns = mx.concatenate(views, 2); // [B, L, k·in], channel j·in + i = x[l + j − half][i]
    }
    const y = mx.addmm(p.convBiases[layer]!, columns.reshape(batch * length, arch.kernel * inChannels), p.convWeights[layer]!).reshape(batch, length, arch.channels);
    const activated = mx.multiply(mx.maximum(y, 0), mask);
    h = inChannels === arch.channels ? mx.add(h, activated) : activated;
    inChannels = arch.channels;
  }
  const count = mx.maximum(mx.sum(mask, 1), 1e-6); // [B, 1]
  const pooled = mx.divide(mx.sum(h, 1), count); // h is zero at padding already
  const out = mx.addmm(p.projBias, pooled, p.projWeight);
  const norm = mx.maximum(mx.sqrt(mx.sum(mx.square(out), 1, true)), 1e-12);
  return mx.divide(out, norm);
}

/**
 * InfoNCE with in-batch negatives: row i of `queries` [B, D] should pick row i of `passages` [P, D], P ≥ B (rows
 * beyond B are extra negatives, e.g. mined hard negatives), logits = cosine / temperature. Symmetric adds the
 * passage→query direction over the B paired passages (averaged). `bias` [B, P], when given, is added to the logits:
 * a constant (no gradient) such as another ranker's score, so the loss is the one of the fused score and the
 * model learns what that ranker gets wrong.
 */
export function infoNceLoss(mx: MxCore, queries: MxArray, passages: MxArray, temperature: number, symmetric: boolean, bias?: MxArray): MxArray {
  const n = queries.shape[0]!;
  const p = passages.shape[0]!;
  const cosine = mx.multiply(mx.matmul(queries, passages.T), 1 / temperature); // [B, P]
  const logits = bias ? mx.add(cosine, bias) : cosine;
  const paired = p > n ? mx.split(logits, [n], 1)[0]! : logits; // [B, B]
  const diagonal = mx.sum(mx.multiply(paired, mx.eye(n)), 1);
  const forward = mx.mean(mx.subtract(mx.logsumexp(logits, 1), diagonal));
  if (!symmetric) return forward;
  const backward = mx.mean(mx.subtract(mx.logsumexp(paired, 0), diagonal));
  return mx.multiply(mx.add(forward, backward), 0.5);
}

// ---- optimisers ----

export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled (AdamW) weight decay; 0 turns it off. */
  weightDecay: number;
}

export const DEFAULT_ADAM: AdamOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** Adam(W) over a list of mlx parameters. */
export class DenseAdam {
  private m: MxArray[];
  private v: MxArray[];
  constructor(
    private readonly mx: MxCore,
    params: MxArray[],
    private readonly opts: AdamOptions = DEFAULT_ADAM,
  ) {
    this.m = params.map((p) => mx.zerosLike(p));
    this.v = params.map((p) => mx.zerosLike(p));
  }

  /** One update at 1-based step `t` with learning rate `lr`; returns the new parameters (mlx arrays are immutable). */
  step(params: MxArray[], grads: MxArray[], lr: number, t: number): MxArray[] {
    const { mx } = this;
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    return params.map((p, i) => {
      const g = grads[i]!;
      const m = mx.add(mx.multiply(this.m[i]!, beta1), mx.multiply(g, 1 - beta1));
      const v = mx.add(mx.multiply(this.v[i]!, beta2), mx.multiply(mx.square(g), 1 - beta2));
      this.m[i] = m;
      this.v[i] = v;
      const update = mx.divide(mx.multiply(m, lr / c1), mx.add(mx.sqrt(mx.multiply(v, 1 / c2)), eps));
      const decayed = weightDecay > 0 ? mx.multiply(p, 1 - lr * weightDecay) : p;
      return mx.subtract(decayed, update);
    });
  }

  /** Arrays to evaluate together with the parameters, so the moments do not pile up as lazy graphs. */
  state(): MxArray[] {
    return [...this.m, ...this.v];
  }
}

/**
 * Lazy ("sparse") Adam for the embedding table: only rows with a gradient this step are updated, with their own
 * moments and the global bias correction (as TensorFlow's LazyAdam). Rows a batch never touches stay as they are,
 * which is what makes a 2^17-row table cheap to train.
 */
export class SparseRowAdam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  constructor(
    private readonly table: Float32Array,
    private readonly dim: number,
    private readonly opts: AdamOptions = DEFAULT_ADAM,
  ) {
    this.m = new Float32Array(table.length);
    this.v = new Float32Array(table.length);
  }

  /** `rows[r]` is a table row whose gradient is grad[r·dim .. (r+1)·dim). */
  step(rows: Int32Array, grad: Float32Array, lr: number, t: number): void {
    const { beta1, beta2, eps } = this.opts;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    const { table, m, v, dim } = this;
    for (let r = 0; r < rows.length; r++) {
      const base = rows[r]! * dim;
      const gBase = r * dim;
      for (let c = 0; c < dim; c++) {
        const g = grad[gBase + c]!;
        const mi = beta1 * m[base + c]! + (1 - beta1) * g;
        const vi = beta2 * v[base + c]! + (1 - beta2) * g * g;
        m[base + c] = mi;
        v[base + c] = vi;
        table[base + c] = table[base + c]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
    }
  }
}

// The serving side of the Conv1d embedder: reads an exported model folder (train/embedder/export.ts writes it),
// turns texts into channels-first word-vector sequences in JS and runs one static-shape ONNX graph per length
// bucket through createSession (the one execution-provider seam).
//
// The embedding bag runs here, not in the graph (see tokenizer.ts): a word's vector — the mean of its hashed
// rows — is computed once and cached, so a text costs one row copy per word before the convolutions.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { z } from 'zod';
import { SieveError } from '../errors.js';
import type { Embedder } from '../types.js';
// The IEEE half codec is a pure function shared with the exporter; it carries no training code.
import { convertModelToFloat32, float16BitsToFloat32, float32ToFloat16Bits } from './onnx/fp16.js';
import { createSession, type RuntimeLogger } from './runtime.js';
import { meanBagInto, tokenize, tokenizerConfigSchema, wordBag, type TokenizerConfig } from './tokenizer.js';

export const EMBEDDER_CONFIG_FILE = 'embedder.json';

export type Precision = 'fp32' | 'fp16';

export const architectureSchema = z.object({
  /** Width of the hashed embedding table (and of a word vector). */
  embedDim: z.number().int().min(8).max(1024),
  /** Channels of every Conv1d layer. */
  channels: z.number().int().min(8).max(2048),
  layers: z.number().int().min(1).max(12),
  /** Conv kernel width along the sequence; odd so 'same' padding is symmetric. */
  kernel: z.number().int().min(1).max(9).refine((k) => k % 2 === 1, 'kernel must be odd'),
  /** Embedding size; a multiple of 32 (64-byte fp16 rows on the ANE). */
  outputDim: z.number().int().min(32).max(4096).refine((d) => d % 32 === 0, 'outputDim must be a multiple of 32'),
  activation: z.literal('relu'),
});

export type EmbedderArchitecture = z.infer<typeof architectureSchema>;

const precisionFilesSchema = z.object({
  table: z.string().min(1),
  /** Graph file per length bucket, keyed by the bucket length as a string. */
  graphs: z.record(z.string().regex(/^\d+$/), z.string().min(1)),
});

export const embedderConfigSchema = z.object({
  format: z.literal('sieve-embedder'),
  formatVersion: z.literal(1),
  id: z.string().min(1),
  dim: z.number().int().positive(),
  tokenizer: tokenizerConfigSchema,
  architecture: architectureSchema,
  precisions: z
    .object({ fp32: precisionFilesSchema.optional(), fp16: precisionFilesSchema.optional() })
    .refine((p) => p.fp32 !== undefined || p.fp16 !== undefined, 'no precision listed'),
  meta: z.record(z.string(), z.unknown()).default({}),
  metrics: z.record(z.string(), z.unknown()).default({}),
});

export type EmbedderConfig = z.infer<typeof embedderConfigSchema>;

/** Reads and validates `<dir>/embedder.json`; MODEL_INVALID / PATH_NOT_FOUND otherwise. */
export async function readEmbedderConfig(dir: string): Promise<EmbedderConfig> {
  const file = path.join(dir, EMBEDDER_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SieveError('PATH_NOT_FOUND', `no embedder config at ${file}`, { path: file }, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SieveError('MODEL_INVALID', `${file} is not valid JSON`, { path: file }, { cause: err });
  }
  const parsed = embedderConfigSchema.safeParse(json);
  if (!parsed.success) throw new SieveError('MODEL_INVALID', `${file}: ${z.prettifyError(parsed.error)}`, { path: file });
  const { tokenizer, precisions, architecture, dim } = parsed.data;
  if (architecture.outputDim !== dim) throw new SieveError('MODEL_INVALID', `${file}: dim ${dim} differs from the architecture's outputDim ${architecture.outputDim}`);
  for (const files of [precisions.fp32, precisions.fp16]) {
    if (!files) continue;
    const listed = Object.keys(files.graphs).map(Number).sort((a, b) => a - b);
    if (listed.join() !== tokenizer.lengthBuckets.join()) {
      throw new SieveError('MODEL_INVALID', `${file}: graphs for lengths [${listed.join(', ')}] but the tokenizer buckets are [${tokenizer.lengthBuckets.join(', ')}]`);
    }
  }
  return parsed.data;
}

/** Reads a table file (float32 or float16, little-endian) as float32 [buckets × embedDim]. */
export async function readEmbeddingTable(file: string, precision: Precision, rows: number, dim: number): Promise<Float32Array> {
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new SieveError('PATH_NOT_FOUND', `embedding table ${file} is missing`, { path: file }, { cause: err });
  });
  const width = precision === 'fp32' ? 4 : 2;
  if (bytes.length !== rows * dim * width) {
    throw new SieveError('MODEL_INVALID', `embedding table ${file} has ${bytes.length} bytes; ${rows}×${dim} ${precision} needs ${rows * dim * width}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (precision === 'fp32') {
    const out = new Float32Array(rows * dim);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  let bits: Uint16Array;
  if (os.endianness() === 'LE') {
    // The file is little-endian like this machine: one copy into an aligned buffer instead of 8 M DataView reads.
    bits = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  } else {
    bits = new Uint16Array(rows * dim);
    for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(i * 2, true);
  }
  return float16BitsToFloat32(bits);
}

/** The graph input of one text: x [E, L] channels-first (x[c·L + l]), mask [L], its bucket and word count. */
export interface SequenceInput {
  x: Float32Array;
  mask: Float32Array;
  bucket: number;
  length: number;
}

/** Caches each distinct word's vector (the mean of its bag's rows); cleared when it reaches `capacity`. */
export class WordVectorCache {
  private readonly cache = new Map<string, Float32Array>();
  /** Position-major scratch [words × dim] for sequence(). */
  private rows = new Float32Array(0);
  constructor(
    private readonly table: Float32Array,
    private readonly cfg: TokenizerConfig,
    private readonly dim: number,
    private readonly capacity = 100_000,
  ) {}

  get(word: string): Float32Array {
    let v = this.cache.get(word);
    if (!v) {
      v = new Float32Array(this.dim);
      meanBagInto(this.table, this.dim, wordBag(word, this.cfg), v, 0, 1);
      if (this.cache.size >= this.capacity) this.cache.clear();
      this.cache.set(word, v);
    }
    return v;
  }

  /**
   * The graph input of a text (truncated to the largest bucket). With `reuse`, the buffers of that bucket are
   * overwritten instead of allocated: a fresh 40 KB Float32Array cost ~70 µs here, more than filling it.
   */
  sequence(text: string, reuse?: Map<number, { x: Float32Array; mask: Float32Array }>): SequenceInput {
    const { words, bucket } = tokenize(text, this.cfg);
    const dim = this.dim;
    let buffers = reuse?.get(bucket);
    if (buffers) {
      buffers.x.fill(0);
      buffers.mask.fill(0);
    } else {
      buffers = { x: new Float32Array(dim * bucket), mask: new Float32Array(bucket) };
      reuse?.set(bucket, buffers);
    }
    const { x, mask } = buffers;
    const n = words.length;
    mask.fill(1, 0, n);
    // Word vectors are copied position-major into one contiguous scratch (a native memcpy each), then transposed to
    // channels-first with sequential writes: a third of the per-text JS time of reading 64 floats out of each
    // word's own array per channel, which was the largest JS cost of corpus embedding.
    const needed = n * dim;
    if (this.rows.length < needed) this.rows = new Float32Array(Math.max(needed, this.rows.length * 2));
    const rows = this.rows;
    for (let l = 0; l < n; l++) rows.set(this.get(words[l]!), l * dim);
    for (let c = 0; c < dim; c++) {
      const row = c * bucket;
      for (let l = 0, at = c; l < n; l++, at += dim) x[row + l] = rows[at]!;
    }
    return { x, mask, bucket, length: n };
  }
}

export interface OnnxEmbedderOptions {
  cacheDir: string;
  /** Threads per ONNX Runtime session; default 1 (a query's graph is too small to split across threads). */
  intraOpThreads?: number;
  /** Which exported precision to run; default fp16 when the folder has it (the ANE's format), else fp32. */
  precision?: Precision;
  logger?: RuntimeLogger;
}

interface BucketSession {
  session: ort.InferenceSession;
  length: number;
}

/** The Conv1d embedder over ONNX Runtime. `version` is the model id in embedder.json (the HNSW index is tied to it). */
export class OnnxEmbedder implements Embedder {
  readonly version: string;
  readonly dim: number;
  /** The execution provider that serves (e.g. 'cpu', 'coreml'). */
  readonly provider: string;
  readonly precision: Precision;
  private readonly scratch = new Map<number, { x: Float32Array; mask: Float32Array }>();

  private constructor(
    readonly config: EmbedderConfig,
    private readonly words: WordVectorCache,
    private readonly sessions: Map<number, BucketSession>,
    provider: string,
    precision: Precision,
    /** Whether the graphs take half inputs (an FP16 graph run as exported) or float (FP32, or FP16 widened on CPU). */
    private readonly halfIo: boolean,
  ) {
    this.version = config.id;
    this.dim = config.dim;
    this.provider = provider;
    this.precision = precision;
  }

  static async load(dir: string, opts: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    const config = await readEmbedderConfig(dir);
    const precision: Precision = opts.precision ?? (config.precisions.fp16 ? 'fp16' : 'fp32');
    const files = config.precisions[precision];
    if (!files) throw new SieveError('MODEL_INVALID', `embedder ${config.id} in ${dir} has no ${precision} files`, { dir, precision });
    const { architecture, tokenizer } = config;
    const table = await readEmbeddingTable(path.join(dir, files.table), precision, tokenizer.buckets, architecture.embedDim);
    const sessionOpts = { cacheDir: opts.cacheDir, intraOpThreads: opts.intraOpThreads ?? 1, ...(opts.logger ? { logger: opts.logger } : {}) };
    const sessions = new Map<number, BucketSession>();
    let provider = 'cpu';
    let halfIo = precision === 'fp16';
    try {
      for (const length of tokenizer.lengthBuckets) {
        const file = path.join(dir, files.graphs[String(length)]!);
        let opened = await createSession(file, sessionOpts);
        if (precision === 'fp16' && opened.provider === 'cpu') {
          // On CPU the half weights are widened (exactly) and run on fp32 kernels: activations keep fp32 range
          // and precision, and the result does not depend on whether this CPU build has half kernels (without
          // them ONNX Runtime inserts a Cast around every node). Same speed as native fp16 on this x86 box.
          await opened.session.release();
          opened = await createSession(convertModelToFloat32(await readFile(file)), sessionOpts);
          halfIo = false;
        }
        provider = opened.provider;
        sessions.set(length, { session: opened.session, length });
      }
    } catch (err) {
      await Promise.all([...sessions.values()].map((s) => s.session.release()));
      throw err;
    }
    return new OnnxEmbedder(config, new WordVectorCache(table, tokenizer, architecture.embedDim), sessions, provider, precision, halfIo);
  }

  /** The graph input for a text (exposed for tests and the exporter's range samples). */
  sequence(text: string): SequenceInput {
    return this.words.sequence(text);
  }

  /** Unit vectors, one per text, in order. Queries and passages share the model (no prefixes). */
  async embed(texts: readonly string[], _kind: 'query' | 'passage'): Promise<Float32Array[]> {
    // One text per run at its bucket (batch 1, static shapes). onnxruntime-node executes a run on the calling
    // thread (measured: overlapping JS work with a pending run saved ~10%), so runs are issued one after another;
    // parallelism comes from intraOpThreads or from embedding in several worker threads.
    // Each text holds a lock while it uses the shared input buffers, so concurrent callers (a query arriving during
    // a corpus embed) interleave per text rather than waiting for the whole batch, and never share a buffer.
    const out: Float32Array[] = [];
    for (const text of texts) out.push(await this.exclusive(() => this.embedOne(text)));
    return out;
  }

  private lock: Promise<void> = Promise.resolve();

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.lock;
    let release: () => void = () => undefined;
    this.lock = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private async embedOne(text: string): Promise<Float32Array> {
    // Runs are sequential (see embed), so one input buffer per bucket is enough.
    const input = this.words.sequence(text, this.scratch);
    const bucket = this.sessions.get(input.bucket);
    if (!bucket) throw new SieveError('INTERNAL', `no session for length bucket ${input.bucket}`);
    const E = this.config.architecture.embedDim;
    const feeds = this.halfIo
      ? {
          x: new Tensor('float16', float32ToFloat16Bits(input.x), [1, E, 1, input.bucket]),
          mask: new Tensor('float16', float32ToFloat16Bits(input.mask), [1, 1, 1, input.bucket]),
        }
      : {
          x: new Tensor('float32', input.x, [1, E, 1, input.bucket]),
          mask: new Tensor('float32', input.mask, [1, 1, 1, input.bucket]),
        };
    const result = await bucket.session.run(feeds);
    const embedding = result['embedding'];
    if (!embedding) throw new SieveError('MODEL_INVALID', `embedder ${this.version} produced no 'embedding' output`);
    const data = embedding.data;
    if (data instanceof Float32Array) return Float32Array.from(data);
    if (data instanceof Uint16Array) return float16BitsToFloat32(data);
    throw new SieveError('MODEL_INVALID', `embedder ${this.version} output has type ${embedding.type}`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.session.release()));
    this.sessions.clear();
  }
}

// The relevance model at serving time: the exported ONNX buckets (one static candidate count each) behind one
// score() call. Candidates arrive row-major (n × F, how features are built); the graph wants standardised
// features channels-first [1, F, 1, N], so each call standardises (in FP32, exactly as training did; see
// export.ts for why this is not in the graph) while transposing into a buffer kept per bucket (no allocation
// but the result), pads the unused columns with zeros and returns the first n logits. More than the largest
// bucket is scored in slices.
// This file also owns the model folder's config format (relevance.json), which export writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { createSession, type RuntimeLogger } from '../embed/runtime.js';
import { SieveError } from '../errors.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../embed/onnx/fp16.js';
import { standardiseValue } from './standardise.js';

export const RELEVANCE_CONFIG_FILE = 'relevance.json';
export const RELEVANCE_INPUT = 'features';
export const RELEVANCE_OUTPUT = 'logits';

const finite = z.number().finite();

export const relevanceModelConfigSchema = z
  .object({
    format: z.literal('sieve-relevance'),
    formatVersion: z.literal(1),
    version: z.string().min(1),
    featureNames: z.array(z.string().min(1)).min(1),
    input: z.object({ name: z.literal(RELEVANCE_INPUT), layout: z.literal('[1, F, 1, N]') }),
    output: z.object({ name: z.literal(RELEVANCE_OUTPUT), layout: z.literal('[1, 1, 1, N]') }),
    /** Static candidate counts, ascending, each a multiple of 32. */
    buckets: z.array(z.number().int().positive().multipleOf(32)).min(1),
    /** Per precision: bucket size (as a string key) → file name in the model folder. */
    files: z.object({ fp32: z.record(z.string(), z.string().min(1)), fp16: z.record(z.string(), z.string().min(1)) }),
    /** Applied by the scorer before the graph: clip((x − mean) · scale, ±clip) per feature. */
    standardisation: z.object({ inGraph: z.literal(false), mean: z.array(finite), scale: z.array(finite), clip: z.number().positive() }),
    calibration: z.object({ temperature: z.number().positive().finite(), bias: finite }),
    architecture: z.object({
      kind: z.literal('mlp-conv1x1'),
      inputs: z.number().int().positive(),
      hidden: z.tuple([z.number().int().positive(), z.number().int().positive()]),
      activation: z.literal('relu'),
    }),
    metrics: z.record(z.string(), finite),
    /** Largest |activation| the FP16 range probe saw at export, on real training inputs. */
    fp16MaxAbsActivation: z.number().nullable(),
  })
  .superRefine((c, ctx) => {
    const F = c.featureNames.length;
    if (c.architecture.inputs !== F) ctx.addIssue({ code: 'custom', message: `architecture.inputs ${c.architecture.inputs} ≠ ${F} feature names` });
    if (c.standardisation.mean.length !== F || c.standardisation.scale.length !== F) {
      ctx.addIssue({ code: 'custom', message: `standardisation has ${c.standardisation.mean.length}/${c.standardisation.scale.length} values for ${F} features` });
    }
    for (let i = 1; i < c.buckets.length; i++) {
      if (c.buckets[i]! <= c.buckets[i - 1]!) ctx.addIssue({ code: 'custom', message: `buckets must be strictly ascending: ${c.buckets.join(', ')}` });
    }
    for (const b of c.buckets) {
      for (const precision of ['fp32', 'fp16'] as const) {
        if (!c.files[precision][String(b)]) ctx.addIssue({ code: 'custom', message: `no ${precision} file for bucket ${b}` });
      }
    }
  });

export type RelevanceModelConfig = z.infer<typeof relevanceModelConfigSchema>;

/** Reads and validates `<dir>/relevance.json`. */
export function readRelevanceModelConfig(dir: string): RelevanceModelConfig {
  const path = join(dir, RELEVANCE_CONFIG_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SieveError(missing ? 'PATH_NOT_FOUND' : 'MODEL_INVALID', `relevance model config ${path}: ${err instanceof Error ? err.message : String(err)}`, { path }, { cause: err });
  }
  const parsed = relevanceModelConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SieveError('MODEL_INVALID', `relevance model config ${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, { path });
  }
  return parsed.data;
}

/** The smallest bucket ≥ n, or null when n exceeds every bucket. `buckets` ascending. */
export function bucketFor(buckets: readonly number[], n: number): number | null {
  for (const b of buckets) if (b >= n) return b;
  return null;
}

/** How n candidates are cut into bucket runs: [offset, count, bucket] each (largest bucket first, then the rest). */
export function planSlices(buckets: readonly number[], n: number): Array<{ offset: number; count: number; bucket: number }> {
  const largest = buckets[buckets.length - 1]!;
  const slices: Array<{ offset: number; count: number; bucket: number }> = [];
  let offset = 0;
  while (n - offset > largest) {
    slices.push({ offset, count: largest, bucket: largest });
    offset += largest;
  }
  if (n - offset > 0) slices.push({ offset, count: n - offset, bucket: bucketFor(buckets, n - offset)! });
  return slices;
}

export type RelevancePrecision = 'fp32' | 'fp16';

export interface RelevanceScorerOptions {
  cacheDir: string;
  /** onnxruntime intra-op threads; default 1 (the model is a few thousand multiply-adds per candidate). */
  intraOpThreads?: number;
  /** Default fp16 on Apple silicon (the ANE computes in half), fp32 elsewhere (CPU half kernels are slower). */
  precision?: RelevancePrecision;
  logger?: RuntimeLogger;
}

const scorerOptionsSchema = z.object({
  cacheDir: z.string().min(1),
  intraOpThreads: z.number().int().positive().default(1),
  precision: z.enum(['fp32', 'fp16']).optional(),
});

interface BucketRunner {
  size: number;
  session: ort.InferenceSession;
  /** Channels-first input, F × size, reused by every call. */
  input: Float32Array;
  /** The half copy fed to an FP16 model (null for FP32). */
  inputHalf: Uint16Array | null;
  tensor: ort.Tensor;
  /** Columns [0, filled) may hold the previous call's candidates; the rest are zero. */
  filled: number;
  /** Calls on one bucket run one at a time, since they share `input`. */
  queue: Promise<unknown>;
}

export class OnnxRelevanceScorer {
  readonly featureNames: string[];
  readonly version: string;
  readonly buckets: readonly number[];

  private constructor(
    readonly config: RelevanceModelConfig,
    readonly precision: RelevancePrecision,
    /** The execution provider that serves (the same for every bucket). */
    readonly provider: string,
    private readonly runners: Map<number, BucketRunner>,
  ) {
    this.featureNames = [...config.featureNames];
    this.version = config.version;
    this.buckets = [...config.buckets];
  }

  /** Opens every bucket's session up front so the first query pays no load. */
  static async load(dir: string, options: RelevanceScorerOptions): Promise<OnnxRelevanceScorer> {
    const opts = scorerOptionsSchema.parse({ cacheDir: options.cacheDir, intraOpThreads: options.intraOpThreads, precision: options.precision });
    const config = readRelevanceModelConfig(dir);
    const precision: RelevancePrecision = opts.precision ?? (process.platform === 'darwin' && process.arch === 'arm64' ? 'fp16' : 'fp32');
    const F = config.featureNames.length;
    const runners = new Map<number, BucketRunner>();
    let provider = 'cpu';
    try {
      for (const size of config.buckets) {
        const file = join(dir, config.files[precision][String(size)]!);
        const created = await createSession(file, { cacheDir: opts.cacheDir, intraOpThreads: opts.intraOpThreads, ...(options.logger ? { logger: options.logger } : {}) });
        provider = created.provider;
        const input = new Float32Array(F * size);
        const inputHalf = precision === 'fp16' ? new Uint16Array(F * size) : null;
        const tensor = inputHalf ? new ort.Tensor('float16', inputHalf, [1, F, 1, size]) : new ort.Tensor('float32', input, [1, F, 1, size]);
        runners.set(size, { size, session: created.session, input, inputHalf, tensor, filled: 0, queue: Promise.resolve() });
      }
    } catch (err) {
      await Promise.all([...runners.values()].map((r) => r.session.release()));
      throw err;
    }
    return new OnnxRelevanceScorer(config, precision, provider, runners);
  }

  /** Logits for n candidates whose features are n × F row-major (F = featureNames.length). */
  async score(features: Float32Array, n: number): Promise<Float32Array> {
    const F = this.featureNames.length;
    if (!Number.isInteger(n) || n < 0) throw new SieveError('INTERNAL', `relevance scorer: n must be a non-negative integer, got ${n}`);
    if (features.length < n * F) throw new SieveError('INTERNAL', `relevance scorer: ${features.length} feature values for ${n} candidates × ${F} features`);
    const logits = new Float32Array(n);
    for (const slice of planSlices(this.buckets, n)) {
      const runner = this.runners.get(slice.bucket)!;
      const run = runner.queue.then(() => this.runBucket(runner, features, slice.offset, slice.count, logits));
      runner.queue = run.catch(() => undefined);
      await run;
    }
    return logits;
  }

  /** Calibrated P(referenced) for a logit. */
  probability(logit: number): number {
    const { temperature, bias } = this.config.calibration;
    const z = (logit - bias) / temperature;
    return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
  }

  async close(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.queue.then(() => r.session.release())));
    this.runners.clear();
  }

  private async runBucket(runner: BucketRunner, features: Float32Array, offset: number, count: number, out: Float32Array): Promise<void> {
    const F = this.featureNames.length;
    const N = runner.size;
    const input = runner.input;
    const { mean, scale, clip } = this.config.standardisation;
    for (let f = 0; f < F; f++) {
      const row = f * N;
      const m = mean[f]!;
      const k = scale[f]!;
      for (let i = 0; i < count; i++) input[row + i] = standardiseValue(features[(offset + i) * F + f]!, m, k, clip);
      // Zero only the columns the previous, wider call left behind.
      if (runner.filled > count) input.fill(0, row + count, row + runner.filled);
    }
    runner.filled = count;
    if (runner.inputHalf) runner.inputHalf.set(float32ToFloat16Bits(input));
    const results = await runner.session.run({ [RELEVANCE_INPUT]: runner.tensor });
    const output = results[RELEVANCE_OUTPUT];
    if (!output) throw new SieveError('MODEL_INVALID', `relevance model ${this.version} has no output '${RELEVANCE_OUTPUT}'`);
    const data = output.data;
    if (data instanceof Float32Array) out.set(data.subarray(0, count), offset);
    else if (data instanceof Uint16Array) out.set(float16BitsToFloat32(data.subarray(0, count)), offset);
    else throw new SieveError('MODEL_INVALID', `relevance model ${this.version}: output '${RELEVANCE_OUTPUT}' is ${output.type}, expected float32 or float16`);
    output.dispose();
  }
}

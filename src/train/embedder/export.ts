// ONNX export of the Conv1d embedder, FP32 and FP16, one static-shape graph per sequence-length bucket.
//
// Layout of an exported model folder (all names relative to it):
//   embedder.json          the config: id, tokenizer, architecture, files per precision, meta, metrics (zod-checked on load)
//   fp32/table.bin         the hashed embedding table [buckets, embedDim], float32 little-endian
//   fp32/l<L>.onnx         one graph per length bucket L: x [1, E, 1, L] + mask [1, 1, 1, L] → embedding [1, D, 1, 1]
//   fp16/table.bin, fp16/l<L>.onnx   the same in IEEE half precision (float16 weights, inputs and outputs)
// One file per bucket because the ANE compiles static shapes only; the conv weights (~1 MB in fp16) repeat per
// file, the table (the bulk) is stored once per precision and looked up in JS (see embed/tokenizer.ts for why the
// graph starts after the embedding bag). Batch is 1: on CPU a batch of 1 ran as fast per text as 4 or 16 for
// L ≥ 128 (and queries are single texts anyway), and it keeps the file count at one per bucket.
//
// Each graph is Conv → Relu → Mul(mask) [→ Add residual] per layer, masked mean pool, a 1×1 Conv projection and
// L2 normalisation: ANE form (no MatMul, no Reshape/Transpose, channels-first, last axes multiples of 32), checked
// with checkAneCompatibility (including the FP16 range on sample inputs) before anything is written.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SieveError } from '../../errors.js';
import type { TokenizerConfig } from '../../embed/tokenizer.js';
import { EMBEDDER_CONFIG_FILE, embedderConfigSchema, readEmbedderConfig, readEmbeddingTable, type EmbedderConfig, type Precision } from '../../embed/onnx-embedder.js';
import { GraphBuilder, decodeModel } from '../../embed/onnx/builder.js';
import { checkAneCompatibility, type AneReport, type SampleInput } from '../../embed/onnx/ane-check.js';
import { convertModelToFloat16, float16BitsToFloat32, float32ToFloat16Bits } from '../../embed/onnx/fp16.js';
import { elementTypeName, float16TensorBits, floatTensorValues } from '../../embed/onnx/read.js';
import type { EmbedderWeights } from './model.js';

export const EMBEDDER_OPSET = 17;

/** Builds the FP32 graph of one length bucket. */
export function buildEmbedderGraph(weights: EmbedderWeights, length: number, modelId: string): Uint8Array {
  const arch = weights.architecture;
  const g = new GraphBuilder(`sieve_embedder_l${length}`);
  const x = g.input('x', 'float32', [1, arch.embedDim, 1, length]);
  const mask = g.input('mask', 'float32', [1, 1, 1, length]);
  const half = (arch.kernel - 1) / 2;
  let h = x;
  weights.convs.forEach((conv, i) => {
    const y = g.conv1d(h, conv.weight, [conv.outChannels, conv.inChannels, arch.kernel], conv.bias, { pads: [half, half], name: `conv${i}` });
    const activated = g.mul(g.relu(y, `relu${i}`), mask, `masked${i}`);
    h = conv.inChannels === conv.outChannels ? g.add(h, activated, `residual${i}`) : activated;
  });
  const pooled = g.maskedMeanPool(h, mask, { name: 'pool' });
  const projected = g.conv1d(pooled, weights.projection.weight, [arch.outputDim, arch.channels, 1], weights.projection.bias, { name: 'projection' });
  g.l2Normalize(projected, { name: 'embedding' });
  g.output('embedding', 'float32', [1, arch.outputDim, 1, 1]);
  return g.toModel({
    opset: EMBEDDER_OPSET,
    producer: 'sieve',
    docString: 'sieve Conv1d text embedder (input: mean-of-bag word vectors, channels-first)',
    metadata: { kind: 'embedder', version: modelId, length: String(length) },
  });
}

export interface ExportEmbedderOptions {
  modelId: string;
  tokenizer: TokenizerConfig;
  precisions?: Precision[];
  meta?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  /** Embedded sample texts per bucket ([1, E, 1, L] inputs and masks) for the FP16 range check. */
  samples?: Map<number, SampleInput[]>;
}

export interface ExportedEmbedder {
  config: EmbedderConfig;
  /** Absolute paths. */
  configPath: string;
  dirs: Partial<Record<Precision, string>>;
  aneReports: Map<number, AneReport>;
}

function tableBytes(table: Float32Array, precision: Precision): Uint8Array {
  if (precision === 'fp32') {
    const out = new Uint8Array(table.byteLength);
    const view = new DataView(out.buffer);
    for (let i = 0; i < table.length; i++) view.setFloat32(i * 4, table[i]!, true);
    return out;
  }
  const bits = float32ToFloat16Bits(table);
  const out = new Uint8Array(bits.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < bits.length; i++) view.setUint16(i * 2, bits[i]!, true);
  return out;
}

/**
 * Writes the model folder. Every FP16 graph must pass the ANE check (static rules, and the FP16 range on the
 * samples when given) or nothing is written and MODEL_INVALID lists the violations.
 */
export async function exportEmbedder(weights: EmbedderWeights, outDir: string, opts: ExportEmbedderOptions): Promise<ExportedEmbedder> {
  const precisions = opts.precisions ?? ['fp32', 'fp16'];
  const lengths = opts.tokenizer.lengthBuckets;
  const graphs = new Map<Precision, Map<number, Uint8Array>>();
  const aneReports = new Map<number, AneReport>();
  for (const length of lengths) {
    const fp32 = buildEmbedderGraph(weights, length, opts.modelId);
    const fp16 = convertModelToFloat16(fp32);
    if (fp16.report.totalClamped > 0) {
      throw new SieveError('MODEL_INVALID', `embedder weights exceed the FP16 range (${fp16.report.totalClamped} values clamped)`, { clamped: fp16.report.clamped });
    }
    const samples = opts.samples?.get(length);
    const report = await checkAneCompatibility(fp16.bytes, samples ? { sampleInputs: samples } : {});
    aneReports.set(length, report);
    if (!report.ok) {
      throw new SieveError('MODEL_INVALID', `the exported embedder graph for length ${length} breaks ANE rules: ${report.violations.map((v) => `${v.rule}: ${v.message}`).join('; ')}`, {
        violations: report.violations,
      });
    }
    for (const p of precisions) {
      const byLength = graphs.get(p) ?? new Map<number, Uint8Array>();
      byLength.set(length, p === 'fp32' ? fp32 : fp16.bytes);
      graphs.set(p, byLength);
    }
  }

  const root = path.resolve(outDir);
  await mkdir(root, { recursive: true });
  const files: EmbedderConfig['precisions'] = {};
  const dirs: ExportedEmbedder['dirs'] = {};
  for (const p of precisions) {
    const dir = path.join(root, p);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'table.bin'), tableBytes(weights.table, p));
    const graphFiles: Record<string, string> = {};
    for (const [length, bytes] of graphs.get(p)!) {
      await writeFile(path.join(dir, `l${length}.onnx`), bytes);
      graphFiles[String(length)] = `${p}/l${length}.onnx`;
    }
    files[p] = { table: `${p}/table.bin`, graphs: graphFiles };
    dirs[p] = dir;
  }
  const config: EmbedderConfig = embedderConfigSchema.parse({
    format: 'sieve-embedder',
    formatVersion: 1,
    id: opts.modelId,
    dim: weights.architecture.outputDim,
    tokenizer: opts.tokenizer,
    architecture: weights.architecture,
    precisions: files,
    meta: opts.meta ?? {},
    metrics: opts.metrics ?? {},
  });
  const configPath = path.join(root, EMBEDDER_CONFIG_FILE);
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { config, configPath, dirs, aneReports };
}

/**
 * Reads the weights back from an exported folder (the table file and any one bucket's graph: they share weights).
 * FP16 values widen exactly. Used to re-export with other length buckets (the weights do not depend on them)
 * and to continue training from a shipped or serving model.
 */
export async function loadEmbedderWeights(dir: string, precision?: Precision): Promise<{ config: EmbedderConfig; weights: EmbedderWeights }> {
  const config = await readEmbedderConfig(dir);
  const chosen: Precision = precision ?? (config.precisions.fp32 ? 'fp32' : 'fp16');
  const files = config.precisions[chosen];
  if (!files) throw new SieveError('MODEL_INVALID', `embedder ${config.id} in ${dir} has no ${chosen} files`);
  const arch = config.architecture;
  const table = await readEmbeddingTable(path.join(dir, files.table), chosen, config.tokenizer.buckets, arch.embedDim);
  const firstGraph = files.graphs[String(config.tokenizer.lengthBuckets[0])]!;
  const model = decodeModel(await readFile(path.join(dir, firstGraph)));
  const values = new Map<string, Float32Array>();
  for (const t of model.graph?.initializer ?? []) {
    const type = elementTypeName(t.dataType);
    if (type === 'float32') values.set(t.name ?? '', floatTensorValues(t));
    else if (type === 'float16') values.set(t.name ?? '', float16BitsToFloat32(float16TensorBits(t)));
  }
  const take = (name: string, size: number): Float32Array => {
    const v = values.get(name);
    if (!v || v.length !== size) throw new SieveError('MODEL_INVALID', `${firstGraph}: initializer ${name} is missing or has ${v?.length ?? 0} values, expected ${size}`);
    return v;
  };
  const convs: EmbedderWeights['convs'] = [];
  let inChannels = arch.embedDim;
  for (let i = 0; i < arch.layers; i++) {
    convs.push({
      weight: take(`conv${i}.weight`, arch.channels * inChannels * arch.kernel),
      bias: take(`conv${i}.bias`, arch.channels),
      inChannels,
      outChannels: arch.channels,
    });
    inChannels = arch.channels;
  }
  return {
    config,
    weights: {
      architecture: arch,
      buckets: config.tokenizer.buckets,
      table,
      convs,
      projection: { weight: take('projection.weight', arch.outputDim * arch.channels), bias: take('projection.bias', arch.outputDim) },
    },
  };
}

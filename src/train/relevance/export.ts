// Export of a trained relevance model to ONNX in ANE form (DESIGN.md "ANE rules"): input `features`
// [1, F, 1, N] (standardised features on channels, candidates on the last axis), three 1×1 Convs with ReLU
// between, output `logits` [1, 1, 1, N]. One file per static bucket N and precision. Every file is checked with
// checkAneCompatibility, with the model's range-probe rows as sample inputs so the FP16 range rule runs on real
// inputs; a violation refuses the export.
//
// Standardisation is not in the graph: the scorer applies it in FP32 while it transposes the input. Inside an
// FP16 graph the raw features would be rounded to half first, which destroys features whose spread is small
// next to their magnitude (measured: 13% logit error from one feature with mean 5 and std 0.01); standardised
// values (|z| ≤ clip) are what half precision represents well. The config carries mean, scale and clip.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SieveError } from '../../errors.js';
import { RELEVANCE_CONFIG_FILE, RELEVANCE_INPUT, RELEVANCE_OUTPUT, relevanceModelConfigSchema, type RelevanceModelConfig } from '../../rank/relevance-scorer.js';
import { checkAneCompatibility, type AneReport } from '../../embed/onnx/ane-check.js';
import { GraphBuilder } from '../../embed/onnx/builder.js';
import { convertModelToFloat16 } from '../../embed/onnx/fp16.js';
import { standardiseRows, type ParamTensor, type TrainedRelevanceModel } from './model.js';

export const DEFAULT_RELEVANCE_BUCKETS = [64, 128, 256, 512];
const OPSET = 17;

export interface ExportRelevanceOptions {
  /** Static candidate counts, each a multiple of 32; default 64/128/256/512. */
  buckets?: number[];
  /** The version id written into the config; default a hash of the model's parameters. */
  version?: string;
}

const exportOptionsSchema = z.object({
  buckets: z
    .array(z.number().int().positive().multipleOf(32, 'each bucket must be a multiple of 32 (the ANE row alignment)'))
    .min(1)
    .default(DEFAULT_RELEVANCE_BUCKETS),
  version: z.string().min(1).optional(),
});

export interface ExportedRelevanceModel {
  /** Role → file name inside outDir (the registry's `files`): 'config', and 'fp32-<N>' / 'fp16-<N>' per bucket. */
  files: Record<string, string>;
  /** The config written to relevance.json. */
  meta: RelevanceModelConfig;
  /** The ANE check of each ONNX file, by role. */
  aneReports: Record<string, AneReport>;
}

/** A stable id for the model's numbers: same parameters, standardisation and calibration → same version. */
export function relevanceModelVersion(model: TrainedRelevanceModel): string {
  const hash = createHash('sha256');
  for (const t of Object.values(model.params) as ParamTensor[]) hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  hash.update(JSON.stringify({ f: model.featureNames, s: model.standardisation, c: model.calibration }));
  return `relevance-${hash.digest('hex').slice(0, 12)}`;
}

/** The FP32 graph for one bucket size. */
export function buildRelevanceGraph(model: TrainedRelevanceModel, bucket: number): Uint8Array {
  const F = model.featureNames.length;
  const p = model.params;
  const g = new GraphBuilder(`sieve_relevance_${bucket}`);
  const x = g.input(RELEVANCE_INPUT, 'float32', [1, F, 1, bucket]);
  const conv = (input: string, w: ParamTensor, b: ParamTensor, name: string): string =>
    g.conv1d(input, w.data, [w.shape[0]!, w.shape[1]!, 1], b.data, { name });
  const h1 = g.relu(conv(x, p.w1, p.b1, 'dense1'), 'relu1');
  const h2 = g.relu(conv(h1, p.w2, p.b2, 'dense2'), 'relu2');
  conv(h2, p.w3, p.b3, RELEVANCE_OUTPUT);
  g.output(RELEVANCE_OUTPUT, 'float32', [1, 1, 1, bucket]);
  return g.toModel({
    opset: OPSET,
    producer: 'sieve',
    docString: 'sieve relevance model: a 1x1-conv MLP per candidate over standardised features (see relevance.json) -> logits',
    metadata: { featureNames: JSON.stringify(model.featureNames) },
  });
}

/** The range-probe rows, standardised, as channels-first sample inputs of one bucket (zero-padded). */
function sampleInputs(model: TrainedRelevanceModel, bucket: number): Array<Record<string, Float32Array>> {
  const F = model.featureNames.length;
  const n = model.rangeProbe.n;
  const features = standardiseRows(model.rangeProbe.features, n, model.standardisation);
  const samples: Array<Record<string, Float32Array>> = [];
  for (let offset = 0; offset < n; offset += bucket) {
    const count = Math.min(bucket, n - offset);
    const input = new Float32Array(F * bucket);
    for (let i = 0; i < count; i++) for (let f = 0; f < F; f++) input[f * bucket + i] = features[(offset + i) * F + f]!;
    samples.push({ [RELEVANCE_INPUT]: input });
  }
  return samples;
}

function checkParams(model: TrainedRelevanceModel): void {
  const F = model.featureNames.length;
  const [h1, h2] = model.architecture.hidden;
  const expected: Record<string, number[]> = { w1: [h1, F], b1: [h1], w2: [h2, h1], b2: [h2], w3: [1, h2], b3: [1] };
  for (const [name, shape] of Object.entries(expected)) {
    const t = model.params[name as keyof TrainedRelevanceModel['params']];
    if (JSON.stringify(t.shape) !== JSON.stringify(shape) || t.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new SieveError('MODEL_INVALID', `relevance model parameter ${name} has shape ${JSON.stringify(t.shape)} (${t.data.length} values); expected ${JSON.stringify(shape)}`);
    }
  }
  if (model.standardisation.mean.length !== F || model.standardisation.scale.length !== F) {
    throw new SieveError('MODEL_INVALID', `relevance model standardisation does not have ${F} features`);
  }
}

/**
 * Writes relevance-<N>.fp32.onnx and relevance-<N>.fp16.onnx per bucket and relevance.json into outDir.
 * Throws MODEL_INVALID (and writes nothing) when a graph breaks an ANE rule or FP16 conversion clamps a weight.
 */
export async function exportRelevanceModel(model: TrainedRelevanceModel, outDir: string, options: ExportRelevanceOptions = {}): Promise<ExportedRelevanceModel> {
  const opts = exportOptionsSchema.parse(options);
  const buckets = [...new Set(opts.buckets)].sort((a, b) => a - b);
  checkParams(model);

  const outputs: Array<{ role: string; file: string; bytes: Uint8Array }> = [];
  const aneReports: Record<string, AneReport> = {};
  const fp32Files: Record<string, string> = {};
  const fp16Files: Record<string, string> = {};
  let fp16MaxAbsActivation: number | null = null;
  for (const bucket of buckets) {
    const fp32 = buildRelevanceGraph(model, bucket);
    const half = convertModelToFloat16(fp32);
    if (half.report.totalClamped > 0) {
      throw new SieveError('MODEL_INVALID', `relevance model: ${half.report.totalClamped} weights exceed FP16's range (${half.report.clamped.map((c) => c.name).join(', ')})`);
    }
    const samples = sampleInputs(model, bucket);
    for (const [precision, bytes] of [
      ['fp32', fp32],
      ['fp16', half.bytes],
    ] as const) {
      const role = `${precision}-${bucket}`;
      const report = await checkAneCompatibility(bytes, { sampleInputs: samples });
      if (!report.ok) {
        throw new SieveError('MODEL_INVALID', `relevance model ${role} breaks ANE rules: ${report.violations.map((v) => `${v.rule}${v.node ? ` at ${v.node}` : ''}: ${v.message}`).join('; ')}`, { role });
      }
      aneReports[role] = report;
      if (precision === 'fp16' && report.stats.maxAbsActivation !== null) fp16MaxAbsActivation = Math.max(fp16MaxAbsActivation ?? 0, report.stats.maxAbsActivation);
      const file = `relevance-${bucket}.${precision}.onnx`;
      (precision === 'fp32' ? fp32Files : fp16Files)[String(bucket)] = file;
      outputs.push({ role, file, bytes });
    }
  }

  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(model.metrics)) if (Number.isFinite(v)) metrics[k] = v;
  const meta = relevanceModelConfigSchema.parse({
    format: 'sieve-relevance',
    formatVersion: 1,
    version: opts.version ?? relevanceModelVersion(model),
    featureNames: model.featureNames,
    input: { name: RELEVANCE_INPUT, layout: '[1, F, 1, N]' },
    output: { name: RELEVANCE_OUTPUT, layout: '[1, 1, 1, N]' },
    buckets,
    files: { fp32: fp32Files, fp16: fp16Files },
    standardisation: { inGraph: false, ...model.standardisation },
    calibration: model.calibration,
    architecture: model.architecture,
    metrics,
    fp16MaxAbsActivation,
  } satisfies RelevanceModelConfig);

  mkdirSync(outDir, { recursive: true });
  const files: Record<string, string> = {};
  for (const { role, file, bytes } of outputs) {
    writeFileSync(join(outDir, file), bytes);
    files[role] = file;
  }
  // The config goes last: a folder with relevance.json is a complete export.
  writeFileSync(join(outDir, RELEVANCE_CONFIG_FILE), `${JSON.stringify(meta, null, 2)}\n`);
  files['config'] = RELEVANCE_CONFIG_FILE;
  return { files, meta, aneReports };
}

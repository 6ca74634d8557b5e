// The relevance model: per candidate, an MLP F → H1 → H2 → 1 over standardised features, which in ANE form is
// a stack of 1×1 convolutions over the feature channels (DESIGN.md "Models"). This file holds the dataset
// contract, the plain (serialisable) form of a trained model, and the pure math around it: standardisation,
// a reference forward pass, nDCG over list labels and the Platt-style calibration fit. The node-mlx side
// (initialisation, forward in mlx, Adam) is at the bottom and only touches mlx through the `core` passed in.
import type { core } from '../../../types/frost-beta-mlx/index.js';
import { standardiseValue } from '../../rank/standardise.js';

// ---- the dataset contract (built by the dataset builder, consumed by training) ----

/** One training list: one query's candidates. */
export interface RelevanceList {
  queryId: string;
  /** Candidates in this list. */
  n: number;
  /** n × F, row-major: candidate i's features are at [i*F, (i+1)*F). */
  features: Float32Array;
  /** n graded relevance labels: 0 = not relevant, > 0 relevant (e.g. 1 or 2). */
  labels: Float32Array;
  /** n per-candidate weights (inverse propensity); default 1. A weight of 0 leaves the candidate out. */
  weights?: Float32Array;
}

export interface RelevanceDataset {
  featureNames: string[];
  lists: RelevanceList[];
}

// ---- the trained model, as plain data (crosses worker boundaries and is written by export) ----

/** A parameter tensor as plain data. */
export interface ParamTensor {
  data: Float32Array;
  shape: number[];
}

/**
 * The MLP's parameters in convolution layout: weight [out, in] (a 1×1 Conv kernel without its unit axes),
 * bias [out]. Layer 1: F → H1, layer 2: H1 → H2, layer 3: H2 → 1; ReLU after layers 1 and 2.
 */
export interface RelevanceParams {
  w1: ParamTensor;
  b1: ParamTensor;
  w2: ParamTensor;
  b2: ParamTensor;
  w3: ParamTensor;
  b3: ParamTensor;
}

/** x ↦ clip((x − mean) · scale, ±clip), per feature. The clip keeps FP16 activations bounded on outliers. */
export interface Standardisation {
  mean: number[];
  /** 1 / std, or 0 for a feature that was constant on the training set (it carries no signal there). */
  scale: number[];
  clip: number;
}

/** P(referenced) = sigmoid((logit − bias) / temperature). */
export interface Calibration {
  temperature: number;
  bias: number;
}

export interface RelevanceArchitecture {
  kind: 'mlp-conv1x1';
  inputs: number;
  hidden: [number, number];
  activation: 'relu';
}

export interface RelevanceTrainingMetrics {
  /** Mean nDCG@10 over held-out lists with at least one relevant candidate, at the kept epoch. */
  valNdcg10: number;
  /** Mean training loss (listwise cross-entropy) over the kept epoch. */
  trainLoss: number;
  /** Epochs run (including those after the best one, before early stopping). */
  epochs: number;
  /** The epoch whose parameters were kept (1-based). */
  bestEpoch: number;
  seconds: number;
  /** Of which: standardising, padding and loading the data into mlx. */
  stagingSeconds: number;
  trainLists: number;
  valLists: number;
  /** Held-out binary log-loss of the calibrated probabilities. */
  calibrationLogLoss: number;
}

export interface TrainedRelevanceModel {
  architecture: RelevanceArchitecture;
  params: RelevanceParams;
  featureNames: string[];
  standardisation: Standardisation;
  calibration: Calibration;
  metrics: RelevanceTrainingMetrics;
  /**
   * A few hundred raw training candidates (rows × F, row-major), including each feature's extremes, so export
   * can check the FP16 range of every activation on real inputs.
   */
  rangeProbe: { n: number; features: Float32Array };
}

/** Standardised features are clipped to ±this many standard deviations: far beyond real spread, well inside FP16. */
export const STANDARDISED_CLIP = 32;

/** A std below this counts as constant; the floor on std keeps 1/std (a weight after export) FP16-sized. */
const CONSTANT_STD = 1e-6;
const MIN_STD = 1e-3;

// ---- standardisation ----

/** Per-feature mean and 1/std over every candidate of `lists` (population std, float64 accumulation). */
export function computeStandardisation(lists: readonly RelevanceList[], featureCount: number): Standardisation {
  const F = featureCount;
  // One pass over sums shifted by the first candidate's values: as accurate as two passes for data whose spread
  // is small next to its magnitude (no E[x²] − E[x]² cancellation), at half the cost on millions of rows.
  const shift = new Float64Array(F);
  const first = lists.find((l) => l.n > 0);
  if (first) for (let f = 0; f < F; f++) shift[f] = first.features[f]!;
  const sum = new Float64Array(F);
  const sumSq = new Float64Array(F);
  let count = 0;
  for (const list of lists) {
    const x = list.features;
    const len = list.n * F;
    for (let k = 0, f = 0; k < len; k++) {
      const d = x[k]! - shift[f]!;
      sum[f]! += d;
      sumSq[f]! += d * d;
      if (++f === F) f = 0;
    }
    count += list.n;
  }
  const mean: number[] = [];
  const scale: number[] = [];
  for (let f = 0; f < F; f++) {
    const shiftedMean = count > 0 ? sum[f]! / count : 0;
    const variance = count > 0 ? Math.max(sumSq[f]! / count - shiftedMean * shiftedMean, 0) : 0;
    const std = Math.sqrt(variance);
    mean.push(shift[f]! + shiftedMean);
    scale.push(std < CONSTANT_STD ? 0 : 1 / Math.max(std, MIN_STD));
  }
  // Stored as float32 so training, the reference forward and the ONNX graph standardise identically.
  return { mean: mean.map(Math.fround), scale: scale.map(Math.fround), clip: STANDARDISED_CLIP };
}

/** `st` with the named features' scale set to 0: the model then reads them as the constant 0, whatever their value. */
export function ignoreFeatures(st: Standardisation, featureNames: readonly string[], ignored: readonly string[]): Standardisation {
  const skip = new Set(ignored);
  return { ...st, scale: st.scale.map((s, f) => (skip.has(featureNames[f]!) ? 0 : s)) };
}

// Serving standardises with the very same function (rank/standardise.ts), so train and serve cannot drift apart.
export { standardiseValue };

/** Standardises rows (n × F, row-major) into `out` (same layout). */
export function standardiseRows(rows: Float32Array, n: number, st: Standardisation, out: Float32Array = new Float32Array(n * st.mean.length)): Float32Array {
  const F = st.mean.length;
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) out[i * F + f] = standardiseValue(rows[i * F + f]!, st.mean[f]!, st.scale[f]!, st.clip);
  }
  return out;
}

// ---- reference forward (plain JS; the parity oracle for mlx and ONNX) ----

function denseInto(input: Float64Array, weight: ParamTensor, bias: ParamTensor, relu: boolean): Float64Array {
  const [outDim, inDim] = weight.shape as [number, number];
  const out = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let acc = bias.data[o]!;
    for (let k = 0; k < inDim; k++) acc += weight.data[o * inDim + k]! * input[k]!;
    out[o] = relu && acc < 0 ? 0 : acc;
  }
  return out;
}

/** Logits for n candidates (raw features, n × F row-major), computed in float64 from the float32 parameters. */
export function relevanceForward(model: Pick<TrainedRelevanceModel, 'params' | 'standardisation'>, features: Float32Array, n: number): Float32Array {
  const { params, standardisation: st } = model;
  const F = st.mean.length;
  const logits = new Float32Array(n);
  const x = new Float64Array(F);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) x[f] = standardiseValue(features[i * F + f]!, st.mean[f]!, st.scale[f]!, st.clip);
    const h1 = denseInto(x, params.w1, params.b1, true);
    const h2 = denseInto(h1, params.w2, params.b2, true);
    logits[i] = denseInto(h2, params.w3, params.b3, false)[0]!;
  }
  return logits;
}

// ---- calibration ----

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** P(referenced) for a logit under a calibration. */
export function calibratedProbability(logit: number, calibration: Calibration): number {
  return sigmoid((logit - calibration.bias) / calibration.temperature);
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * Fits sigmoid(a·logit + c) to binary targets by weighted maximum likelihood (Newton's method on a convex
 * 2-parameter problem, with a tiny ridge so separable data stays finite), then reports it as temperature
 * T = 1/a and bias b = −c/a. `a` is kept ≥ 1e-4 so a model that learned nothing still gets a finite T
 * (probabilities then fall back to the base rate).
 */
export function fitCalibration(logits: ArrayLike<number>, positive: ArrayLike<boolean>, weights?: ArrayLike<number>): Calibration & { logLoss: number } {
  const n = logits.length;
  const w = (i: number): number => (weights ? weights[i]! : 1);
  let totalWeight = 0;
  let positiveWeight = 0;
  for (let i = 0; i < n; i++) {
    totalWeight += w(i);
    if (positive[i]) positiveWeight += w(i);
  }
  if (totalWeight <= 0) return { temperature: 1, bias: 0, logLoss: Math.log(2) };
  const ridge = 1e-6 * totalWeight;
  const baseRate = Math.min(Math.max(positiveWeight / totalWeight, 1e-6), 1 - 1e-6);
  const objective = (a: number, c: number): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const z = a * logits[i]! + c;
      loss += w(i) * (positive[i] ? softplus(-z) : softplus(z));
    }
    return loss + 0.5 * ridge * (a * a + c * c);
  };
  let a = 1;
  let c = Math.log(baseRate / (1 - baseRate));
  let current = objective(a, c);
  // Start from the better of "the logits as they are" and "just the base rate".
  if (objective(0, c) < current) {
    a = 0;
    current = objective(a, c);
  }
  for (let iter = 0; iter < 100; iter++) {
    let ga = ridge * a;
    let gc = ridge * c;
    let haa = ridge;
    let hac = 0;
    let hcc = ridge;
    for (let i = 0; i < n; i++) {
      const s = logits[i]!;
      const p = sigmoid(a * s + c);
      const r = w(i) * (p - (positive[i] ? 1 : 0));
      const h = w(i) * p * (1 - p);
      ga += r * s;
      gc += r;
      haa += h * s * s;
      hac += h * s;
      hcc += h;
    }
    const det = haa * hcc - hac * hac;
    if (!(det > 0)) break;
    const da = (hcc * ga - hac * gc) / det;
    const dc = (haa * gc - hac * ga) / det;
    // Backtracking keeps every step a descent step.
    let step = 1;
    let next = objective(a - step * da, c - step * dc);
    while (next > current && step > 1e-6) {
      step /= 2;
      next = objective(a - step * da, c - step * dc);
    }
    if (next > current) break;
    a -= step * da;
    c -= step * dc;
    const improvement = current - next;
    current = next;
    if (improvement < 1e-10 * totalWeight) break;
  }
  a = Math.max(a, 1e-4);
  return { temperature: 1 / a, bias: -c / a, logLoss: objective(a, c) / totalWeight };
}

// ---- ranking metric ----

/**
 * nDCG@k of one list ranked by `scores` (descending; ties keep candidate order), with gains = the graded
 * labels themselves (labels ≤ 0 gain nothing), as trec_eval's ndcg_cut and src/train/metrics.ts do.
 * Returns null for a list without a relevant candidate (nDCG is undefined there).
 */
export function listNdcgAtK(scores: ArrayLike<number>, labels: ArrayLike<number>, k: number, n: number = labels.length): number | null {
  const ideal: number[] = [];
  for (let i = 0; i < n; i++) if (labels[i]! > 0) ideal.push(labels[i]!);
  if (ideal.length === 0) return null;
  ideal.sort((x, y) => y - x);
  let idcg = 0;
  for (let r = 0; r < Math.min(k, ideal.length); r++) idcg += ideal[r]! / Math.log2(r + 2);
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((x, y) => scores[y]! - scores[x]! || x - y);
  let dcg = 0;
  for (let r = 0; r < Math.min(k, n); r++) {
    const gain = labels[order[r]!]!;
    if (gain > 0) dcg += gain / Math.log2(r + 2);
  }
  return dcg / idcg;
}

// ---- the mlx side ----

type Mx = typeof core;
type MxArray = core.array;

/** Training parameters as mlx arrays, in matmul layout (weight [in, out]) so the forward needs no transposes. */
export interface MlxRelevanceParams {
  w1: MxArray;
  b1: MxArray;
  w2: MxArray;
  b2: MxArray;
  w3: MxArray;
  b3: MxArray;
}

export const PARAM_NAMES = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'] as const;

/** He-uniform initial weights from a seeded stream, in convolution layout ([out, in]); biases 0. */
export function initialParams(featureCount: number, hidden: [number, number], nextFloat: () => number): RelevanceParams {
  const layer = (inDim: number, outDim: number): [ParamTensor, ParamTensor] => {
    const bound = Math.sqrt(6 / inDim);
    const data = Float32Array.from({ length: outDim * inDim }, () => (nextFloat() * 2 - 1) * bound);
    return [
      { data, shape: [outDim, inDim] },
      { data: new Float32Array(outDim), shape: [outDim] },
    ];
  };
  const [w1, b1] = layer(featureCount, hidden[0]);
  const [w2, b2] = layer(hidden[0], hidden[1]);
  const [w3, b3] = layer(hidden[1], 1);
  return { w1, b1, w2, b2, w3, b3 };
}

/** [out, in] row-major → nested [in][out] rows (what mx.array takes) — i.e. the transpose, as JS arrays. */
function transposedRows(t: ParamTensor): number[][] {
  const [outDim, inDim] = t.shape as [number, number];
  return Array.from({ length: inDim }, (_, k) => Array.from({ length: outDim }, (_, o) => t.data[o * inDim + k]!));
}

export function toMlxParams(mx: Mx, params: RelevanceParams): MlxRelevanceParams {
  const vector = (t: ParamTensor): MxArray => mx.array(Array.from(t.data), mx.float32);
  return {
    w1: mx.array(transposedRows(params.w1), mx.float32),
    b1: vector(params.b1),
    w2: mx.array(transposedRows(params.w2), mx.float32),
    b2: vector(params.b2),
    w3: mx.array(transposedRows(params.w3), mx.float32),
    b3: vector(params.b3),
  };
}

/** Back to plain convolution-layout tensors. */
export function fromMlxParams(params: MlxRelevanceParams): RelevanceParams {
  const weight = (a: MxArray): ParamTensor => {
    const [inDim, outDim] = a.shape as [number, number];
    const rows = a.tolist() as number[][];
    const data = new Float32Array(outDim * inDim);
    for (let k = 0; k < inDim; k++) for (let o = 0; o < outDim; o++) data[o * inDim + k] = rows[k]![o]!;
    return { data, shape: [outDim, inDim] };
  };
  const vector = (a: MxArray): ParamTensor => ({ data: Float32Array.from(a.tolist() as number[]), shape: [a.shape[0]!] });
  return { w1: weight(params.w1), b1: vector(params.b1), w2: weight(params.w2), b2: vector(params.b2), w3: weight(params.w3), b3: vector(params.b3) };
}

/** Logits [..., n] for standardised features [..., n, F]. */
export function mlxForward(mx: Mx, p: MlxRelevanceParams, x: MxArray): MxArray {
  // addmm (bias + x·W in one op) lets mx.compile fuse more of the step than matmul then add.
  const h1 = mx.maximum(mx.addmm(p.b1, x, p.w1), 0);
  const h2 = mx.maximum(mx.addmm(p.b2, h1, p.w2), 0);
  return mx.squeeze(mx.addmm(p.b3, h2, p.w3), -1);
}

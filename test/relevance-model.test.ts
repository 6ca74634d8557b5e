import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES as SIEVE_FEATURES } from '../src/rank/features.js';
import { featureColumns, selectColumns } from '../src/rank/relevance.js';
import { OnnxRelevanceScorer, bucketFor, planSlices, readRelevanceModelConfig, RELEVANCE_CONFIG_FILE } from '../src/rank/relevance-scorer.js';
import { checkAneCompatibility } from '../src/embed/onnx/ane-check.js';
import { exportRelevanceModel, type ExportedRelevanceModel } from '../src/train/relevance/export.js';
import {
  calibratedProbability,
  computeStandardisation,
  fitCalibration,
  listNdcgAtK,
  relevanceForward,
  type RelevanceDataset,
  type RelevanceList,
  type TrainedRelevanceModel,
} from '../src/train/relevance/model.js';
import { predictWithMlx, trainRelevanceModel, type RelevanceTrainingProgress } from '../src/train/relevance/train.js';
import { trainRelevanceModelInWorker } from '../src/train/relevance/worker.js';
import { SeededRandom } from '../src/util/random.js';

const F = 10;
const FEATURE_NAMES = Array.from({ length: F }, (_, f) => `feature_${f}`);

function gaussian(rng: SeededRandom): number {
  const u = rng.nextFloat() || 1e-12;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/**
 * Lists where relevance depends nonlinearly on features 0–2 only (an interaction and a magnitude), with noisy
 * labels; features 3–9 are noise at assorted offsets and scales (so standardisation matters).
 */
function syntheticDataset(lists: number, seed: number, nRange: [number, number] = [20, 60]): RelevanceDataset {
  const rng = new SeededRandom(seed);
  const offsets = [0, 0, 0, 5, -3, 100, 0, 0.5, 2, -7];
  const scales = [1, 1, 1, 0.01, 3, 40, 1, 2, 0.5, 10];
  const out: RelevanceList[] = [];
  for (let q = 0; q < lists; q++) {
    const n = nRange[0] + rng.nextInt(nRange[1] - nRange[0] + 1);
    const features = new Float32Array(n * F);
    const labels = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < F; f++) features[i * F + f] = offsets[f]! + scales[f]! * gaussian(rng);
      const a = features[i * F]!;
      const b = features[i * F + 1]!;
      const c = features[i * F + 2]!;
      const utility = 1.5 * a * b + Math.abs(c) - 2.2 + 0.4 * gaussian(rng);
      labels[i] = utility > 1.5 ? 2 : utility > 0 ? 1 : 0;
    }
    out.push({ queryId: `q${seed}-${q}`, n, features, labels });
  }
  return { featureNames: [...FEATURE_NAMES], lists: out };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Expected nDCG@10 of a random ordering, estimated over many shuffles. */
function randomOrderNdcg(lists: RelevanceList[], rng: SeededRandom): number {
  let sum = 0;
  let count = 0;
  for (const list of lists) {
    for (let r = 0; r < 20; r++) {
      const scores = Float32Array.from({ length: list.n }, () => rng.nextFloat());
      const v = listNdcgAtK(scores, list.labels, 10);
      if (v === null) continue;
      sum += v;
      count++;
    }
  }
  return sum / count;
}

function meanNdcg(lists: RelevanceList[], score: (l: RelevanceList) => Float32Array): number {
  let sum = 0;
  let count = 0;
  for (const list of lists) {
    const v = listNdcgAtK(score(list), list.labels, 10);
    if (v === null) continue;
    sum += v;
    count++;
  }
  return sum / count;
}

function concatFeatures(lists: RelevanceList[]): { features: Float32Array; n: number } {
  const n = lists.reduce((a, l) => a + l.n, 0);
  const features = new Float32Array(n * F);
  let offset = 0;
  for (const l of lists) {
    features.set(l.features, offset * F);
    offset += l.n;
  }
  return { features, n };
}

let model: TrainedRelevanceModel;
let progress: RelevanceTrainingProgress[] = [];
let testSet: RelevanceDataset;
let dir: string;
let exported: ExportedRelevanceModel;
const BUCKETS = [32, 64];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sieve-relevance-test-'));
  model = await trainRelevanceModel(syntheticDataset(500, 1), { seed: 11, maxEpochs: 30, onProgress: (p) => progress.push(p) });
  testSet = syntheticDataset(200, 2);
  exported = await exportRelevanceModel(model, join(dir, 'model'), { buckets: BUCKETS });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('training', () => {
  it('learns the nonlinear relevance far above a random order, on held-out and on fresh lists', () => {
    const baseline = randomOrderNdcg(testSet.lists, new SeededRandom(5));
    const learned = meanNdcg(testSet.lists, (l) => relevanceForward(model, l.features, l.n));
    // Features 0–2 alone, linearly (the best single-feature-sum ranking): the product term defeats it.
    const linear = meanNdcg(testSet.lists, (l) => Float32Array.from({ length: l.n }, (_, i) => l.features[i * F]! + l.features[i * F + 1]! + Math.abs(l.features[i * F + 2]!)));
    expect(baseline).toBeLessThan(0.35);
    expect(model.metrics.valNdcg10).toBeGreaterThan(baseline + 0.5);
    expect(learned).toBeGreaterThan(0.85);
    expect(learned).toBeGreaterThan(linear + 0.1);
  });

  it('reports progress per epoch, stops early and keeps the best epoch', () => {
    expect(progress.length).toBe(model.metrics.epochs);
    expect(progress.map((p) => p.epoch)).toEqual(Array.from({ length: progress.length }, (_, i) => i + 1));
    const best = progress[model.metrics.bestEpoch - 1]!;
    expect(best.valNdcg10).toBe(model.metrics.valNdcg10);
    expect(Math.max(...progress.map((p) => p.valNdcg10))).toBe(model.metrics.valNdcg10);
    expect(progress[0]!.trainLoss).toBeGreaterThan(best.trainLoss);
    expect(model.metrics.trainLists + model.metrics.valLists).toBe(500);
    expect(model.metrics.valLists).toBe(50);
  });

  it('standardises with the training set statistics', () => {
    const st = model.standardisation;
    expect(st.mean[5]).toBeGreaterThan(95); // feature 5 sits around 100 with std 40
    expect(st.mean[5]).toBeLessThan(105);
    expect(1 / st.scale[5]!).toBeGreaterThan(36);
    expect(1 / st.scale[5]!).toBeLessThan(44);
    expect(computeStandardisation([{ queryId: 'c', n: 3, features: Float32Array.from({ length: 3 * F }, (_, k) => (k % F === 0 ? 7 : k)), labels: new Float32Array(3) }], F).scale[0]).toBe(0);
  });

  it('is deterministic for a seed, in process and in a worker thread', async () => {
    const small = (): RelevanceDataset => syntheticDataset(120, 9);
    const opts = { seed: 4, maxEpochs: 3, batchLists: 16 };
    const a = await trainRelevanceModel(small(), opts);
    const b = await trainRelevanceModel(small(), opts);
    const c = await trainRelevanceModel(small(), { ...opts, seed: 5 });
    const data = small();
    const firstList = data.lists[0]!;
    const seen: number[] = [];
    const w = await trainRelevanceModelInWorker(data, { ...opts, onProgress: (p) => seen.push(p.epoch) });
    expect(b.params).toEqual(a.params);
    expect(b.calibration).toEqual(a.calibration);
    expect(w.params).toEqual(a.params);
    expect(w.params.w1.data).toBeInstanceOf(Float32Array);
    expect(w.metrics.valNdcg10).toBe(a.metrics.valNdcg10);
    expect(seen).toEqual([1, 2, 3]);
    expect(firstList.features.length).toBe(0); // transferred, not copied
    expect(c.params.w1.data).not.toEqual(a.params.w1.data);
  });

  it('reports training errors raised inside the worker as SieveErrors', async () => {
    const bad = syntheticDataset(20, 3);
    bad.lists[4] = { ...bad.lists[4]!, labels: new Float32Array(1) };
    await expect(trainRelevanceModelInWorker(bad, { seed: 1 })).rejects.toMatchObject({ name: 'SieveError', code: 'INTERNAL', message: expect.stringContaining(bad.lists[4]!.queryId) });
  });

  it('weights a candidate by its inverse-propensity weight, and weight 0 removes it', async () => {
    // Every list marks both high and low feature 3 as relevant, but the low ones carry weight 0 (say, never
    // shown): unweighted, feature 3 would look U-shaped; weighted, only high values are relevant.
    const rng = new SeededRandom(21);
    const lists: RelevanceList[] = [];
    for (let q = 0; q < 300; q++) {
      const n = 20;
      const features = new Float32Array(n * F);
      const labels = new Float32Array(n);
      const weights = new Float32Array(n).fill(1);
      for (let i = 0; i < n; i++) {
        for (let f = 0; f < F; f++) features[i * F + f] = gaussian(rng);
        const x3 = features[i * F + 3]!;
        if (x3 > 1) labels[i] = 1;
        if (x3 < -1) {
          labels[i] = 2;
          weights[i] = 0;
        }
      }
      lists.push({ queryId: `w${q}`, n, features, labels, weights });
    }
    const weighted = await trainRelevanceModel({ featureNames: FEATURE_NAMES, lists }, { seed: 2, maxEpochs: 8 });
    const probe = new Float32Array(2 * F);
    probe[3] = 2; // high feature 3: relevant under the weighted labels
    probe[F + 3] = -2;
    const [high, low] = relevanceForward(weighted, probe, 2);
    expect(high!).toBeGreaterThan(low! + 1);
  });

  it('does not read an ignored feature, in training or after, and refuses a name the dataset lacks', async () => {
    const data = syntheticDataset(200, 13);
    const blind = await trainRelevanceModel(data, { seed: 3, maxEpochs: 6, ignoreFeatures: ['feature_0'] });
    expect(blind.standardisation.scale[0]).toBe(0);
    expect(blind.standardisation.scale[1]).toBeGreaterThan(0);
    // Whatever feature 0 holds, the scores are the same: the model cannot have learned from it.
    const probe = testSet.lists[0]!;
    const moved = Float32Array.from(probe.features, (v, k) => (k % F === 0 ? v * 7 + 3 : v));
    expect(relevanceForward(blind, moved, probe.n)).toEqual(relevanceForward(blind, probe.features, probe.n));
    // Feature 0 is half of the relevance's product term, so without it the ranking is clearly worse.
    const blindNdcg = meanNdcg(testSet.lists, (l) => relevanceForward(blind, l.features, l.n));
    const fullNdcg = meanNdcg(testSet.lists, (l) => relevanceForward(model, l.features, l.n));
    expect(blindNdcg).toBeLessThan(fullNdcg - 0.05);
    await expect(trainRelevanceModel(syntheticDataset(20, 3), { seed: 1, ignoreFeatures: ['nope'] })).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('nope') });
  });

  it('rejects a malformed dataset naming the list', async () => {
    const bad = syntheticDataset(10, 3);
    bad.lists[2] = { ...bad.lists[2]!, features: new Float32Array(5) };
    await expect(trainRelevanceModel(bad, { seed: 1 })).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining(bad.lists[2]!.queryId) });
  });
});

describe('calibration', () => {
  it('recovers a known temperature and bias', () => {
    const rng = new SeededRandom(8);
    const logits: number[] = [];
    const positive: boolean[] = [];
    for (let i = 0; i < 20000; i++) {
      const s = gaussian(rng) * 3;
      logits.push(s);
      positive.push(rng.nextFloat() < 1 / (1 + Math.exp(-(s - 1.5) / 2)));
    }
    const fit = fitCalibration(logits, positive);
    expect(fit.temperature).toBeGreaterThan(1.8);
    expect(fit.temperature).toBeLessThan(2.2);
    expect(fit.bias).toBeGreaterThan(1.2);
    expect(fit.bias).toBeLessThan(1.8);
  });

  it('maps held-out logits to roughly calibrated P(referenced), better than the base rate', () => {
    let predicted = 0;
    let observed = 0;
    let brier = 0;
    let baseBrier = 0;
    let count = 0;
    let trainPositives = 0;
    let trainCount = 0;
    for (const l of syntheticDataset(100, 1).lists) for (let i = 0; i < l.n; i++, trainCount++) if (l.labels[i]! > 0) trainPositives++;
    const baseRate = trainPositives / trainCount;
    for (const l of testSet.lists) {
      const logits = relevanceForward(model, l.features, l.n);
      for (let i = 0; i < l.n; i++) {
        const p = calibratedProbability(logits[i]!, model.calibration);
        const y = l.labels[i]! > 0 ? 1 : 0;
        predicted += p;
        observed += y;
        brier += (p - y) ** 2;
        baseBrier += (baseRate - y) ** 2;
        count++;
      }
    }
    expect(Math.abs(predicted / count - observed / count)).toBeLessThan(0.1);
    expect(brier / count).toBeLessThan(0.8 * (baseBrier / count));
  });
});

describe('nDCG', () => {
  it('uses graded gains and log2 discounts, and is undefined without a relevant candidate', () => {
    // Ranked by score: labels 0, 2, 1 → DCG = 2/log2(3) + 1/2; ideal 2 + 1/log2(3).
    const v = listNdcgAtK([3, 2, 1], [0, 2, 1], 10)!;
    expect(v).toBeCloseTo((2 / Math.log2(3) + 0.5) / (2 + 1 / Math.log2(3)), 12);
    expect(listNdcgAtK([1, 2, 3], [0, 2, 1], 10)).toBeCloseTo((1 + 2 / Math.log2(3)) / (2 + 1 / Math.log2(3)), 12);
    expect(listNdcgAtK([1, 2], [0, 0], 10)).toBeNull();
    expect(listNdcgAtK([5, 4, 3], [0, 0, 1], 2)).toBe(0); // the relevant one is below the cutoff
  });
});

describe('export', () => {
  it('writes one FP32 and one FP16 file per bucket that pass the ANE check, and a validated config', async () => {
    expect(Object.keys(exported.files).sort()).toEqual(['config', 'fp16-32', 'fp16-64', 'fp32-32', 'fp32-64']);
    for (const report of Object.values(exported.aneReports)) {
      expect(report.violations).toEqual([]);
      expect(report.stats.opCounts['Conv']).toBe(3);
      expect(report.stats.opCounts['MatMul']).toBeUndefined();
      expect(report.stats.opCounts['Gemm']).toBeUndefined();
      expect(report.stats.samplesRun).toBeGreaterThan(0);
    }
    // And independently, on the bytes as written.
    for (const role of ['fp32-64', 'fp16-32']) {
      const bytes = readFileSync(join(dir, 'model', exported.files[role]!));
      const report = await checkAneCompatibility(bytes, { sampleInputs: [{ features: new Float32Array(F * Number(role.split('-')[1])) }] });
      expect(report.ok).toBe(true);
      expect(report.stats.inputs).toEqual([{ name: 'features', elemType: role.startsWith('fp16') ? 'float16' : 'float32', dims: [1, F, 1, Number(role.split('-')[1])] }]);
      expect(report.stats.outputs[0]!.dims).toEqual([1, 1, 1, Number(role.split('-')[1])]);
    }
    const config = readRelevanceModelConfig(join(dir, 'model'));
    expect(config.featureNames).toEqual(FEATURE_NAMES);
    expect(config.buckets).toEqual(BUCKETS);
    expect(config.calibration).toEqual(model.calibration);
    expect(config.version).toMatch(/^relevance-[0-9a-f]{12}$/);
    expect(config).toEqual(exported.meta);
  });

  it('refuses buckets that are not multiples of 32', async () => {
    await expect(exportRelevanceModel(model, join(dir, 'bad'), { buckets: [48] })).rejects.toThrow(/multiple of 32/);
  });

  it('rejects a config that does not validate', () => {
    const bad = join(dir, 'bad-config');
    rmSync(bad, { recursive: true, force: true });
    mkdirSync(bad);
    const config = JSON.parse(readFileSync(join(dir, 'model', RELEVANCE_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(bad, RELEVANCE_CONFIG_FILE), JSON.stringify({ ...config, buckets: [64, 32] }));
    expect(() => readRelevanceModelConfig(bad)).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringContaining('ascending') }));
  });
});

describe('OnnxRelevanceScorer', () => {
  let fp32: OnnxRelevanceScorer;
  let fp16: OnnxRelevanceScorer;
  beforeAll(async () => {
    fp32 = await OnnxRelevanceScorer.load(join(dir, 'model'), { cacheDir: join(dir, 'cache'), precision: 'fp32' });
    fp16 = await OnnxRelevanceScorer.load(join(dir, 'model'), { cacheDir: join(dir, 'cache'), precision: 'fp16' });
  });
  afterAll(async () => {
    await fp32?.close();
    await fp16?.close();
  });

  it('matches the mlx forward pass in FP32 and stays close in FP16', async () => {
    const { features, n } = concatFeatures(testSet.lists.slice(0, 3)); // > 64: exercises slicing too
    expect(n).toBeGreaterThan(64);
    const reference = await predictWithMlx(model, features, n);
    const onnx32 = await fp32.score(features, n);
    const onnx16 = await fp16.score(features, n);
    expect(maxAbsDiff(onnx32, reference)).toBeLessThan(1e-4);
    expect(maxAbsDiff(relevanceForward(model, features, n), reference)).toBeLessThan(1e-4);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(onnx16[i]! - reference[i]!) / (1 + Math.abs(reference[i]!)));
    expect(worst).toBeLessThan(0.01);
    expect(fp32.version).toBe(exported.meta.version);
    expect(fp32.featureNames).toEqual(FEATURE_NAMES);
  });

  it('picks the smallest bucket that fits and slices beyond the largest', async () => {
    expect(bucketFor([32, 64], 1)).toBe(32);
    expect(bucketFor([32, 64], 32)).toBe(32);
    expect(bucketFor([32, 64], 33)).toBe(64);
    expect(bucketFor([32, 64], 65)).toBeNull();
    expect(planSlices([32, 64], 150)).toEqual([
      { offset: 0, count: 64, bucket: 64 },
      { offset: 64, count: 64, bucket: 64 },
      { offset: 128, count: 22, bucket: 32 },
    ]);
    expect(planSlices([32, 64], 128)).toEqual([
      { offset: 0, count: 64, bucket: 64 },
      { offset: 64, count: 64, bucket: 64 },
    ]);
    expect(planSlices([32, 64], 0)).toEqual([]);
    expect(await fp32.score(new Float32Array(0), 0)).toEqual(new Float32Array(0));
  });

  it('gives each candidate the same logit whatever else shares its call (padding is cleared)', async () => {
    const { features, n } = concatFeatures(testSet.lists.slice(0, 4));
    const all = await fp32.score(features, n);
    // A wide call first leaves the bucket buffers full; narrower calls must not see the leftovers.
    for (const k of [60, 10, 1, 33]) {
      const part = await fp32.score(features.subarray(0, k * F), k);
      expect(maxAbsDiff(part, all.subarray(0, k))).toBeLessThan(1e-6);
    }
    // Concurrent calls on one bucket do not clobber each other's input.
    const [x, y] = await Promise.all([fp32.score(features.subarray(0, 20 * F), 20), fp32.score(features.subarray(20 * F, 45 * F), 25)]);
    expect(maxAbsDiff(x!, all.subarray(0, 20))).toBeLessThan(1e-6);
    expect(maxAbsDiff(y!, all.subarray(20, 45))).toBeLessThan(1e-6);
  });

  it('turns logits into calibrated probabilities', () => {
    const { temperature, bias } = model.calibration;
    expect(fp32.probability(bias)).toBeCloseTo(0.5, 12);
    expect(fp32.probability(bias + temperature)).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(fp32.probability(1)).toBeCloseTo(calibratedProbability(1, model.calibration), 12);
  });

  it('refuses too few feature values', async () => {
    await expect(fp32.score(new Float32Array(F * 2 - 1), 2)).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});

describe('a model trained on another feature list', () => {
  it('reads its own columns of the features this sieve computes, by name', () => {
    expect(featureColumns([...SIEVE_FEATURES], 'same')).toBeNull();
    const older = ['coverage', 'bm25_norm']; // a subset, in another order
    const columns = featureColumns(older, 'older')!;
    expect(Array.from(columns)).toEqual([SIEVE_FEATURES.indexOf('coverage'), SIEVE_FEATURES.indexOf('bm25_norm')]);
    const rows = Float32Array.from({ length: 2 * SIEVE_FEATURES.length }, (_, k) => k);
    const picked = selectColumns(rows, 2, columns);
    const G = SIEVE_FEATURES.length;
    expect(Array.from(picked)).toEqual([columns[0]!, columns[1]!, G + columns[0]!, G + columns[1]!]);
    expect(selectColumns(rows, 2, null)).toBe(rows);
  });

  it('refuses a model that reads a feature this sieve does not compute, naming it', () => {
    expect(() => featureColumns(['bm25_norm', 'moon_phase'], 'future')).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringContaining('moon_phase') }));
  });
});

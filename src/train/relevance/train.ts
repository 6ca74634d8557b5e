// Listwise training of the relevance model with node-mlx, then calibration on the held-out lists.
//
// Loss (ListNet top-1, with candidate weights): for a list with scores s, graded labels y and weights w,
//   target p_i = y_i / Σ y,  loss = −Σ_i p_i·w_i·log( e^{s_i} / Σ_j w_j·e^{s_j} ).
// The weight multiplies a positive's own term and also its share of the softmax normaliser, so an
// inverse-propensity weight on a shown-but-unreferenced negative (how likely it was read) counts that negative
// by the same factor; weight 0 removes a candidate (and padding) entirely. With all weights 1 this is ListNet.
//
// Speed: node-mlx cannot take typed arrays (mx.array wants nested JS arrays, ~1 µs per number), so the padded
// batches are written once as .npy files in a temporary folder and mx.load()ed natively; every step then only
// slices its batch out of one resident array. Lists are sorted by length before batching (random order among
// equal lengths) so padding stays small; the order of batches is reshuffled every epoch.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import { SieveError } from '../../errors.js';
import { SeededRandom } from '../../util/random.js';
import { loadMlx } from '../mlx.js';
import {
  PARAM_NAMES,
  computeStandardisation,
  fitCalibration,
  fromMlxParams,
  ignoreFeatures,
  initialParams,
  listNdcgAtK,
  mlxForward,
  standardiseValue,
  toMlxParams,
  type MlxRelevanceParams,
  type RelevanceDataset,
  type RelevanceList,
  type Standardisation,
  type TrainedRelevanceModel,
} from './model.js';
import type { core } from '../../../types/frost-beta-mlx/index.js';

type Mx = typeof core;
type MxArray = core.array;

export interface RelevanceTrainingProgress {
  epoch: number;
  maxEpochs: number;
  trainLoss: number;
  valNdcg10: number;
  bestEpoch: number;
  bestValNdcg10: number;
  seconds: number;
}

export interface RelevanceTrainingOptions {
  seed: number;
  /** Hidden widths [H1, H2]; default [32, 16]. */
  hidden?: [number, number];
  /** Default 40. */
  maxEpochs?: number;
  /** Lists per optimisation step; default 32. */
  batchLists?: number;
  /** Adam learning rate; default 3e-3. */
  lr?: number;
  /** Fraction of lists held out for early stopping and calibration; default 0.1. */
  valFraction?: number;
  /** Epochs without a validation improvement before stopping; default 4. */
  patience?: number;
  /**
   * Features the model must not read: their standardisation scale is 0, so every value of them reaches the
   * network as 0 — in training, in the reference forward and in the exported graph alike.
   */
  ignoreFeatures?: string[];
  onProgress?: (progress: RelevanceTrainingProgress) => void;
}

const optionsSchema = z.object({
  seed: z.number().finite(),
  hidden: z.tuple([z.number().int().min(1).max(1024), z.number().int().min(1).max(1024)]).default([32, 16]),
  maxEpochs: z.number().int().min(1).max(10_000).default(40),
  batchLists: z.number().int().min(1).max(100_000).default(32),
  lr: z.number().positive().max(1).default(3e-3),
  valFraction: z.number().gt(0).lt(1).default(0.1),
  patience: z.number().int().min(1).default(4),
  ignoreFeatures: z.array(z.string()).default([]),
});

/** The options as plain data (without the callback), e.g. to post to a worker. */
export type RelevanceTrainingSettings = Omit<RelevanceTrainingOptions, 'onProgress'>;

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;
/** log-weight of padding and zero-weight candidates: exp() of it is 0 in float32, and it stays finite (no NaN). */
const EXCLUDED_LOG_WEIGHT = -1e30;
const NDCG_CUTOFF = 10;
/** A held-out nDCG@10 gain smaller than this does not restart the early-stopping patience. */
const MIN_NDCG_GAIN = 1e-4;
/** Steps between garbage collections (see mlxGarbageCollector); 4 keeps RSS within ~100 MB of the data. */
const GC_EVERY_STEPS = 4;
/** Rows of raw features kept for export's FP16 range check. */
const RANGE_PROBE_ROWS = 256;

function datasetError(message: string, details: Record<string, unknown> = {}): SieveError {
  // A malformed dataset is a bug in whoever built it, not something a user can fix by hand.
  return new SieveError('INTERNAL', `relevance dataset: ${message}`, details);
}

/** Checks shapes and finiteness up front, so a bad list fails with its id rather than as NaN later. */
export function validateRelevanceDataset(dataset: RelevanceDataset): void {
  const F = dataset.featureNames.length;
  if (F === 0) throw datasetError('no feature names');
  if (new Set(dataset.featureNames).size !== F) throw datasetError('feature names repeat', { featureNames: dataset.featureNames });
  for (const list of dataset.lists) {
    const where = { queryId: list.queryId };
    if (!Number.isInteger(list.n) || list.n < 0) throw datasetError(`list ${list.queryId} has n=${list.n}`, where);
    if (list.features.length !== list.n * F) throw datasetError(`list ${list.queryId} has ${list.features.length} feature values; n×F = ${list.n * F}`, where);
    if (list.labels.length !== list.n) throw datasetError(`list ${list.queryId} has ${list.labels.length} labels for ${list.n} candidates`, where);
    if (list.weights && list.weights.length !== list.n) throw datasetError(`list ${list.queryId} has ${list.weights.length} weights for ${list.n} candidates`, where);
    const x = list.features;
    for (let k = 0; k < x.length; k++) if (!Number.isFinite(x[k]!)) throw datasetError(`list ${list.queryId} has a non-finite feature value`, where);
    for (let i = 0; i < list.n; i++) {
      if (!Number.isFinite(list.labels[i]!)) throw datasetError(`list ${list.queryId} has a non-finite label`, where);
      const w = list.weights ? list.weights[i]! : 1;
      if (!(Number.isFinite(w) && w >= 0)) throw datasetError(`list ${list.queryId} has a negative or non-finite weight`, where);
    }
  }
}

function weightOf(list: RelevanceList, i: number): number {
  return list.weights ? list.weights[i]! : 1;
}

/** True when the list gives the listwise loss something to learn: a relevant candidate with weight > 0. */
function hasWeightedPositive(list: RelevanceList): boolean {
  for (let i = 0; i < list.n; i++) if (list.labels[i]! > 0 && weightOf(list, i) > 0) return true;
  return false;
}

function hasPositive(list: RelevanceList): boolean {
  for (let i = 0; i < list.n; i++) if (list.labels[i]! > 0) return true;
  return false;
}

// ---- .npy staging (the fast way into mlx) ----

/** A float32 C-order .npy writer that streams rows, so the padded data never sits in memory twice. */
class NpyWriter {
  private readonly fd: number;
  private written = 0;

  constructor(
    readonly path: string,
    private readonly shape: number[],
  ) {
    const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
    // Magic (6) + version (2) + header length (2) + header + '\n' is padded to a multiple of 64 bytes.
    const unpadded = 10 + header.length + 1;
    header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
    const preamble = Buffer.alloc(10 + header.length);
    preamble.write('\x93NUMPY', 0, 'latin1');
    preamble[6] = 1;
    preamble[7] = 0;
    preamble.writeUInt16LE(header.length, 8);
    preamble.write(header, 10, 'latin1');
    this.fd = openSync(path, 'w');
    writeSync(this.fd, preamble);
  }

  write(values: Float32Array): void {
    // Typed arrays are platform-endian; every platform node-mlx ships for is little-endian, as '<f4' says.
    writeSync(this.fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    this.written += values.length;
  }

  close(): void {
    closeSync(this.fd);
    const expected = this.shape.reduce((a, b) => a * b, 1);
    if (this.written !== expected) throw new SieveError('INTERNAL', `npy ${this.path}: wrote ${this.written} values, shape needs ${expected}`);
  }
}

interface BatchPlan {
  /** First row (candidate slot) of the batch in the staged arrays. */
  rowOffset: number;
  lists: number;
  /** Padded list length of this batch. */
  width: number;
}

interface StagedTraining {
  /** [rows, F] standardised features. */
  x: MxArray;
  /** [rows] p_i·w_i: the coefficient of each candidate's own log-probability. */
  coef: MxArray;
  /** [rows] log w_i, EXCLUDED_LOG_WEIGHT for padding and zero weights. */
  logWeight: MxArray;
  batches: BatchPlan[];
}

/** Lists → padded batches (sorted by length, ties in random order), staged into mlx through .npy files. */
function stageTraining(mx: Mx, dir: string, lists: RelevanceList[], st: Standardisation, batchLists: number, rng: SeededRandom): StagedTraining {
  const F = st.mean.length;
  const tieBreak = new Map(lists.map((l) => [l, rng.nextFloat()]));
  const sorted = [...lists].sort((a, b) => a.n - b.n || tieBreak.get(a)! - tieBreak.get(b)!);
  const batches: BatchPlan[] = [];
  let rows = 0;
  for (let start = 0; start < sorted.length; start += batchLists) {
    const chunk = sorted.slice(start, start + batchLists);
    const width = chunk[chunk.length - 1]!.n;
    batches.push({ rowOffset: rows, lists: chunk.length, width });
    rows += chunk.length * width;
  }
  const xWriter = new NpyWriter(join(dir, 'x.npy'), [rows, F]);
  const coefWriter = new NpyWriter(join(dir, 'coef.npy'), [rows]);
  const logWeightWriter = new NpyWriter(join(dir, 'logw.npy'), [rows]);
  let cursor = 0;
  for (const batch of batches) {
    const chunk = sorted.slice(cursor, cursor + batch.lists);
    cursor += batch.lists;
    const x = new Float32Array(batch.lists * batch.width * F);
    const coef = new Float32Array(batch.lists * batch.width);
    const logWeight = new Float32Array(batch.lists * batch.width).fill(EXCLUDED_LOG_WEIGHT);
    chunk.forEach((list, b) => {
      let gain = 0;
      for (let i = 0; i < list.n; i++) gain += Math.max(list.labels[i]!, 0);
      for (let i = 0; i < list.n; i++) {
        const row = b * batch.width + i;
        for (let f = 0; f < F; f++) x[row * F + f] = standardiseValue(list.features[i * F + f]!, st.mean[f]!, st.scale[f]!, st.clip);
        const w = weightOf(list, i);
        coef[row] = (Math.max(list.labels[i]!, 0) / gain) * w;
        if (w > 0) logWeight[row] = Math.log(w);
      }
    });
    xWriter.write(x);
    coefWriter.write(coef);
    logWeightWriter.write(logWeight);
  }
  xWriter.close();
  coefWriter.close();
  logWeightWriter.close();
  const staged = { x: mx.load(xWriter.path), coef: mx.load(coefWriter.path), logWeight: mx.load(logWeightWriter.path), batches };
  mx.eval(staged.x, staged.coef, staged.logWeight);
  return staged;
}

/** Held-out lists as one flat [rows, F] array (the MLP is per candidate, so no padding is needed to score). */
function stageFlat(mx: Mx, dir: string, lists: RelevanceList[], st: Standardisation): MxArray {
  const F = st.mean.length;
  const rows = lists.reduce((a, l) => a + l.n, 0);
  const writer = new NpyWriter(join(dir, 'val.npy'), [rows, F]);
  for (const list of lists) {
    const x = new Float32Array(list.n * F);
    for (let i = 0; i < list.n * F; i++) x[i] = standardiseValue(list.features[i]!, st.mean[i % F]!, st.scale[i % F]!, st.clip);
    writer.write(x);
  }
  writer.close();
  const x = mx.load(writer.path);
  mx.eval(x);
  return x;
}

/**
 * Raw rows for export's FP16 range probe: each feature's extreme candidates, then random ones. Drawn from the
 * held-out lists (real inputs, and a tenth of the cost of scanning the training set).
 */
function pickRangeProbe(lists: RelevanceList[], F: number, rng: SeededRandom): { n: number; features: Float32Array } {
  // Candidates are addressed as (list index, row); one pass finds every feature's min and max.
  const minValue = new Float64Array(F).fill(Infinity);
  const maxValue = new Float64Array(F).fill(-Infinity);
  const minAt = new Int32Array(F * 2);
  const maxAt = new Int32Array(F * 2);
  let total = 0;
  lists.forEach((list, li) => {
    const x = list.features;
    for (let i = 0; i < list.n; i++) {
      for (let f = 0; f < F; f++) {
        const v = x[i * F + f]!;
        if (v < minValue[f]!) {
          minValue[f] = v;
          minAt[2 * f] = li;
          minAt[2 * f + 1] = i;
        }
        if (v > maxValue[f]!) {
          maxValue[f] = v;
          maxAt[2 * f] = li;
          maxAt[2 * f + 1] = i;
        }
      }
    }
    total += list.n;
  });
  const picked: Array<[number, number]> = [];
  if (total > 0) for (let f = 0; f < F; f++) picked.push([minAt[2 * f]!, minAt[2 * f + 1]!], [maxAt[2 * f]!, maxAt[2 * f + 1]!]);
  const extra = Math.max(0, Math.min(RANGE_PROBE_ROWS, total) - picked.length);
  for (let k = 0; k < extra; k++) {
    const li = rng.nextInt(lists.length);
    const n = lists[li]!.n;
    if (n > 0) picked.push([li, rng.nextInt(n)]);
  }
  const features = new Float32Array(picked.length * F);
  picked.forEach(([li, i], r) => features.set(lists[li]!.features.subarray(i * F, (i + 1) * F), r * F));
  return { n: picked.length, features };
}

// ---- memory ----

type GcFunction = (options?: { type?: 'minor' | 'major' }) => void;

/**
 * node-mlx 0.0.7 frees an array's native buffer only in the finalizer of its JS wrapper, does not tell V8 how
 * much native memory a wrapper holds, and runs finalizers only between event-loop turns. A tight training loop
 * therefore grows by gigabytes (measured: 5 GB RSS for 5 epochs of 10k lists). The cure: a young-generation GC
 * and a turn of the event loop every few steps, which keeps RSS flat and makes steps faster (less allocation).
 * `gc` comes from --expose-gc when given, else is enabled at runtime (the V8 flag only exposes the function).
 */
function mlxGarbageCollector(): () => Promise<void> {
  let gc: GcFunction | null = null;
  const exposed: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') gc = exposed as GcFunction;
  else {
    try {
      setFlagsFromString('--expose-gc');
      const fromContext: unknown = runInNewContext('gc');
      if (typeof fromContext === 'function') gc = fromContext as GcFunction;
    } catch {
      gc = null; // without it, yielding alone still lets V8's own GCs release memory, just later
    }
  }
  return async () => {
    gc?.({ type: 'minor' });
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
}

// ---- the loop ----

interface AdamState {
  m: MlxRelevanceParams;
  v: MlxRelevanceParams;
  step: number;
}

function zerosLikeParams(mx: Mx, p: MlxRelevanceParams): MlxRelevanceParams {
  return { w1: mx.zerosLike(p.w1), b1: mx.zerosLike(p.b1), w2: mx.zerosLike(p.w2), b2: mx.zerosLike(p.b2), w3: mx.zerosLike(p.w3), b3: mx.zerosLike(p.b3) };
}

type TrainStep = (
  params: MlxRelevanceParams,
  m: MlxRelevanceParams,
  v: MlxRelevanceParams,
  x: MxArray,
  coef: MxArray,
  logWeight: MxArray,
  stepSize: MxArray,
) => [MxArray, MlxRelevanceParams, MlxRelevanceParams, MlxRelevanceParams];

/**
 * One optimisation step — loss, gradients and the Adam update — as a single mx.compile'd function: compiling
 * fuses the elementwise work and halves the step time on CPU (measured 6.8 → 3.4 ms for 32 lists × 150 × 30).
 * It retraces once per batch shape (about a millisecond), which sorting lists by length keeps to a few dozen.
 */
function compiledTrainStep(mx: Mx): TrainStep {
  const listLoss = (p: MlxRelevanceParams, x: MxArray, coef: MxArray, logWeight: MxArray): MxArray => {
    const scores = mlxForward(mx, p, x); // [B, n]
    const logNormaliser = mx.logsumexp(mx.add(scores, logWeight), -1, true);
    const logProb = mx.subtract(scores, logNormaliser);
    return mx.negative(mx.mean(mx.sum(mx.multiply(coef, logProb), -1)));
  };
  // The vendored typing says valueAndGrad returns [value, array]; with a params object as argument 0 it
  // returns the gradients as an object of the same shape, hence the cast.
  const lossAndGrad = mx.valueAndGrad(listLoss, 0) as unknown as (p: MlxRelevanceParams, x: MxArray, coef: MxArray, logWeight: MxArray) => [MxArray, MlxRelevanceParams];
  const step: TrainStep = (params, m, v, x, coef, logWeight, stepSize) => {
    const [loss, grads] = lossAndGrad(params, x, coef, logWeight);
    const nextParams = { ...params };
    const nextM = { ...m };
    const nextV = { ...v };
    for (const name of PARAM_NAMES) {
      const g = grads[name];
      nextM[name] = mx.add(mx.multiply(m[name], ADAM_BETA1), mx.multiply(g, 1 - ADAM_BETA1));
      nextV[name] = mx.add(mx.multiply(v[name], ADAM_BETA2), mx.multiply(mx.square(g), 1 - ADAM_BETA2));
      nextParams[name] = mx.subtract(params[name], mx.multiply(mx.divide(nextM[name], mx.add(mx.sqrt(nextV[name]), ADAM_EPS)), stepSize));
    }
    return [loss, nextParams, nextM, nextV];
  };
  return mx.compile(step);
}

function flatLogits(mx: Mx, params: MlxRelevanceParams, x: MxArray): Float32Array {
  const logits = mlxForward(mx, params, x);
  mx.eval(logits);
  return Float32Array.from(logits.tolist() as number[]);
}

function meanValidationNdcg(logits: Float32Array, lists: RelevanceList[]): number {
  let sum = 0;
  let count = 0;
  let offset = 0;
  for (const list of lists) {
    const ndcg = listNdcgAtK(logits.subarray(offset, offset + list.n), list.labels, NDCG_CUTOFF, list.n);
    offset += list.n;
    if (ndcg === null) continue;
    sum += ndcg;
    count += 1;
  }
  return count > 0 ? sum / count : 0;
}

/**
 * Trains the relevance model on `dataset` (deterministic for a seed), keeps the epoch with the best held-out
 * nDCG@10, and calibrates its logits on the held-out lists. mlx computes on this thread (it yields only every
 * few steps, for garbage collection); use trainRelevanceModelInWorker (worker.ts) where requests must keep
 * being answered.
 */
export async function trainRelevanceModel(dataset: RelevanceDataset, options: RelevanceTrainingOptions): Promise<TrainedRelevanceModel> {
  const started = performance.now();
  const { onProgress, ...settings } = options;
  const opts = optionsSchema.parse(settings);
  validateRelevanceDataset(dataset);
  const F = dataset.featureNames.length;
  const rng = new SeededRandom(opts.seed);

  const usable = dataset.lists.filter((l) => l.n > 0);
  const order = rng.shuffle(usable.map((_, i) => i));
  const valCount = Math.max(1, Math.round(opts.valFraction * usable.length));
  const valLists = order.slice(0, valCount).map((i) => usable[i]!);
  const trainLists = order.slice(valCount).map((i) => usable[i]!);
  const learnable = trainLists.filter(hasWeightedPositive);
  if (learnable.length === 0 || !valLists.some(hasPositive)) {
    throw new SieveError(
      'INTERNAL',
      `relevance dataset: too few labelled lists to train and validate (${usable.length} lists; ${learnable.length} training lists with a weighted relevant candidate, ${valLists.filter(hasPositive).length} held-out lists with a relevant candidate)`,
      { lists: usable.length },
    );
  }

  const unknown = opts.ignoreFeatures.filter((name) => !dataset.featureNames.includes(name));
  if (unknown.length > 0) throw datasetError(`features to ignore that the dataset does not have: ${unknown.join(', ')}`, { featureNames: dataset.featureNames });
  const standardisation = ignoreFeatures(computeStandardisation(trainLists, F), dataset.featureNames, opts.ignoreFeatures);
  const rangeProbe = pickRangeProbe(valLists, F, rng);
  // One BLAS thread: these matmuls are tiny, and OpenBLAS's spinning worker threads cost far more than they
  // give on a shared machine (measured 4.8 vs 17 ms per step under load, and 7.5 vs 10.3 s for 3 epochs of
  // 10k lists). Only effective if node-mlx is not loaded yet; an explicit setting is respected.
  process.env['OPENBLAS_NUM_THREADS'] ??= '1';
  const { core: mx } = await loadMlx();
  const stagingStarted = performance.now();

  const dir = mkdtempSync(join(tmpdir(), 'sieve-relevance-'));
  let staged: StagedTraining;
  let valX: MxArray;
  try {
    staged = stageTraining(mx, dir, learnable, standardisation, opts.batchLists, rng);
    valX = stageFlat(mx, dir, valLists, standardisation);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const stagingSeconds = (performance.now() - stagingStarted) / 1000;

  const trainStep = compiledTrainStep(mx);

  const collectGarbage = mlxGarbageCollector();
  let params = toMlxParams(mx, initialParams(F, opts.hidden, () => rng.nextFloat()));
  const adam: AdamState = { m: zerosLikeParams(mx, params), v: zerosLikeParams(mx, params), step: 0 };
  let best: { params: MlxRelevanceParams; valNdcg10: number; epoch: number; trainLoss: number; valLogits: Float32Array } = {
    params,
    valNdcg10: -Infinity,
    epoch: 0,
    trainLoss: NaN,
    valLogits: new Float32Array(0),
  };
  let epochsRun = 0;
  let stepsRun = 0;
  let patienceMark = -Infinity;
  let sinceBest = 0;

  for (let epoch = 1; epoch <= opts.maxEpochs; epoch++) {
    epochsRun = epoch;
    let lossSum = 0;
    let listCount = 0;
    for (const bi of rng.shuffle(staged.batches.map((_, i) => i))) {
      const batch = staged.batches[bi]!;
      const stop = batch.rowOffset + batch.lists * batch.width;
      const x = staged.x.index(mx.Slice(batch.rowOffset, stop)).reshape([batch.lists, batch.width, F]);
      const coef = staged.coef.index(mx.Slice(batch.rowOffset, stop)).reshape([batch.lists, batch.width]);
      const logWeight = staged.logWeight.index(mx.Slice(batch.rowOffset, stop)).reshape([batch.lists, batch.width]);
      adam.step += 1;
      // Bias corrections folded into the step size (the usual Adam with ε applied to the uncorrected √v).
      const stepSize = (opts.lr * Math.sqrt(1 - ADAM_BETA2 ** adam.step)) / (1 - ADAM_BETA1 ** adam.step);
      const [loss, nextParams, nextM, nextV] = trainStep(params, adam.m, adam.v, x, coef, logWeight, mx.array(stepSize, mx.float32));
      params = nextParams;
      adam.m = nextM;
      adam.v = nextV;
      mx.eval(loss, params, adam.m, adam.v);
      lossSum += (loss.item() as number) * batch.lists;
      listCount += batch.lists;
      if (++stepsRun % GC_EVERY_STEPS === 0) await collectGarbage();
    }
    const trainLoss = lossSum / listCount;
    const valLogits = flatLogits(mx, params, valX);
    const valNdcg10 = meanValidationNdcg(valLogits, valLists);
    if (!Number.isFinite(trainLoss)) throw new SieveError('INTERNAL', `relevance training diverged at epoch ${epoch} (loss ${trainLoss}); lower the learning rate`);
    if (valNdcg10 > best.valNdcg10) best = { params, valNdcg10, epoch, trainLoss, valLogits };
    // Patience restarts only on a real gain, so a slow creep of 1e-5 per epoch does not keep training alive.
    if (valNdcg10 > patienceMark + MIN_NDCG_GAIN) {
      patienceMark = valNdcg10;
      sinceBest = 0;
    } else {
      sinceBest += 1;
    }
    onProgress?.({
      epoch,
      maxEpochs: opts.maxEpochs,
      trainLoss,
      valNdcg10,
      bestEpoch: best.epoch,
      bestValNdcg10: best.valNdcg10,
      seconds: (performance.now() - started) / 1000,
    });
    if (sinceBest >= opts.patience) break;
  }

  // Calibration: P(referenced) on held-out candidates, weighted like training (weight 0 = unlabeled, left out).
  const calibrationLogits: number[] = [];
  const positives: boolean[] = [];
  const weights: number[] = [];
  let offset = 0;
  for (const list of valLists) {
    for (let i = 0; i < list.n; i++) {
      calibrationLogits.push(best.valLogits[offset + i]!);
      positives.push(list.labels[i]! > 0);
      weights.push(weightOf(list, i));
    }
    offset += list.n;
  }
  const { logLoss, ...calibration } = fitCalibration(calibrationLogits, positives, weights);

  return {
    architecture: { kind: 'mlp-conv1x1', inputs: F, hidden: opts.hidden, activation: 'relu' },
    params: fromMlxParams(best.params),
    featureNames: [...dataset.featureNames],
    standardisation,
    calibration,
    metrics: {
      valNdcg10: best.valNdcg10,
      trainLoss: best.trainLoss,
      epochs: epochsRun,
      bestEpoch: best.epoch,
      seconds: (performance.now() - started) / 1000,
      stagingSeconds,
      trainLists: trainLists.length,
      valLists: valLists.length,
      calibrationLogLoss: logLoss,
    },
    rangeProbe,
  };
}

/** Logits from node-mlx for raw features (n × F row-major): the training-side forward, e.g. for parity checks. */
export async function predictWithMlx(model: Pick<TrainedRelevanceModel, 'params' | 'standardisation'>, features: Float32Array, n: number): Promise<Float32Array> {
  const { core: mx } = await loadMlx();
  const st = model.standardisation;
  const F = st.mean.length;
  if (n === 0) return new Float32Array(0);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from({ length: F }, (_, f) => standardiseValue(features[i * F + f]!, st.mean[f]!, st.scale[f]!, st.clip)));
  return flatLogits(mx, toMlxParams(mx, model.params), mx.array(rows, mx.float32));
}

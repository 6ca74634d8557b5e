// Trains the Conv1d embedder with contrastive InfoNCE (in-batch negatives) on inverse-cloze pairs from the store
// and, when a BEIR folder is given, supervised (query, relevant document) pairs — a batch is all supervised with
// probability `supervisedFraction`, else inverse cloze (with some title→body pairs). Then it exports ONNX (FP32
// and FP16), and measures recall@10 of the held-out queries among the held-out passages.
//
// trainEmbedder runs the work in a worker thread (worker.ts) so a serving process stays responsive;
// trainEmbedderInProcess is the same work on the calling thread (the worker calls it). Seeded: one seed fixes
// the data split, the initial weights and every batch, so a run replays exactly (up to floating-point
// summation order in the BLAS).
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { SieveError, isErrorCode, toSieveError } from '../../errors.js';
import { DEFAULT_TOKENIZER_CONFIG, parseTokenizerConfig, tokenize, type TokenizerConfig } from '../../embed/tokenizer.js';
import { architectureSchema, type EmbedderArchitecture } from '../../embed/onnx-embedder.js';
import type { Store } from '../../store/store.js';
import { SeededRandom } from '../../util/random.js';
import { loadMlx } from '../mlx.js';
import type { SampleInput } from '../../embed/onnx/ane-check.js';
import {
  PairSampler,
  WordVocab,
  batchWordVectors,
  clozePair,
  layoutBatch,
  pickHardNegatives,
  readStoreCorpus,
  readSupervisedData,
  type LexicalScores,
  scatterWordGradients,
  splitKeys,
  type ClozeChunk,
  type TitleBody,
  type WordPair,
} from './data.js';
import { exportEmbedder, loadEmbedderWeights } from './export.js';
import { readTracePairs } from './trace-pairs.js';
import { DENSE_FUSION } from '../../rank/fusion.js';
import type { QuestionPartition } from '../partition.js';
import {
  DEFAULT_ARCHITECTURE,
  DenseAdam,
  MxBridge,
  SparseRowAdam,
  denseParamList,
  denseParamsFromList,
  denseParamsFromMx,
  denseParamsToMx,
  encode,
  infoNceLoss,
  initialWeights,
  type DenseParams,
  type EmbedderWeights,
  type MxArray,
  type MxCore,
} from './model.js';

export interface TrainProgress {
  phase: 'prepare' | 'train' | 'export' | 'evaluate' | 'done';
  step: number;
  steps: number;
  /** Mean loss over the steps since the previous report. */
  loss?: number;
  stepsPerSecond?: number;
  elapsedSeconds: number;
  message?: string;
}

export interface TrainEmbedderOptions {
  store: Store;
  outDir: string;
  beir?: { dir: string; split: string };
  /**
   * The feedback loop's pairs (question, chunk its answers used) from the store's history: the embedder's share
   * of questions trains, the gate's held-out questions are the held-out slice (see train/partition.ts).
   */
  traces?: { partition: QuestionPartition };
  steps: number;
  /** Passes over the training data instead of `steps` (see stepsForEpochs); when given, `steps` is not used. */
  epochs?: number;
  batchSize: number;
  seed: number;
  onProgress?: (progress: TrainProgress) => void;
  /** Overrides of the default architecture / tokenizer. */
  architecture?: Partial<EmbedderArchitecture>;
  tokenizer?: Partial<TokenizerConfig>;
  /** Peak learning rate (linear warm-up over the first 5% of steps, then linear decay to 10%). Default 2e-3. */
  learningRate?: number;
  /** The table's learning rate relative to the dense layers' (rows are updated only when a batch touches them). Default 5. */
  tableLearningRateScale?: number;
  temperature?: number;
  symmetricLoss?: boolean;
  /** Share of batches drawn from the supervised pairs when `beir` is given. Default 0.3. */
  supervisedFraction?: number;
  /** BM25-mined hard negatives kept per supervised query; one joins each supervised pair in a batch. Default 5 (0 = off). */
  hardNegatives?: number;
  /**
   * Trains against the served fusion, as CLEAR does (Gao et al., 2021, "Complement Lexical Retrieval Model with
   * Semantic Residual Embeddings"): on supervised batches every logit also gets lexicalResidual × the query's
   * min-max BM25 score of that passage / (DENSE_FUSION.denseWeight × temperature). At 1 the softmax is over the
   * very score the hybrid serves (min-max BM25 + w × cosine), so a pair BM25 already ranks right adds little loss
   * and the model spends itself on what BM25 gets wrong. 0 (default) = plain InfoNCE.
   */
  lexicalResidual?: number;
  /** Share of inverse-cloze samples that are title→body pairs instead. Default 0.2. */
  titleFraction?: number;
  heldOutFraction?: number;
  maxQueryWords?: number;
  maxPassageWords?: number;
  maxChunks?: number;
  modelId?: string;
  /** Which precisions to write. Default both. */
  precisions?: Array<'fp32' | 'fp16'>;
  /** A model folder to continue training from (its weights, architecture and tokenizer); default a fresh init. */
  initFrom?: string;
  /** Run on the calling thread instead of a worker. Default false. */
  inProcess?: boolean;
  /** Write progress lines to stderr. Default true. */
  log?: boolean;
}

export interface EmbedderMetrics {
  heldOutRecallAt10?: number;
  heldOutQueries?: number;
  /** Recall@10 per pair source among the same held-out pool. */
  heldOutRecallAt10BySource?: Record<string, number>;
  /** The same held-out recall of the model training continued from (initFrom), before its first step. */
  parentHeldOutRecallAt10?: number;
  parentHeldOutRecallAt10BySource?: Record<string, number>;
  /** Steps run: `steps`, or what `epochs` came to. */
  steps: number;
  stepsPerSecond: number;
  seconds: number;
  trainSeconds: number;
  finalLoss: number;
}

export interface TrainEmbedderResult {
  modelId: string;
  /** Absolute paths: the fp32 and fp16 folders (a table + one graph per bucket each) and the config JSON (tokenizer, architecture, files). */
  files: { fp32: string; fp16: string; tokenizer: string };
  meta: Record<string, unknown>;
  metrics: EmbedderMetrics;
}

/** The options that cross into a worker (a Store cannot; the worker opens its own by path). */
export type WorkerTrainOptions = Omit<TrainEmbedderOptions, 'store' | 'onProgress' | 'inProcess'> & { storePath: string };

const optionsSchema = z.object({
  outDir: z.string().min(1),
  steps: z.number().int().min(1),
  epochs: z.number().positive().max(100_000).optional(),
  batchSize: z.number().int().min(2),
  seed: z.number().int(),
  learningRate: z.number().positive().default(2e-3),
  tableLearningRateScale: z.number().positive().default(5),
  temperature: z.number().positive().default(0.05),
  symmetricLoss: z.boolean().default(true),
  supervisedFraction: z.number().min(0).max(1).default(0.3),
  titleFraction: z.number().min(0).max(1).default(0.2),
  hardNegatives: z.number().int().min(0).max(100).default(5),
  lexicalResidual: z.number().min(0).max(10).default(0),
  heldOutFraction: z.number().min(0).max(0.5).default(0.05),
  maxQueryWords: z.number().int().min(4).default(64),
  maxPassageWords: z.number().int().min(8).default(128),
  maxChunks: z.number().int().min(1).default(200_000),
});

/**
 * node-mlx frees an array's native buffer in its N-API finalizer, and Node runs those finalizers only after
 * control returns to the event loop; V8 also cannot see the native bytes, so it collects late. A loop that never
 * yields therefore kept every step's activations (the first long run reached 23 GB and was OOM-killed). Each
 * step yields once (flat at ~1.3 GB for batch 128) and runs a full GC every GC_EVERY steps (~0.7 GB; a GC costs
 * ~80 ms, so not every step). The gc function comes from a V8 flag set at runtime, the documented way to get it
 * without restarting node with --expose-gc.
 */
const GC_EVERY = 10;

function exposeGc(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function learningRateAt(step: number, steps: number, peak: number): number {
  const warmup = Math.max(1, Math.round(steps * 0.05));
  if (step <= warmup) return (peak * step) / warmup;
  const progress = (step - warmup) / Math.max(1, steps - warmup);
  return peak * (1 - 0.9 * progress);
}

/**
 * Steps for `epochs` passes over the training data: over the supervised pairs when there are any (they fill the
 * supervisedFraction share of batches, every batch when the store gave no inverse-cloze chunk), else over the
 * inverse-cloze chunks. At least one step.
 */
export function stepsForEpochs(epochs: number, counts: { supervisedPairs: number; clozeChunks: number }, batchSize: number, supervisedFraction: number): number {
  const supervisedShare = counts.clozeChunks === 0 ? 1 : supervisedFraction;
  const perEpoch = counts.supervisedPairs > 0 && supervisedShare > 0 ? counts.supervisedPairs / (batchSize * supervisedShare) : counts.clozeChunks / batchSize;
  return Math.max(1, Math.ceil(epochs * perEpoch));
}

function defaultModelId(seed: number): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `embedder-${stamp}-s${seed}`;
}

/** Trains, exports and evaluates in a worker thread; resolves when the model folder is written. */
export async function trainEmbedder(opts: TrainEmbedderOptions): Promise<TrainEmbedderResult> {
  if (opts.inProcess) return trainEmbedderInProcess(opts);
  const { store, onProgress, inProcess, ...rest } = opts;
  void inProcess; // false here; not an option the worker takes
  return runTrainingWorker({ ...rest, storePath: store.path }, onProgress);
}

/** Messages the worker posts. */
export type WorkerMessage = { type: 'progress'; progress: TrainProgress } | { type: 'done'; result: TrainEmbedderResult } | { type: 'error'; code: string; message: string };

const tsxPackageSchema = z.object({ exports: z.object({ './esm/api': z.object({ import: z.object({ default: z.string() }) }) }) });

/** The ESM entry of tsx's API (require.resolve would give its CommonJS one, which cannot register the ESM hooks). */
function tsxEsmApiUrl(from: string): string {
  const packageJson = createRequire(from).resolve('tsx/package.json');
  const entry = tsxPackageSchema.parse(JSON.parse(readFileSync(packageJson, 'utf8'))).exports['./esm/api'].import.default;
  return pathToFileURL(path.join(path.dirname(packageJson), entry)).href;
}

/** Rebuilds the worker's SieveError; the code came from toSieveError in the worker, an unknown one becomes INTERNAL. */
function errorFromWorker(code: string, message: string): SieveError {
  return isErrorCode(code) ? new SieveError(code, message) : new SieveError('INTERNAL', message, { workerCode: code });
}

function runTrainingWorker(options: WorkerTrainOptions, onProgress?: (p: TrainProgress) => void): Promise<TrainEmbedderResult> {
  const here = import.meta.url;
  const workerData = { kind: 'sieve-train-embedder', options };
  let worker: Worker;
  if (here.endsWith('.ts')) {
    // Running from TypeScript sources (tsx, vitest): the worker loads worker.ts through tsx's loader, resolved
    // from this package so it works from any working directory.
    const tsxApi = tsxEsmApiUrl(here);
    const target = new URL('./worker.ts', here).href;
    const code = `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(target)}, ${JSON.stringify(here)}))`;
    worker = new Worker(code, { eval: true, workerData });
  } else {
    worker = new Worker(new URL('./worker.js', here), { workerData });
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.on('message', (raw: WorkerMessage) => {
      if (raw.type === 'progress') onProgress?.(raw.progress);
      else if (raw.type === 'done') {
        settled = true;
        resolve(raw.result);
        void worker.terminate();
      } else {
        settled = true;
        reject(errorFromWorker(raw.code, raw.message));
        void worker.terminate();
      }
    });
    worker.on('error', (err) => {
      if (!settled) {
        settled = true;
        reject(toSieveError(err));
      }
    });
    worker.on('exit', (exitCode) => {
      if (!settled) {
        settled = true;
        reject(new SieveError('INTERNAL', `the embedder training worker exited with code ${exitCode} before finishing`));
      }
    });
  });
}

interface PreparedData {
  vocab: WordVocab;
  trainChunks: ClozeChunk[];
  trainTitles: TitleBody[];
  supervised: WordPair[];
  /** The supervised queries' BM25 evidence, when training against the served fusion (lexicalResidual > 0). */
  lexical: LexicalScores | null;
  heldOut: WordPair[];
  counts: Record<string, number>;
}

async function prepareData(opts: TrainEmbedderOptions, o: z.infer<typeof optionsSchema>, tokenizer: TokenizerConfig): Promise<PreparedData> {
  const vocab = new WordVocab(tokenizer);
  const corpus = readStoreCorpus(opts.store, vocab, { maxChunks: o.maxChunks, maxPassageWords: o.maxPassageWords, seed: opts.seed });
  const documentIds = [...new Set([...corpus.chunks.map((c) => c.documentId), ...corpus.titles.map((t) => t.documentId)])].sort((a, b) => a - b);
  const docSplit = splitKeys(documentIds, o.heldOutFraction, opts.seed + 1);
  const trainChunks = corpus.chunks.filter((c) => docSplit.train.has(c.documentId));
  const trainTitles = corpus.titles.filter((t) => docSplit.train.has(t.documentId));
  const heldOutRng = new SeededRandom(opts.seed + 2);
  const clozeOpts = { maxQueryWords: o.maxQueryWords, maxPassageWords: o.maxPassageWords, keepProbability: 0 };
  // One chunk per held-out document, so a document's passages do not compete with each other.
  const seenDocs = new Set<number>();
  const heldOut: WordPair[] = [];
  for (const c of corpus.chunks) {
    if (!docSplit.heldOut.has(c.documentId) || seenDocs.has(c.documentId)) continue;
    seenDocs.add(c.documentId);
    heldOut.push(clozePair(c, heldOutRng, clozeOpts));
  }
  let supervised: WordPair[] = [];
  let lexical: LexicalScores | null = null;
  let heldOutSupervised = 0;
  if (opts.beir) {
    const read = await readSupervisedData(opts.beir.dir, opts.beir.split, vocab, {
      maxQueryWords: o.maxQueryWords,
      maxPassageWords: o.maxPassageWords,
      hardNegatives: o.hardNegatives,
      lexicalScores: o.lexicalResidual > 0,
    });
    const pairs = read.pairs;
    lexical = read.lexical;
    const querySplit = splitKeys([...new Set(pairs.map((p) => p.queryId))], o.heldOutFraction, opts.seed + 3);
    supervised = pairs.filter((p) => querySplit.train.has(p.queryId));
    const heldOutPairs = pairs.filter((p) => querySplit.heldOut.has(p.queryId));
    heldOut.push(...heldOutPairs);
    heldOutSupervised = heldOutPairs.length;
  }
  let heldOutTrace = 0;
  if (opts.traces) {
    const pairs = readTracePairs(opts.store, vocab, {
      maxQueryWords: o.maxQueryWords,
      maxPassageWords: o.maxPassageWords,
      partition: opts.traces.partition,
      hardNegatives: o.hardNegatives,
    });
    supervised.push(...pairs.train);
    heldOut.push(...pairs.heldOut);
    heldOutTrace = pairs.heldOut.length;
  }
  if (trainChunks.length === 0 && supervised.length === 0) {
    throw new SieveError('STORE_EMPTY', 'no training pairs: the store has no chunk with two or more sentences and no supervised pairs were given');
  }
  return {
    vocab,
    trainChunks,
    trainTitles,
    supervised,
    lexical,
    heldOut,
    counts: {
      clozeChunks: trainChunks.length,
      titlePairs: trainTitles.length,
      supervisedPairs: supervised.length,
      heldOutCloze: heldOut.length - heldOutSupervised - heldOutTrace,
      heldOutSupervised,
      heldOutTrace,
      vocabularyWords: vocab.size,
    },
  };
}

/** Encodes word-id sequences with the mlx model, in batches; unit vectors [n × D] row-major. */
async function encodeSequences(mx: MxCore, bridge: MxBridge, weights: EmbedderWeights, dense: DenseParams, vocab: WordVocab, seqs: readonly Int32Array[]): Promise<Float32Array> {
  const D = weights.architecture.outputDim;
  const out = new Float32Array(seqs.length * D);
  const batch = 64;
  for (let start = 0; start < seqs.length; start += batch) {
    const part = seqs.slice(start, start + batch);
    const layout = layoutBatch(part.map((s) => ({ query: s, passage: new Int32Array(0), source: 'ict' as const, group: '' })));
    const E = weights.architecture.embedDim;
    const wv = bridge.toMx(batchWordVectors(layout.words, vocab, weights.table, E), [layout.words.length + 1, E]);
    const q = layout.queries;
    const emb = encode(mx, weights.architecture, dense, wv, bridge.toMx(q.positions, [part.length, q.length]), bridge.toMx(q.mask, [part.length, q.length, 1]));
    out.set(bridge.toFloat32(emb), start * D);
    await yieldToEventLoop(); // let node-mlx free the batch (see GC_EVERY)
  }
  return out;
}

/** Recall@10 of each held-out query's own passage among all held-out passages (cosine, brute force). */
export function recallAt10(queryVecs: Float32Array, passageVecs: Float32Array, dim: number, positives: ReadonlyArray<ReadonlySet<number>>): number[] {
  const n = positives.length;
  const passages = passageVecs.length / dim;
  const hits: number[] = [];
  for (let i = 0; i < n; i++) {
    const scores = new Float32Array(passages);
    for (let j = 0; j < passages; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += queryVecs[i * dim + c]! * passageVecs[j * dim + c]!;
      scores[j] = s;
    }
    const top = Array.from(scores.keys())
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, 10);
    const own = positives[i]!;
    hits.push(top.some((j) => own.has(j)) ? 1 : 0);
  }
  return hits;
}

/**
 * Recall@10 of the held-out queries among the held-out passages (deduplicated by group: two supervised queries may
 * share a document), overall and per pair source; null when fewer than two pairs were held out.
 */
async function evaluateHeldOut(
  mx: MxCore,
  bridge: MxBridge,
  weights: EmbedderWeights,
  dense: DenseParams,
  data: PreparedData,
): Promise<{ recallAt10: number; queries: number; bySource: Record<string, number> } | null> {
  if (data.heldOut.length < 2) return null;
  const D = weights.architecture.outputDim;
  const queryVecs = await encodeSequences(mx, bridge, weights, dense, data.vocab, data.heldOut.map((p) => p.query));
  const passageIndex = new Map<string, number>();
  const passageSeqs: Int32Array[] = [];
  const positives = data.heldOut.map((p) => {
    let j = passageIndex.get(p.group);
    if (j === undefined) {
      j = passageSeqs.length;
      passageIndex.set(p.group, j);
      passageSeqs.push(p.passage);
    }
    return j;
  });
  // A query's positives: every held-out passage of a document judged relevant to it (same query text).
  const byQuery = new Map<Int32Array, Set<number>>();
  data.heldOut.forEach((p, i) => byQuery.set(p.query, (byQuery.get(p.query) ?? new Set()).add(positives[i]!)));
  const passageVecs = await encodeSequences(mx, bridge, weights, dense, data.vocab, passageSeqs);
  const hits = recallAt10(queryVecs, passageVecs, D, data.heldOut.map((p) => byQuery.get(p.query)!));
  const bySource: Record<string, number[]> = {};
  data.heldOut.forEach((p, i) => (bySource[p.source] ??= []).push(hits[i]!));
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  return { recallAt10: mean(hits), queries: hits.length, bySource: Object.fromEntries(Object.entries(bySource).map(([k, v]) => [k, mean(v)])) };
}

/** The training run on the calling thread. */
export async function trainEmbedderInProcess(opts: TrainEmbedderOptions): Promise<TrainEmbedderResult> {
  const started = performance.now();
  const o = optionsSchema.parse({ ...opts, store: undefined, onProgress: undefined });
  // Continuing from a parent model fixes its architecture and tokenizer (the table rows are its hash buckets).
  const parent = opts.initFrom ? await loadEmbedderWeights(opts.initFrom) : null;
  const tokenizer = parent ? parent.config.tokenizer : parseTokenizerConfig({ ...DEFAULT_TOKENIZER_CONFIG, ...opts.tokenizer });
  const architecture = parent ? parent.config.architecture : architectureSchema.parse({ ...DEFAULT_ARCHITECTURE, ...opts.architecture });
  const modelId = opts.modelId ?? defaultModelId(opts.seed);
  const log = opts.log ?? true;
  const elapsed = (): number => (performance.now() - started) / 1000;
  const report = (p: Omit<TrainProgress, 'elapsedSeconds'>): void => {
    const progress: TrainProgress = { ...p, elapsedSeconds: elapsed() };
    opts.onProgress?.(progress);
    if (log) {
      const parts = [`embedder ${progress.phase}`, `step ${progress.step}/${progress.steps}`];
      if (progress.loss !== undefined) parts.push(`loss ${progress.loss.toFixed(4)}`);
      if (progress.stepsPerSecond !== undefined) parts.push(`${progress.stepsPerSecond.toFixed(2)} steps/s`);
      parts.push(`${progress.elapsedSeconds.toFixed(0)} s`);
      if (progress.message) parts.push(progress.message);
      process.stderr.write(`sieve: ${parts.join(' · ')}\n`);
    }
  };

  // With epochs the step count is known only once the pairs are counted.
  report({ phase: 'prepare', step: 0, steps: o.epochs !== undefined ? 0 : o.steps, message: 'reading pairs' });
  const data = await prepareData(opts, o, tokenizer);
  const steps = o.epochs !== undefined ? stepsForEpochs(o.epochs, { supervisedPairs: data.supervised.length, clozeChunks: data.trainChunks.length }, o.batchSize, o.supervisedFraction) : o.steps;
  report({ phase: 'prepare', step: 0, steps, message: JSON.stringify(o.epochs !== undefined ? { ...data.counts, epochs: o.epochs, steps } : data.counts) });

  const { core: mx } = await loadMlx();
  mx.random.seed(opts.seed);
  const bridge = new MxBridge(mx);
  try {
    const weights = parent ? parent.weights : initialWeights(architecture, tokenizer.buckets, opts.seed);
    let dense = denseParamsToMx(weights, bridge);
    let paramList = denseParamList(dense);
    const denseAdam = new DenseAdam(mx, paramList);
    const tableAdam = new SparseRowAdam(weights.table, architecture.embedDim);
    const rng = new SeededRandom(opts.seed + 4);
    const clozeSampler = new PairSampler(data.trainChunks.map((c) => ({ chunk: c, group: `d${c.documentId}` })), rng);
    const titleSampler = new PairSampler(data.trainTitles.map((t) => ({ pair: t, group: `d${t.documentId}` })), rng);
    const supervisedSampler = new PairSampler(data.supervised, rng);
    const clozeOpts = { maxQueryWords: o.maxQueryWords, maxPassageWords: o.maxPassageWords, keepProbability: 0.1 };
    const E = architecture.embedDim;
    const P = paramList.length;
    // The served fusion ranks by minmax(BM25) + w·cosine, i.e. by cosine/τ + minmax(BM25)/(w·τ) on the logit scale.
    if (o.lexicalResidual > 0 && DENSE_FUSION.kind !== 'shift') {
      throw new SieveError('INTERNAL', `lexicalResidual assumes the served shift fusion; the served fusion is ${DENSE_FUSION.kind}`);
    }
    const lexicalScale = o.lexicalResidual / (DENSE_FUSION.denseWeight * o.temperature);

    const drawBatch = (): WordPair[] => {
      const useSupervised = supervisedSampler.length > 0 && (data.trainChunks.length === 0 || rng.nextFloat() < o.supervisedFraction);
      if (useSupervised) return supervisedSampler.next(o.batchSize);
      const titleCount = titleSampler.length > 0 ? Math.round(o.batchSize * o.titleFraction) : 0;
      const titles = titleSampler.next(titleCount);
      const docs = new Set(titles.map((t) => t.group));
      const cloze = clozeSampler
        .next(o.batchSize - titles.length + titleCount) // a few spare in case a document repeats across both
        .filter((c) => !docs.has(c.group))
        .slice(0, o.batchSize - titles.length)
        .map((c) => clozePair(c.chunk, rng, clozeOpts));
      return [...titles.map((t): WordPair => ({ query: t.pair.title, passage: t.pair.body, source: 'title', group: t.group })), ...cloze];
    };

    // A continued model is judged against where it started, on the same held-out slice.
    const parentHeldOut = parent ? await evaluateHeldOut(mx, bridge, weights, dense, data) : null;
    if (parentHeldOut) report({ phase: 'evaluate', step: 0, steps, message: `parent held-out recall@10 ${parentHeldOut.recallAt10.toFixed(4)}` });

    const gc = exposeGc();
    let lossSum = 0;
    let lossCount = 0;
    let lastLoss = Number.NaN;
    let windowStart = performance.now();
    let windowSteps = 0;
    const trainStarted = performance.now();
    const logEvery = Math.max(1, Math.min(50, Math.round(steps / 40)));
    for (let step = 1; step <= steps; step++) {
      const pairs = drawBatch();
      if (pairs.length < 2) throw new SieveError('STORE_EMPTY', 'too few distinct training pairs to form a batch of two');
      const negatives = pickHardNegatives(pairs, rng);
      const layout = layoutBatch(pairs, negatives.map((x) => x.passage));
      const n = layout.size;
      // Passages in layout order: the pairs' own, then the hard negatives.
      const passageGroups = [...pairs.map((p) => p.group), ...negatives.map((x) => x.group)];
      const lexicalScores = data.lexical?.matrix(pairs.map((p) => p.queryId), passageGroups); // built only when lexicalResidual > 0
      const lexicalBias = lexicalScores ? mx.multiply(bridge.toMx(lexicalScores, [n, layout.passageCount]), lexicalScale) : undefined;
      const wordVectors = bridge.toMx(batchWordVectors(layout.words, data.vocab, weights.table, E), [layout.words.length + 1, E]);
      const q = layout.queries;
      const d = layout.passages;
      const qPos = bridge.toMx(q.positions, [n, q.length]);
      const qMask = bridge.toMx(q.mask, [n, q.length, 1]);
      const dPos = bridge.toMx(d.positions, [layout.passageCount, d.length]);
      const dMask = bridge.toMx(d.mask, [layout.passageCount, d.length, 1]);
      const lossOf = (wv: MxArray, ...params: MxArray[]): MxArray => {
        const p = denseParamsFromList(params, architecture.layers);
        return infoNceLoss(mx, encode(mx, architecture, p, wv, qPos, qMask), encode(mx, architecture, p, wv, dPos, dMask), o.temperature, o.symmetricLoss, lexicalBias);
      };
      const argnums = Array.from({ length: P + 1 }, (_, i) => i);
      // With several argnums node-mlx returns one gradient per argument; its typing declares a single array.
      const [loss, gradsRaw] = mx.valueAndGrad(lossOf, argnums)(wordVectors, ...paramList);
      const grads = gradsRaw as unknown as MxArray[];
      mx.eval(loss, ...grads);
      const lr = learningRateAt(step, steps, o.learningRate);
      paramList = denseAdam.step(paramList, grads.slice(1), lr, step);
      mx.eval(...paramList, ...denseAdam.state());
      const wordGrad = bridge.toFloat32(grads[0]!);
      const { rows, grad } = scatterWordGradients(layout.words, data.vocab, wordGrad, E);
      tableAdam.step(rows, grad, lr * o.tableLearningRateScale, step);

      await yieldToEventLoop();
      if (gc && step % GC_EVERY === 0) gc();

      lastLoss = loss.item() as number;
      if (!Number.isFinite(lastLoss)) throw new SieveError('INTERNAL', `embedder training diverged at step ${step} (loss ${lastLoss})`);
      lossSum += lastLoss;
      lossCount++;
      windowSteps++;
      if (step % logEvery === 0 || step === steps) {
        const now = performance.now();
        report({ phase: 'train', step, steps, loss: lossSum / lossCount, stepsPerSecond: (windowSteps * 1000) / (now - windowStart) });
        lossSum = 0;
        lossCount = 0;
        windowStart = now;
        windowSteps = 0;
      }
    }
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    dense = denseParamsFromList(paramList, architecture.layers);
    denseParamsFromMx(dense, weights, bridge);

    report({ phase: 'evaluate', step: steps, steps });
    const metrics: EmbedderMetrics = { steps, stepsPerSecond: steps / trainSeconds, seconds: 0, trainSeconds, finalLoss: lastLoss };
    const heldOut = await evaluateHeldOut(mx, bridge, weights, dense, data);
    if (heldOut) {
      metrics.heldOutRecallAt10 = heldOut.recallAt10;
      metrics.heldOutQueries = heldOut.queries;
      metrics.heldOutRecallAt10BySource = heldOut.bySource;
      if (parentHeldOut) {
        metrics.parentHeldOutRecallAt10 = parentHeldOut.recallAt10;
        metrics.parentHeldOutRecallAt10BySource = parentHeldOut.bySource;
      }
    }

    report({ phase: 'export', step: steps, steps });
    const meta: Record<string, unknown> = {
      kind: 'embedder',
      parent: parent ? parent.config.id : null,
      architecture,
      tokenizer,
      trainedAt: new Date().toISOString(),
      steps,
      ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
      batchSize: o.batchSize,
      seed: opts.seed,
      learningRate: o.learningRate,
      tableLearningRateScale: o.tableLearningRateScale,
      temperature: o.temperature,
      symmetricLoss: o.symmetricLoss,
      supervisedFraction: opts.beir || opts.traces ? o.supervisedFraction : 0,
      titleFraction: o.titleFraction,
      hardNegatives: opts.beir || opts.traces ? o.hardNegatives : 0,
      lexicalResidual: opts.beir ? o.lexicalResidual : 0,
      data: { store: opts.store.path, beir: opts.beir ?? null, traces: opts.traces ?? null, ...data.counts },
    };
    metrics.seconds = elapsed();
    await mkdir(opts.outDir, { recursive: true });
    const exported = await exportEmbedder(weights, opts.outDir, {
      modelId,
      tokenizer,
      precisions: opts.precisions ?? ['fp32', 'fp16'],
      meta,
      metrics: { ...metrics },
      samples: rangeSamples(weights, tokenizer, data),
    });
    metrics.seconds = elapsed();
    // Rewrite the config with the final wall time (export and the ANE check are part of the run).
    await writeFile(exported.configPath, `${JSON.stringify({ ...exported.config, metrics: { ...metrics } }, null, 2)}\n`);
    report({ phase: 'done', step: steps, steps, message: JSON.stringify(metrics) });
    return {
      modelId,
      files: { fp32: exported.dirs.fp32 ?? '', fp16: exported.dirs.fp16 ?? '', tokenizer: exported.configPath },
      meta,
      metrics,
    };
  } finally {
    bridge.dispose();
  }
}

/** A few real held-out texts per length bucket as graph inputs, for the FP16 range check of the export. */
function rangeSamples(weights: EmbedderWeights, tokenizer: TokenizerConfig, data: PreparedData): Map<number, SampleInput[]> {
  const E = weights.architecture.embedDim;
  const seqs = data.heldOut.slice(0, 3).flatMap((p) => [p.query, p.passage]);
  const samples = new Map<number, SampleInput[]>();
  for (const L of tokenizer.lengthBuckets) {
    const list: SampleInput[] = [];
    for (const seq of seqs) {
      const n = Math.min(seq.length, L);
      const vectors = batchWordVectors(seq.subarray(0, n), data.vocab, weights.table, E); // [n + 1, E], row-major
      const x = new Float32Array(E * L);
      const mask = new Float32Array(L);
      mask.fill(1, 0, n);
      for (let l = 0; l < n; l++) for (let c = 0; c < E; c++) x[c * L + l] = vectors[l * E + c]!;
      list.push({ x, mask });
    }
    if (list.length > 0) samples.set(L, list);
  }
  return samples;
}

/**
 * Embeds raw texts with the mlx model (the same tokenizer and truncation as the ONNX runtime): the reference side
 * of the export parity test.
 */
export async function embedTextsWithMlx(weights: EmbedderWeights, tokenizer: TokenizerConfig, texts: readonly string[]): Promise<Float32Array[]> {
  const { core: mx } = await loadMlx();
  const bridge = new MxBridge(mx);
  try {
    const vocab = new WordVocab(tokenizer);
    const seqs = texts.map((t) => Int32Array.from(tokenize(t, tokenizer).words, (w) => vocab.idOf(w)));
    const flat = await encodeSequences(mx, bridge, weights, denseParamsToMx(weights, bridge), vocab, seqs);
    const D = weights.architecture.outputDim;
    return texts.map((_, i) => flat.slice(i * D, (i + 1) * D));
  } finally {
    bridge.dispose();
  }
}

/** For the CLI/bench: the architecture and tokenizer a run would use with these overrides. */
export function resolvedModelConfig(opts: Pick<TrainEmbedderOptions, 'architecture' | 'tokenizer'>): { architecture: EmbedderArchitecture; tokenizer: TokenizerConfig } {
  return {
    architecture: architectureSchema.parse({ ...DEFAULT_ARCHITECTURE, ...opts.architecture }),
    tokenizer: parseTokenizerConfig({ ...DEFAULT_TOKENIZER_CONFIG, ...opts.tokenizer }),
  };
}


// The Conv1d embedder end to end on tiny shapes: train a few steps from a store and a BEIR split, export ONNX,
// and check that ONNX Runtime computes what node-mlx computes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databasePath, resolveConfig } from '../src/config.js';
import { OnnxEmbedder, readEmbedderConfig, WordVectorCache } from '../src/embed/onnx-embedder.js';
import { DEFAULT_TOKENIZER_CONFIG, type TokenizerConfig } from '../src/embed/tokenizer.js';
import { openEngine } from '../src/engine.js';
import { Store } from '../src/store/store.js';
import { exportEmbedder, loadEmbedderWeights } from '../src/train/embedder/export.js';
import { initialWeights, infoNceLoss, type EmbedderArchitecture, type EmbedderWeights } from '../src/train/embedder/model.js';
import { Bm25Index, LexicalScores, WordVocab, layoutBatch, pickHardNegatives, scatterWordGradients, type WordPair } from '../src/train/embedder/data.js';
import { loadMlx } from '../src/train/mlx.js';
import { embedTextsWithMlx, stepsForEpochs, trainEmbedder, type TrainProgress } from '../src/train/embedder/train.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../src/embed/onnx/fp16.js';
import { readModel } from '../src/embed/onnx/read.js';
import { SeededRandom } from '../src/util/random.js';
import { writeBeirFolder } from './helpers/beir.js';
import { tempDir } from './helpers/tmp.js';

const TINY_ARCH: Partial<EmbedderArchitecture> = { embedDim: 16, channels: 32, layers: 2, outputDim: 32 };
const TINY_TOKENIZER: Partial<TokenizerConfig> = { buckets: 2 ** 12, lengthBuckets: [32, 64] };

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** A synthetic corpus: each document is about made-up terms that its sentences share, so inverse cloze is learnable. */
function writeSyntheticBeir(dir: string, documents: number): void {
  const rng = new SeededRandom(42);
  const syllables = ['ka', 'lo', 'mi', 'ter', 'zu', 'pra', 'ven', 'dor', 'sil', 'qua', 'nep', 'rho', 'tas', 'gim', 'bel'];
  const term = (): string => Array.from({ length: 3 }, () => syllables[rng.nextInt(syllables.length)]).join('');
  const corpus: Array<{ _id: string; title: string; text: string }> = [];
  const queries: Array<{ _id: string; text: string }> = [];
  const qrels: Array<[string, string, number]> = [];
  for (let d = 0; d < documents; d++) {
    const [a, b, c] = [term(), term(), term()];
    const text = [
      `The ${a} protein regulates ${b} in dividing cells.`,
      `Loss of ${a} leads to ${c} syndrome in mice.`,
      `Treatment targeting ${b} reversed the ${c} phenotype.`,
      `These findings place ${a} upstream of ${b} signalling.`,
    ].join(' ');
    corpus.push({ _id: `d${d}`, title: `${a} and ${b}`, text });
    queries.push({ _id: `q${d}`, text: `does ${a} control ${c}?` });
    qrels.push([`q${d}`, `d${d}`, 1]);
  }
  writeBeirFolder(dir, { corpus, queries, qrels: { train: qrels } });
}

/** Random weights with non-zero biases (a fresh init has zero biases, which would hide a bias mix-up). */
function randomWeights(): EmbedderWeights {
  const arch = { embedDim: 16, channels: 32, layers: 2, kernel: 3, outputDim: 32, activation: 'relu' as const };
  const w = initialWeights(arch, 2 ** 12, 7);
  const rng = new SeededRandom(8);
  const jitter = (a: Float32Array): Float32Array => a.map(() => (rng.nextFloat() - 0.5) * 0.2);
  w.convs.forEach((c) => (c.bias = jitter(c.bias)));
  w.projection.bias = jitter(w.projection.bias);
  return w;
}

const TEXTS = [
  'How do tides work?',
  'Coral reefs are built by colonies of tiny animals, and they grow slowly over centuries.',
  Array.from({ length: 50 }, (_, i) => `word${i % 17} naïve 東京`).join(' '), // bucket 64
  Array.from({ length: 90 }, (_, i) => `term${i}`).join(' '), // truncated to 64
  'x',
  '',
];

describe('training pieces', () => {
  it('lays a batch out over its distinct words, padding pointing at the zero row', () => {
    const pairs: WordPair[] = [
      { query: Int32Array.of(5, 6), passage: Int32Array.of(6, 7, 8), source: 'ict', group: 'a' },
      { query: Int32Array.of(9), passage: Int32Array.of(5), source: 'ict', group: 'b' },
    ];
    const layout = layoutBatch(pairs, [Int32Array.of(10, 5)]);
    expect([...layout.words]).toEqual([5, 6, 9, 7, 8, 10]);
    expect(layout.queries.length).toBe(8); // padded to a multiple of 8
    expect([...layout.queries.positions.slice(0, 3)]).toEqual([0, 1, 6]); // 6 = words.length = the zero row
    expect([...layout.queries.mask.slice(0, 3)]).toEqual([1, 1, 0]);
    expect(layout.passageCount).toBe(3);
    expect([...layout.passages.positions.slice(16, 19)]).toEqual([5, 0, 6]); // the hard negative's row
  });

  it("pushes a word vector's gradient onto its bag rows, divided by the bag size", () => {
    const vocab = new WordVocab({ ...DEFAULT_TOKENIZER_CONFIG, buckets: 2 ** 12 });
    const a = vocab.idOf('tide');
    const b = vocab.idOf('tides');
    const bagA = vocab.bags[a]!;
    const bagB = vocab.bags[b]!;
    const { rows, grad } = scatterWordGradients(Int32Array.of(a, b), vocab, Float32Array.of(1, 2, 10, 20), 2);
    const expected = new Map<number, [number, number]>();
    for (const [bag, g] of [[bagA, [1, 2]], [bagB, [10, 20]]] as const) {
      for (const r of bag) {
        const e = expected.get(r) ?? [0, 0];
        expected.set(r, [e[0] + g[0] / bag.length, e[1] + g[1] / bag.length]);
      }
    }
    expect(rows.length).toBe(expected.size);
    rows.forEach((r, i) => {
      expect(grad[2 * i]).toBeCloseTo(expected.get(r)![0], 5);
      expect(grad[2 * i + 1]).toBeCloseTo(expected.get(r)![1], 5);
    });
  });

  it('ranks documents with BM25 for hard-negative mining', () => {
    const index = new Bm25Index([Int32Array.of(1, 2, 3), Int32Array.of(1, 1, 4), Int32Array.of(5), Int32Array.of(2, 2, 2, 2)]);
    expect(index.search(Int32Array.of(1, 4), 10)).toEqual([1, 0]);
    expect(index.search(Int32Array.of(2), 1)).toEqual([3]);
    expect(index.search(Int32Array.of(99), 5)).toEqual([]);
  });

  it("scores one document for a query exactly as the ranked search does", () => {
    const docs = [Int32Array.of(1, 2, 3), Int32Array.of(1, 1, 4), Int32Array.of(5), Int32Array.of(2, 2, 2, 2), Int32Array.of(4, 2, 7, 7)];
    const index = new Bm25Index(docs);
    const query = Int32Array.of(2, 4, 4, 9);
    const ranked = index.searchScored(query, 10);
    expect(ranked.map((h) => h.doc)).toEqual([4, 1, 3, 0]);
    for (const h of ranked) expect(index.score(query, h.doc)).toBeCloseTo(h.score, 12);
    expect(index.score(query, 2)).toBe(0); // shares no word with the query
    // Okapi BM25 by hand for document 1 (length 3, average length 15/5) and the one query word it holds.
    const idf4 = Math.log(1 + (5 - 2 + 0.5) / (2 + 0.5));
    expect(index.score(Int32Array.of(4), 1)).toBeCloseTo((idf4 * 1 * 1.9) / (1 + 0.9 * (0.6 + (0.4 * 3) / 3)), 12);
  });

  it('scales a query\'s BM25 scores over its top list the way the served fusion does', () => {
    const docs = [Int32Array.of(1, 2, 3), Int32Array.of(1, 1, 4), Int32Array.of(5), Int32Array.of(2, 2, 2, 2), Int32Array.of(4, 2, 7, 7)];
    const index = new Bm25Index(docs);
    const ids = new Map(['a', 'b', 'c', 'd', 'e'].map((id, i) => [id, i]));
    const lexical = new LexicalScores(index, ids, 3); // a list of 3: docs e, b, d
    const query = Int32Array.of(2, 4, 4, 9);
    lexical.addQuery('q', query);
    const [best, , last] = index.searchScored(query, 3);
    expect(lexical.scaled('q', 'doc:e')).toBe(1);
    expect(lexical.scaled('q', 'doc:d')).toBe(0); // the list's last: min-max 0
    const b = index.score(query, 1);
    expect(lexical.scaled('q', 'doc:b')).toBeCloseTo((b - last!.score) / (best!.score - last!.score), 12);
    expect(lexical.scaled('q', 'doc:b')).toBeGreaterThan(0);
    expect(lexical.scaled('q', 'doc:a')).toBe(0); // below the list, as a candidate BM25 did not return
    expect(lexical.scaled('q', 'doc:c')).toBe(0); // no shared word
    expect(lexical.scaled('unknown', 'doc:e')).toBe(0);
    expect(lexical.scaled('q', 'chunk-7')).toBe(0); // not a document group
    const m = lexical.matrix(['q', undefined], ['doc:e', 'doc:c']);
    expect(Array.from(m!)).toEqual([1, 0, 0, 0]);
    expect(lexical.matrix([undefined, 'nope'], ['doc:e'])).toBeNull(); // an inverse-cloze batch: plain InfoNCE
  });

  it('turns epochs into steps over the supervised pairs, or over the chunks when there are none', () => {
    // 5,021 pairs in batches of 128 that get 60% of the batches: 65.4 steps an epoch.
    expect(stepsForEpochs(1, { supervisedPairs: 5021, clozeChunks: 2172 }, 128, 0.6)).toBe(66);
    expect(stepsForEpochs(15, { supervisedPairs: 5021, clozeChunks: 2172 }, 128, 0.6)).toBe(981);
    // No chunk to draw inverse-cloze batches from: every batch is supervised.
    expect(stepsForEpochs(2, { supervisedPairs: 1000, clozeChunks: 0 }, 100, 0.3)).toBe(20);
    // No supervised pairs (or none of the batches): a pass over the chunks.
    expect(stepsForEpochs(3, { supervisedPairs: 0, clozeChunks: 1000 }, 128, 0.6)).toBe(24);
    expect(stepsForEpochs(1, { supervisedPairs: 500, clozeChunks: 1000 }, 100, 0)).toBe(10);
    expect(stepsForEpochs(0.001, { supervisedPairs: 10, clozeChunks: 10 }, 128, 0.3)).toBe(1);
  });

  it('never picks a hard negative that is a positive of the batch or already picked', () => {
    const neg = (group: string) => ({ passage: Int32Array.of(group.charCodeAt(0)), group });
    const pairs: WordPair[] = [
      { query: Int32Array.of(1), passage: Int32Array.of(1), source: 'supervised', group: 'a', negatives: [neg('b'), neg('c')] },
      { query: Int32Array.of(2), passage: Int32Array.of(2), source: 'supervised', group: 'b', negatives: [neg('c'), neg('a')] },
      { query: Int32Array.of(3), passage: Int32Array.of(3), source: 'supervised', group: 'x' },
    ];
    const picked = pickHardNegatives(pairs, new SeededRandom(1)).map((p) => p.group);
    expect(picked).toEqual(['c']); // a: b is in the batch → c; b: c is taken and a is in the batch → none
  });

  it('computes InfoNCE over paired passages plus extra negatives like a direct computation', async () => {
    const { core: mx } = await loadMlx();
    const q = [
      [1, 0],
      [0.6, 0.8],
    ];
    const p = [
      [0.8, 0.6],
      [0, 1],
      [1, 0], // an extra negative, identical to query 0
    ];
    const t = 0.5;
    const logits = q.map((qi) => p.map((pj) => (qi[0]! * pj[0]! + qi[1]! * pj[1]!) / t));
    const lse = (xs: number[]): number => Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
    const forward = (lse(logits[0]!) - logits[0]![0]! + lse(logits[1]!) - logits[1]![1]!) / 2;
    const backward = (lse([logits[0]![0]!, logits[1]![0]!]) - logits[0]![0]! + lse([logits[0]![1]!, logits[1]![1]!]) - logits[1]![1]!) / 2;
    expect(infoNceLoss(mx, mx.array(q), mx.array(p), t, false).item() as number).toBeCloseTo(forward, 5);
    expect(infoNceLoss(mx, mx.array(q), mx.array(p), t, true).item() as number).toBeCloseTo((forward + backward) / 2, 5);

    // With a bias (another ranker's score on the logit scale) the loss is the one of the summed logits.
    const bias = [
      [0, 3, 1],
      [2, 0.5, 0],
    ];
    const fused = logits.map((row, i) => row.map((x, j) => x + bias[i]![j]!));
    const fusedForward = (lse(fused[0]!) - fused[0]![0]! + lse(fused[1]!) - fused[1]![1]!) / 2;
    expect(infoNceLoss(mx, mx.array(q), mx.array(p), t, false, mx.array(bias)).item() as number).toBeCloseTo(fusedForward, 5);
    expect(fusedForward).toBeGreaterThan(forward); // the bias favours the wrong passages here: more loss
  });
});

describe('embedder export parity (random weights)', () => {
  const tmp = tempDir('embedder-parity');
  const tokenizer: TokenizerConfig = { ...DEFAULT_TOKENIZER_CONFIG, ...TINY_TOKENIZER };
  const weights = randomWeights();
  let reference: Float32Array[];

  beforeAll(async () => {
    await exportEmbedder(weights, tmp.dir, { modelId: 'parity-1', tokenizer });
    reference = await embedTextsWithMlx(weights, tokenizer, TEXTS);
  });
  afterAll(() => tmp.cleanup());

  it('writes one static graph per length bucket in both precisions, with a config that validates', async () => {
    const config = await readEmbedderConfig(tmp.dir);
    expect(config.id).toBe('parity-1');
    expect(config.dim).toBe(32);
    expect(Object.keys(config.precisions.fp16!.graphs).sort()).toEqual(['32', '64']);
    const fp16 = readModel(readFileSync(join(tmp.dir, config.precisions.fp16!.graphs['64']!)));
    expect(fp16.inputs.map((i) => [i.name, i.elemType, i.dims])).toEqual([
      ['x', 'float16', [1, 16, 1, 64]],
      ['mask', 'float16', [1, 1, 1, 64]],
    ]);
    expect(fp16.outputs[0]!.dims).toEqual([1, 32, 1, 1]);
    const ops = new Set(fp16.nodes.map((n) => n.opType));
    expect(ops.has('Conv')).toBe(true);
    for (const banned of ['MatMul', 'Gemm', 'Reshape', 'Transpose', 'Gather']) expect(ops.has(banned)).toBe(false);
    // Table: 2^12 rows × 16 halves.
    expect(readFileSync(join(tmp.dir, config.precisions.fp16!.table)).length).toBe(2 ** 12 * 16 * 2);
  });

  it('FP32 ONNX matches node-mlx (cosine ≥ 0.999) for short, long, truncated, non-ASCII and empty texts', async () => {
    const embedder = await OnnxEmbedder.load(tmp.dir, { cacheDir: join(tmp.dir, 'cache'), precision: 'fp32' });
    try {
      expect(embedder.version).toBe('parity-1');
      const got = await embedder.embed(TEXTS, 'passage');
      got.forEach((v, i) => {
        expect(v.length).toBe(32);
        expect(cosine(v, reference[i]!)).toBeGreaterThanOrEqual(0.999);
        expect(Math.hypot(...v)).toBeCloseTo(1, 4);
      });
      // Different texts really differ (the check above is not satisfied by a constant output).
      expect(cosine(got[0]!, got[1]!)).toBeLessThan(0.99);
      // Concurrent callers share the per-bucket input buffers safely: same vectors as one call.
      const [forward, backward] = await Promise.all([embedder.embed(TEXTS, 'passage'), embedder.embed([...TEXTS].reverse(), 'query')]);
      forward.forEach((v, i) => expect(v).toEqual(got[i]));
      backward.forEach((v, i) => expect(v).toEqual(got[TEXTS.length - 1 - i]));
    } finally {
      await embedder.close();
    }
  });

  it('FP16 matches node-mlx (cosine ≥ 0.995), both run natively in half precision and widened on CPU', async () => {
    const embedder = await OnnxEmbedder.load(tmp.dir, { cacheDir: join(tmp.dir, 'cache'), precision: 'fp16' });
    try {
      const widened = await embedder.embed(TEXTS, 'query');
      widened.forEach((v, i) => expect(cosine(v, reference[i]!)).toBeGreaterThanOrEqual(0.995));
      // The half graph itself, fed half inputs, as the ANE would run it.
      const config = embedder.config;
      for (const [i, text] of TEXTS.entries()) {
        const input = embedder.sequence(text);
        const session = await ort.InferenceSession.create(join(tmp.dir, config.precisions.fp16!.graphs[String(input.bucket)]!), { executionProviders: ['cpu'] });
        const out = await session.run({
          x: new ort.Tensor('float16', float32ToFloat16Bits(input.x), [1, 16, 1, input.bucket]),
          mask: new ort.Tensor('float16', float32ToFloat16Bits(input.mask), [1, 1, 1, input.bucket]),
        });
        await session.release();
        const half = float16BitsToFloat32(out['embedding']!.data as Uint16Array);
        expect(cosine(half, reference[i]!)).toBeGreaterThanOrEqual(0.995);
      }
    } finally {
      await embedder.close();
    }
  });

  it('reads the weights back from the export: exactly from FP32, within half rounding from FP16', async () => {
    const fp32 = await loadEmbedderWeights(tmp.dir, 'fp32');
    expect(fp32.config.id).toBe('parity-1');
    expect(fp32.weights.table).toEqual(weights.table);
    fp32.weights.convs.forEach((c, i) => {
      expect(c.weight).toEqual(weights.convs[i]!.weight);
      expect(c.bias).toEqual(weights.convs[i]!.bias);
    });
    expect(fp32.weights.projection.weight).toEqual(weights.projection.weight);
    const fp16 = await loadEmbedderWeights(tmp.dir, 'fp16');
    const maxRelError = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / Math.max(Math.abs(b[i]!), 1e-3)), 0);
    expect(maxRelError(fp16.weights.convs[1]!.weight, weights.convs[1]!.weight)).toBeLessThan(1e-3);
    expect(maxRelError(fp16.weights.table, weights.table)).toBeLessThan(1e-3);
  });

  it('gives a text the same embedding whatever length bucket pads it', async () => {
    const config = await readEmbedderConfig(tmp.dir);
    const table = new Float32Array(readFileSync(join(tmp.dir, config.precisions.fp32!.table)).buffer.slice(0));
    const words = new WordVectorCache(table, tokenizer, 16);
    const short = words.sequence('Tides are caused mainly by the Moon.');
    expect(short.bucket).toBe(32);
    const outputs: Float32Array[] = [];
    for (const L of [32, 64]) {
      const x = new Float32Array(16 * L);
      for (let c = 0; c < 16; c++) x.set(short.x.subarray(c * 32, c * 32 + 32), c * L);
      const mask = new Float32Array(L);
      mask.set(short.mask);
      const session = await ort.InferenceSession.create(join(tmp.dir, config.precisions.fp32!.graphs[String(L)]!), { executionProviders: ['cpu'] });
      const out = await session.run({ x: new ort.Tensor('float32', x, [1, 16, 1, L]), mask: new ort.Tensor('float32', mask, [1, 1, 1, L]) });
      await session.release();
      outputs.push(out['embedding']!.data as Float32Array);
    }
    expect(cosine(outputs[0]!, outputs[1]!)).toBeGreaterThan(0.99999);
  });
});

describe('trainEmbedder (tiny end to end)', () => {
  const tmp = tempDir('embedder-train');
  const data = join(tmp.dir, 'beir');
  let store: Store;

  beforeAll(async () => {
    writeSyntheticBeir(data, 40);
    const home = join(tmp.dir, 'home');
    const engine = await openEngine({ home, llm: null });
    await engine.ingest([join(data, 'corpus.jsonl')]);
    engine.close();
    store = new Store(databasePath(resolveConfig({ home })));
  });
  afterAll(() => {
    store.close();
    tmp.cleanup();
  });

  it('lowers the contrastive loss, exports both precisions and reports held-out recall, reproducibly', async () => {
    const run = async (outDir: string): Promise<{ losses: number[]; result: Awaited<ReturnType<typeof trainEmbedder>> }> => {
      const losses: number[] = [];
      const result = await trainEmbedder({
        store,
        outDir,
        beir: { dir: data, split: 'train' },
        steps: 40,
        batchSize: 8,
        seed: 3,
        inProcess: true,
        log: false,
        architecture: TINY_ARCH,
        tokenizer: TINY_TOKENIZER,
        heldOutFraction: 0.2,
        learningRate: 5e-3,
        onProgress: (p: TrainProgress) => {
          if (p.phase === 'train' && p.loss !== undefined) losses.push(p.loss);
        },
      });
      return { losses, result };
    };
    const first = await run(join(tmp.dir, 'out1'));
    const { losses, result } = first;
    expect(losses.length).toBe(40);
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    // Chance level is ln(8) ≈ 2.08; the last steps must be well below the first ones.
    expect(mean(losses.slice(0, 5))).toBeGreaterThan(1.5);
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) * 0.7);
    expect(result.metrics.heldOutRecallAt10).toBeGreaterThanOrEqual(0);
    expect(result.metrics.heldOutRecallAt10).toBeLessThanOrEqual(1);
    expect(result.metrics.heldOutQueries).toBeGreaterThan(0);
    expect(result.metrics.stepsPerSecond).toBeGreaterThan(0);
    const config = await readEmbedderConfig(join(tmp.dir, 'out1'));
    expect(config.id).toBe(result.modelId);
    expect(config.precisions.fp32).toBeDefined();
    expect(config.precisions.fp16).toBeDefined();
    expect(result.files.tokenizer).toBe(join(tmp.dir, 'out1', 'embedder.json'));
    expect(config.meta['supervisedFraction']).toBe(0.3);
    // The trained model serves, and a document's own sentence finds it among its neighbours.
    const embedder = await OnnxEmbedder.load(join(tmp.dir, 'out1'), { cacheDir: join(tmp.dir, 'cache') });
    try {
      const [v] = await embedder.embed(['does anything control it?'], 'query');
      expect(v!.every(Number.isFinite)).toBe(true);
    } finally {
      await embedder.close();
    }
    // Same seed, same data → the same losses (up to BLAS summation order).
    const second = await run(join(tmp.dir, 'out2'));
    second.losses.forEach((l, i) => expect(l).toBeCloseTo(losses[i]!, 3));

    // Continuing from the trained model starts where it ended, and records its parent.
    const continued: number[] = [];
    const child = await trainEmbedder({
      store,
      outDir: join(tmp.dir, 'out3'),
      steps: 3,
      batchSize: 8,
      seed: 9,
      inProcess: true,
      log: false,
      initFrom: join(tmp.dir, 'out1'),
      tokenizer: { buckets: 2 ** 10 }, // ignored: the parent's table fixes the tokenizer
      onProgress: (p) => {
        if (p.phase === 'train' && p.loss !== undefined) continued.push(p.loss);
      },
    });
    expect(child.meta['parent']).toBe(result.modelId);
    const childConfig = await readEmbedderConfig(join(tmp.dir, 'out3'));
    expect(childConfig.tokenizer).toEqual(config.tokenizer);
    expect(childConfig.architecture).toEqual(config.architecture);
    expect(continued[0]!).toBeLessThan(mean(losses.slice(0, 5)) * 0.7);
  });

  it('trains in a worker thread and forwards its progress', async () => {
    const phases = new Set<string>();
    const result = await trainEmbedder({
      store,
      outDir: join(tmp.dir, 'out-worker'),
      steps: 3,
      batchSize: 4,
      seed: 5,
      log: false,
      architecture: TINY_ARCH,
      tokenizer: TINY_TOKENIZER,
      precisions: ['fp16'],
      onProgress: (p) => phases.add(p.phase),
    });
    expect([...phases]).toEqual(expect.arrayContaining(['prepare', 'train', 'export', 'done']));
    expect(result.files.fp16).toBe(join(tmp.dir, 'out-worker', 'fp16'));
    expect(result.files.fp32).toBe('');
    const config = await readEmbedderConfig(join(tmp.dir, 'out-worker'));
    expect(config.precisions.fp32).toBeUndefined();
  });

  it('fails with STORE_EMPTY when there is nothing to learn from', async () => {
    const empty = tempDir('embedder-empty');
    const emptyStore = new Store(join(empty.dir, 'sieve.db'));
    try {
      await expect(
        trainEmbedder({ store: emptyStore, outDir: join(empty.dir, 'out'), steps: 1, batchSize: 4, seed: 1, inProcess: true, log: false, architecture: TINY_ARCH, tokenizer: TINY_TOKENIZER }),
      ).rejects.toMatchObject({ code: 'STORE_EMPTY' });
    } finally {
      emptyStore.close();
      empty.cleanup();
    }
  });
});

// Embedding speed and index quality of an exported embedder (default: the shipped base model) on a BEIR corpus:
//   - query embedding latency on one thread (every query of the data set, after a warm-up);
//   - corpus embedding throughput (chunks/s) of the chunks sieve makes of the corpus, three ways: one OnnxEmbedder on
//     the calling thread with 1 intra-op thread, the same with N intra-op threads, and an EmbedderPool of N workers
//     (what the indexer uses for bulk embedding);
//   - HNSW recall@10 against exact cosine search over those chunk vectors (as stored: fp16-rounded unit vectors),
//     with the index parameters the indexer uses, for the data set's queries.
//
//   npm run -s bench -- embed --data ../shared/data/scifact
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shippedEmbedderDir, openEngine } from '../src/engine.js';
import { DEFAULT_HNSW_PARAMS, EXACT_SCOPE_MAX, ExactSearch, HnswIndex, measureRecall } from '../src/embed/hnsw.js';
import { OnnxEmbedder } from '../src/embed/onnx-embedder.js';
import { EmbedderPool } from '../src/embed/pool.js';
import { passageTexts, roundToStored, toUnitVector } from '../src/embed/vectors.js';
import { SieveError } from '../src/errors.js';
import { readBeirDataset } from '../src/train/beir.js';
import { latencySummary } from '../src/train/metrics.js';
import type { Embedder } from '../src/types.js';

export interface EmbedBenchOptions {
  data: string;
  /** Model folder; default models/embedder. */
  model?: string;
  /** Threads / workers for the parallel runs; default the machine's available parallelism. */
  threads?: number;
  /** Only the first N chunks for the throughput runs (default all). */
  limit?: number;
  log?: (line: string) => void;
}

async function throughput(embedder: Embedder, texts: readonly string[]): Promise<{ seconds: number; chunksPerSecond: number; vectors: Float32Array[] }> {
  await embedder.embed(texts.slice(0, 64), 'passage'); // warm-up: sessions' first runs, word cache of common words
  const started = performance.now();
  const vectors: Float32Array[] = [];
  // Batches as the indexer sends them (1,024 chunks per store transaction).
  for (let i = 0; i < texts.length; i += 1024) vectors.push(...(await embedder.embed(texts.slice(i, i + 1024), 'passage')));
  const seconds = (performance.now() - started) / 1000;
  return { seconds, chunksPerSecond: texts.length / seconds, vectors };
}

export async function benchEmbed(o: EmbedBenchOptions) {
  const log = o.log ?? (() => {});
  const model = o.model ?? shippedEmbedderDir();
  if (!model) throw new SieveError('PATH_NOT_FOUND', 'no embedder: pass --model <dir> or put one in models/embedder');
  const threads = o.threads ?? os.availableParallelism();
  const dataset = await readBeirDataset(o.data, 'test').catch(() => readBeirDataset(o.data, 'train'));
  const home = mkdtempSync(join(tmpdir(), 'sieve-bench-embed-'));
  const cacheDir = join(home, 'cache');
  try {
    const engine = await openEngine({ home, llm: null, embed: { enabled: false } });
    await engine.ingest([dataset.corpusPath]);
    const ids = (engine.store.db.prepare('SELECT id FROM chunks ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
    const passages = passageTexts(engine.store, ids).slice(0, o.limit ?? Infinity);
    engine.close();
    const texts = passages.map((p) => p.text);
    log(`${texts.length} chunks of ${o.data}; model ${model}; ${threads} threads; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

    // Query latency: one thread, one query at a time.
    const single = await OnnxEmbedder.load(model, { cacheDir, intraOpThreads: 1 });
    const queries = [...dataset.queries.values()].map((q) => q.text);
    for (const q of queries.slice(0, 50)) await single.embed([q], 'query');
    const latencies: number[] = [];
    const queryVectors: Float32Array[] = [];
    for (const q of queries) {
      const t0 = performance.now();
      const [v] = await single.embed([q], 'query');
      latencies.push(performance.now() - t0);
      queryVectors.push(v!);
    }
    const queryMs = latencySummary(latencies);
    log(`query embedding (1 thread, ${queries.length} queries): p50 ${queryMs.p50.toFixed(3)} ms, p95 ${queryMs.p95.toFixed(3)} ms`);

    const oneThread = await throughput(single, texts);
    await single.close();
    log(`corpus, 1 embedder × 1 intra-op thread: ${oneThread.chunksPerSecond.toFixed(0)} chunks/s`);

    const intra = await OnnxEmbedder.load(model, { cacheDir, intraOpThreads: threads });
    const intraRun = await throughput(intra, texts);
    await intra.close();
    log(`corpus, 1 embedder × ${threads} intra-op threads: ${intraRun.chunksPerSecond.toFixed(0)} chunks/s`);

    const pool = await EmbedderPool.open({ dir: model, cacheDir, size: threads });
    const poolRun = await throughput(pool, texts);
    await pool.close();
    log(`corpus, pool of ${threads} workers × 1 thread: ${poolRun.chunksPerSecond.toFixed(0)} chunks/s`);

    // The pool's vectors are the single thread's, exactly.
    let maxDiff = 0;
    for (let i = 0; i < texts.length; i++) {
      const a = oneThread.vectors[i]!;
      const b = poolRun.vectors[i]!;
      for (let c = 0; c < a.length; c++) maxDiff = Math.max(maxDiff, Math.abs(a[c]! - b[c]!));
    }

    // HNSW recall@10 over the stored form of the vectors.
    const stored = new Map(passages.map((p, i) => [p.chunkId, roundToStored(toUnitVector(poolRun.vectors[i]!))]));
    const t0 = performance.now();
    const index = HnswIndex.create(single.dim, {}, Math.ceil(stored.size * 1.1));
    for (const [id, v] of stored) index.add(id, v);
    const buildSeconds = (performance.now() - t0) / 1000;
    const recall = measureRecall(index, stored, queryVectors, 10);
    log(`HNSW (M ${DEFAULT_HNSW_PARAMS.m}, efConstruction ${DEFAULT_HNSW_PARAMS.efConstruction}, ef ${DEFAULT_HNSW_PARAMS.efSearch}): recall@10 ${recall.recall.toFixed(4)} (worst query ${recall.minRecall.toFixed(2)}) over ${recall.queries} queries; built in ${buildSeconds.toFixed(1)} s`);

    // Scoped questions: small scopes are scanned exactly, larger ones walk the graph with a filter.
    const exact = new ExactSearch(stored);
    const storedIds = [...stored.keys()];
    const scoped = [10, 100, EXACT_SCOPE_MAX, 2000, 5000]
      .filter((size) => size <= storedIds.length)
      .map((size) => {
        const allowed = new Set(Array.from({ length: size }, (_, i) => storedIds[Math.floor((i * storedIds.length) / size)]!));
        let found = 0;
        let searchMs = 0;
        for (const query of queryVectors) {
          const started = performance.now();
          const hits = index.search(query, 10, allowed);
          searchMs += performance.now() - started;
          const truth = new Set(exact.search(query, 10, allowed).map((h) => h.chunkId));
          found += hits.filter((h) => truth.has(h.chunkId)).length;
        }
        const result = { scopeChunks: size, path: size <= EXACT_SCOPE_MAX ? 'exact scan' : 'filtered graph', recallAt10: found / (10 * queryVectors.length), meanSearchMs: searchMs / queryVectors.length };
        log(`scope of ${size} chunks (${result.path}): recall@10 ${result.recallAt10.toFixed(4)}, ${result.meanSearchMs.toFixed(3)} ms a search`);
        return result;
      });

    return {
      bench: 'embed',
      data: o.data,
      model,
      chunks: texts.length,
      threads,
      loadAverage: os.loadavg(),
      queryEmbedMs: queryMs,
      corpusChunksPerSecond: {
        oneThread: oneThread.chunksPerSecond,
        intraOpThreads: intraRun.chunksPerSecond,
        workerPool: poolRun.chunksPerSecond,
      },
      poolMaxAbsDifference: maxDiff,
      hnsw: { params: DEFAULT_HNSW_PARAMS, buildSeconds, recallAt10: recall.recall, minRecallAt10: recall.minRecall, queries: recall.queries, meanSearchMs: recall.meanSearchMs, scoped },
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

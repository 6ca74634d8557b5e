// Dense evidence under a candidate embedder, for judging it together with the ranker that would serve beside it.
//
// The relevance model learns from the dense cosines and ranks stored in traces, i.e. from the serving embedder. A
// new embedder moves every one of them, so a ranker promoted with it (or kept beside it) would score features it
// never saw. The training job therefore indexes the candidate embedder's vectors (the same index the parent's
// reload then loads instead of rebuilding) and re-retrieves each trace question's dense list through it, so the
// ranker's lists can be rebuilt as they would have been with the candidate serving.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine.js';
import { indexDir } from '../embed/hnsw.js';
import { deleteVectorsFor } from '../embed/vectors.js';
import { DenseRetriever } from '../rank/dense.js';
import type { Candidate } from '../types.js';

/** A trace question's dense list under one embedder: its raw text → the dense retriever's candidates. */
export type DenseEvidence = ReadonlyMap<string, readonly Candidate[]>;

export interface CandidateDenseIndex {
  readonly embedder: string;
  /** The dense retriever's list for each question under the candidate (same depth as an ask's). */
  evidence(questions: readonly string[]): Promise<DenseEvidence>;
  /** Releases the sessions and saves the index (kept on disk and in the store for the reload that promotes it). */
  close(): Promise<void>;
  /** Releases, then removes what indexing stored: the candidate's vectors and index folder (it was not kept). */
  discard(): Promise<void>;
}

/** Drops an unkept embedder version's vectors and index folder (a rejected or killed candidate's). */
export function discardEmbedderVectors(engine: Engine, version: string): void {
  deleteVectorsFor(engine.store, version);
  rmSync(indexDir(engine.config.home, version), { recursive: true, force: true });
}

/** Questions embedded per call. */
const QUERY_BATCH = 64;

/**
 * Embeds every chunk with the candidate embedder in `dir` (stored under its version like any index build) and
 * opens its HNSW index. One thread: the job runs beside a serving process.
 */
export async function indexCandidateEmbedder(engine: Engine, candidate: { dir: string }): Promise<CandidateDenseIndex> {
  const { OnnxEmbedder } = await import('../embed/onnx-embedder.js');
  const { VectorIndexer } = await import('../embed/indexer.js');
  const { home, retrieval } = engine.config;
  const embedder = await OnnxEmbedder.load(candidate.dir, { cacheDir: join(home, 'cache', 'coreml') });
  const version = embedder.version;
  const discard = () => discardEmbedderVectors(engine, version);
  let indexer: Awaited<ReturnType<typeof VectorIndexer.open>>;
  try {
    indexer = await VectorIndexer.open(engine.store, home, embedder);
    await indexer.sync({ batchSize: 256 });
  } catch (err) {
    await embedder.close();
    discard();
    throw err;
  }
  const retriever = new DenseRetriever(indexer);
  // An ask retrieves rankQuery's bm25K and takes at most denseK of them from the dense list (Engine.candidatesFor).
  const depth = Math.min(retrieval.bm25K, retrieval.denseK);
  return {
    embedder: version,
    async evidence(questions) {
      const out = new Map<string, Candidate[]>();
      const distinct = [...new Set(questions)];
      for (let i = 0; i < distinct.length; i += QUERY_BATCH) {
        const batch = distinct.slice(i, i + QUERY_BATCH);
        const vectors = await embedder.embed(batch, 'query');
        // The dense retriever reads only the embedding; the terms are BM25's business.
        batch.forEach((q, j) => out.set(q, retriever.retrieve({ text: q, terms: [], embedding: vectors[j]! }, depth)));
      }
      return out;
    },
    async close() {
      indexer.close();
      await embedder.close();
    },
    async discard() {
      indexer.close();
      await embedder.close();
      discard();
    },
  };
}

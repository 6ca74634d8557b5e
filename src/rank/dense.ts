// Dense candidates: nearest chunks to the query embedding in the active embedder's vector index.
// It depends only on a search seam, not on embed's internals, so rank stays independent of how the index is kept.
import type { Candidate, Query, Retriever } from '../types.js';

/** One nearest neighbour: cosine similarity, higher is better. */
export interface VectorSearchHit {
  chunkId: number;
  score: number;
}

/** What the dense retriever needs from an index (VectorIndexer and HnswIndex both fit). */
export interface VectorSearcher {
  /** With `allowed`, only those chunks are returned. */
  search(vector: Float32Array, k: number, allowed?: ReadonlySet<number>): ReadonlyArray<VectorSearchHit>;
}

export class DenseRetriever implements Retriever {
  readonly name = 'dense';

  constructor(private readonly index: VectorSearcher) {}

  /** No embedding on the query (no embedder active) means no dense evidence, not an error. */
  retrieve(query: Query, k: number): Candidate[] {
    if (!query.embedding || k < 1) return [];
    return this.index.search(query.embedding, k, query.allowedChunks).map((hit, i) => ({
      chunkId: hit.chunkId,
      scores: { dense: hit.score },
      ranks: { dense: i + 1 },
    }));
  }
}

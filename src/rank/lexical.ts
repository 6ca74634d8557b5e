// Lexical candidates: BM25 with the title/heading and body weighted apart, scored on the in-memory index
// (bm25-index.ts), which ranks exactly as FTS5's bm25() over the same chunks but without scoring every match.
import type { Candidate, Query, Retriever } from '../types.js';
import type { Bm25Index, FieldWeights } from './bm25-index.js';
import { lexicalTerms } from './query.js';

export type Bm25Weights = FieldWeights;

export class Bm25Retriever implements Retriever {
  readonly name = 'bm25';

  constructor(
    /** The current index (kept in step with the store by its cache). */
    private readonly index: () => Bm25Index,
    private readonly weights: Bm25Weights,
  ) {}

  retrieve(query: Query, k: number): Candidate[] {
    return this.index()
      .search(lexicalTerms(query), k, this.weights)
      .map((hit, i) => ({
        chunkId: hit.chunkId,
        scores: { bm25: hit.score },
        ranks: { bm25: i + 1 },
      }));
  }
}

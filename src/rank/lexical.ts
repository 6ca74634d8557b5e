// Lexical candidates: BM25 over the FTS5 index, title/heading and body weighted apart.
import type { Store } from '../store/store.js';
import type { Candidate, Query, Retriever } from '../types.js';
import { toFtsMatch } from './query.js';

export interface Bm25Weights {
  heading: number;
  body: number;
}

export class Bm25Retriever implements Retriever {
  readonly name = 'bm25';

  constructor(
    private readonly store: Store,
    private readonly weights: Bm25Weights,
  ) {}

  retrieve(query: Query, k: number): Candidate[] {
    return this.store.searchFts(toFtsMatch(query), k, this.weights).map((hit, i) => ({
      chunkId: hit.chunkId,
      scores: { bm25: hit.score },
      ranks: { bm25: i + 1 },
    }));
  }
}

// Lexical candidates: BM25 with the title/heading and body weighted apart, scored on the in-memory index
// (bm25-index.ts), which ranks exactly as FTS5's bm25() over the same chunks but without scoring every match;
// FTS5 itself serves while that index is not built.
import type { Store } from '../store/store.js';
import type { Candidate, Query, Retriever } from '../types.js';
import { ftsWords, type Bm25Hit, type Bm25Index, type FieldWeights } from './bm25-index.js';
import { porterStem } from './porter.js';
import { lexicalTerms, toFtsMatch } from './query.js';

export type Bm25Weights = FieldWeights;

export class Bm25Retriever implements Retriever {
  readonly name = 'bm25';

  constructor(
    private readonly store: Store,
    /** The current in-memory index, or null while it is not worth building (see Bm25IndexCache). */
    private readonly index: () => Bm25Index | null,
    private readonly weights: Bm25Weights,
  ) {}

  /**
   * The query with each term FTS5 does not hold replaced by the closest indexed term, as the in-memory index does
   * (there with the corpus's words; FTS5 keeps only stems, so here with stems).
   */
  private spellingCorrected(query: Query): Query {
    const terms = lexicalTerms(query).map((term) => {
      const words = ftsWords(term);
      if (words.length !== 1) return term; // CJK bigrams and the like: searched as they are
      const stem = porterStem(words[0]!);
      const corrected = this.store.correctFtsTerm(stem);
      return corrected === null || corrected === stem ? term : corrected;
    });
    return { ...query, terms };
  }

  retrieve(query: Query, k: number): Candidate[] {
    const index = this.index();
    const allowed = query.allowedChunks;
    let hits: Bm25Hit[];
    if (index) hits = index.search(lexicalTerms(query), k, this.weights, allowed, { correctSpelling: true });
    else {
      const match = toFtsMatch(this.spellingCorrected(query));
      // FTS5 cannot take the scope into its ranking, so it ranks every match and the scope is applied after.
      hits = allowed ? this.store.searchFts(match, -1, this.weights).filter((h) => allowed.has(h.chunkId)).slice(0, k) : this.store.searchFts(match, k, this.weights);
    }
    return hits.map((hit, i) => ({
        chunkId: hit.chunkId,
        scores: { bm25: hit.score },
        ranks: { bm25: i + 1 },
      }));
  }
}

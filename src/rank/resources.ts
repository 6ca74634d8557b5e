// What ranking reads besides the candidates: corpus term statistics and the past-query index, each kept current
// with the store, and the per-request list of similar past queries (computed once, shared by the history
// retriever and the features).
import type { Store } from '../store/store.js';
import type { Query } from '../types.js';
import { Bm25IndexCache, type Bm25Index } from './bm25-index.js';
import { HistoryIndexCache, type HistoryIndex, type SimilarQuery } from './history-index.js';
import { TermStatsCache, type TermStats } from './term-stats.js';

export class RankingResources {
  private readonly stats: TermStatsCache;
  private readonly historyCache: HistoryIndexCache;
  private readonly bm25Cache: Bm25IndexCache;
  private readonly similarByQuery = new WeakMap<Query, SimilarQuery[]>();
  private readonly excludedByQuery = new WeakMap<Query, ReadonlySet<string>>();

  constructor(store: Store) {
    this.stats = new TermStatsCache(store);
    this.historyCache = new HistoryIndexCache(store);
    this.bm25Cache = new Bm25IndexCache(store);
  }

  /** The lexical retriever's inverted index, or null while FTS5 serves (see Bm25IndexCache). */
  bm25Index(): Bm25Index | null {
    return this.bm25Cache.get();
  }

  /** Builds the in-memory indexes now (a server before it takes traffic; benchmarks before they time). */
  warm(): void {
    this.bm25Cache.warm();
    this.stats.fresh();
  }

  private frozen: { stats: TermStats; history: HistoryIndex } | null = null;

  /** Term statistics for ranking: on a large corpus just ingested, the previous generation's while new ones build. */
  termStats(): TermStats {
    return this.frozen?.stats ?? this.stats.get();
  }

  /** Term statistics of the store as it is now (what must see every chunk: a scope's documents). */
  freshTermStats(): TermStats {
    return this.frozen?.stats ?? this.stats.fresh();
  }

  history(): HistoryIndex {
    return this.frozen?.history ?? this.historyCache.get(() => this.stats.get());
  }

  /**
   * Runs `fn` against one snapshot of the statistics and history: a training job reading thousands of lists
   * must not rebuild them every time a serving process appends a trace (that made dataset builds quadratic).
   */
  async withSnapshot<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.frozen) return fn();
    const stats = this.stats.fresh();
    this.frozen = { stats, history: this.historyCache.get(() => stats) };
    try {
      return await fn();
    } finally {
      this.frozen = null;
    }
  }

  /** History keys the query must not see (leave-one-out: its own ask and other asks of the same question). */
  excluded(query: Query): ReadonlySet<string> {
    let hit = this.excludedByQuery.get(query);
    if (!hit) {
      hit = this.history().excludedKeys(query.historyExclude, query.text);
      this.excludedByQuery.set(query, hit);
    }
    return hit;
  }

  similar(query: Query): SimilarQuery[] {
    let hit = this.similarByQuery.get(query);
    if (!hit) {
      const history = this.history();
      hit = history.size === 0 ? [] : history.similar(query.text, this.termStats(), undefined, this.excluded(query));
      this.similarByQuery.set(query, hit);
    }
    return hit;
  }
}

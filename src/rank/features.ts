// Per (query, chunk) features for the relevance model, computed for a whole candidate list at once because they
// sit on the ask path. Every feature is bounded and O(1)-scaled so the model's FP16 export stays in range.
import { SieveError } from '../errors.js';
import type { Candidate, ChunkRecord, Query } from '../types.js';
import type { HistoryEvidence, HistoryIndex } from './history-index.js';
import type { RankingResources } from './resources.js';
import type { AnalyzedQuery, TermStats } from './term-stats.js';

export const FEATURE_NAMES = [
  'bm25_norm', // FTS5 BM25 / best BM25 in the list
  'bm25_rrank', // 1 / rank in the BM25 list
  'dense_cos', // cosine to the query embedding
  'dense_rrank',
  'history_norm', // history retriever score / best in the list
  'history_rrank',
  'in_bm25',
  'in_dense',
  'in_history',
  'heading_bm25', // BM25 of the title/heading field, / query IDF mass
  'body_bm25', // BM25 of the body, / query IDF mass
  'coverage', // distinct query terms present / distinct query terms
  'idf_coverage', // matched IDF mass / query IDF mass
  'heading_coverage',
  'bigram_match', // query bigrams present in the body / query bigrams
  'window_idf_coverage', // most query IDF mass in any 24-token window of the body / query IDF mass
  'log_tokens',
  'first_chunk',
  'ordinal_recip',
  'doc_best_bm25', // best bm25_norm of any candidate chunk of the same document
  'is_doc_best',
  'prior', // smoothed cited/shown rate of this chunk, each past question counted once
  'doc_citations_log', // log(1 + past questions citing the document, each by its share of citing asks) / log(1 + 100)
  'hist_sim_chunk', // best similarity of a similar past query citing this chunk
  'hist_sim_doc', // best similarity of a similar past query citing this document
  'hist_sim_doc_sum', // summed similarities citing this document, squashed
  'hist_field_bm25', // BM25 of the question against the document's past-questions field, / query IDF mass
  'query_terms_log',
] as const;

/** Tokens in the proximity window: about one sentence. */
const PROXIMITY_WINDOW = 24;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;
const F = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, i])) as Record<FeatureName, number>;

/**
 * The features of one chunk that depend on the query and the chunk alone, not on the rest of the list, kept per
 * chunk for one query. A training job builds a list for every ask, and the asks of one question share their
 * leave-one-out history view, so their lists can share these rows (most of the features' cost).
 */
export class ChunkFeatureCache {
  private readonly rows = new Map<number, Float32Array>();
  constructor(readonly query: Query) {}
  get(chunkId: number): Float32Array | undefined {
    return this.rows.get(chunkId);
  }
  set(chunkId: number, row: Float32Array): void {
    this.rows.set(chunkId, row);
  }
}

/** Writes one feature value, a non-finite one (0/0 on an empty field) as 0. A plain function, not a closure per row: this is the inner loop of a training job's dataset build. */
function put(out: Float32Array, at: number, v: number): void {
  out[at] = Number.isFinite(v) ? v : 0;
}

/**
 * Row-major n × FEATURE_COUNT matrix for the candidates, in the order given. With a cache (bound to this same
 * query), a chunk's query-local features are computed once across lists; the result is the same either way.
 */
export function extractFeatures(
  resources: RankingResources,
  query: Query,
  candidates: readonly Candidate[],
  chunks: ReadonlyMap<number, ChunkRecord>,
  cache?: ChunkFeatureCache,
): Float32Array {
  const n = candidates.length;
  const out = new Float32Array(n * FEATURE_COUNT);
  if (n === 0) return out;
  if (cache && cache.query !== query) throw new SieveError('INTERNAL', 'a feature cache was used with another query than the one it was made for');

  let maxBm25 = 0;
  let maxHistory = 0;
  for (const c of candidates) {
    maxBm25 = Math.max(maxBm25, c.scores.bm25 ?? 0);
    maxHistory = Math.max(maxHistory, c.scores.history ?? 0);
  }
  // Best lexical score per document among the candidates.
  const docBest = new Map<string, number>();
  const bm25Norm = (c: Candidate) => (maxBm25 > 0 ? (c.scores.bm25 ?? 0) / maxBm25 : 0);
  for (const c of candidates) {
    const doc = chunks.get(c.chunkId)?.docId;
    if (doc !== undefined) docBest.set(doc, Math.max(docBest.get(doc) ?? 0, bm25Norm(c)));
  }
  let local: QueryLocalFeatures | null = null;

  candidates.forEach((c, i) => {
    const row = i * FEATURE_COUNT;
    const chunk = chunks.get(c.chunkId);
    const cached = cache?.get(c.chunkId);
    if (cached) out.set(cached, row);
    else {
      local ??= new QueryLocalFeatures(resources, query);
      local.write(c.chunkId, chunk, out, row);
      cache?.set(c.chunkId, out.slice(row, row + FEATURE_COUNT));
    }
    // What follows depends on the rest of the list: never cached.
    const b = bm25Norm(c);
    put(out, row + F.bm25_norm, b);
    put(out, row + F.bm25_rrank, c.ranks.bm25 ? 1 / c.ranks.bm25 : 0);
    put(out, row + F.dense_cos, c.scores.dense ?? 0);
    put(out, row + F.dense_rrank, c.ranks.dense ? 1 / c.ranks.dense : 0);
    put(out, row + F.history_norm, maxHistory > 0 ? (c.scores.history ?? 0) / maxHistory : 0);
    put(out, row + F.history_rrank, c.ranks.history ? 1 / c.ranks.history : 0);
    put(out, row + F.in_bm25, c.ranks.bm25 ? 1 : 0);
    put(out, row + F.in_dense, c.ranks.dense ? 1 : 0);
    put(out, row + F.in_history, c.ranks.history ? 1 : 0);
    if (chunk) {
      const best = docBest.get(chunk.docId) ?? 0;
      put(out, row + F.doc_best_bm25, best);
      put(out, row + F.is_doc_best, b > 0 && b >= best ? 1 : 0);
    }
  });
  return out;
}

/** The query's analysis and history evidence, made once per list (and only when some chunk is not cached). */
class QueryLocalFeatures {
  private readonly stats: TermStats;
  private readonly history: HistoryIndex;
  private readonly evidence: HistoryEvidence;
  private readonly analyzed: AnalyzedQuery;
  private readonly excluded: ReadonlySet<string>;
  private readonly distinctTerms: number;
  private readonly idfMass: number;
  private readonly queryTermsLog: number;
  private readonly fieldTerms: ReadonlyArray<{ term: string; idf: number }>;
  private readonly fieldScore = new Map<string, number>();

  constructor(resources: RankingResources, query: Query) {
    this.stats = resources.termStats();
    this.history = resources.history();
    this.evidence = this.history.evidence(resources.similar(query));
    this.analyzed = this.stats.analyzeQuery(query.text);
    this.excluded = resources.excluded(query);
    this.distinctTerms = this.analyzed.terms.length + this.analyzed.unknownTerms;
    this.idfMass = Math.max(this.analyzed.idfMass, 1e-6);
    this.queryTermsLog = Math.log1p(this.distinctTerms) / Math.log1p(64);
    this.fieldTerms = this.stats.queryTermsWithIdf(query.text);
  }

  write(chunkId: number, chunk: ChunkRecord | undefined, out: Float32Array, row: number): void {
    const { stats, history, evidence, analyzed, excluded, distinctTerms, idfMass } = this;
    put(out, row + F.query_terms_log, this.queryTermsLog);
    const terms = stats.chunk(chunkId);
    if (terms) {
      const { heading, body, matched, matchedIdf, inHeading } = stats.lexicalMatch(terms, analyzed);
      put(out, row + F.heading_bm25, Math.min(heading / idfMass, 4));
      put(out, row + F.body_bm25, Math.min(body / idfMass, 4));
      put(out, row + F.coverage, distinctTerms > 0 ? matched / distinctTerms : 0);
      put(out, row + F.idf_coverage, matchedIdf / idfMass);
      put(out, row + F.heading_coverage, distinctTerms > 0 ? inHeading / distinctTerms : 0);
      put(out, row + F.bigram_match, stats.bigramMatch(terms, analyzed));
      put(out, row + F.window_idf_coverage, stats.bestWindowCoverage(terms, analyzed, PROXIMITY_WINDOW));
    }
    if (chunk) {
      put(out, row + F.log_tokens, Math.log1p(chunk.tokenCount) / Math.log1p(1024));
      put(out, row + F.first_chunk, chunk.ordinal === 0 ? 1 : 0);
      put(out, row + F.ordinal_recip, 1 / (1 + chunk.ordinal));
      put(out, row + F.doc_citations_log, Math.log1p(history.docCitations(chunk.docId, excluded)) / Math.log1p(100));
      put(out, row + F.hist_sim_doc, evidence.docSimilarity.get(chunk.docId) ?? 0);
      put(out, row + F.hist_sim_doc_sum, Math.tanh(evidence.docSimilaritySum.get(chunk.docId) ?? 0));
      let field = this.fieldScore.get(chunk.docId);
      if (field === undefined) this.fieldScore.set(chunk.docId, (field = Math.min(history.docFieldBm25(chunk.docId, this.fieldTerms, excluded), 4)));
      put(out, row + F.hist_field_bm25, field);
    }
    put(out, row + F.prior, history.chunkPrior(chunkId, excluded));
    put(out, row + F.hist_sim_chunk, evidence.chunkSimilarity.get(chunkId) ?? 0);
  }
}

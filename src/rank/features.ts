// Per (query, chunk) features for the relevance model, computed for a whole candidate list at once because they
// sit on the ask path. Every feature is bounded and O(1)-scaled so the model's FP16 export stays in range.
import type { Candidate, ChunkRecord, Query } from '../types.js';
import type { RankingResources } from './resources.js';

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
  'prior', // smoothed cited/shown rate of this chunk
  'doc_citations_log', // log(1 + past queries citing the document) / log(1 + 100)
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

/** Row-major n × FEATURE_COUNT matrix for the candidates, in the order given. */
export function extractFeatures(
  resources: RankingResources,
  query: Query,
  candidates: readonly Candidate[],
  chunks: ReadonlyMap<number, ChunkRecord>,
): Float32Array {
  const n = candidates.length;
  const out = new Float32Array(n * FEATURE_COUNT);
  if (n === 0) return out;
  const stats = resources.termStats();
  const history = resources.history();
  const evidence = history.evidence(resources.similar(query));
  const analyzed = stats.analyzeQuery(query.text);
  const excluded = resources.excluded(query);
  const distinctTerms = analyzed.terms.length + analyzed.unknownTerms;
  const idfMass = Math.max(analyzed.idfMass, 1e-6);

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
  const queryTermsLog = Math.log1p(distinctTerms) / Math.log1p(64);
  const fieldTerms = stats.queryTermsWithIdf(query.text);
  const fieldScore = new Map<string, number>();

  candidates.forEach((c, i) => {
    const row = i * FEATURE_COUNT;
    const set = (name: FeatureName, v: number) => {
      out[row + F[name]] = Number.isFinite(v) ? v : 0;
    };
    const chunk = chunks.get(c.chunkId);
    const terms = stats.chunk(c.chunkId);
    const b = bm25Norm(c);
    set('bm25_norm', b);
    set('bm25_rrank', c.ranks.bm25 ? 1 / c.ranks.bm25 : 0);
    set('dense_cos', c.scores.dense ?? 0);
    set('dense_rrank', c.ranks.dense ? 1 / c.ranks.dense : 0);
    set('history_norm', maxHistory > 0 ? (c.scores.history ?? 0) / maxHistory : 0);
    set('history_rrank', c.ranks.history ? 1 / c.ranks.history : 0);
    set('in_bm25', c.ranks.bm25 ? 1 : 0);
    set('in_dense', c.ranks.dense ? 1 : 0);
    set('in_history', c.ranks.history ? 1 : 0);
    set('query_terms_log', queryTermsLog);
    if (terms) {
      const { heading, body, matched, matchedIdf, inHeading } = stats.lexicalMatch(terms, analyzed);
      set('heading_bm25', Math.min(heading / idfMass, 4));
      set('body_bm25', Math.min(body / idfMass, 4));
      set('coverage', distinctTerms > 0 ? matched / distinctTerms : 0);
      set('idf_coverage', matchedIdf / idfMass);
      set('heading_coverage', distinctTerms > 0 ? inHeading / distinctTerms : 0);
      set('bigram_match', stats.bigramMatch(terms, analyzed));
      set('window_idf_coverage', stats.bestWindowCoverage(terms, analyzed, PROXIMITY_WINDOW));
    }
    if (chunk) {
      set('log_tokens', Math.log1p(chunk.tokenCount) / Math.log1p(1024));
      set('first_chunk', chunk.ordinal === 0 ? 1 : 0);
      set('ordinal_recip', 1 / (1 + chunk.ordinal));
      const best = docBest.get(chunk.docId) ?? 0;
      set('doc_best_bm25', best);
      set('is_doc_best', b > 0 && b >= best ? 1 : 0);
      set('doc_citations_log', Math.log1p(history.docCitations(chunk.docId, excluded)) / Math.log1p(100));
      set('hist_sim_doc', evidence.docSimilarity.get(chunk.docId) ?? 0);
      set('hist_sim_doc_sum', Math.tanh(evidence.docSimilaritySum.get(chunk.docId) ?? 0));
      let field = fieldScore.get(chunk.docId);
      if (field === undefined) fieldScore.set(chunk.docId, (field = Math.min(history.docFieldBm25(chunk.docId, fieldTerms, excluded), 4)));
      set('hist_field_bm25', field);
    }
    set('prior', history.chunkPrior(c.chunkId, excluded));
    set('hist_sim_chunk', evidence.chunkSimilarity.get(c.chunkId) ?? 0);
  });
  return out;
}

// Information-retrieval metrics following trec_eval's conventions, so sieve's numbers are comparable with
// published BEIR/MTEB figures (which come from pytrec_eval, i.e. trec_eval):
// - nDCG uses the graded relevance itself as the gain (ndcg_cut), not 2^rel − 1;
// - a judged relevance ≤ 0 counts as not relevant (gain 0);
// - precision@k divides by k even when fewer than k documents were retrieved;
// - evaluateRun averages over every query in the qrels with ≥1 relevant document, counting a query the run
//   has no ranking for as all zeros (trec_eval -c).
// Everything here is pure.

/** Graded judgements for one query: doc id → relevance (≤ 0 means not relevant). */
export type QueryQrels = Map<string, number>;

/** Graded judgements for a whole query set: query id → doc id → relevance. */
export type Qrels = Map<string, QueryQrels>;

/** A run: query id → ranked doc ids, best first. */
export type Run = Map<string, string[]>;

export interface QueryMetrics {
  'ndcg@10': number;
  'recall@100': number;
  'mrr@10': number;
  'recall@1': number;
}

export interface RunMetrics extends QueryMetrics {
  /** How many queries were averaged (those in qrels with ≥1 relevant document). */
  queries: number;
  /** Metrics of each averaged query, in qrels order. */
  perQuery: Map<string, QueryMetrics>;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

/** Removes repeated doc ids, keeping the first (best-ranked) occurrence, so a doc is never credited twice. */
export function dedupeRanking(ranking: readonly string[]): string[] {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const docId of ranking) {
    if (seen.has(docId)) continue;
    seen.add(docId);
    unique.push(docId);
  }
  return unique;
}

function gainOf(qrels: QueryQrels, docId: string): number {
  const rel = qrels.get(docId) ?? 0;
  return rel > 0 ? rel : 0;
}

function relevantCount(qrels: QueryQrels): number {
  let count = 0;
  for (const rel of qrels.values()) if (rel > 0) count += 1;
  return count;
}

function assertCutoff(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`cutoff k must be a positive integer, got ${k}`);
}

/** How many of the top k (deduplicated) documents are relevant. */
function relevantRetrievedAtK(ranking: readonly string[], qrels: QueryQrels, k: number): number {
  let hits = 0;
  for (const docId of dedupeRanking(ranking).slice(0, k)) if (gainOf(qrels, docId) > 0) hits += 1;
  return hits;
}

/**
 * trec_eval ndcg_cut.k: DCG = Σ_{i=1..k} rel_i / log2(i + 1) over the ranking, divided by the DCG of the
 * ideal ordering of all relevant judged documents cut at k. 0 when the query has no relevant documents.
 */
export function ndcgAtK(ranking: readonly string[], qrels: QueryQrels, k: number): number {
  assertCutoff(k);
  const idealGains = [...qrels.values()].filter((rel) => rel > 0).sort((a, b) => b - a).slice(0, k);
  if (idealGains.length === 0) return 0;
  let idcg = 0;
  idealGains.forEach((gain, index) => {
    idcg += gain / Math.log2(index + 2);
  });
  let dcg = 0;
  dedupeRanking(ranking)
    .slice(0, k)
    .forEach((docId, index) => {
      dcg += gainOf(qrels, docId) / Math.log2(index + 2);
    });
  return dcg / idcg;
}

/** Fraction of the query's relevant documents found in the top k; 0 when it has none. */
export function recallAtK(ranking: readonly string[], qrels: QueryQrels, k: number): number {
  assertCutoff(k);
  const total = relevantCount(qrels);
  if (total === 0) return 0;
  return relevantRetrievedAtK(ranking, qrels, k) / total;
}

/** Relevant documents in the top k divided by k (trec_eval P_k: short rankings are not forgiven). */
export function precisionAtK(ranking: readonly string[], qrels: QueryQrels, k: number): number {
  assertCutoff(k);
  return relevantRetrievedAtK(ranking, qrels, k) / k;
}

/** 1 / rank of the first relevant document within the top k, else 0. */
export function mrrAtK(ranking: readonly string[], qrels: QueryQrels, k: number): number {
  assertCutoff(k);
  const top = dedupeRanking(ranking).slice(0, k);
  const firstRelevant = top.findIndex((docId) => gainOf(qrels, docId) > 0);
  return firstRelevant === -1 ? 0 : 1 / (firstRelevant + 1);
}

/** 1 when any relevant document is in the top k, else 0. */
export function hitAtK(ranking: readonly string[], qrels: QueryQrels, k: number): number {
  return mrrAtK(ranking, qrels, k) > 0 ? 1 : 0;
}

function queryMetrics(ranking: readonly string[], qrels: QueryQrels): QueryMetrics {
  return {
    'ndcg@10': ndcgAtK(ranking, qrels, 10),
    'recall@100': recallAtK(ranking, qrels, 100),
    'mrr@10': mrrAtK(ranking, qrels, 10),
    'recall@1': recallAtK(ranking, qrels, 1),
  };
}

/**
 * Mean metrics over the queries in `qrels` that have at least one relevant document. Run entries for
 * queries outside the qrels are ignored; qrels queries missing from the run score 0 (trec_eval -c).
 */
export function evaluateRun(run: Run, qrels: Qrels): RunMetrics {
  const perQuery = new Map<string, QueryMetrics>();
  const sums: QueryMetrics = { 'ndcg@10': 0, 'recall@100': 0, 'mrr@10': 0, 'recall@1': 0 };
  for (const [queryId, judgements] of qrels) {
    if (relevantCount(judgements) === 0) continue;
    const metrics = queryMetrics(run.get(queryId) ?? [], judgements);
    perQuery.set(queryId, metrics);
    sums['ndcg@10'] += metrics['ndcg@10'];
    sums['recall@100'] += metrics['recall@100'];
    sums['mrr@10'] += metrics['mrr@10'];
    sums['recall@1'] += metrics['recall@1'];
  }
  const queries = perQuery.size;
  const mean = (sum: number): number => (queries === 0 ? 0 : sum / queries);
  return {
    'ndcg@10': mean(sums['ndcg@10']),
    'recall@100': mean(sums['recall@100']),
    'mrr@10': mean(sums['mrr@10']),
    'recall@1': mean(sums['recall@1']),
    queries,
    perQuery,
  };
}

/**
 * The p-th percentile (0 ≤ p ≤ 100) by linear interpolation between closest ranks — numpy's default
 * ('linear'): position h = (n − 1)·p/100, result = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]) on sorted x.
 * Unlike nearest-rank, this can return a value that is not in the sample. NaN for an empty sample.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile p must be within [0, 100], got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = ((sorted.length - 1) * p) / 100;
  const lowerIndex = Math.floor(position);
  const upperIndex = Math.min(lowerIndex + 1, sorted.length - 1);
  const lower = sorted[lowerIndex] as number; // lowerIndex ∈ [0, n−1] because p ∈ [0, 100]
  const upper = sorted[upperIndex] as number;
  return lower + (position - lowerIndex) * (upper - lower);
}

/** p50/p95/p99 (linear interpolation, see `percentile`) and mean of latencies in ms; NaN fields when empty. */
export function latencySummary(ms: readonly number[]): LatencySummary {
  const mean = ms.length === 0 ? Number.NaN : ms.reduce((sum, value) => sum + value, 0) / ms.length;
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), p99: percentile(ms, 99), mean };
}

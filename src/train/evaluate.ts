// BEIR evaluation of the serving engine: ingest the corpus (reusing what is already there), run every query of a
// split through document ranking, and score the run the way trec_eval does.
import type { Engine } from '../engine.js';
import { isSieveError } from '../errors.js';
import type { IngestSummary } from '../ingest/ingest.js';
import { readBeirDataset } from './beir.js';
import { evaluateRun, latencySummary } from './metrics.js';

export interface EvalOptions {
  data: string;
  split: string;
  /** Depth of each ranking (Recall@100 needs 100). */
  depth?: number;
  /**
   * Keep a document whose id is the query's own id in that query's ranking. By default it is dropped, as BEIR's
   * evaluator does (ignore_identical_ids): in ArguAna and Quora a query is itself a corpus document, which would
   * otherwise rank first for itself, and published figures are computed without it.
   */
  keepIdenticalIds?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface EvalReport {
  data: string;
  split: string;
  'ndcg@10': number;
  'recall@100': number;
  'mrr@10': number;
  'recall@1': number;
  queries: number;
  /** Queries whose own document (same id) was dropped from their ranking (see keepIdenticalIds). */
  identical_ids_dropped: number;
  latency_ms: { p50: number; p95: number; p99: number; mean: number };
  ranker: string;
  /** The retrievers whose candidates were ranked, e.g. 'bm25+dense+history'. */
  retrievers: string;
  ingest: Pick<IngestSummary, 'documents' | 'chunks' | 'skipped' | 'seconds'>;
}

export async function evaluateBeir(engine: Engine, opts: EvalOptions): Promise<EvalReport> {
  const dataset = await readBeirDataset(opts.data, opts.split);
  const ingest = await engine.ingest([dataset.corpusPath]);
  // A batch job: build the in-memory indexes now rather than answer the first queries from FTS5 while they build.
  engine.warm();
  const depth = opts.depth ?? 100;
  const dropIdentical = !(opts.keepIdenticalIds ?? false);
  const run = new Map<string, string[]>();
  const latencies: number[] = [];
  let done = 0;
  let identicalDropped = 0;
  for (const [queryId, query] of dataset.queries) {
    const t0 = performance.now();
    try {
      // One more than the depth, so that dropping the query's own document still leaves a full ranking.
      const ranking = (await engine.searchDocuments(query.text, dropIdentical ? depth + 1 : depth)).map((h) => h.docId);
      const kept = dropIdentical ? ranking.filter((docId) => docId !== queryId) : ranking;
      if (kept.length < ranking.length) identicalDropped++;
      run.set(queryId, kept.slice(0, depth));
    } catch (err) {
      // A query with no searchable words scores zero, as trec_eval scores a query with no results.
      if (!isSieveError(err) || err.code !== 'QUESTION_EMPTY') throw err;
      run.set(queryId, []);
    }
    latencies.push(performance.now() - t0);
    opts.onProgress?.(++done, dataset.queries.size);
  }
  const metrics = evaluateRun(run, dataset.qrels);
  return {
    data: opts.data,
    split: opts.split,
    'ndcg@10': metrics['ndcg@10'],
    'recall@100': metrics['recall@100'],
    'mrr@10': metrics['mrr@10'],
    'recall@1': metrics['recall@1'],
    queries: metrics.queries,
    identical_ids_dropped: identicalDropped,
    latency_ms: latencySummary(latencies),
    ranker: engine.stats().ranker,
    retrievers: engine.stats().retrievers,
    ingest: { documents: ingest.documents, chunks: ingest.chunks, skipped: ingest.skipped, seconds: ingest.seconds },
  };
}

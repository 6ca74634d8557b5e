// The ranker used when no learned relevance model is active: one retriever's own score, or a fusion across several.
//
// BM25 with history: reciprocal-rank fusion (no score calibration needed). BM25 with dense: min-max BM25 plus a
// fitted multiple of each cosine's lead over the dense list's lowest (see DENSE_FUSION). Equal-weight RRF was
// tried first and is what this replaces: it gives a weak dense list as much say as a strong BM25 list, which cost
// SQuAD 0.47 of Recall@1; on the raw-cosine scale a dense list with no clear winner barely moves BM25's order, and
// one with a clear winner does.
import type { Candidate, ChunkRecord, Query, Ranker, ScoredCandidate } from '../types.js';

/** RRF's k: 60 is the value from Cormack et al. (2009) that BEIR-style hybrid baselines use. */
export const RRF_K = 60;

/** Merges candidate lists from several retrievers by chunk id, keeping every retriever's score and rank. */
export function mergeCandidates(lists: Candidate[][]): Candidate[] {
  const byChunk = new Map<number, Candidate>();
  for (const list of lists) {
    for (const c of list) {
      const seen = byChunk.get(c.chunkId);
      if (seen) {
        Object.assign(seen.scores, c.scores);
        Object.assign(seen.ranks, c.ranks);
      } else {
        byChunk.set(c.chunkId, { chunkId: c.chunkId, scores: { ...c.scores }, ranks: { ...c.ranks } });
      }
    }
  }
  return [...byChunk.values()];
}

/**
 * How sharply the history list's weight falls with the similarity of the best past question citing a chunk
 * (weight = similarity^8: 0.95 → 0.66, 0.8 → 0.17, 0.6 → 0.02). Only a near-duplicate question is evidence
 * without a model to weigh it: questions about one article share its rare words, and their answers crowded the
 * right passage out (SQuAD train half after one loop round, leave-one-out: Recall@1 0.73 with no history, 0.25
 * weighting by the summed similarity as before, 0.73 at ^8; SciFact train: nDCG@10 0.696 → 0.730). Chosen on
 * those train splits (exponents 1–16), never on test.
 */
export const HISTORY_SIMILARITY_EXPONENT = 8;

/**
 * Reciprocal-rank fusion with a weight per list entry: 1 for lexical and dense lists; for the history list, the
 * best similarity of a past question that cited the chunk, raised to HISTORY_SIMILARITY_EXPONENT.
 */
export function reciprocalRankFusion(c: Pick<Candidate, 'ranks' | 'scores'>, k = RRF_K): number {
  let s = 0;
  for (const [name, r] of Object.entries(c.ranks)) {
    // Traces written before historyMax existed carry only the summed score.
    const weight = name === 'history' ? Math.min(1, c.scores.historyMax ?? c.scores.history ?? 0) ** HISTORY_SIMILARITY_EXPONENT : 1;
    s += weight / (k + r);
  }
  return s;
}

export type FusionKind = 'rrf' | 'minmax' | 'shift';

/** How BM25 and dense scores combine: a kind and the dense list's weight (0 = BM25's order alone). */
export interface FusionSpec {
  kind: FusionKind;
  denseWeight: number;
}

/**
 * The fusion served when dense candidates are present, fitted with `npm run -s bench -- fusion` on TRAIN splits
 * only (docs/BENCHMARKS.md, issue 3): the SQuAD train half (5,285 questions; the base embedder never saw SQuAD)
 * and the 40 SciFact train queries the base embedder held out of its training (on the 769 it trained on, its
 * dense list scores nDCG@10 0.98 and would ask for dense alone). Rule: the largest SciFact gain whose SQuAD loss
 * stays ≤ 0.002 in both nDCG@10 and Recall@1. shift 0.75: SciFact 0.566 → 0.618, SQuAD R@1 0.782 → 0.780.
 */
export const DENSE_FUSION: Readonly<FusionSpec> = Object.freeze({ kind: 'shift', denseWeight: 0.75 });

/**
 * BM25 and dense scores of one query's candidates fused under `spec`, in their order (history is ignored here).
 * rrf: Σ weight / (k + rank), BM25 weight 1. minmax: (1 − w)·minmax(bm25) + w·minmax(cos). shift: minmax(bm25) +
 * w·(cos − lowest cos in the list). A candidate missing from a list gets that list's lowest value (0 after scaling).
 */
export function fuseLexicalDense(candidates: ReadonlyArray<Pick<Candidate, 'ranks' | 'scores'>>, spec: FusionSpec, k = RRF_K): number[] {
  if (spec.kind === 'rrf') {
    return candidates.map((c) => (c.ranks.bm25 ? 1 / (k + c.ranks.bm25) : 0) + (c.ranks.dense ? spec.denseWeight / (k + c.ranks.dense) : 0));
  }
  const bm25 = scoreRange(candidates, 'bm25');
  const dense = scoreRange(candidates, 'dense');
  return candidates.map((c) => {
    const lexical = c.scores.bm25 === undefined ? 0 : bm25.max > bm25.min ? (c.scores.bm25 - bm25.min) / (bm25.max - bm25.min) : 1;
    if (c.scores.dense === undefined) return spec.kind === 'minmax' ? (1 - spec.denseWeight) * lexical : lexical;
    if (spec.kind === 'shift') return lexical + spec.denseWeight * (c.scores.dense - dense.min);
    const cosine = dense.max > dense.min ? (c.scores.dense - dense.min) / (dense.max - dense.min) : 1;
    return (1 - spec.denseWeight) * lexical + spec.denseWeight * cosine;
  });
}

function scoreRange(candidates: ReadonlyArray<Pick<Candidate, 'scores'>>, name: string): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const c of candidates) {
    const v = c.scores[name];
    if (v === undefined) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/**
 * The scores FusionRanker serves, in the candidates' order. One retriever: its own score. No dense list:
 * reciprocal-rank fusion (history weighted as above). Dense present: DENSE_FUSION of BM25 and dense; with history
 * candidates too, that fused list takes BM25's place in the reciprocal-rank fusion with history.
 */
export function fusedScores(candidates: ReadonlyArray<Pick<Candidate, 'ranks' | 'scores'>>): number[] {
  const retrievers = new Set(candidates.flatMap((c) => Object.keys(c.ranks)));
  if (retrievers.size === 1) {
    const [only] = retrievers;
    return candidates.map((c) => c.scores[only!] ?? 0);
  }
  if (!retrievers.has('dense')) return candidates.map((c) => reciprocalRankFusion(c));
  const base = fuseLexicalDense(candidates, DENSE_FUSION);
  if (!retrievers.has('history')) return base;
  const inBase = candidates.map((c, i) => (c.ranks.bm25 !== undefined || c.ranks.dense !== undefined ? i : -1)).filter((i) => i >= 0);
  inBase.sort((a, b) => base[b]! - base[a]! || a - b);
  const baseRank = new Map(inBase.map((i, r) => [i, r + 1]));
  return candidates.map((c, i) => {
    const r = baseRank.get(i);
    return reciprocalRankFusion({ scores: c.scores, ranks: { ...(r !== undefined ? { base: r } : {}), ...(c.ranks.history !== undefined ? { history: c.ranks.history } : {}) } });
  });
}

export class FusionRanker implements Ranker {
  readonly name = 'fusion';
  readonly version = `fusion-rrf60-${DENSE_FUSION.kind}${DENSE_FUSION.denseWeight}`;
  readonly calibrated = false;

  async rank(_query: Query, candidates: Candidate[], chunks: Map<number, ChunkRecord>): Promise<ScoredCandidate[]> {
    // Decided per query, not per candidate, so every candidate's score is on one scale.
    const live = candidates.filter((c) => chunks.has(c.chunkId)); // a chunk deleted between retrieval and ranking drops out
    const scores = fusedScores(live);
    // Fields named, not spread (see RelevanceRanker.rank: the spread was a tenth of an ask).
    const out: ScoredCandidate[] = live.map((c, i) => ({ chunkId: c.chunkId, scores: c.scores, ranks: c.ranks, chunk: chunks.get(c.chunkId)!, score: scores[i]! }));
    return out.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
  }
}

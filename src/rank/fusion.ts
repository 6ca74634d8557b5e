// The ranker used when no learned relevance model is active: one retriever's own score, or reciprocal-rank
// fusion across several (RRF needs no score calibration between BM25 and cosine).
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
 * Reciprocal-rank fusion with a weight per list entry. The history list is weighted by how similar the past
 * questions that cited the chunk were (its score, capped at 1): a chunk cited by a near-duplicate question
 * counts like a top lexical hit, one cited by a loosely related question barely counts. Unweighted, history
 * candidates from other questions crowded relevant chunks out of the context.
 */
export function reciprocalRankFusion(c: Pick<Candidate, 'ranks' | 'scores'>, k = RRF_K): number {
  let s = 0;
  for (const [name, r] of Object.entries(c.ranks)) {
    const weight = name === 'history' ? Math.min(1, c.scores.history ?? 0) : 1;
    s += weight / (k + r);
  }
  return s;
}

export class FusionRanker implements Ranker {
  readonly name = 'fusion';
  readonly version = 'fusion-rrf60';
  readonly calibrated = false;

  async rank(_query: Query, candidates: Candidate[], chunks: Map<number, ChunkRecord>): Promise<ScoredCandidate[]> {
    // A single retriever's own score keeps its information (BM25 margins); fusion only when there are several.
    // Decided per query, not per candidate, so every candidate's score is on one scale.
    const retrievers = new Set(candidates.flatMap((c) => Object.keys(c.ranks)));
    const only = retrievers.size === 1 ? [...retrievers][0] : undefined;
    const out: ScoredCandidate[] = [];
    for (const c of candidates) {
      const chunk = chunks.get(c.chunkId);
      if (!chunk) continue; // deleted between retrieval and ranking
      const score = only !== undefined ? (c.scores[only] ?? 0) : reciprocalRankFusion(c);
      out.push({ ...c, chunk, score });
    }
    return out.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
  }
}

// Ranked chunks → ranked documents: a document scores as its best chunk (MaxP), the standard for passage-level
// retrieval over documents that were split.
import type { DocumentHit, ScoredCandidate } from '../types.js';

export function rankDocuments(ranked: readonly ScoredCandidate[], k: number): DocumentHit[] {
  const best = new Map<string, DocumentHit>();
  for (const c of ranked) {
    const seen = best.get(c.chunk.docId);
    if (!seen || c.score > seen.score) best.set(c.chunk.docId, { docId: c.chunk.docId, score: c.score, bestChunkId: c.chunkId });
  }
  return [...best.values()].sort((a, b) => b.score - a.score || (a.docId < b.docId ? -1 : 1)).slice(0, k);
}

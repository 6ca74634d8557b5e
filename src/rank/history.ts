// History candidates: the chunks that the most similar past questions cited (document-level evidence maps to the
// document's chunks). Scored by the summed similarity of the past queries that cited them; `historyMax` keeps the
// best single similarity, which the fallback fusion weighs by.
import type { Candidate, Query, Retriever } from '../types.js';
import type { RankingResources } from './resources.js';

export class HistoryRetriever implements Retriever {
  readonly name = 'history';

  constructor(private readonly resources: RankingResources) {}

  retrieve(query: Query, k: number): Candidate[] {
    const similar = this.resources.similar(query);
    if (similar.length === 0) return [];
    const stats = this.resources.termStats();
    const score = new Map<number, number>();
    // The single most similar past question citing the chunk: how sure we are that the question was asked before.
    const best = new Map<number, number>();
    for (const q of similar) {
      // Evidence per chunk: the question's similarity, discounted by how consistently its asks used the chunk.
      const chunks = new Map<number, number>();
      for (const d of q.docIds) for (const c of stats.chunksOfDoc(d)) chunks.set(c, q.docConsistency.get(d) ?? 1);
      for (const c of q.chunkIds) chunks.set(c, q.chunkConsistency.get(c) ?? 1);
      for (const [c, consistency] of chunks) {
        if (!stats.chunk(c) || (query.allowedChunks && !query.allowedChunks.has(c))) continue;
        const s = q.similarity * consistency;
        score.set(c, (score.get(c) ?? 0) + s);
        best.set(c, Math.max(best.get(c) ?? 0, s));
      }
    }
    return [...score.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, k)
      .map(([chunkId, s], i) => ({ chunkId, scores: { history: s, historyMax: best.get(chunkId)! }, ranks: { history: i + 1 } }));
  }
}

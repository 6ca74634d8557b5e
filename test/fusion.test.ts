import { describe, expect, it } from 'vitest';
import { DENSE_FUSION, FusionRanker, fuseLexicalDense, fusedScores, HISTORY_SIMILARITY_EXPONENT, mergeCandidates, reciprocalRankFusion, RRF_K } from '../src/rank/fusion.js';
import type { Candidate, ChunkRecord } from '../src/types.js';

/** Candidates from ranked lists: each list gives (chunkId, score) best first. */
function candidates(lists: Record<string, Array<[number, number]>>): Candidate[] {
  const byChunk = new Map<number, Candidate>();
  for (const [name, list] of Object.entries(lists)) {
    list.forEach(([chunkId, score], i) => {
      const c = byChunk.get(chunkId) ?? { chunkId, scores: {}, ranks: {} };
      c.scores[name] = score;
      c.ranks[name] = i + 1;
      byChunk.set(chunkId, c);
    });
  }
  return [...byChunk.values()];
}

function order(cs: Candidate[], scores: number[]): number[] {
  return cs
    .map((c, i) => ({ id: c.chunkId, s: scores[i]! }))
    .sort((a, b) => b.s - a.s || a.id - b.id)
    .map((x) => x.id);
}

// A confident BM25 list: the first hit far ahead (as SQuAD questions that share words with their paragraph).
const BM25: Array<[number, number]> = [
  [1, 24],
  [2, 12],
  [3, 11],
  [4, 10],
  [5, 9],
];

describe('fusion of BM25 and dense candidates', () => {
  it('keeps one retriever’s own scores, and reciprocal-rank fusion for BM25 with history', () => {
    const lexical = candidates({ bm25: BM25 });
    expect(fusedScores(lexical)).toEqual([24, 12, 11, 10, 9]);
    const withHistory = candidates({ bm25: BM25, history: [[5, 0.9], [9, 0.4]] });
    expect(fusedScores(withHistory)).toEqual(withHistory.map((c) => reciprocalRankFusion(c)));
  });

  it('does not let a weak dense list (no clear winner) reorder a confident BM25 list', () => {
    // Cosines within 0.02 of each other, ranked against BM25's order: a dense model with nothing to say.
    const weak = candidates({ bm25: BM25, dense: [[5, 0.52], [4, 0.515], [8, 0.51], [3, 0.505], [2, 0.5]] });
    const fused = order(weak, fusedScores(weak));
    expect(fused.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    // Equal-weight RRF, which this replaces, let the same list pull BM25's best hit down.
    const rrf = order(weak, fuseLexicalDense(weak, { kind: 'rrf', denseWeight: 1 }));
    expect(rrf[0]).not.toBe(1);
  });

  it('lets a dense list with a clear winner lift it over close BM25 hits', () => {
    // Four close BM25 hits at the head of a list that tails off (min-max is taken over the whole list).
    const flatBm25: Array<[number, number]> = [
      [1, 10],
      [2, 9.8],
      [3, 9.7],
      [4, 9.6],
      ...Array.from({ length: 20 }, (_, i): [number, number] => [20 + i, 6 - i * 0.2]),
    ];
    const confident = candidates({ bm25: flatBm25, dense: [[3, 0.9], [7, 0.4], [1, 0.35], [2, 0.3]] });
    const fused = order(confident, fusedScores(confident));
    expect(fused[0]).toBe(3);
    // A chunk only the dense list found still enters the ranking.
    expect(fused).toContain(7);
  });

  it('scores as documented: min-max BM25 plus the weight times the cosine over the list minimum', () => {
    const cs = candidates({ bm25: [[1, 20], [2, 10]], dense: [[2, 0.8], [3, 0.5]] });
    const scores = fusedScores(cs);
    const w = DENSE_FUSION.denseWeight;
    expect(DENSE_FUSION.kind).toBe('shift');
    expect(scores[0]).toBeCloseTo(1, 12); // chunk 1: top BM25, no dense score
    expect(scores[1]).toBeCloseTo(0 + w * 0.3, 12); // chunk 2: lowest BM25, cosine 0.3 above the lowest
    expect(scores[2]).toBeCloseTo(0, 12); // chunk 3: dense only, the lowest cosine
    // A zero dense weight is BM25's order.
    expect(order(cs, fuseLexicalDense(cs, { kind: 'shift', denseWeight: 0 })).slice(0, 2)).toEqual([1, 2]);
    expect(order(cs, fuseLexicalDense(cs, { kind: 'minmax', denseWeight: 0 })).slice(0, 2)).toEqual([1, 2]);
  });

  it('fuses history with the BM25+dense order when all three are present', () => {
    const cs = candidates({ bm25: BM25, dense: [[1, 0.9], [2, 0.4]], history: [[9, 1]] });
    const scores = fusedScores(cs);
    const byId = new Map(cs.map((c, i) => [c.chunkId, scores[i]!]));
    // Chunk 1 is first in the fused BM25+dense list: 1/(60+1); chunk 9 only in history with weight 1: 1/(60+1).
    expect(byId.get(1)).toBeCloseTo(1 / 61, 12);
    expect(byId.get(9)).toBeCloseTo(1 / 61, 12);
    expect(byId.get(2)).toBeCloseTo(1 / 62, 12);
  });

  it('ranks only chunks that still exist', async () => {
    const cs = candidates({ bm25: BM25, dense: [[3, 0.9]] });
    const chunk = (id: number) => [id, { id } as unknown as ChunkRecord] as const;
    const ranked = await new FusionRanker().rank({ text: 'q' } as never, cs, new Map([chunk(1), chunk(3)]));
    expect(ranked.map((r) => r.chunkId).sort()).toEqual([1, 3]);
  });
});

describe('reciprocal-rank fusion', () => {
  it('sums 1/(k + rank) over the lexical and dense lists', () => {
    expect(reciprocalRankFusion({ ranks: { bm25: 1, dense: 3 }, scores: { bm25: 9, dense: 0.5 } })).toBeCloseTo(1 / (RRF_K + 1) + 1 / (RRF_K + 3), 12);
  });

  it('weights a history entry by the best citing question similarity to the 8th power, not the summed score', () => {
    expect(HISTORY_SIMILARITY_EXPONENT).toBe(8);
    // Summed similarity 2.4 from several loosely similar questions, the best of them 0.6: barely counts.
    const loose = reciprocalRankFusion({ ranks: { history: 1 }, scores: { history: 2.4, historyMax: 0.6 } });
    expect(loose).toBeCloseTo(0.6 ** 8 / (RRF_K + 1), 12);
    // A near-duplicate question (0.98) counts almost like a top lexical hit.
    const duplicate = reciprocalRankFusion({ ranks: { history: 1 }, scores: { history: 0.98, historyMax: 0.98 } });
    expect(duplicate).toBeCloseTo(0.98 ** 8 / (RRF_K + 1), 12);
    expect(duplicate).toBeGreaterThan(0.8 / (RRF_K + 1));
    // Old traces without historyMax fall back to the summed score, capped at 1.
    expect(reciprocalRankFusion({ ranks: { history: 2 }, scores: { history: 1.7 } })).toBeCloseTo(1 / (RRF_K + 2), 12);
  });

  it('merges lists by chunk, keeping every retriever’s score and rank', () => {
    const merged = mergeCandidates([
      [{ chunkId: 1, scores: { bm25: 3 }, ranks: { bm25: 1 } }],
      [
        { chunkId: 1, scores: { history: 0.9, historyMax: 0.9 }, ranks: { history: 2 } },
        { chunkId: 2, scores: { history: 1.1, historyMax: 0.7 }, ranks: { history: 1 } },
      ],
    ]);
    expect(merged).toEqual([
      { chunkId: 1, scores: { bm25: 3, history: 0.9, historyMax: 0.9 }, ranks: { bm25: 1, history: 2 } },
      { chunkId: 2, scores: { history: 1.1, historyMax: 0.7 }, ranks: { history: 1 } },
    ]);
  });
});

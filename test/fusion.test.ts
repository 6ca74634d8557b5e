import { describe, expect, it } from 'vitest';
import { HISTORY_SIMILARITY_EXPONENT, mergeCandidates, reciprocalRankFusion, RRF_K } from '../src/rank/fusion.js';

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

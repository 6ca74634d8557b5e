import { describe, expect, it } from 'vitest';
import { BudgetSelector, headerTokens, jaccard, mergeAdjacent, wordTrigrams } from '../src/rank/select.js';
import { withoutUnused } from '../src/rank/explore.js';
import type { ChunkRecord, ScoredCandidate } from '../src/types.js';

const words = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${seed}${i}`).join(' ');

function cand(chunkId: number, documentId: number, ordinal: number, score: number, text: string, tokenCount: number, charStart = ordinal * 1000): ScoredCandidate {
  const chunk: ChunkRecord = {
    chunkId, documentId, docId: `doc${documentId}`, source: `/src/${documentId}.md`, title: `Doc ${documentId}`, ordinal, text,
    headingPath: [], tokenCount, charStart, charEnd: charStart + text.length,
  };
  return { chunkId, scores: { bm25: score }, ranks: { bm25: 1 }, chunk, score };
}

const query = { text: 'q', terms: ['q'] };

describe('BudgetSelector', () => {
  it('never exceeds the budget, counting header tokens, and numbers items 1..n strongest first', () => {
    const ranked = [
      cand(1, 1, 0, 10, words(50, 'a'), 100),
      cand(2, 2, 0, 9, words(50, 'b'), 100),
      cand(3, 3, 0, 8, words(50, 'c'), 100),
      cand(4, 4, 0, 7, words(50, 'd'), 100),
    ];
    const budget = 2 * (100 + headerTokens(ranked[0]!.chunk)) + 10;
    const items = new BudgetSelector().select(query, ranked, budget);
    expect(items.map((i) => i.chunkId)).toEqual([1, 2]);
    expect(items.map((i) => i.n)).toEqual([1, 2]);
    const spent = items.reduce((s, i) => s + i.tokenCount + headerTokens(i), 0);
    expect(spent).toBeLessThanOrEqual(budget);
  });

  it('skips a chunk that does not fit and takes a smaller one after it', () => {
    const ranked = [cand(1, 1, 0, 10, words(10, 'a'), 100), cand(2, 2, 0, 9, words(10, 'b'), 500), cand(3, 3, 0, 8, words(10, 'c'), 50)];
    const items = new BudgetSelector().select(query, ranked, 100 + 50 + 2 * headerTokens(ranked[0]!.chunk));
    expect(items.map((i) => i.chunkId)).toEqual([1, 3]);
  });

  it('drops near-duplicates of a chunk already chosen', () => {
    const text = words(60, 'w');
    const ranked = [cand(1, 1, 0, 10, text, 60), cand(2, 2, 0, 9, `${text} extra`, 61), cand(3, 3, 0, 8, words(60, 'z'), 60)];
    const items = new BudgetSelector().select(query, ranked, 10_000);
    expect(items.map((i) => i.chunkId)).toEqual([1, 3]);
  });

  it('stops at candidates far weaker than the best', () => {
    const ranked = [cand(1, 1, 0, 10, words(5, 'a'), 5), cand(2, 2, 0, 2, words(5, 'b'), 5)];
    expect(new BudgetSelector({ minRelativeScore: 0.25 }).select(query, ranked, 10_000).map((i) => i.chunkId)).toEqual([1]);
  });

  it('returns nothing for an empty ranking or a budget too small for any chunk', () => {
    expect(new BudgetSelector().select(query, [], 1000)).toEqual([]);
    expect(new BudgetSelector().select(query, [cand(1, 1, 0, 1, 'a b c', 500)], 100)).toEqual([]);
  });
});

describe('mergeAdjacent', () => {
  it('merges consecutive chunks of one document, keeping overlapping text once', () => {
    // Chunk 0 covers [0, 20), chunk 1 covers [15, 35): the 5 overlapping characters appear once.
    const a = cand(1, 7, 0, 5, 'alpha beta gamma del', 4, 0);
    const b = cand(2, 7, 1, 9, 'a del epsilon zeta e', 4, 15);
    const items = mergeAdjacent([b, a]);
    expect(items).toHaveLength(1);
    expect(items[0]!.chunkIds).toEqual([1, 2]);
    expect(items[0]!.text).toBe('alpha beta gamma del epsilon zeta e');
    expect(items[0]!.score).toBe(9);
  });

  it('joins non-overlapping neighbours with a paragraph break and keeps gaps apart', () => {
    const a = cand(1, 7, 0, 5, 'first part', 2, 0);
    const b = cand(2, 7, 1, 4, 'second part', 2, 20);
    const c = cand(3, 7, 3, 3, 'fourth part', 2, 60);
    const items = mergeAdjacent([a, b, c]);
    expect(items.map((i) => i.chunkIds)).toEqual([[1, 2], [3]]);
    expect(items[0]!.text).toBe('first part\n\nsecond part');
  });
});

describe('trigram similarity', () => {
  it('is 1 for equal texts and 0 for disjoint ones', () => {
    expect(jaccard(wordTrigrams('a b c d'), wordTrigrams('A B C D'))).toBe(1);
    expect(jaccard(wordTrigrams('a b c d'), wordTrigrams('e f g h'))).toBe(0);
    // {abc, bcd} vs {bcd, cde}: 1 shared of 3 distinct.
    expect(jaccard(wordTrigrams('a b c d'), wordTrigrams('b c d e'))).toBeCloseTo(1 / 3, 10);
  });
});

describe('expected-value packing', () => {
  it('prefers one strong passage over several weak fragments of the same total length', () => {
    // Strong: p=0.9, 300 tokens → 0.9/√(300+h). Weak: p=0.3, 100 tokens each → 0.3/√(100+h): the strong goes first.
    const strong = cand(1, 1, 0, 0.9, words(40, 's'), 300);
    const weak = [2, 3, 4].map((id) => cand(id, id, 0, 0.3, words(40, `w${id}`), 100));
    const items = new BudgetSelector().select(query, [...weak, strong], 300 + headerTokens(strong.chunk), { calibrated: true });
    expect(items.map((i) => i.chunkId)).toEqual([1]);
  });

  it('discounts a candidate that overlaps what is already chosen', () => {
    const base = words(30, 'x');
    const a = cand(1, 1, 0, 0.8, base, 40);
    // b shares about half its trigrams with a; c is unrelated but slightly weaker.
    const b = cand(2, 2, 0, 0.7, `${words(15, 'x')} ${words(15, 'y')}`, 40);
    const c = cand(3, 3, 0, 0.6, words(30, 'z'), 40);
    const budget = 2 * (40 + headerTokens(a.chunk));
    const items = new BudgetSelector({ diversity: 0.9 }).select(query, [a, b, c], budget, { calibrated: true });
    expect(items.map((i) => i.chunkId).sort()).toEqual([1, 3]);
  });

  it("'edges' order puts the strongest first and the second strongest last", () => {
    const ranked = [0.9, 0.8, 0.7, 0.6, 0.5].map((p, i) => cand(i + 1, i + 1, 0, p, words(10, `d${i}`), 10));
    const items = new BudgetSelector({ order: 'edges' }).select(query, ranked, 10_000, { calibrated: true });
    expect(items.map((i) => i.chunkId)).toEqual([1, 3, 5, 4, 2]);
    expect(items.map((i) => i.n)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('withoutUnused', () => {
  it('drops what earlier asks did not use, keeping the order and the best one passed over only once', () => {
    const ranked = [1, 2, 3, 4, 5].map((chunkId) => ({ chunkId }));
    const ids = (u: Array<[number, number]>) => withoutUnused(ranked, new Map(u)).map((c) => c.chunkId);
    // 1 was passed over twice; 3 is the best passed over once and gets a second look; 4 does not.
    expect(ids([[1, 2], [3, 1], [4, 1]])).toEqual([2, 3, 5]);
    expect(ids([[2, 1], [3, 1]])).toEqual([1, 2, 4, 5]);
    expect(withoutUnused(ranked, new Map())).toBe(ranked);
    expect(withoutUnused(ranked, new Map([[9, 1]]))).toBe(ranked);
    expect(withoutUnused(ranked, new Map(ranked.map((c) => [c.chunkId, 2])))).toBe(ranked);
  });
});

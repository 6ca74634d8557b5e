import { describe, expect, it } from 'vitest';
import {
  dedupeRanking,
  evaluateRun,
  hitAtK,
  latencySummary,
  mrrAtK,
  ndcgAtK,
  percentile,
  precisionAtK,
  recallAtK,
} from '../src/train/metrics.js';
import { SeededRandom } from '../src/util/random.js';

const LOG2_3 = Math.log2(3); // discount of rank 2; 1 / log2(3) ≈ 0.6309297536

/** d1 is highly relevant (2), d2 relevant (1), d3 judged not relevant (0). */
const graded = new Map<string, number>([
  ['d1', 2],
  ['d2', 1],
  ['d3', 0],
]);

describe('ndcgAtK (trec_eval ndcg_cut, linear gains)', () => {
  it('uses the graded relevance as gain', () => {
    // ranking x, d2, d1, d3 → DCG = 0/log2(2) + 1/log2(3) + 2/log2(4) + 0/log2(5) = 0.63093 + 1 = 1.63093
    // ideal d1, d2 → IDCG = 2/log2(2) + 1/log2(3) = 2.63093; nDCG = 1.63093 / 2.63093 = 0.619906
    const value = ndcgAtK(['x', 'd2', 'd1', 'd3'], graded, 10);
    expect(value).toBeCloseTo((1 / LOG2_3 + 2 / 2) / (2 + 1 / LOG2_3), 12);
    expect(value).toBeCloseTo(0.619906, 5);
  });

  it('is not the 2^rel − 1 variant', () => {
    // ranking d2, d1: linear DCG = 1 + 2/log2(3) = 2.26186, IDCG = 2 + 1/log2(3) = 2.63093 → 0.859719
    // (exponential gains would give (1 + 3/log2(3)) / (3 + 1/log2(3)) = 0.796708)
    expect(ndcgAtK(['d2', 'd1'], graded, 10)).toBeCloseTo(0.859719, 5);
  });

  it('cuts both the ranking and the ideal ordering at k', () => {
    // k = 2, ranking x, d2 | d1: DCG = 1/log2(3) = 0.63093; IDCG@2 = 2 + 0.63093 → 0.239812
    expect(ndcgAtK(['x', 'd2', 'd1'], graded, 2)).toBeCloseTo(1 / LOG2_3 / (2 + 1 / LOG2_3), 12);
    expect(ndcgAtK(['x', 'd2', 'd1'], graded, 2)).toBeCloseTo(0.239812, 5);
    // k = 1: only x counts → 0; with d1 first → 2/2 = 1
    expect(ndcgAtK(['x', 'd2', 'd1'], graded, 1)).toBe(0);
    expect(ndcgAtK(['d1', 'x'], graded, 1)).toBe(1);
    // three relevant docs, k = 2: ranking a → DCG 1; IDCG@2 = 1 + 1/log2(3) = 1.63093 → 0.613147
    const three = new Map([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
    expect(ndcgAtK(['a'], three, 2)).toBeCloseTo(0.613147, 5);
  });

  it('is 0 when the query has no relevant documents', () => {
    expect(ndcgAtK(['d3', 'd1'], new Map([['d3', 0]]), 10)).toBe(0);
    expect(ndcgAtK(['d1'], new Map(), 10)).toBe(0);
    expect(ndcgAtK(['d1'], new Map([['d1', -1]]), 10)).toBe(0);
  });

  it('credits a duplicated document once, at its first position', () => {
    // d1, d1, d2 → d1, d2: the ideal order → 1 (without dedupe DCG would be 2 + 2/log2(3) + ... > IDCG)
    expect(ndcgAtK(['d1', 'd1', 'd2'], graded, 10)).toBeCloseTo(1, 12);
    expect(dedupeRanking(['a', 'b', 'a', 'c', 'b'])).toEqual(['a', 'b', 'c']);
  });

  it('rejects a non-positive cutoff', () => {
    expect(() => ndcgAtK(['d1'], graded, 0)).toThrow(RangeError);
  });

  it('agrees with a straightforward independent implementation on random rankings', () => {
    const random = new SeededRandom(2024);
    const pool = Array.from({ length: 30 }, (_, i) => `doc${i}`);
    for (let trial = 0; trial < 300; trial++) {
      const qrels = new Map<string, number>();
      for (const docId of random.sample(pool, 1 + random.nextInt(10))) qrels.set(docId, random.nextInt(4)); // grades 0..3
      const ranking = Array.from({ length: random.nextInt(40) }, () => pool[random.nextInt(pool.length)] as string);
      const k = 1 + random.nextInt(15);
      expect(ndcgAtK(ranking, qrels, k)).toBeCloseTo(referenceNdcg(ranking, qrels, k), 12);
    }
  });
});

/** Textbook nDCG@k with linear gains, written independently of the module under test. */
function referenceNdcg(ranking: string[], qrels: Map<string, number>, k: number): number {
  const firstOccurrences = ranking.filter((docId, index) => ranking.indexOf(docId) === index);
  let dcg = 0;
  for (let rank = 1; rank <= Math.min(k, firstOccurrences.length); rank++) {
    const rel = qrels.get(firstOccurrences[rank - 1] as string) ?? 0;
    if (rel > 0) dcg += rel / Math.log2(rank + 1);
  }
  const ideal = [...qrels.values()].filter((rel) => rel > 0).sort((a, b) => b - a);
  let idcg = 0;
  for (let rank = 1; rank <= Math.min(k, ideal.length); rank++) idcg += (ideal[rank - 1] as number) / Math.log2(rank + 1);
  return idcg === 0 ? 0 : dcg / idcg;
}

describe('recall, precision, MRR, hit', () => {
  // ranking x, d2, d3, d1 against d1 (2), d2 (1), d3 (0): relevant docs at ranks 2 and 4
  const ranking = ['x', 'd2', 'd3', 'd1'];

  it('recall@k counts relevant found over all relevant', () => {
    expect(recallAtK(ranking, graded, 1)).toBe(0); // x
    expect(recallAtK(ranking, graded, 2)).toBe(0.5); // d2 of {d1, d2}
    expect(recallAtK(ranking, graded, 3)).toBe(0.5); // d3 is judged 0
    expect(recallAtK(ranking, graded, 4)).toBe(1);
    expect(recallAtK(ranking, new Map([['d3', 0]]), 4)).toBe(0); // nothing relevant
  });

  it('precision@k divides by k even past the end of the ranking', () => {
    expect(precisionAtK(ranking, graded, 2)).toBe(0.5); // 1 of 2
    expect(precisionAtK(ranking, graded, 10)).toBe(0.2); // 2 of 10
  });

  it('mrr@k is the reciprocal rank of the first relevant within k', () => {
    expect(mrrAtK(ranking, graded, 10)).toBe(0.5); // d2 at rank 2
    expect(mrrAtK(ranking, graded, 1)).toBe(0);
    expect(mrrAtK(['d1'], graded, 1)).toBe(1);
  });

  it('hit@k is 1 when any relevant document is in the top k', () => {
    expect(hitAtK(ranking, graded, 1)).toBe(0);
    expect(hitAtK(ranking, graded, 2)).toBe(1);
  });

  it('ignores duplicates when cutting at k', () => {
    // x, x, d1 → x, d1: recall@2 = 1/2 (d1 of {d1, d2}), mrr@2 = 1/2; counting the duplicate would give 0
    expect(recallAtK(['x', 'x', 'd1'], graded, 2)).toBe(0.5);
    expect(mrrAtK(['x', 'x', 'd1'], graded, 2)).toBe(0.5);
    // d2, d2 → d2: precision@2 = 1/2, not 2/2
    expect(precisionAtK(['d2', 'd2'], graded, 2)).toBe(0.5);
  });
});

describe('evaluateRun', () => {
  const qrels = new Map<string, Map<string, number>>([
    ['qA', new Map([['d1', 1]])],
    [
      'qB',
      new Map([
        ['d2', 1],
        ['d3', 1],
      ]),
    ],
    ['qC', new Map([['d4', 0]])], // no relevant docs: not averaged
    ['qD', new Map([['d5', 1]])], // no run entry: counts as zeros
  ]);
  const run = new Map<string, string[]>([
    ['qA', ['d1']],
    ['qB', ['d3', 'x']],
    ['qZ', ['d1']], // not judged: ignored
  ]);

  it('averages over judged queries with a relevant doc, missing runs as zeros', () => {
    // qA: ndcg 1, recall@100 1, mrr 1, recall@1 1
    // qB: DCG = 1, IDCG = 1 + 1/log2(3) = 1.63093 → ndcg 0.613147; recall@100 1/2; mrr 1; recall@1 1/2
    // qD: all 0
    const result = evaluateRun(run, qrels);
    expect(result.queries).toBe(3);
    expect(result['ndcg@10']).toBeCloseTo((1 + 1 / (1 + 1 / LOG2_3)) / 3, 12); // 0.537716
    expect(result['ndcg@10']).toBeCloseTo(0.537716, 5);
    expect(result['recall@100']).toBeCloseTo(0.5, 12); // (1 + 0.5 + 0) / 3
    expect(result['mrr@10']).toBeCloseTo(2 / 3, 12); // (1 + 1 + 0) / 3
    expect(result['recall@1']).toBeCloseTo(0.5, 12); // (1 + 0.5 + 0) / 3
    expect([...result.perQuery.keys()]).toEqual(['qA', 'qB', 'qD']);
    expect(result.perQuery.get('qD')).toEqual({ 'ndcg@10': 0, 'recall@100': 0, 'mrr@10': 0, 'recall@1': 0 });
    expect(result.perQuery.get('qB')?.['recall@1']).toBe(0.5);
  });

  it('returns zeros for qrels without any relevant document', () => {
    const result = evaluateRun(run, new Map([['qC', new Map([['d4', 0]])]]));
    expect(result.queries).toBe(0);
    expect(result['ndcg@10']).toBe(0);
  });
});

describe('percentile and latencySummary', () => {
  it('interpolates linearly between closest ranks like numpy', () => {
    // sorted 1 2 3 4: p50 → h = 3·0.5 = 1.5 → 2 + 0.5·(3 − 2) = 2.5; p95 → h = 2.85 → 3 + 0.85 = 3.85
    expect(percentile([4, 1, 3, 2], 50)).toBeCloseTo(2.5, 12);
    expect(percentile([4, 1, 3, 2], 95)).toBeCloseTo(3.85, 12);
    expect(percentile([4, 1, 3, 2], 0)).toBe(1);
    expect(percentile([4, 1, 3, 2], 100)).toBe(4);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('summarises latencies', () => {
    // 10..100 step 10: p50 h = 4.5 → 55; p95 h = 8.55 → 90 + 0.55·10 = 95.5; p99 h = 8.91 → 99.1; mean 55
    const summary = latencySummary([100, 10, 90, 20, 80, 30, 70, 40, 60, 50]);
    expect(summary.p50).toBeCloseTo(55, 12);
    expect(summary.p95).toBeCloseTo(95.5, 12);
    expect(summary.p99).toBeCloseTo(99.1, 12);
    expect(summary.mean).toBeCloseTo(55, 12);
  });
});

import { describe, expect, it } from 'vitest';
import { keepCandidates, readPropensity } from '../src/train/traces-dataset.js';
import { SeededRandom } from '../src/util/random.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('trace lists: which unshown candidates a list keeps', () => {
  const ranked = range(0, 200); // the serving ranking: ids 0..199
  const history = [500, 501, 502, 3, 503]; // recomputed history candidates, some new
  const labelled = new Set([0, 1, 2, 150, 600]); // shown or used (600: a used chunk no ranker returned)
  const keep = { topRanked: 10, topHistory: 3, sampled: 20 };

  it('keeps every labelled candidate, the top of the ranking and of history, and a weighted sample of the tail', () => {
    const { all, ids, tailWeight } = keepCandidates(ranked, history, labelled, keep, new SeededRandom(7));
    expect(all.length).toBe(200 + 1 + 4); // 600 and the four new history ids, each once
    for (const id of [...labelled, ...range(0, 10), 500, 501, 502]) expect(ids).toContain(id);
    // Tail = all − labelled − hard: 205 − 5 − 10 (the 13 hard ids less 0, 1, 2, already labelled) = 190; 20 sampled.
    const tail = all.filter((id) => !labelled.has(id) && !range(0, 10).includes(id) && ![500, 501, 502].includes(id));
    expect(tail.length).toBe(190);
    expect(tailWeight.size).toBe(20);
    for (const [id, w] of tailWeight) {
      expect(tail).toContain(id);
      expect(w).toBeCloseTo(190 / 20, 12); // each stands for 187/20 of the tail: the normaliser stays unbiased
    }
    expect(ids.length).toBe(5 + 10 + 20);
    expect(new Set(ids).size).toBe(ids.length);
    // Order follows the full list's order.
    expect(ids).toEqual(all.filter((id) => ids.includes(id)));
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = keepCandidates(ranked, history, labelled, keep, new SeededRandom(7));
    const b = keepCandidates(ranked, history, labelled, keep, new SeededRandom(7));
    const c = keepCandidates(ranked, history, labelled, keep, new SeededRandom(8));
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).not.toEqual(a.ids);
  });

  it('keeps everything when the tail is no longer than the sample, or when sampling is off', () => {
    const short = keepCandidates(range(0, 25), [], new Set([0]), keep, new SeededRandom(1));
    expect(short.ids).toEqual(range(0, 25));
    expect(short.tailWeight.size).toBe(0);
    const off = keepCandidates(ranked, history, labelled, null, new SeededRandom(1));
    expect(off.ids).toEqual(off.all);
  });

  it('weights an unread position less: 1 at the top, 1/√k below', () => {
    expect(readPropensity(1)).toBe(1);
    expect(readPropensity(4)).toBe(0.5);
    expect(readPropensity(0)).toBe(1);
  });
});

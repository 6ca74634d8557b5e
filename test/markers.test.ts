import { describe, expect, it } from 'vitest';
import { citationsFromMarkers, findMarkers } from '../src/feedback/markers.js';
import type { ContextItem } from '../src/types.js';

const item = (n: number): ContextItem => ({
  n, chunkId: 100 + n, chunkIds: [100 + n], docId: `d${n}`, source: 's', title: 't', headingPath: [], text: 'x', score: 1, tokenCount: 1,
});
const context = [1, 2, 3, 4].map(item);

describe('citation markers', () => {
  it.each([
    ['Plain [1].', [1]],
    ['Grouped [1, 2] and [3;4].', [1, 2, 3, 4]],
    ['Adjacent [1][3].', [1, 3]],
    ['Footnote style [^2].', [2]],
    ['Full-width 【1】 and 【 2 】.', [1, 2]],
    ['Range [1-3].', [1, 2, 3]],
    ['Range with en dash [2–4].', [2, 3, 4]],
    ['Words [1 and 4].', [1, 4]],
    ['No markers at all.', []],
    ['Not a citation: array[i] and [x].', []],
  ])('%s → %j', (answer, expected) => {
    expect(findMarkers(answer).map((h) => h.n)).toEqual(expected);
  });

  it('drops numbers that point at nothing and repeats', () => {
    const cites = citationsFromMarkers('A [2]. B [9]. C [2][1]. D [0].', context);
    expect(cites).toEqual([
      { n: 2, chunkId: 102, docId: 'd2' },
      { n: 1, chunkId: 101, docId: 'd1' },
    ]);
  });
});

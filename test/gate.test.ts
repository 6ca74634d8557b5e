import { describe, expect, it } from 'vitest';
import { meanAndStandardError, pairedNdcgGain } from '../src/train/job.js';

describe('the promotion gate statistics', () => {
  it('gives the mean and its standard error (sample standard deviation over √n)', () => {
    // Gains 0.1 and 0.3: mean 0.2, sample sd √0.02 = 0.1414, standard error 0.1414 / √2 = 0.1.
    const two = meanAndStandardError([0.1, 0.3]);
    expect(two.mean).toBeCloseTo(0.2, 12);
    expect(two.standardError).toBeCloseTo(0.1, 12);
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7, standard error √(32/7/8) = 0.7559.
    const eight = meanAndStandardError([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(eight.mean).toBe(5);
    expect(eight.standardError).toBeCloseTo(Math.sqrt(32 / 7 / 8), 12);
    expect(meanAndStandardError([0.4])).toEqual({ mean: 0.4, standardError: 0, lists: 1 });
    expect(meanAndStandardError([])).toEqual({ mean: 0, standardError: 0, lists: 0 });
  });

  it('pairs the two rankings list by list and leaves out lists with nothing relevant', () => {
    const lists = [
      { n: 2, labels: Float32Array.from([1, 0]) }, // candidate puts the relevant chunk first, baseline second
      { n: 2, labels: Float32Array.from([0, 1]) }, // both put it first
      { n: 2, labels: Float32Array.from([0, 0]) }, // nothing relevant: no nDCG, left out
    ];
    const candidate = (l: (typeof lists)[number]) => (l === lists[0] ? [2, 1] : [1, 2]);
    const baseline = () => [1, 2];
    const gain = pairedNdcgGain(lists, candidate, baseline);
    // Per-list gains: 1 − 1/log2(3) = 0.3691 and 0; mean 0.1845, standard error 0.1845.
    const first = 1 - 1 / Math.log2(3);
    expect(gain.lists).toBe(2);
    expect(gain.mean).toBeCloseTo(first / 2, 12);
    expect(gain.standardError).toBeCloseTo(first / 2, 12);
    // Each scoring's own mean over the same two lists: the candidate ranks both right, the baseline one.
    expect(gain.candidate).toBeCloseTo(1, 12);
    expect(gain.baseline).toBeCloseTo((1 / Math.log2(3) + 1) / 2, 12);
  });
});

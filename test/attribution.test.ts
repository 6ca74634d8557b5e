import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attribute, calibrateAttribution, DEFAULT_ATTRIBUTION_RELATIVE, DEFAULT_ATTRIBUTION_THRESHOLD, overlapF1, type LabelledAttribution } from '../src/feedback/attribution.js';
import { REPO_ROOT } from './helpers/tmp.js';

const { cases } = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/attribution-labelled.json'), 'utf8')) as { cases: LabelledAttribution[] };
const shown = cases[0]!.shown; // aspirin, statin, coffee

describe('attribution on the labelled set', () => {
  it('the shipped threshold and relative share are the calibrated ones and attribute the set with F1 ≥ 0.95', () => {
    const calibrated = calibrateAttribution(cases);
    expect(DEFAULT_ATTRIBUTION_THRESHOLD).toBeCloseTo(calibrated.threshold, 5);
    expect(DEFAULT_ATTRIBUTION_RELATIVE).toBeCloseTo(calibrated.relative, 5);
    const { precision, recall, f1 } = overlapF1(cases, DEFAULT_ATTRIBUTION_THRESHOLD);
    expect(f1).toBeGreaterThanOrEqual(0.95);
    expect(precision).toBeGreaterThanOrEqual(0.95);
    expect(recall).toBeGreaterThanOrEqual(0.9);
    // The threshold matters: far off it, F1 drops.
    expect(overlapF1(cases, 0.1).f1).toBeLessThan(f1);
    expect(overlapF1(cases, 0.8).f1).toBeLessThan(f1);
    // So does the relative share: crediting every chunk above the threshold (0) or only the best (0.9) is worse on
    // answers among chunks that share their subject, or that draw one sentence from two chunks.
    const sameTopic = cases.filter((c) => c.shown.length > 3);
    expect(sameTopic.length).toBeGreaterThanOrEqual(9);
    expect(overlapF1(cases, 0.2, 0).f1).toBeLessThan(f1);
    expect(overlapF1(cases, DEFAULT_ATTRIBUTION_THRESHOLD, 0.9).f1).toBeLessThan(f1);
  });
});

describe('attribute', () => {
  it('trusts valid markers over text, and ignores numbers that point at nothing', () => {
    const a = attribute('Aspirin helps [2][7].', shown);
    expect(a.map((x) => [x.n, x.used, x.method])).toEqual([
      [1, false, 'none'],
      [2, true, 'marker'],
      [3, false, 'none'],
    ]);
  });

  it('falls back to overlap when the answer has no usable marker, with the evidence span in the chunk', () => {
    const a = attribute('Regular coffee drinking is associated with a lower risk of liver cirrhosis [9].', shown);
    const coffee = a.find((x) => x.n === 3)!;
    expect(coffee.used).toBe(true);
    expect(coffee.method).toBe('overlap');
    expect(shown[2]!.text.slice(coffee.evidence!.start, coffee.evidence!.end)).toBe(
      'Regular coffee drinking is associated with a lower risk of liver cirrhosis',
    );
    expect(a.filter((x) => x.used).map((x) => x.n)).toEqual([3]);
  });

  it('attributes a paraphrase without markers, and nothing for an answer that uses no chunk', () => {
    const para = attribute('Taking aspirin cuts the chance of another heart attack by roughly 25 percent for coronary patients.', shown);
    expect(para.filter((x) => x.used).map((x) => x.n)).toEqual([1]);
    const none = attribute('The context does not say how much vitamin D adults need.', shown);
    expect(none.every((x) => !x.used)).toBe(true);
  });

  it('a marker-cited answer marks only cited chunks used even when the text overlaps another', () => {
    const a = attribute('Statins lower LDL cholesterol [1].', shown);
    expect(a.filter((x) => x.used).map((x) => x.n)).toEqual([1]);
    // chunk 2 (statins) overlaps the text: its score is kept as evidence though the marker decided.
    expect(a.find((x) => x.n === 2)!.score).toBeGreaterThan(0.5);
  });

  it('credits the chunk a sentence draws on, not the others that share its subject', () => {
    const sids = [
      'Sudden infant death syndrome (SIDS) remains the leading cause of death between one month and one year of age.',
      'Most deaths from sudden infant death syndrome (SIDS) occur between two and four months of age.',
      'Maternal smoking during pregnancy doubles the risk of sudden infant death syndrome (SIDS).',
    ].map((text, i) => ({ n: i + 1, chunkId: 10 + i, text }));
    // The subject phrase runs five words in every chunk: not a quote of any of them.
    const subject = attribute('Sudden infant death syndrome (SIDS) was studied.', sids);
    expect(subject.every((x) => !x.used)).toBe(true);
    const a = attribute('Smoking by the mother during pregnancy doubles the risk of sudden infant death syndrome.', sids);
    expect(a.filter((x) => x.used).map((x) => x.n)).toEqual([3]);
    // A sentence drawing on two chunks credits both.
    const both = attribute('SIDS is the leading cause of death after one month of age, and maternal smoking during pregnancy doubles it.', sids);
    expect(both.filter((x) => x.used).map((x) => x.n)).toEqual([1, 3]);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attribute, calibrateThreshold, DEFAULT_ATTRIBUTION_THRESHOLD, overlapF1, type LabelledAttribution } from '../src/feedback/attribution.js';
import { REPO_ROOT } from './helpers/tmp.js';

const { cases } = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/attribution-labelled.json'), 'utf8')) as { cases: LabelledAttribution[] };
const shown = cases[0]!.shown; // aspirin, statin, coffee

describe('attribution on the labelled set', () => {
  it('the shipped threshold is the calibrated one and attributes the set with F1 ≥ 0.95', () => {
    const calibrated = calibrateThreshold(cases);
    expect(DEFAULT_ATTRIBUTION_THRESHOLD).toBeCloseTo(calibrated.threshold, 5);
    const { precision, recall, f1 } = overlapF1(cases, DEFAULT_ATTRIBUTION_THRESHOLD);
    expect(f1).toBeGreaterThanOrEqual(0.95);
    expect(precision).toBeGreaterThanOrEqual(0.95);
    expect(recall).toBeGreaterThanOrEqual(0.9);
    // The threshold matters: far off it, F1 drops.
    expect(overlapF1(cases, 0.1).f1).toBeLessThan(f1);
    expect(overlapF1(cases, 0.8).f1).toBeLessThan(f1);
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
});

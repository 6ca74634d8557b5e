import { describe, expect, it } from 'vitest';
import { questionFraction, questionRole, rankerLists } from '../src/train/partition.js';

const questions = Array.from({ length: 2000 }, (_, i) => `what does protein ${i} bind to in cell line ${i % 37}?`);
const partition = { embedderShare: 0.4, embedderHoldout: 0.2 };

describe('which learner sees which question', () => {
  it('gives every ask of one question the same role, whatever the order of the lists', () => {
    const lists = questions.slice(0, 200).flatMap((question, i) => [0, 1, 2].map((ask) => ({ question, id: `${i}/${ask}` })));
    const kept = new Set(rankerLists(lists, partition).map((l) => l.id));
    expect(new Set(rankerLists([...lists].reverse(), partition).map((l) => l.id))).toEqual(kept);
    const side = new Map<string, Set<boolean>>();
    for (const l of lists) side.set(l.question, (side.get(l.question) ?? new Set()).add(kept.has(l.id)));
    expect([...side.values()].every((s) => s.size === 1)).toBe(true);
  });

  it('gives the embedder its share of questions and its own held-out ones, in about the asked proportions', () => {
    const roles = questions.map((q) => questionRole(q, partition));
    const share = (role: string) => roles.filter((r) => r === role).length / questions.length;
    expect(Math.abs(share('embedder') - 0.4)).toBeLessThan(0.03);
    expect(Math.abs(share('embedder-held-out') - 0.2)).toBeLessThan(0.03);
    expect(Math.abs(share('ranker') - 0.4)).toBeLessThan(0.03);
  });

  it('keeps the ranker off the embedder’s training questions only (it may learn from the embedder’s held-out ones)', () => {
    const lists = questions.map((question) => ({ question }));
    const ranker = rankerLists(lists, partition);
    expect(ranker.every((l) => questionRole(l.question, partition) !== 'embedder')).toBe(true);
    expect(ranker.some((l) => questionRole(l.question, partition) === 'embedder-held-out')).toBe(true);
    expect(ranker).toHaveLength(questions.filter((q) => questionRole(q, partition) !== 'embedder').length);
    // With the embedder not tuned, the ranker has every list, in order.
    expect(rankerLists(lists, { embedderShare: 0, embedderHoldout: 0.2 })).toEqual(lists);
  });

  it('keeps a question where it was as the embedder’s share grows (a larger share only adds questions)', () => {
    const small = new Set(questions.filter((q) => questionRole(q, { embedderShare: 0.1, embedderHoldout: 0.2 }) === 'embedder'));
    const large = new Set(questions.filter((q) => questionRole(q, { embedderShare: 0.3, embedderHoldout: 0.2 }) === 'embedder'));
    expect([...small].every((q) => large.has(q))).toBe(true);
    expect(large.size).toBeGreaterThan(small.size);
  });

  it('treats differently written copies of one question as one question', () => {
    expect(questionFraction('What  does Protein 7 bind to?')).toBe(questionFraction('what does protein 7 bind to?'));
  });

  it('places a question in [0, 1) by a stable hash', () => {
    const f = questionFraction('what does protein 7 bind to?');
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThan(1);
    expect(questionFraction('what does protein 7 bind to?')).toBe(f);
    expect(questionFraction('what does protein 8 bind to?')).not.toBe(f);
  });
});

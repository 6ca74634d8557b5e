import { describe, expect, it } from 'vitest';
import { partitionByQuestion, questionFraction, questionRole } from '../src/train/partition.js';

const questions = Array.from({ length: 2000 }, (_, i) => `what does protein ${i} bind to in cell line ${i % 37}?`);

const gateOnly = (holdout: number) => ({ holdout, embedderShare: 0 });

describe('the gate partitions by question', () => {
  it('puts every ask of one question on the same side, whatever the order of the lists', () => {
    const lists = questions.slice(0, 200).flatMap((question, i) => [0, 1, 2].map((ask) => ({ question, id: `${i}/${ask}` })));
    const { heldOut } = partitionByQuestion(lists, gateOnly(0.2));
    const shuffled = [...lists].reverse();
    const again = partitionByQuestion(shuffled, gateOnly(0.2));
    expect(new Set(again.heldOut.map((l) => l.id))).toEqual(new Set(heldOut.map((l) => l.id)));
    const side = new Map<string, Set<boolean>>();
    const held = new Set(heldOut.map((l) => l.id));
    for (const l of lists) side.set(l.question, (side.get(l.question) ?? new Set()).add(held.has(l.id)));
    expect([...side.values()].every((s) => s.size === 1)).toBe(true);
  });

  it('holds out about the asked share of distinct questions', () => {
    for (const share of [0.1, 0.2, 0.5]) {
      const { train, heldOut } = partitionByQuestion(questions.map((question) => ({ question })), gateOnly(share));
      expect(train.length + heldOut.length).toBe(questions.length);
      expect(Math.abs(heldOut.length / questions.length - share)).toBeLessThan(0.03);
    }
    expect(partitionByQuestion(questions.map((question) => ({ question })), gateOnly(0)).heldOut).toEqual([]);
    expect(partitionByQuestion(questions.map((question) => ({ question })), gateOnly(1)).train).toEqual([]);
  });

  it('keeps a question where it was as the held-out share grows (a larger share only adds questions)', () => {
    const small = new Set(partitionByQuestion(questions.map((question) => ({ question })), gateOnly(0.1)).heldOut.map((l) => l.question));
    const large = new Set(partitionByQuestion(questions.map((question) => ({ question })), gateOnly(0.3)).heldOut.map((l) => l.question));
    expect([...small].every((q) => large.has(q))).toBe(true);
    expect(large.size).toBeGreaterThan(small.size);
  });

  it('gives the embedder its own share of questions, which neither the gate nor the ranker lists see', () => {
    const partition = { holdout: 0.2, embedderShare: 0.4 };
    const roles = questions.map((q) => questionRole(q, partition));
    const share = (role: string) => roles.filter((r) => r === role).length / questions.length;
    expect(Math.abs(share('gate') - 0.2)).toBeLessThan(0.03);
    expect(Math.abs(share('embedder') - 0.4)).toBeLessThan(0.03);
    expect(Math.abs(share('ranker') - 0.4)).toBeLessThan(0.03);
    const { train, heldOut } = partitionByQuestion(questions.map((question) => ({ question })), partition);
    expect(train.every((l) => questionRole(l.question, partition) === 'ranker')).toBe(true);
    expect(heldOut.every((l) => questionRole(l.question, partition) === 'gate')).toBe(true);
    expect(train.length + heldOut.length).toBe(roles.filter((r) => r !== 'embedder').length);
    // The gate's questions are the same whether or not the embedder takes a share.
    expect(heldOut.map((l) => l.question)).toEqual(partitionByQuestion(questions.map((question) => ({ question })), gateOnly(0.2)).heldOut.map((l) => l.question));
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

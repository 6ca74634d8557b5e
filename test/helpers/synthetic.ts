// A synthetic BEIR-style corpus for loop tests: topics with their own vocabulary, documents mixing one topic with
// shared filler, questions naming a topic in other words too. Deterministic by seed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/util/random.js';

export interface SyntheticSet {
  dir: string;
  corpusPath: string;
  /** question text → relevant doc ids */
  relevant: Map<string, Set<string>>;
  questions: string[];
}

const FILLER = 'study result effect model system data method analysis patient level group change rate process'.split(' ');

export function writeSyntheticSet(root: string, opts: { topics: number; docsPerTopic: number; questionsPerTopic: number; seed: number }): SyntheticSet {
  const rng = new SeededRandom(opts.seed);
  const word = (t: number, i: number) => `t${t}w${i}`;
  const docs: Array<{ _id: string; title: string; text: string }> = [];
  const relevant = new Map<string, Set<string>>();
  const questions: string[] = [];
  for (let t = 0; t < opts.topics; t++) {
    for (let d = 0; d < opts.docsPerTopic; d++) {
      const words: string[] = [];
      for (let k = 0; k < 40; k++) words.push(rng.nextFloat() < 0.35 ? word(t, rng.nextInt(8)) : FILLER[rng.nextInt(FILLER.length)]!);
      docs.push({ _id: `t${t}d${d}`, title: `Topic ${t} report ${d}`, text: `${words.join(' ')}.` });
    }
    for (let q = 0; q < opts.questionsPerTopic; q++) {
      const text = `what about ${word(t, rng.nextInt(8))} and ${word(t, rng.nextInt(8))} ${FILLER[rng.nextInt(FILLER.length)]} q${t}x${q}`;
      questions.push(text);
      // The first document of each topic is the one a reader finds useful.
      relevant.set(text, new Set([`t${t}d0`]));
    }
  }
  const dir = join(root, 'synthetic');
  mkdirSync(dir, { recursive: true });
  const corpusPath = join(dir, 'corpus.jsonl');
  writeFileSync(corpusPath, docs.map((d) => JSON.stringify(d)).join('\n'));
  return { dir, corpusPath, relevant, questions };
}

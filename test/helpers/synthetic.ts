// A synthetic BEIR-style corpus for loop tests: topics with their own vocabulary, documents mixing one topic with
// shared filler, questions naming a topic in other words too. Deterministic by seed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedReader } from '../../bench/simulated-reader.js';
import { openEngine, type Engine } from '../../src/engine.js';
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

/**
 * The feedback loop's test bed: a synthetic set, an engine answered by the simulated reader (10% misses, 10%
 * wrong citations, 30% answers without markers) with 20% exploration, the corpus ingested, and every question
 * asked `rounds` times.
 */
export async function openLoopEngine(
  root: string,
  opts: { set: Parameters<typeof writeSyntheticSet>[1]; rounds: number; embed: boolean },
): Promise<{ set: SyntheticSet; engine: Engine }> {
  const set = writeSyntheticSet(root, opts.set);
  const reader = new SimulatedReader(set.relevant, { missRate: 0.1, wrongCitationRate: 0.1, noMarkerRate: 0.3, seed: 5 });
  const engine = await openEngine({ home: join(root, 'home'), llm: null, answerer: reader, feedback: { exploreRate: 0.2, seed: 9 }, embed: { enabled: opts.embed } });
  await engine.ingest([set.corpusPath]);
  for (let round = 0; round < opts.rounds; round++) for (const q of set.questions) await engine.ask(q, { budgetTokens: 400 });
  return { set, engine };
}

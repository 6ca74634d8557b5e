import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { DEFAULT_TOKENIZER_CONFIG } from '../src/embed/tokenizer.js';
import { recordHistory, type HistoryEvent } from '../src/store/history.js';
import { WordVocab } from '../src/train/embedder/data.js';
import { readTracePairs } from '../src/train/embedder/trace-pairs.js';
import { questionRole, type QuestionPartition } from '../src/train/partition.js';
import { writeSyntheticSet } from './helpers/synthetic.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('trace-pairs');
let engine: Engine;
/** chunk id of each synthetic document's (only) chunk */
const chunkOf = new Map<string, number>();
const partition: QuestionPartition = { embedderShare: 0.4, embedderHoldout: 0.2 };

/** The first generated question that falls in a role. */
function questionIn(role: string, skip = 0): string {
  const found = Array.from({ length: 500 }, (_, i) => `which receptor does compound ${i} activate?`).filter((q) => questionRole(q, partition) === role);
  return found[skip]!;
}

/** One ask: the shown documents, the used ones, and optional explicit labels, as the feedback module records them. */
function ask(key: string, question: string, shown: string[], used: string[], explicit: Record<string, boolean> = {}): HistoryEvent[] {
  const events: HistoryEvent[] = shown.map((doc) => ({ query: question, queryKey: key, chunkId: chunkOf.get(doc)!, docId: doc, shown: true, cited: used.includes(doc), source: 'trace' }));
  for (const [doc, up] of Object.entries(explicit)) events.push({ query: question, queryKey: key, chunkId: chunkOf.get(doc)!, docId: doc, shown: true, cited: up, source: 'explicit' });
  return events;
}

beforeAll(async () => {
  const set = writeSyntheticSet(tmp.dir, { topics: 3, docsPerTopic: 4, questionsPerTopic: 1, seed: 2 });
  engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null, embed: { enabled: false } });
  await engine.ingest([set.corpusPath]);
  for (const row of engine.store.db.prepare(`SELECT c.id, d.external_id AS doc FROM chunks c JOIN documents d ON d.id = c.document_id`).all() as Array<{ id: number; doc: string }>) {
    chunkOf.set(row.doc, row.id);
  }
}, 60_000);
afterAll(() => {
  engine.close();
  tmp.cleanup();
});

describe('the embedder’s pairs from traces', () => {
  it('keeps chunks used consistently, drops one-off citations, takes passed-over chunks as hard negatives, and splits by question role', () => {
    const tuned = questionIn('embedder');
    const gate = questionIn('embedder-held-out');
    const ranker = questionIn('ranker');
    recordHistory(engine.store, [
      // The embedder's question, asked three times: t0d0 used every time, t0d1 used once of three (a wrong citation),
      // t0d2 shown twice and never used; t0d3 used once, then a person marked it down.
      ...ask('a1', tuned, ['t0d0', 't0d1', 't0d2'], ['t0d0', 't0d1']),
      ...ask('a2', tuned, ['t0d0', 't0d1', 't0d2'], ['t0d0']),
      ...ask('a3', tuned, ['t0d0', 't0d1', 't0d3'], ['t0d0', 't0d3'], { t0d3: false }),
      ...ask('b1', gate, ['t1d0', 't1d1'], ['t1d0']),
      ...ask('c1', ranker, ['t2d0', 't2d1'], ['t2d0']),
    ]);
    const vocab = new WordVocab(DEFAULT_TOKENIZER_CONFIG);
    const pairs = readTracePairs(engine.store, vocab, { maxQueryWords: 32, maxPassageWords: 128, partition, hardNegatives: 5 });
    expect(pairs.questions).toEqual({ train: 1, heldOut: 1 });
    expect(pairs.train.map((p) => p.group)).toEqual(['doc:t0d0']);
    expect(pairs.train[0]!.source).toBe('trace');
    expect(pairs.train[0]!.query).toEqual(vocab.encode(tuned.toLowerCase(), 32));
    // Negatives: the never-used t0d2 and t0d3, whose one use a person overruled. t0d1, used in one ask of three, is
    // neither: too inconsistent to teach as a positive, too uncertain to push away as a negative.
    expect(new Set(pairs.train[0]!.negatives!.map((n) => n.group))).toEqual(new Set(['doc:t0d2', 'doc:t0d3']));
    // The passage is what the runtime embeds: the chunk's heading, a newline, its text.
    const row = engine.store.db.prepare(`SELECT heading, text FROM chunks WHERE id = ?`).get(chunkOf.get('t0d0')) as { heading: string; text: string };
    expect(pairs.train[0]!.passage).toEqual(vocab.encode(`${row.heading}\n${row.text}`, 128));
    // The embedder's held-out question is only evaluated (no negatives); the ranker's is not read at all.
    expect(pairs.heldOut.map((p) => p.group)).toEqual(['doc:t1d0']);
    expect(pairs.heldOut[0]!.negatives).toBeUndefined();
    expect([...pairs.train, ...pairs.heldOut].some((p) => p.group === 'doc:t2d0')).toBe(false);
  });

  it('reads nothing for the embedder when it has no share of the questions', () => {
    const pairs = readTracePairs(engine.store, new WordVocab(DEFAULT_TOKENIZER_CONFIG), {
      maxQueryWords: 32,
      maxPassageWords: 128,
      partition: { embedderShare: 0, embedderHoldout: 0.2 },
      hardNegatives: 5,
    });
    expect(pairs.train).toEqual([]);
    expect(pairs.heldOut.length).toBeGreaterThan(0);
  });
});

// Retrieval inside a conversation: a follow-up question is searched for with the earlier questions that name its
// subject (src/rank/conversation.ts), through ask() and the trace it leaves.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { conversationalQuery } from '../src/rank/conversation.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('conversation');
let engine: Engine;

beforeAll(async () => {
  const docs = join(tmp.dir, 'docs');
  mkdirSync(docs);
  writeFileSync(join(docs, 'bauhaus.md'), '# Bauhaus\n\nThe Bauhaus art school was founded by Walter Gropius in Weimar in 1919.\n');
  writeFileSync(join(docs, 'brewery.md'), '# Brewery\n\nThe brewery was founded in 1842. When it was founded, it was founded as a town brewery.\n');
  engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null, feedback: { exploreRate: 0 } });
  await engine.ingest([docs]);
});

afterAll(() => {
  engine.close();
  tmp.cleanup();
});

describe('conversationalQuery', () => {
  it('adds the previous question and the first one (the topic) to a follow-up, each once', () => {
    expect(conversationalQuery('When was it founded?', undefined)).toBe('When was it founded?');
    expect(conversationalQuery('When was it founded?', [{ role: 'assistant', content: 'Hello.' }])).toBe('When was it founded?');
    const history = [
      { role: 'user' as const, content: 'Tell me about the Bauhaus school' },
      { role: 'assistant' as const, content: 'It was an art school.' },
      { role: 'user' as const, content: 'Who taught there?' },
      { role: 'assistant' as const, content: 'Klee and Kandinsky.' },
    ];
    expect(conversationalQuery('When was it founded?', history)).toBe('When was it founded?\nWho taught there?\nTell me about the Bauhaus school');
    expect(conversationalQuery('When was it founded?', history.slice(0, 2))).toBe('When was it founded?\nTell me about the Bauhaus school');
  });
});

describe('ask() within a conversation', () => {
  it('finds what a follow-up refers to, answers the question as asked, and traces what was searched for', async () => {
    const alone = await engine.ask('When was it founded?');
    expect(alone.context[0]?.source).toMatch(/brewery\.md$/);
    const history = [
      { role: 'user' as const, content: 'Tell me about the Bauhaus school' },
      { role: 'assistant' as const, content: 'It was an art school in Germany [1].' },
    ];
    const followUp = await engine.ask('When was it founded?', { history });
    expect(followUp.context[0]?.source).toMatch(/bauhaus\.md$/);
    expect(followUp.question).toBe('When was it founded?');
    expect(followUp.answer).toMatch(/1919/);
    const traced = engine.store.db.prepare('SELECT question FROM traces WHERE id = ?').get(followUp.traceId) as { question: string };
    expect(traced.question).toBe('When was it founded?\nTell me about the Bauhaus school');
  });
});

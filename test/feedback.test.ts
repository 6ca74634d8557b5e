import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { traceHistoryKey } from '../src/feedback/traces.js';
import { chunkHistoryCounts, citedHistory } from '../src/store/history.js';
import type { AnswerRequest, Answerer } from '../src/types.js';
import { EXAMPLES, tempDir } from './helpers/tmp.js';

/** A test double that answers with a fixed text, citing what the test tells it to. */
class ScriptedAnswerer implements Answerer {
  readonly kind = 'llm' as const;
  next = '';
  async answer(_req: AnswerRequest) {
    return { text: this.next, reasoning: '', model: 'scripted' };
  }
}

const tmp = tempDir('feedback');
const answerer = new ScriptedAnswerer();
let engine: Engine;

beforeAll(async () => {
  engine = await openEngine({ home: join(tmp.dir, 'home'), answerer, feedback: { exploreRate: 0 }, embed: { enabled: false } });
  await engine.ingest([EXAMPLES]);
});
afterAll(() => {
  engine.close();
  tmp.cleanup();
});

const historyOf = (traceId: string) =>
  engine.store.db.prepare(`SELECT chunk_id AS chunkId, shown, cited, source FROM history WHERE query_key = ? ORDER BY id`).all(traceHistoryKey(traceId)) as Array<{
    chunkId: number;
    shown: number;
    cited: number;
    source: string;
  }>;

describe('traces and history from asks', () => {
  it('stores attribution per shown item and one history event per shown chunk, cited = used', async () => {
    answerer.next = 'Markers are taken at their word [1].';
    const r = await engine.ask('attribution markers retrieval budget', { budgetTokens: 1500 });
    expect(r.context.length).toBeGreaterThan(1);
    const row = engine.store.db.prepare(`SELECT attribution FROM traces WHERE id = ?`).get(r.traceId) as { attribution: string };
    const attribution = JSON.parse(row.attribution) as Array<{ n: number; used: boolean; method: string }>;
    expect(attribution.find((a) => a.n === 1)).toMatchObject({ used: true, method: 'marker' });
    expect(attribution.filter((a) => a.used)).toHaveLength(1);
    const events = historyOf(r.traceId);
    expect(events).toHaveLength(r.context.reduce((s, c) => s + c.chunkIds.length, 0));
    expect(events.filter((e) => e.cited === 1).map((e) => e.chunkId)).toEqual(r.context[0]!.chunkIds);
    expect(events.every((e) => e.shown === 1 && e.source === 'trace')).toBe(true);
  });

  it('attributes an answer without markers by its text', async () => {
    const first = await engine.ask('What does a chunk shown but not used become?', { budgetTokens: 800 });
    const target = first.context.find((c) => /becomes a\s+negative/.test(c.text));
    expect(target).toBeDefined();
    answerer.next = 'A chunk that was shown but not used becomes a negative, weighted by how likely it was read.';
    const r = await engine.ask('What does a chunk shown but not used become?', { budgetTokens: 800 });
    const cited = historyOf(r.traceId).filter((e) => e.cited === 1).map((e) => e.chunkId);
    expect(cited).toEqual(expect.arrayContaining(r.context.find((c) => /becomes a\s+negative/.test(c.text))!.chunkIds));
  });

  it('explicit feedback outranks the inferred label in the history the ranker reads', async () => {
    answerer.next = 'See [1].';
    const r = await engine.ask('hybrid retrieval lexical dense', { budgetTokens: 800 });
    const first = r.context[0]!.chunkId;
    const inferred = () => citedHistory(engine.store).filter((h) => h.queryKey === traceHistoryKey(r.traceId)).map((h) => h.chunkId);
    expect(inferred()).toContain(first);
    expect(engine.feedback(r.traceId, { helpful: false, chunks: { 1: 'down' } })).toEqual({ recorded: 2 });
    expect(inferred()).not.toContain(first);
    const counts = chunkHistoryCounts(engine.store).find((c) => c.chunkId === first)!;
    expect(counts.cited).toBeLessThan(counts.shown);
    expect(() => engine.feedback(r.traceId, { chunks: { 99: 'up' } })).toThrow(/no \[99\]/);
    expect(() => engine.feedback('nope', { helpful: true })).toThrow(/no trace/);
  });

  it('exploration shows one lower-ranked chunk in the last slot and logs it', async () => {
    const explorer = await openEngine({ home: join(tmp.dir, 'home'), answerer, feedback: { exploreRate: 1, seed: 7 }, embed: { enabled: false } });
    answerer.next = 'nothing';
    // A small budget: exploration makes room by dropping the weakest shown item.
    const r = await explorer.ask('the sieve model chunks answer index', { budgetTokens: 400 });
    expect(r.context.map((c) => c.n)).toEqual(r.context.map((_, i) => i + 1));
    expect(r.context.reduce((s, c) => s + c.tokenCount, 0)).toBeLessThanOrEqual(400);
    const last = r.context.at(-1)!;
    expect(last.explored).toBe(true);
    expect(r.context.filter((c) => c.explored)).toHaveLength(1);
    const row = explorer.store.db.prepare(`SELECT explored, context FROM traces WHERE id = ?`).get(r.traceId) as { explored: number; context: string };
    expect(row.explored).toBe(1);
    expect((JSON.parse(row.context) as Array<{ explored: boolean }>).at(-1)!.explored).toBe(true);
    explorer.close();
  });

  it('a question asked again is shown the next-best chunks in place of those it did not use', async () => {
    const question = 'How are chunks ranked and selected for the budget?';
    answerer.next = 'Ranking comes first [1].';
    const first = await engine.ask(question, { budgetTokens: 540 });
    expect(first.context.length).toBeGreaterThan(1);
    const used = first.context[0]!.chunkIds;
    // What attribution found unused in the first answer (everything but [1], unless its text was quoted).
    const unused = [...engine.resources.history().unusedBefore(question).keys()];
    expect(unused.length).toBeGreaterThan(0);
    expect(unused.every((id) => first.context.slice(1).some((c) => c.chunkIds.includes(id)))).toBe(true);
    const again = await engine.ask(question, { budgetTokens: 540 });
    const shown = again.context.flatMap((c) => c.chunkIds);
    expect(shown).toEqual(expect.arrayContaining(used));
    // At most one of them comes back (the best-ranked gets a second look); new chunks take the other places.
    expect(shown.filter((id) => unused.includes(id)).length).toBeLessThanOrEqual(1);
    expect(unused.length).toBeGreaterThan(1);
    const before = new Set(first.context.flatMap((c) => c.chunkIds));
    expect(shown.some((id) => !before.has(id))).toBe(true);
    // Turned off, the ranking's context comes back, unused chunks and all.
    const plain = await openEngine({ home: join(tmp.dir, 'home'), answerer, feedback: { exploreRate: 0, rotateUnused: false }, embed: { enabled: false } });
    const unrotated = await plain.ask(question, { budgetTokens: 540 });
    expect(unrotated.context.flatMap((c) => c.chunkIds).filter((id) => unused.includes(id)).length).toBeGreaterThan(0);
    plain.close();
  });

  it('retention removes old traces and keeps only the newest count', async () => {
    engine.store.db.prepare(`UPDATE traces SET created_at = '2000-01-01T00:00:00.000Z' WHERE rowid = (SELECT min(rowid) FROM traces)`).run();
    const before = engine.stats().traces;
    expect(engine.pruneTraces()).toBe(1);
    expect(engine.stats().traces).toBe(before - 1);
  });
});

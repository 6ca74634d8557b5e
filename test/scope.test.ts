// Scoped questions: search and ask over part of the corpus (ingested files or folders, document ids), through
// every retriever (BM25, history; the dense index is covered in hnsw.test.ts), the engine and the CLI.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { recordHistory } from '../src/store/history.js';
import { buildTraceLists } from '../src/train/traces-dataset.js';
import type { Answerer } from '../src/types.js';
import { runSieve } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('scope');
const home = join(tmp.dir, 'home');
const teamA = join(tmp.dir, 'notes', 'team');
const teamB = join(tmp.dir, 'notes', 'team-b'); // shares a prefix with teamA's path, not a folder
const corpus = join(tmp.dir, 'corpus.jsonl');
let engine: Engine;

beforeAll(async () => {
  mkdirSync(teamA, { recursive: true });
  mkdirSync(teamB, { recursive: true });
  // Team A's notes match "kettle descaling vinegar" best; team B's mention it once.
  writeFileSync(join(teamA, 'kettle.md'), '# Kettle descaling\n\nDescale the kettle with vinegar: kettle descaling with vinegar takes an hour.\n');
  writeFileSync(join(teamA, 'printer.md'), '# Printer\n\nThe printer on floor two jams when the paper is damp.\n');
  writeFileSync(join(teamB, 'kitchen.md'), '# Kitchen rota\n\nThe kitchen rota lists who cleans the kettle each week.\n');
  writeFileSync(
    corpus,
    [
      { _id: 'd1', title: 'Vinegar', text: 'Vinegar dissolves limescale in a kettle.' },
      { _id: 'd2', title: 'Citric acid', text: 'Citric acid also descales a kettle, without the smell of vinegar.' },
      { _id: 'd3', title: 'Tea', text: 'Green tea tastes bitter when the water is too hot.' },
    ]
      .map((d) => JSON.stringify(d))
      .join('\n'),
  );
  engine = await openEngine({ home, llm: null, feedback: { exploreRate: 0 } });
  await engine.ingest([join(tmp.dir, 'notes'), corpus]);
});

afterAll(() => {
  engine.close();
  tmp.cleanup();
});

const QUESTION = 'kettle descaling vinegar';

describe('a scope of files and folders', () => {
  it('searches only under the given folder, whatever ranks first in the whole corpus', async () => {
    const all = await engine.search(QUESTION, { k: 10 });
    expect(all[0]!.source).toBe(join(teamA, 'kettle.md'));
    const hits = await engine.search(QUESTION, { k: 10, scope: { sources: [teamB] } });
    expect(hits.map((h) => h.source)).toEqual([join(teamB, 'kitchen.md')]);
  });

  it('compares whole path segments: "team" does not hold "team-b"', async () => {
    const hits = await engine.search('kettle', { k: 10, scope: { sources: [teamA] } });
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h.source.startsWith(`${teamA}/`)).toBe(true);
  });

  it('takes a single file, several sources, and paths relative to the working directory', async () => {
    const one = await engine.search('printer paper', { k: 10, scope: { sources: [join(teamA, 'printer.md')] } });
    expect(new Set(one.map((h) => h.source))).toEqual(new Set([join(teamA, 'printer.md')]));
    const two = await engine.search(QUESTION, { k: 10, scope: { sources: [relative(process.cwd(), teamB), corpus] } });
    expect(new Set(two.map((h) => h.source))).toEqual(new Set([join(teamB, 'kitchen.md'), corpus]));
  });

  it('answers and selects context from the scope only', async () => {
    const result = await engine.ask(QUESTION, { scope: { sources: [corpus] } });
    expect(result.context.length).toBeGreaterThan(0);
    for (const item of result.context) expect(item.source).toBe(corpus);
    const context = await engine.context(QUESTION, { scope: { sources: [teamB] } });
    expect(context.map((c) => c.source)).toEqual([join(teamB, 'kitchen.md')]);
  });

  it('refuses a scope that holds no ingested chunk, with SCOPE_EMPTY naming it, and changes nothing', async () => {
    const before = engine.stats();
    const missing = join(tmp.dir, 'nowhere');
    await expect(engine.search(QUESTION, { scope: { sources: [missing] } })).rejects.toMatchObject({ code: 'SCOPE_EMPTY', message: expect.stringContaining(missing) });
    await expect(engine.ask(QUESTION, { scope: { docIds: ['no-such-doc'] } })).rejects.toMatchObject({ code: 'SCOPE_EMPTY' });
    expect(engine.stats()).toEqual(before);
  });

  it('sees a file ingested into a scoped folder after the scope was first used', async () => {
    await engine.search(QUESTION, { scope: { sources: [teamB] } }); // resolved, and kept
    writeFileSync(join(teamB, 'bikes.md'), '# Bike shed\n\nThe bike shed key hangs by the reception desk.\n');
    await engine.ingest([teamB]);
    const hits = await engine.search('bike shed key', { k: 5, scope: { sources: [teamB] } });
    expect(hits[0]?.source).toBe(join(teamB, 'bikes.md'));
  });

  it('treats an empty scope as no scope', async () => {
    expect(await engine.search(QUESTION, { k: 5, scope: {} })).toEqual(await engine.search(QUESTION, { k: 5 }));
    expect(await engine.search(QUESTION, { k: 5, scope: { sources: [], docIds: [] } })).toEqual(await engine.search(QUESTION, { k: 5 }));
  });
});

describe('a scope of document ids', () => {
  it('searches only those documents, and both lists together mean both must hold', async () => {
    const hits = await engine.search(QUESTION, { k: 10, scope: { docIds: ['d2', 'd3'] } });
    expect(hits.map((h) => h.docId).sort()).toEqual(['d2']); // d3 does not match the words at all
    const both = await engine.search(QUESTION, { k: 10, scope: { docIds: ['d1'], sources: [corpus] } });
    expect(both.map((h) => h.docId)).toEqual(['d1']);
    await expect(engine.search(QUESTION, { scope: { docIds: ['d1'], sources: [teamA] } })).rejects.toMatchObject({ code: 'SCOPE_EMPTY' });
  });
});

describe('history under a scope', () => {
  it('keeps chunks that similar past questions cited out of the candidates when they lie outside the scope', async () => {
    recordHistory(engine.store, [{ query: 'how do I clean the printer rollers', queryKey: 'past:1', chunkId: null, docId: 'd3', shown: true, cited: true, weight: 1, source: 'qrels' }]);
    const unscoped = await engine.candidatesFor('how do I clean the printer rollers', 50);
    const d3 = unscoped.candidates.filter((c) => unscoped.chunks.get(c.chunkId)?.docId === 'd3');
    expect(d3.some((c) => c.ranks.history !== undefined)).toBe(true); // history brings it in, words alone would not
    const scoped = await engine.candidatesFor('how do I clean the printer rollers', 50, { scope: { sources: [teamA] } });
    expect(scoped.candidates.length).toBeGreaterThan(0);
    for (const c of scoped.candidates) expect(scoped.chunks.get(c.chunkId)!.source.startsWith(`${teamA}/`)).toBe(true);
  });
});

describe('the loop under a scope', () => {
  it('records the scope with the trace, and training rebuilds the list inside it', async () => {
    // A reader that cites the first item, so attribution has something to label.
    const reader: Answerer = { kind: 'llm', answer: async () => ({ text: 'It is in the notes [1].', reasoning: '', model: 'stub' }) };
    const looped = await openEngine({ home, llm: null, answerer: reader, feedback: { exploreRate: 0 } });
    try {
      // A past question like this one cited the tea note, so history brings it in.
      recordHistory(looped.store, [{ query: 'descaling a kettle with vinegar at home', queryKey: 'past:2', chunkId: null, docId: 'd3', shown: true, cited: true, weight: 1, source: 'qrels' }]);
      const unscoped = await looped.ask(QUESTION); // cites its [1], a positive for every ask of this question
      const scoped = await looped.ask(QUESTION, { scope: { docIds: ['d2'] } });
      const stored = looped.store.db.prepare('SELECT id, scope FROM traces WHERE id IN (?, ?)').all(scoped.traceId, unscoped.traceId) as Array<{ id: string; scope: string | null }>;
      expect(new Map(stored.map((r) => [r.id, r.scope]))).toEqual(
        new Map([
          [scoped.traceId, JSON.stringify({ docIds: ['d2'] })],
          [unscoped.traceId, null],
        ]),
      );
      expect(unscoped.context[0]!.docId).not.toBe('d2');
      // A relative path is stored resolved: training may run from another directory.
      const relativeAsk = await looped.ask('printer paper jams', { scope: { sources: [relative(process.cwd(), teamA)], docIds: [] } });
      const storedRelative = looped.store.db.prepare('SELECT scope FROM traces WHERE id = ?').get(relativeAsk.traceId) as { scope: string };
      expect(JSON.parse(storedRelative.scope)).toEqual({ sources: [teamA] });
      const lists = buildTraceLists(looped);
      const docsOf = (traceId: string) => {
        const list = lists.find((l) => l.traceId === traceId);
        expect(list).toBeDefined();
        return new Set([...looped.store.getChunks([...list!.chunkIds]).values()].map((c) => c.docId));
      };
      const outside = docsOf(unscoped.traceId);
      expect(outside.has('d3')).toBe(true); // history's addition
      expect(outside.has('d2')).toBe(true);
      // Neither history's addition nor the other ask's positive joins the list of the ask scoped to d2.
      expect(docsOf(scoped.traceId)).toEqual(new Set(['d2']));
    } finally {
      looped.close();
    }
  });
});

describe('sieve search --in / --doc', () => {
  it('scopes the CLI the same way, and exits non-zero with SCOPE_EMPTY for an empty scope', async () => {
    const r = await runSieve(home, 'search', QUESTION, '--in', teamB, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ source: string }>).map((h) => h.source)).toEqual([join(teamB, 'kitchen.md')]);
    const d = await runSieve(home, 'search', QUESTION, '--doc', 'd1', '--doc', 'd2', '--json');
    expect(d.code, d.stderr).toBe(0);
    expect((JSON.parse(d.stdout) as Array<{ docId: string }>).map((h) => h.docId).sort()).toEqual(['d1', 'd2']);
    const empty = await runSieve(home, 'ask', QUESTION, '--in', join(tmp.dir, 'nowhere'));
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toContain('SCOPE_EMPTY');
    // `sieve sources` lists what --in selects from, with what each file holds.
    const sources = await runSieve(home, 'sources', '--json');
    expect(sources.code, sources.stderr).toBe(0);
    const listed = JSON.parse(sources.stdout) as Array<{ path: string; documents: number; chunks: number }>;
    expect(listed.map((l) => l.path)).toEqual([...listed.map((l) => l.path)].sort());
    expect(listed.find((l) => l.path === corpus)).toMatchObject({ documents: 3, chunks: 3 });
    expect(listed.find((l) => l.path === join(teamB, 'kitchen.md'))).toMatchObject({ documents: 1, chunks: 1 });
    expect(listed.map((l) => l.path)).toContain(join(teamB, 'bikes.md'));
    // `sieve traces` exports each ask's scope (null: the whole corpus).
    const traces = await runSieve(home, 'traces', '--json');
    expect(traces.code, traces.stderr).toBe(0);
    const scopes = (JSON.parse(traces.stdout) as Array<{ question: string; scope: unknown }>).map((t) => t.scope);
    expect(scopes).toContainEqual({ sources: [corpus] });
    expect(scopes).toContainEqual({ docIds: ['d2'] });
    expect(scopes).toContainEqual(null);
  }, 60_000);
});

import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { ingestPaths } from '../src/ingest/ingest.js';
import { Bm25Index, Bm25IndexCache, ftsWords } from '../src/rank/bm25-index.js';
import { Bm25Retriever } from '../src/rank/lexical.js';
import { porterStem } from '../src/rank/porter.js';
import { lexicalTerms, parseQuery, toFtsMatch } from '../src/rank/query.js';
import { allChunkTexts } from '../src/store/history.js';
import { Store } from '../src/store/store.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('bm25');
let store: Store;
let index: Bm25Index;

// Real scientific text (the first 800 SciFact abstracts) plus the repo's sample documents.
const scifactCorpus = resolve(import.meta.dirname, '../../shared/data/scifact/corpus.jsonl');

beforeAll(async () => {
  store = new Store(join(tmp.dir, 'sieve.db'));
  const config = resolveConfig({ home: tmp.dir });
  const slice = join(tmp.dir, 'corpus.jsonl');
  writeFileSync(slice, readFileSync(scifactCorpus, 'utf8').split('\n').slice(0, 800).join('\n') + '\n');
  await ingestPaths(store, ['examples/docs', slice], { prune: false, maxFileBytes: 10 << 20, chunking: config.chunking });
  index = Bm25Index.build(store);
});
afterAll(() => {
  store.close();
  tmp.cleanup();
});

describe('porterStem', () => {
  it('stems the textbook examples', () => {
    const cases: Record<string, string> = {
      caresses: 'caress', ponies: 'poni', cats: 'cat', feed: 'feed', agreed: 'agre', plastered: 'plaster', motoring: 'motor',
      conflated: 'conflat', troubled: 'troubl', sized: 'size', hopping: 'hop', falling: 'fall', filing: 'file', happy: 'happi',
      relational: 'relat', conditional: 'condit', rational: 'ration', digitizer: 'digit', hopefulness: 'hope', formalize: 'formal',
      electrical: 'electr', adjustment: 'adjust', adoption: 'adopt', controlling: 'control', rolling: 'roll', generalization: 'gener',
      at: 'at', by: 'by',
    };
    for (const [word, stem] of Object.entries(cases)) expect([word, porterStem(word)]).toEqual([word, stem]);
  });

  it('agrees with SQLite FTS5 porter tokenizer on every word of the test corpus', () => {
    const words = new Set<string>();
    for (const row of allChunkTexts(store)) for (const w of ftsWords(`${row.heading} ${row.text}`)) words.add(w);
    const list = [...words];
    expect(list.length).toBeGreaterThan(10_000);
    store.db.exec(`CREATE VIRTUAL TABLE temp.words USING fts5(w, tokenize='porter unicode61 remove_diacritics 2');
                   CREATE VIRTUAL TABLE temp.words_vocab USING fts5vocab(temp, words, 'instance');`);
    const insert = store.db.prepare('INSERT INTO temp.words(rowid, w) VALUES (?, ?)');
    store.db.transaction(() => list.forEach((w, i) => insert.run(i + 1, w)))();
    const rows = store.db.prepare('SELECT doc, term FROM temp.words_vocab').all() as Array<{ doc: number; term: string }>;
    const disagreements = rows.filter((r) => porterStem(list[r.doc - 1]!) !== r.term).map((r) => [list[r.doc - 1], r.term]);
    expect(disagreements).toEqual([]);
  });
});

describe('Bm25Index', () => {
  const questions = [
    'How does sieve decide which chunks an answer used?',
    'token budget selection knapsack',
    'vitamin D deficiency and bone density in elderly patients',
    'retrieval HNSW dense vectors',
    'the of and', // only stopwords: searched for anyway
    'zzzz unknownterm',
  ];

  it('ranks and scores exactly as FTS5 bm25() over the same chunks, with field weights', () => {
    for (const weights of [{ heading: 2, body: 1 }, { heading: 1, body: 1 }, { heading: 0, body: 1 }]) {
      for (const q of questions) {
        const query = parseQuery(q);
        const fts = store.searchFts(toFtsMatch(query), 50, weights);
        const mine = index.search(lexicalTerms(query), 50, weights);
        expect(mine.length).toBe(fts.length);
        // Same scores to float precision; order equal except among exact ties (FTS5's tie order is unspecified).
        const byId = new Map(fts.map((h) => [h.chunkId, h.score]));
        for (const hit of mine) {
          const expected = byId.get(hit.chunkId);
          if (expected === undefined) {
            // Only possible at the cut-off, among ties with the last FTS5 hit.
            expect(hit.score).toBeCloseTo(fts[fts.length - 1]!.score, 9);
          } else expect(hit.score).toBeCloseTo(expected, 9);
        }
        for (let i = 1; i < mine.length; i++) expect(mine[i - 1]!.score).toBeGreaterThanOrEqual(mine[i]!.score);
      }
    }
  });

  it('finds nothing for unknown terms and handles an empty index', () => {
    expect(index.search(['zzzzqqq'], 10, { heading: 1, body: 1 })).toEqual([]);
    expect(Bm25Index.fromRows([]).search(['anything'], 10, { heading: 1, body: 1 })).toEqual([]);
  });

  it('folds case and diacritics the way unicode61 does, and breaks ties by chunk id', () => {
    const small = Bm25Index.fromRows([
      { id: 7, heading: '', text: 'Café au lait' },
      { id: 3, heading: '', text: 'cafe AU LAIT' },
      { id: 9, heading: '', text: 'tea' },
    ]);
    const hits = small.search(['CAFÉ'], 10, { heading: 1, body: 1 });
    expect(hits.map((h) => h.chunkId)).toEqual([3, 7]);
    expect(hits[0]!.score).toBe(hits[1]!.score);
    expect(small.search(['café'], 1, { heading: 1, body: 1 }).map((h) => h.chunkId)).toEqual([3]);
  });
});

/** A retriever served by FTS5 until `buildIndex()` gives it the in-memory index, and one query to ask both. */
function ftsThenIndex() {
  const weights = { heading: 2, body: 1 };
  let serving: Bm25Index | null = null;
  const retriever = new Bm25Retriever(store, () => serving, weights);
  const query = parseQuery('vitamin D deficiency and bone density in elderly patients');
  return { retriever, query, weights, buildIndex: () => void (serving = Bm25Index.build(store)) };
}

describe('Bm25IndexCache and the retriever', () => {
  it('serves the first query of a generation from FTS5, builds on the second, and rebuilds after an ingest', async () => {
    const cache = new Bm25IndexCache(store);
    expect(cache.get()).toBeNull();
    const built = cache.get();
    expect(built).not.toBeNull();
    expect(cache.get()).toBe(built);
    const extra = join(tmp.dir, 'extra.md');
    writeFileSync(extra, '# Extra\n\nA brand new paragraph about zebrafish regeneration.\n');
    await ingestPaths(store, [extra], { prune: false, maxFileBytes: 10 << 20, chunking: resolveConfig({ home: tmp.dir }).chunking });
    expect(cache.get()).toBeNull(); // stale: FTS5 serves this one
    const rebuilt = cache.get()!;
    expect(rebuilt).not.toBe(built);
    expect(rebuilt.size).toBe(built!.size + 1);
    expect(cache.warm()).toBe(rebuilt);
  });

  it('builds a large corpus in slices between queries, FTS5 serving meanwhile, and the same index as a blocking build', async () => {
    const cache = new Bm25IndexCache(store, 0); // every corpus counts as large
    expect(cache.get()).toBeNull();
    expect(cache.get()).toBeNull(); // the build has started; this query is FTS5's
    await cache.settled();
    const sliced = cache.get()!;
    expect(sliced).not.toBeNull();
    const blocking = Bm25Index.build(store);
    expect(sliced.size).toBe(blocking.size);
    const terms = lexicalTerms(parseQuery('vitamin D deficiency and bone density in elderly patients'));
    expect(sliced.search(terms, 20, { heading: 2, body: 1 })).toEqual(blocking.search(terms, 20, { heading: 2, body: 1 }));
  });

  it('drops a sliced build whose store changed meanwhile', async () => {
    const extra = join(tmp.dir, 'during-build.md');
    let ingested = false;
    const index = await Bm25Index.buildInSlices(store, async () => {
      if (ingested) return;
      ingested = true;
      writeFileSync(extra, '# During\n\nA paragraph written while the index was being built.\n');
      await ingestPaths(store, [extra], { prune: false, maxFileBytes: 10 << 20, chunking: resolveConfig({ home: tmp.dir }).chunking });
    });
    expect(ingested).toBe(true);
    expect(index).toBeNull();
  });

  it('drops a sliced build whose store is closed meanwhile (an engine shut down mid-build) without throwing', async () => {
    const second = new Store(join(tmp.dir, 'sieve.db'));
    await expect(Bm25Index.buildInSlices(second, async () => second.close())).resolves.toBeNull();
  });

  it('returns the same candidates whether FTS5 or the in-memory index serves', () => {
    const { retriever, query, buildIndex } = ftsThenIndex();
    const viaFts = retriever.retrieve(query, 30);
    buildIndex();
    const viaIndex = retriever.retrieve(query, 30);
    expect(viaIndex.map((c) => c.scores.bm25)).toEqual(viaFts.map((c) => expect.closeTo(c.scores.bm25!, 9)));
    expect(new Set(viaIndex.map((c) => c.chunkId))).toEqual(new Set(viaFts.map((c) => c.chunkId)));
  });

  it('scopes both ways alike: only allowed chunks, scored as in the whole corpus, best k of them', () => {
    const { retriever, query, buildIndex, weights } = ftsThenIndex();
    const everything = retriever.retrieve(query, 10_000);
    // Every third matching chunk, so the scope's best are not the corpus's best.
    const allowed = new Set(everything.filter((_, i) => i % 3 === 2).map((c) => c.chunkId));
    expect(allowed.size).toBeGreaterThan(20);
    const expected = everything.filter((c) => allowed.has(c.chunkId)).slice(0, 15);
    const viaFts = retriever.retrieve({ ...query, allowedChunks: allowed }, 15);
    buildIndex();
    const viaIndex = retriever.retrieve({ ...query, allowedChunks: allowed }, 15);
    for (const got of [viaFts, viaIndex]) {
      expect(got.map((c) => c.chunkId)).toEqual(expected.map((c) => c.chunkId));
      expect(got.map((c) => c.scores.bm25)).toEqual(expected.map((c) => expect.closeTo(c.scores.bm25!, 9)));
      expect(got.map((c) => c.ranks.bm25)).toEqual(expected.map((_, i) => i + 1));
    }
    // The index is left clean: an unscoped search afterwards matches one from a fresh index.
    expect(retriever.retrieve(query, 30).map((c) => c.chunkId)).toEqual(new Bm25Retriever(store, () => Bm25Index.build(store), weights).retrieve(query, 30).map((c) => c.chunkId));
  });
});

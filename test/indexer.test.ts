import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INDEX_FILE, MANIFEST_FILE, indexDir } from '../src/embed/hnsw.js';
import { VectorIndexer, type IndexLogger } from '../src/embed/indexer.js';
import {
  decodeVector,
  deleteVectorsFor,
  encodeVector,
  missingChunkIds,
  passageTexts,
  putVectors,
  readVectors,
  storedEmbedders,
  toHalfBits,
  vectorChunkIds,
  vectorCount,
} from '../src/embed/vectors.js';
import { DenseRetriever } from '../src/rank/dense.js';
import { Store } from '../src/store/store.js';
import type { ChunkDraft, Embedder, LoadedDocument } from '../src/types.js';
import { tempDir } from './helpers/tmp.js';

/**
 * Test double for the real ONNX embedder: hashed bag of words (FNV-1a, signed buckets) → unit vector.
 * Deterministic, and texts sharing words land near each other, which is all the index needs to be tested.
 */
class HashedBagOfWordsTestEmbedder implements Embedder {
  readonly dim: number;
  readonly version: string;
  /** Every passage text this double was asked to embed, in order. */
  readonly passagesSeen: string[] = [];
  calls = 0;

  constructor(version = 'test-bow-v1', dim = 64) {
    this.version = version;
    this.dim = dim;
  }

  vectorOf(text: string): Float32Array {
    const v = new Float32Array(this.dim);
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
      let h = 2166136261;
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
      h >>>= 0;
      v[h % this.dim]! += h & 0x80000000 ? -1 : 1;
    }
    const norm = Math.hypot(...v);
    return norm === 0 ? v : v.map((x) => x / norm);
  }

  async embed(texts: readonly string[], kind: 'query' | 'passage'): Promise<Float32Array[]> {
    this.calls++;
    if (kind === 'passage') this.passagesSeen.push(...texts);
    await new Promise((resolve) => setImmediate(resolve)); // a real embedder yields to the event loop
    return texts.map((t) => this.vectorOf(t));
  }
}

class RecordingLogger implements IndexLogger {
  readonly warnings: string[] = [];
  readonly infos: string[] = [];
  warn(message: string): void {
    this.warnings.push(message);
  }
  info(message: string): void {
    this.infos.push(message);
  }
}

let tmp: ReturnType<typeof tempDir>;
let home: string;
let store: Store;
let sourceId: number;

beforeEach(() => {
  tmp = tempDir('indexer');
  home = join(tmp.dir, 'home');
  store = new Store(join(home, 'sieve.db'));
  sourceId = store.upsertSource({ path: '/corpus.jsonl', root: '/', contentHash: 'x', size: 1, mtimeMs: 0 });
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

/** Writes one document whose chunks are the given paragraphs; returns its id and chunk ids. */
function putDocument(uri: string, title: string, paragraphs: string[]): { documentId: number; chunkIds: number[] } {
  const text = paragraphs.join('\n\n');
  const doc: LoadedDocument = { uri, externalId: uri, title, text, kind: 'text', language: null, metadata: {}, blocks: [] };
  let offset = 0;
  const chunks: ChunkDraft[] = paragraphs.map((p, ordinal) => {
    const draft = { ordinal, text: p, headingPath: ordinal === 0 ? [] : ['Details'], tokenCount: p.split(' ').length, charStart: offset, charEnd: offset + p.length };
    offset += p.length + 2;
    return draft;
  });
  const documentId = store.replaceDocument(sourceId, doc, uri, 0, chunks);
  const rows = store.db.prepare(`SELECT id FROM chunks WHERE document_id = ? ORDER BY ordinal`).all(documentId) as Array<{ id: number }>;
  return { documentId, chunkIds: rows.map((r) => r.id) };
}

const TOPICS = [
  ['volcano', 'lava magma eruption crater ash basalt'],
  ['ocean', 'tide salt coral reef wave current'],
  ['forest', 'oak pine moss fern canopy timber'],
  ['desert', 'dune sand cactus arid mirage oasis'],
  ['glacier', 'ice crevasse moraine snowpack calving fjord'],
  ['city', 'street tram bridge plaza tower subway'],
] as const;

function seedCorpus(documentsPerTopic = 5): Map<string, number[]> {
  const byTopic = new Map<string, number[]>();
  for (const [topic, words] of TOPICS) {
    const ids: number[] = [];
    for (let d = 0; d < documentsPerTopic; d++) {
      const { chunkIds } = putDocument(`${topic}-${d}`, `${topic} notes ${d}`, [
        `${words} report number ${d}`,
        `${words.split(' ').reverse().join(' ')} appendix ${d}`,
      ]);
      ids.push(...chunkIds);
    }
    byTopic.set(topic, ids);
  }
  return byTopic;
}

describe('stored vectors', () => {
  it('encodes fp16 to within half precision and keeps special values', () => {
    const values = Float32Array.from([0, -0, 1, -1, 0.5, 0.1, -0.3333, 1e-5, 65504, 1e6, Number.NEGATIVE_INFINITY]);
    const back = decodeVector(encodeVector(values));
    expect(encodeVector(values)).toHaveLength(values.length * 2);
    for (let i = 0; i < 8; i++) expect(Math.abs(back[i]! - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) * 2 ** -11 + 2 ** -24);
    expect(back[8]).toBe(65504);
    expect(back[9]).toBe(Number.POSITIVE_INFINITY);
    expect(back[10]).toBe(Number.NEGATIVE_INFINITY);
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(Object.is(back[1], -0)).toBe(true);
  });

  it('lists missing chunks page by page, stores per embedder, and cascades with chunks', () => {
    const a = putDocument('a', 'Alpha', ['one two', 'three four', 'five six']);
    const b = putDocument('b', 'Beta', ['seven eight']);
    const all = [...a.chunkIds, ...b.chunkIds];
    expect(missingChunkIds(store, 'e1', 10)).toEqual(all);
    expect(missingChunkIds(store, 'e1', 2)).toEqual(all.slice(0, 2));
    expect(missingChunkIds(store, 'e1', 2, all[1])).toEqual(all.slice(2, 4));

    const unit = Float32Array.from([3, 4]);
    const written = putVectors(store, 'e1', [
      { chunkId: all[0]!, vector: unit },
      { chunkId: 999_999, vector: unit }, // no such chunk: skipped, not a failed batch
    ]);
    expect(written.map((w) => w.chunkId)).toEqual([all[0]]);
    expect(written[0]!.vector[0]).toBeCloseTo(0.6, 3); // stored at unit length
    expect(missingChunkIds(store, 'e1', 10)).toEqual(all.slice(1));
    expect(missingChunkIds(store, 'e2', 10)).toEqual(all);

    putVectors(store, 'e1', all.slice(1).map((chunkId) => ({ chunkId, vector: unit })));
    putVectors(store, 'e2', [{ chunkId: all[0]!, vector: Float32Array.from([0, 1]) }]);
    expect(vectorCount(store, 'e1')).toBe(4);
    expect(readVectors(store, 'e2').get(all[0]!)).toEqual(Float32Array.from([0, 1]));
    expect([...readVectors(store, 'e1', [all[3]!, 12345]).keys()]).toEqual([all[3]]);
    expect(storedEmbedders(store)).toEqual([
      { embedder: 'e1', count: 4 },
      { embedder: 'e2', count: 1 },
    ]);

    store.deleteDocument(a.documentId);
    expect(vectorChunkIds(store, 'e1')).toEqual(b.chunkIds);
    expect(vectorCount(store, 'e2')).toBe(0);
    expect(deleteVectorsFor(store, 'e1')).toBe(1);
    expect(vectorCount(store, 'e1')).toBe(0);
  });

  it('embeds the heading (title › sections) with the text', () => {
    const { chunkIds } = putDocument('h', 'Harbour guide', ['Boats dock here.', 'Fees apply.']);
    expect(passageTexts(store, chunkIds).map((p) => p.text)).toEqual(['Harbour guide\nBoats dock here.', 'Harbour guide › Details\nFees apply.']);
  });
});

describe('VectorIndexer', () => {
  it('embeds every chunk once, stores the vectors, and finds chunks by meaning of their words', async () => {
    const byTopic = seedCorpus();
    const embedder = new HashedBagOfWordsTestEmbedder();
    const indexer = await VectorIndexer.open(store, home, embedder);
    expect(indexer.opened.action).toBe('created');
    const progress: number[] = [];
    const summary = await indexer.sync({ batchSize: 7, onProgress: (p) => progress.push(p.embedded) });
    expect(summary).toMatchObject({ embedded: 60, removed: 0 });
    expect(embedder.calls).toBe(Math.ceil(60 / 7));
    expect(progress.at(-1)).toBe(60);
    expect(indexer.count).toBe(60);
    expect(vectorCount(store, embedder.version)).toBe(60);
    expect(embedder.passagesSeen[0]).toMatch(/^volcano notes 0\n/);

    const hits = indexer.search(embedder.vectorOf('magma eruption crater'), 10);
    expect(hits).toHaveLength(10);
    expect(hits.every((h) => byTopic.get('volcano')!.includes(h.chunkId))).toBe(true);
    expect(hits[0]!.score).toBeGreaterThan(hits[9]!.score);

    // Nothing new: nothing embedded, nothing written.
    const again = await indexer.sync();
    expect(again).toMatchObject({ embedded: 0, removed: 0 });
    expect(embedder.calls).toBe(Math.ceil(60 / 7));
    indexer.close();
    expect(() => indexer.search(embedder.vectorOf('x'), 1)).toThrow(/closed/);
  });

  it('indexes added chunks and hides deleted ones on the next sync', async () => {
    seedCorpus(2);
    const embedder = new HashedBagOfWordsTestEmbedder();
    const indexer = await VectorIndexer.open(store, home, embedder);
    await indexer.sync();
    expect(indexer.count).toBe(24);

    const added = putDocument('comet', 'comet notes', ['comet nucleus coma tail perihelion orbit']);
    const gone = putDocument('gone', 'old notes', ['quasar pulsar nebula', 'quasar redshift']);
    await indexer.sync();
    const deletedIds = gone.chunkIds;
    store.deleteDocument(gone.documentId);
    // An edit replaces a document's chunks with new ids.
    const before = store.db.prepare(`SELECT c.id AS id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.uri = 'ocean-0'`).all() as Array<{ id: number }>;
    const edited = putDocument('ocean-0', 'ocean notes 0', ['kelp seaweed lagoon estuary']);

    const summary = await indexer.sync();
    expect(summary.embedded).toBe(1);
    expect(summary.removed).toBe(deletedIds.length + before.length);
    expect(indexer.count).toBe(24 + 1 - before.length + 1);

    const everything = indexer.search(embedder.vectorOf('quasar pulsar nebula redshift'), 100).map((h) => h.chunkId);
    for (const id of [...deletedIds, ...before.map((r) => r.id)]) expect(everything).not.toContain(id);
    expect(indexer.search(embedder.vectorOf('comet nucleus tail'), 1)[0]?.chunkId).toBe(added.chunkIds[0]);
    expect(indexer.search(embedder.vectorOf('kelp lagoon'), 1)[0]?.chunkId).toBe(edited.chunkIds[0]);
    indexer.close();
  });

  it('reopens the saved index without embedding anything', async () => {
    seedCorpus(3);
    const first = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder());
    await first.sync();
    const probe = new HashedBagOfWordsTestEmbedder().vectorOf('dune cactus oasis');
    const expected = first.search(probe, 8);
    first.close();

    const embedder = new HashedBagOfWordsTestEmbedder();
    const second = await VectorIndexer.open(store, home, embedder);
    expect(second.opened).toEqual({ action: 'loaded' });
    expect(second.search(probe, 8)).toEqual(expected);
    expect(await second.sync()).toMatchObject({ embedded: 0, removed: 0 });
    expect(embedder.calls).toBe(0);
    second.close();
  });

  it('rebuilds a corrupted index from stored vectors, says why, and answers the same', async () => {
    seedCorpus(3);
    const first = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder());
    await first.sync();
    const probes = ['lava basalt', 'tram subway bridge', 'moss fern', 'calving fjord ice'].map((t) => new HashedBagOfWordsTestEmbedder().vectorOf(t));
    const expected = probes.map((p) => first.search(p, 10));
    first.close();

    const binPath = join(indexDir(home, 'test-bow-v1'), INDEX_FILE);
    const bytes = readFileSync(binPath);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0x5a;
    writeFileSync(binPath, bytes);

    const embedder = new HashedBagOfWordsTestEmbedder();
    const logger = new RecordingLogger();
    const rebuilt = await VectorIndexer.open(store, home, embedder, { logger });
    expect(rebuilt.opened.action).toBe('rebuilt');
    expect(rebuilt.opened.reason).toMatch(/checksum/);
    expect(logger.warnings.join('\n')).toMatch(/rebuilding.*checksum/);
    expect(embedder.calls).toBe(0);
    expect(rebuilt.count).toBe(36);
    probes.forEach((p, i) => expect(rebuilt.search(p, 10)).toEqual(expected[i]));
    rebuilt.close();

    // The rebuild was saved: the next open loads it.
    const third = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder());
    expect(third.opened.action).toBe('loaded');
    third.close();
  });

  it('rebuilds when the manifest is invalid, the file is missing, or the index belongs to another store', async () => {
    seedCorpus(3);
    const first = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder());
    await first.sync();
    first.close();
    const dir = indexDir(home, 'test-bow-v1');

    writeFileSync(join(dir, MANIFEST_FILE), '{"format":1}');
    let indexer = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder());
    expect(indexer.opened).toMatchObject({ action: 'rebuilt', reason: expect.stringMatching(/manifest.json is invalid/) });
    indexer.close();

    rmSync(join(dir, INDEX_FILE));
    rmSync(join(dir, MANIFEST_FILE));
    indexer = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder());
    expect(indexer.opened).toMatchObject({ action: 'rebuilt', reason: 'no index on disk' });
    expect(indexer.count).toBe(36);
    indexer.close();

    // A well-formed index of the same embedder version built over a different store.
    const otherHome = join(tmp.dir, 'other');
    const other = new Store(join(otherHome, 'sieve.db'));
    const otherSource = other.upsertSource({ path: '/o', root: '/', contentHash: 'o', size: 1, mtimeMs: 0 });
    for (let d = 0; d < 200; d++) {
      other.replaceDocument(
        otherSource,
        { uri: `o${d}`, externalId: null, title: `t${d}`, text: `alien text ${d}`, kind: 'text', language: null, metadata: {}, blocks: [] },
        `h${d}`,
        0,
        [{ ordinal: 0, text: `alien text ${d} zebra ${d % 7}`, headingPath: [], tokenCount: 3, charStart: 0, charEnd: 10 }],
      );
    }
    const foreign = await VectorIndexer.open(other, otherHome, new HashedBagOfWordsTestEmbedder());
    await foreign.sync();
    foreign.close();
    other.close();
    const otherDir = indexDir(otherHome, 'test-bow-v1');
    copyFileSync(join(otherDir, INDEX_FILE), join(dir, INDEX_FILE));
    copyFileSync(join(otherDir, MANIFEST_FILE), join(dir, MANIFEST_FILE));
    const embedder = new HashedBagOfWordsTestEmbedder();
    indexer = await VectorIndexer.open(store, home, embedder);
    expect(indexer.opened.action).toBe('rebuilt');
    expect(indexer.count).toBe(36);
    expect(embedder.calls).toBe(0);
    const volcano = indexer.search(embedder.vectorOf('lava magma'), 1)[0]!;
    expect(store.getChunks([volcano.chunkId]).get(volcano.chunkId)?.text).toMatch(/lava|magma/);
    indexer.close();
  });

  it('rebuilds when the index holds other vectors under the same labels', async () => {
    seedCorpus(2);
    const first = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder());
    await first.sync();
    first.close();
    // Same version, same chunks, different stored vectors (as if the version name had been reused).
    const ids = vectorChunkIds(store, 'test-bow-v1');
    const reused = new HashedBagOfWordsTestEmbedder('test-bow-v1', 64);
    putVectors(store, 'test-bow-v1', ids.map((chunkId) => ({ chunkId, vector: reused.vectorOf(`unrelated ${chunkId * 7919}`) })));
    const indexer = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder());
    expect(indexer.opened).toMatchObject({ action: 'rebuilt', reason: expect.stringMatching(/differs from the stored one/) });
    indexer.close();
  });

  it('catches up an index that is merely behind the store (crash after storing, ingest without sync)', async () => {
    seedCorpus(5);
    const embedder = new HashedBagOfWordsTestEmbedder();
    const first = await VectorIndexer.open(store, home, embedder);
    await first.sync();
    first.close();

    // Vectors stored but never indexed (the process died before saving), and a document deleted without a sync.
    const late = putDocument('late', 'late notes', ['meteor shower fireball']);
    putVectors(store, embedder.version, [{ chunkId: late.chunkIds[0]!, vector: embedder.vectorOf('late notes\nmeteor shower fireball') }]);
    const removedDoc = store.db.prepare(`SELECT id FROM documents WHERE uri = 'city-1'`).get() as { id: number };
    const removedChunks = (store.db.prepare(`SELECT id FROM chunks WHERE document_id = ?`).all(removedDoc.id) as Array<{ id: number }>).map((r) => r.id);
    store.deleteDocument(removedDoc.id);

    const logger = new RecordingLogger();
    const fresh = new HashedBagOfWordsTestEmbedder();
    const indexer = await VectorIndexer.open(store, home, fresh, { logger });
    expect(indexer.opened.action).toBe('caught-up');
    expect(logger.infos.join('\n')).toMatch(/2 gone, 1 not indexed/);
    expect(fresh.calls).toBe(0);
    expect(indexer.count).toBe(60 - 2 + 1);
    expect(indexer.search(embedder.vectorOf('meteor fireball'), 1)[0]?.chunkId).toBe(late.chunkIds[0]);
    const all = indexer.search(embedder.vectorOf('street tram bridge'), 100).map((h) => h.chunkId);
    for (const id of removedChunks) expect(all).not.toContain(id);
    indexer.close();
  });

  it('runs concurrent syncs one after another without embedding a chunk twice', async () => {
    seedCorpus(3);
    const embedder = new HashedBagOfWordsTestEmbedder();
    const indexer = await VectorIndexer.open(store, home, embedder);
    const [a, b] = await Promise.all([indexer.sync({ batchSize: 5 }), indexer.sync({ batchSize: 5 })]);
    expect(a.embedded + b.embedded).toBe(36);
    expect(embedder.passagesSeen).toHaveLength(36);
    expect(indexer.count).toBe(36);
    indexer.close();
  });

  it('refuses an embedder that breaks its contract', async () => {
    seedCorpus(1);
    const liar: Embedder = { version: 'liar', dim: 8, embed: async (texts) => texts.map(() => new Float32Array(4)) };
    const indexer = await VectorIndexer.open(store, home, liar);
    await expect(indexer.sync()).rejects.toThrow(/4-d vector, it declares 8/);
    expect(vectorCount(store, 'liar')).toBe(0);
    const short: Embedder = { version: 'short', dim: 8, embed: async () => [] };
    await expect((await VectorIndexer.open(store, home, short)).sync()).rejects.toThrow(/returned 0 vectors/);
  });

  it('keeps one index per embedder version', async () => {
    seedCorpus(1);
    const v1 = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder('v1', 32));
    const v2 = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder('v2', 16));
    await v1.sync();
    await v2.sync();
    expect(v1.dir).not.toBe(v2.dir);
    expect(v1.count).toBe(12);
    expect(v2.count).toBe(12);
    expect(() => v2.search(new Float32Array(32), 3)).toThrow(/dimension/);
    v1.close();
    v2.close();
    deleteVectorsFor(store, 'v1');
    const reopened = await VectorIndexer.open(store, home, new HashedBagOfWordsTestEmbedder('v1', 32));
    // Its vectors were retired: every saved point is gone from the store, so all are hidden.
    expect(reopened.opened).toMatchObject({ action: 'caught-up', reason: expect.stringMatching(/12 gone/) });
    expect(reopened.count).toBe(0);
    reopened.close();
  });
});

describe('DenseRetriever', () => {
  it('turns nearest neighbours into ranked candidates, and does nothing without a query embedding', async () => {
    seedCorpus(2);
    const embedder = new HashedBagOfWordsTestEmbedder();
    const indexer = await VectorIndexer.open(store, home, embedder);
    await indexer.sync();
    const retriever = new DenseRetriever(indexer);
    expect(retriever.name).toBe('dense');
    expect(retriever.retrieve({ text: 'ice', terms: ['ice'] }, 10)).toEqual([]);

    const embedding = embedder.vectorOf('ice crevasse moraine');
    const candidates = retriever.retrieve({ text: 'ice crevasse moraine', terms: ['ice', 'crevasse', 'moraine'], embedding }, 5);
    expect(candidates).toHaveLength(5);
    expect(candidates.map((c) => c.ranks.dense)).toEqual([1, 2, 3, 4, 5]);
    const scores = candidates.map((c) => c.scores.dense!);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(candidates[0]).toEqual({ chunkId: indexer.search(embedding, 1)[0]!.chunkId, scores: { dense: scores[0] }, ranks: { dense: 1 } });
    expect(store.getChunks([candidates[0]!.chunkId]).get(candidates[0]!.chunkId)?.title).toMatch(/glacier/);
    indexer.close();
  });
});

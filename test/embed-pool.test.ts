// The bulk embedder: worker threads running the shipped embedder give exactly the calling thread's vectors, in order,
// and the indexer stores them as it would its own.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedEmbedderDir } from '../src/engine.js';
import { VectorIndexer } from '../src/embed/indexer.js';
import { OnnxEmbedder } from '../src/embed/onnx-embedder.js';
import { EmbedderPool } from '../src/embed/pool.js';
import { readVectors } from '../src/embed/vectors.js';
import { Store } from '../src/store/store.js';
import type { ChunkDraft, LoadedDocument } from '../src/types.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('embed-pool');
const model = shippedEmbedderDir()!;
const cacheDir = join(tmp.dir, 'cache');
let single: OnnxEmbedder;
let pool: EmbedderPool;

/** Texts of every length bucket, from one word to past the largest bucket, and non-ASCII. */
const TEXTS = Array.from({ length: 23 }, (_, i) => {
  const words = Array.from({ length: 1 + i * 13 }, (_, j) => ['protein', 'binding', 'cells', 'mutation', 'Zürich', '蛋白', 'tumour', 'dose'][(i + j) % 8]);
  return `${words.join(' ')} ${i}`;
});

beforeAll(async () => {
  single = await OnnxEmbedder.load(model, { cacheDir, intraOpThreads: 1 });
  pool = await EmbedderPool.open({ dir: model, cacheDir, size: 2, jobSize: 3 });
}, 60_000);
afterAll(async () => {
  await single.close();
  await pool.close();
  tmp.cleanup();
});

describe('EmbedderPool', () => {
  it('gives the calling thread’s vectors exactly, in order, across jobs and workers', async () => {
    expect(pool.size).toBe(2);
    expect(pool.version).toBe(single.version);
    expect(pool.dim).toBe(single.dim);
    const expected = await single.embed(TEXTS, 'passage');
    // Two overlapping calls share the queue and still get their own texts back.
    const [a, b] = await Promise.all([pool.embed(TEXTS, 'passage'), pool.embed(TEXTS.slice(5, 9), 'query')]);
    expect(a).toHaveLength(TEXTS.length);
    a.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(expected[i]!)));
    b.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(expected[5 + i]!)));
    expect(await pool.embed([], 'passage')).toEqual([]);
  });

  it('refuses to start on a folder without a model, naming it', async () => {
    await expect(EmbedderPool.open({ dir: join(tmp.dir, 'nothing'), cacheDir, size: 1 })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });

  it('feeds an indexer sync: the stored vectors are those of a sync on the calling thread', async () => {
    const stores = ['pool', 'single'].map((name) => new Store(join(tmp.dir, name, 'sieve.db')));
    try {
      for (const store of stores) {
        const source = store.upsertSource({ path: '/c.jsonl', root: '/', contentHash: 'x', size: 1, mtimeMs: 0 });
        TEXTS.forEach((text, i) => {
          const doc: LoadedDocument = { uri: `d${i}`, externalId: `d${i}`, title: `Doc ${i}`, text, kind: 'text', language: null, metadata: {}, blocks: [] };
          const chunk: ChunkDraft = { ordinal: 0, text, headingPath: [], tokenCount: 1, charStart: 0, charEnd: text.length };
          store.replaceDocument(source, doc, `d${i}`, 0, [chunk]);
        });
      }
      const [viaPool, viaSingle] = await Promise.all(
        stores.map((store, i) => VectorIndexer.open(store, join(tmp.dir, i === 0 ? 'pool' : 'single'), single)),
      );
      expect(viaPool!.pending).toBe(TEXTS.length);
      const summary = await viaPool!.sync({ embedWith: pool, batchSize: 10 });
      expect(summary.embedded).toBe(TEXTS.length);
      expect(viaPool!.pending).toBe(0);
      await viaSingle!.sync();
      const a = readVectors(stores[0]!, single.version);
      const b = readVectors(stores[1]!, single.version);
      expect(a.size).toBe(TEXTS.length);
      for (const [id, v] of a) expect(Array.from(v)).toEqual(Array.from(b.get(id)!));
      expect(viaPool!.count).toBe(TEXTS.length);
      // An embedder of another version would index vectors the queries cannot be compared with.
      const other = { version: 'other', dim: single.dim, embed: pool.embed.bind(pool) };
      await expect(viaPool!.sync({ embedWith: other })).rejects.toMatchObject({ code: 'INTERNAL' });
      viaPool!.close();
      viaSingle!.close();
    } finally {
      for (const s of stores) s.close();
    }
  }, 60_000);

  it('rejects work after close', async () => {
    const closing = await EmbedderPool.open({ dir: model, cacheDir, size: 1 });
    await closing.close();
    await expect(closing.embed(['text'], 'query')).rejects.toMatchObject({ code: 'INTERNAL' });
  }, 60_000);
});

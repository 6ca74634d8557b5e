import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_HNSW_PARAMS,
  EXACT_SCOPE_MAX,
  ExactSearch,
  HnswIndex,
  INDEX_FILE,
  MANIFEST_FILE,
  indexDir,
  measureRecall,
  readManifest,
} from '../src/embed/hnsw.js';
import { SeededRandom } from '../src/util/random.js';
import { tempDir } from './helpers/tmp.js';

/** Standard normal draws (Box–Muller) from a seeded stream: isotropic vectors, the hardest case for a graph index. */
function gaussianVectors(random: SeededRandom, count: number, dim: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let n = 0; n < count; n++) {
    const v = new Float32Array(dim);
    for (let i = 0; i < dim; i++) v[i] = Math.sqrt(-2 * Math.log(1 - random.nextFloat())) * Math.cos(2 * Math.PI * random.nextFloat());
    out.push(v);
  }
  return out;
}

function normalised(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** An index holding `vectors` as labels 1…n (room for all of them), and the same vectors by label. */
function indexed(vectors: readonly Float32Array[]): { index: HnswIndex; byId: Map<number, Float32Array> } {
  const index = HnswIndex.create(vectors[0]!.length, {}, vectors.length);
  const byId = new Map<number, Float32Array>();
  vectors.forEach((v, i) => {
    index.add(i + 1, v);
    byId.set(i + 1, v);
  });
  return { index, byId };
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('hnsw');
});
afterEach(() => tmp.cleanup());

describe('HNSW recall', () => {
  it('finds ≥ 98% of the exact top 10 on 3000 random 256-d vectors with default parameters', () => {
    const random = new SeededRandom(7);
    const vectors = gaussianVectors(random, 3000, 256);
    const queries = gaussianVectors(random, 100, 256);
    const { index, byId } = indexed(vectors);
    const report = measureRecall(index, byId, queries, 10);
    expect(report.queries).toBe(100);
    expect(report.recall).toBeGreaterThanOrEqual(0.98);
    // The exact search agrees with itself, and scores are cosines.
    expect(measureRecall(new ExactSearch(byId), byId, queries, 10).recall).toBe(1);
    const top = index.search(queries[0]!, 10);
    const exactTop = new ExactSearch(byId).search(queries[0]!, 10);
    expect(top[0]!.score).toBeCloseTo(exactTop[0]!.score, 4);
    for (let i = 1; i < top.length; i++) expect(top[i]!.score).toBeLessThanOrEqual(top[i - 1]!.score);
  });

  it('measureRecall reports a poor index as poor', () => {
    const random = new SeededRandom(3);
    const vectors = new Map(gaussianVectors(random, 200, 32).map((v, i) => [i + 1, v] as const));
    const queries = gaussianVectors(random, 20, 32);
    // Always answers the same ten ids: right only by accident.
    const fixed = { search: (_v: Float32Array, k: number) => Array.from({ length: k }, (_, i) => ({ chunkId: i + 1, score: 0 })) };
    const report = measureRecall(fixed, vectors, queries, 10);
    expect(report.recall).toBeLessThan(0.3);
    expect(report.minRecall).toBeLessThanOrEqual(report.recall);
  });

  it('counts a returned duplicate of the k-th vector as a hit', () => {
    const a = Float32Array.from([1, 0, 0]);
    const vectors = new Map([
      [1, a],
      [2, Float32Array.from([0, 1, 0])],
      [3, Float32Array.from(a)], // exact duplicate of 1
    ]);
    const returnsDuplicate = { search: () => [{ chunkId: 3, score: 1 }] };
    expect(measureRecall(returnsDuplicate, vectors, [a], 1).recall).toBe(1);
  });
});

describe('HnswIndex', () => {
  it('grows past its capacity without losing a point', () => {
    const random = new SeededRandom(11);
    const vectors = gaussianVectors(random, 2600, 16);
    const index = HnswIndex.create(16);
    const initial = index.capacity;
    vectors.forEach((v, i) => index.add(i + 1, v));
    expect(index.capacity).toBeGreaterThan(initial);
    expect(index.capacity).toBeGreaterThanOrEqual(2600);
    expect(index.count).toBe(2600);
    vectors.forEach((v, i) => {
      const stored = index.vectorOf(i + 1);
      expect(stored).toBeDefined();
      const expected = normalised(v);
      for (let j = 0; j < 16; j++) expect(stored![j]).toBeCloseTo(expected[j]!, 5);
    });
    // Every point is still reachable: each is its own nearest neighbour.
    let self = 0;
    vectors.forEach((v, i) => {
      if (index.search(v, 1)[0]?.chunkId === i + 1) self++;
    });
    expect(self).toBe(2600);
  });

  it('hides a deleted point, reuses its slot, and can bring a label back', () => {
    const random = new SeededRandom(5);
    const vectors = gaussianVectors(random, 50, 8);
    const index = HnswIndex.create(8);
    vectors.forEach((v, i) => index.add(i + 1, v));
    expect(index.search(vectors[9]!, 1)[0]?.chunkId).toBe(10);

    expect(index.remove(10)).toBe(true);
    expect(index.remove(10)).toBe(false);
    expect(index.has(10)).toBe(false);
    expect(index.count).toBe(49);
    expect(index.deletedCount).toBe(1);
    expect(index.search(vectors[9]!, 50).map((h) => h.chunkId)).not.toContain(10);
    expect(index.search(vectors[9]!, 50)).toHaveLength(49);

    // A new label takes the deleted slot: no growth, no deleted slot left.
    const extra = gaussianVectors(random, 1, 8)[0]!;
    index.add(1000, extra);
    expect(index.deletedCount).toBe(0);
    expect(index.search(extra, 1)[0]?.chunkId).toBe(1000);
    expect(index.search(vectors[9]!, 60).map((h) => h.chunkId)).not.toContain(10);

    // Removing then re-adding a label that still owns its slot updates it in place.
    index.remove(20);
    index.add(20, vectors[19]!);
    expect(index.has(20)).toBe(true);
    expect(index.deletedCount).toBe(0);
    expect(index.search(vectors[19]!, 1)[0]?.chunkId).toBe(20);
    const labels = [...index.labels()];
    expect(new Set(labels).size).toBe(labels.length);
    expect(index.count).toBe(50);
  });

  it('replaces the vector of a live label instead of duplicating it', () => {
    const index = HnswIndex.create(3);
    index.add(1, [1, 0, 0]);
    index.add(2, [0, 1, 0]);
    index.add(1, [0, 0, 1]);
    expect(index.count).toBe(2);
    expect(index.search([0, 0, 1], 2).map((h) => h.chunkId)).toEqual([1, 2]);
    expect(index.search([0, 0, 1], 1)[0]!.score).toBeCloseTo(1, 6);
  });

  it('searches within a scope of labels: the exact top k of the allowed, deleted ones left out', () => {
    const random = new SeededRandom(11);
    const vectors = gaussianVectors(random, 2000, 32);
    const { index, byId } = indexed(vectors);
    const allowed = new Set(Array.from({ length: 60 }, (_, i) => 1 + i * 33)); // 60 labels scattered over the graph
    index.remove(1 + 5 * 33);
    const exact = new ExactSearch(new Map([...byId].filter(([id]) => id !== 1 + 5 * 33)));
    for (const query of gaussianVectors(random, 20, 32)) {
      const hits = index.search(query, 10, allowed);
      expect(hits).toHaveLength(10);
      for (const h of hits) expect(allowed.has(h.chunkId)).toBe(true);
      expect(hits.map((h) => h.chunkId)).toEqual(exact.search(query, 10, allowed).map((h) => h.chunkId));
    }
    // Fewer live labels in the scope than asked for: all of them, not an error (hnswlib refuses to come up short).
    const tiny = new Set([1 + 5 * 33, 34, 67]);
    expect(new Set(index.search(vectors[0]!, 10, tiny).map((h) => h.chunkId))).toEqual(new Set([34, 67]));
    expect(index.search(vectors[0]!, 10, new Set([1 + 5 * 33, 999_999]))).toEqual([]);
    // Above EXACT_SCOPE_MAX the graph is searched with a filter: the same answers on this data.
    const large = new Set(Array.from({ length: EXACT_SCOPE_MAX + 200 }, (_, i) => 1 + i * 2));
    let found = 0;
    const queries = gaussianVectors(random, 20, 32);
    for (const query of queries) {
      const hits = index.search(query, 10, large);
      for (const h of hits) expect(large.has(h.chunkId)).toBe(true);
      const truth = new Set(exact.search(query, 10, large).map((h) => h.chunkId));
      found += hits.filter((h) => truth.has(h.chunkId)).length;
    }
    expect(found / (10 * queries.length)).toBeGreaterThanOrEqual(0.98);
  });

  it('scores a small scope exactly as the graph does, and sees points added to it later', () => {
    const random = new SeededRandom(12);
    const vectors = gaussianVectors(random, 300, 16);
    const index = HnswIndex.create(16);
    vectors.forEach((v, i) => index.add(i + 1, v));
    const query = gaussianVectors(random, 1, 16)[0]!;
    const unscoped = new Map(index.search(query, 300).map((h) => [h.chunkId, h.score]));
    const scope = new Set([3, 30, 300, 301]);
    const scoped = index.search(query, 10, scope); // 301 is not in the index yet
    expect(scoped.map((h) => h.chunkId).sort((a, b) => a - b)).toEqual([3, 30, 300]);
    for (const h of scoped) expect(h.score).toBeCloseTo(unscoped.get(h.chunkId)!, 6);
    for (let i = 1; i < scoped.length; i++) expect(scoped[i]!.score).toBeLessThanOrEqual(scoped[i - 1]!.score);
    // The same scope object again, after the index changed: the new point is found, the removed one is not.
    index.add(301, query);
    index.remove(30);
    const again = index.search(query, 10, scope);
    expect(again[0]).toEqual({ chunkId: 301, score: expect.closeTo(1, 5) });
    expect(again.map((h) => h.chunkId).sort((a, b) => a - b)).toEqual([3, 300, 301]);
  });

  it('answers an empty index with nothing, and k larger than the index with everything', () => {
    const index = HnswIndex.create(4);
    expect(index.search([1, 0, 0, 0], 10)).toEqual([]);
    index.add(7, [1, 0, 0, 0]);
    index.add(8, [0, 1, 0, 0]);
    expect(index.search([1, 0, 0, 0], 5000).map((h) => h.chunkId)).toEqual([7, 8]);
    expect(index.search([1, 0, 0, 0], 0)).toEqual([]);
  });

  it('refuses vectors of the wrong dimension and non-finite values', () => {
    const index = HnswIndex.create(4);
    expect(() => index.add(1, [1, 0, 0])).toThrow(/dimension/);
    expect(() => index.add(1, [1, 0, Number.NaN, 0])).toThrow(/non-finite/);
    expect(() => index.add(-1, [1, 0, 0, 0])).toThrow(/label/);
    index.add(1, [1, 0, 0, 0]);
    expect(() => index.search([1, 0], 1)).toThrow(/dimension/);
  });
});

describe('index files', () => {
  function builtIndex(): { index: HnswIndex; vectors: Float32Array[] } {
    const random = new SeededRandom(21);
    const vectors = gaussianVectors(random, 300, 32);
    const index = HnswIndex.create(32, { efSearch: 64 });
    vectors.forEach((v, i) => index.add(i + 1, v));
    index.remove(5);
    index.remove(6);
    return { index, vectors };
  }

  it('round-trips through save and load: same answers, same deletions, same parameters', () => {
    const { index, vectors } = builtIndex();
    const dir = join(tmp.dir, 'idx');
    const manifest = index.save(dir, 'emb-v1');
    expect(manifest).toMatchObject({ embedder: 'emb-v1', dim: 32, count: 298, deletedLabels: [5, 6], space: 'cosine' });
    expect(manifest.params.efSearch).toBe(64);

    const loaded = HnswIndex.load(dir, { embedder: 'emb-v1', dim: 32 });
    if (!loaded.ok) throw new Error(loaded.reason);
    const again = loaded.index;
    expect(again.count).toBe(298);
    expect(again.has(5)).toBe(false);
    expect(again.params).toEqual(index.params);
    for (const q of vectors.slice(0, 20)) expect(again.search(q, 10)).toEqual(index.search(q, 10));
    expect(again.search(vectors[4]!, 300).map((h) => h.chunkId)).not.toContain(5);
    // Deleted labels loaded from the manifest can be brought back in place.
    again.add(5, vectors[4]!);
    expect(again.search(vectors[4]!, 1)[0]?.chunkId).toBe(5);
    expect(again.deletedCount).toBe(1);
  });

  it('saves and loads an empty index', () => {
    const dir = join(tmp.dir, 'empty');
    HnswIndex.create(8).save(dir, 'e');
    const loaded = HnswIndex.load(dir, { embedder: 'e', dim: 8 });
    expect(loaded.ok && loaded.index.count).toBe(0);
  });

  it('refuses a missing, mismatched, tampered or truncated index, saying why', () => {
    const { index } = builtIndex();
    const dir = join(tmp.dir, 'idx');
    expect(HnswIndex.load(dir, { embedder: 'emb-v1', dim: 32 })).toMatchObject({ ok: false, missing: true });

    index.save(dir, 'emb-v1');
    expect(HnswIndex.load(dir, { embedder: 'emb-v2', dim: 32 })).toMatchObject({ ok: false, reason: expect.stringMatching(/emb-v1/) });
    expect(HnswIndex.load(dir, { embedder: 'emb-v1', dim: 64 })).toMatchObject({ ok: false, reason: expect.stringMatching(/dimension/) });

    const binPath = join(dir, INDEX_FILE);
    const bin = readFileSync(binPath);
    const flipped = Buffer.from(bin);
    const middle = Math.floor(bin.length / 2);
    flipped[middle] = flipped[middle]! ^ 0xff;
    writeFileSync(binPath, flipped);
    expect(HnswIndex.load(dir, { embedder: 'emb-v1', dim: 32 })).toMatchObject({ ok: false, reason: expect.stringMatching(/checksum/) });

    // A truncated file whose manifest was (wrongly) made to match: hnswlib's own check refuses it, no crash.
    const truncated = bin.subarray(0, Math.floor(bin.length / 2));
    writeFileSync(binPath, truncated);
    const manifestPath = join(dir, MANIFEST_FILE);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    manifest.file = { name: INDEX_FILE, bytes: truncated.length, sha256: createHash('sha256').update(truncated).digest('hex') };
    writeFileSync(manifestPath, JSON.stringify(manifest));
    expect(HnswIndex.load(dir, { embedder: 'emb-v1', dim: 32 })).toMatchObject({ ok: false, reason: expect.stringMatching(/hnswlib/) });
  });

  it('validates the manifest', () => {
    const { index } = builtIndex();
    const dir = join(tmp.dir, 'idx');
    index.save(dir, 'emb-v1');
    const manifestPath = join(dir, MANIFEST_FILE);
    const good = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    expect(readManifest(manifestPath).ok).toBe(true);

    const cases: Array<[string, string]> = [
      ['not json {', 'not readable JSON'],
      [JSON.stringify({ ...good, format: 2 }), 'format'],
      [JSON.stringify({ ...good, dim: -1 }), 'dim'],
      [JSON.stringify({ ...good, file: { ...(good.file as object), sha256: 'xyz' } }), 'file.sha256'],
      [JSON.stringify({ ...good, writtenAt: 'yesterday' }), 'writtenAt'],
      [JSON.stringify({ ...good, count: 10 ** 9 }), 'capacity'],
      [JSON.stringify({ ...good, deletedLabels: [1.5] }), 'deletedLabels'],
    ];
    for (const [text, expected] of cases) {
      writeFileSync(manifestPath, text);
      const result = readManifest(manifestPath);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toContain(expected);
      expect(HnswIndex.load(dir, { embedder: 'emb-v1', dim: 32 }).ok).toBe(false);
    }
    // A manifest whose live count disagrees with the graph is refused after loading.
    writeFileSync(manifestPath, JSON.stringify({ ...good, count: (good.count as number) - 1 }));
    expect(HnswIndex.load(dir, { embedder: 'emb-v1', dim: 32 })).toMatchObject({ ok: false, reason: expect.stringMatching(/labels/) });
  });

  it('names index folders after the version, safely', () => {
    expect(indexDir('/h', 'conv1d-2024.1')).toBe(join('/h', 'indexes', 'conv1d-2024.1'));
    const odd = indexDir('/h', 'a/b:c');
    expect(odd.startsWith(join('/h', 'indexes', 'a_b_c-'))).toBe(true);
    expect(indexDir('/h', 'a/b:c')).not.toBe(indexDir('/h', 'a_b:c'));
    expect(indexDir('/h', '..')).not.toBe(join('/h', 'indexes', '..'));
    expect(DEFAULT_HNSW_PARAMS.efSearch).toBeGreaterThanOrEqual(10);
  });
});

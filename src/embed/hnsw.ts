// The HNSW index of one embedder version (hnswlib-node, cosine space, labels = chunk ids) and its files:
// `<home>/indexes/<version>/hnsw.bin` plus `manifest.json`, which names the version, dimension, parameters, the
// labels marked deleted, and the size and SHA-256 of hnsw.bin. Both are written to temp files and renamed; the
// hash ties the pair, so a crash between the two renames (or any damage) shows as a mismatch on load and the
// caller rebuilds from stored vectors. The hash is checked before hnswlib reads the file, because hnswlib trusts
// the sizes in its header.
//
// Removal is markDelete. New labels reuse deleted slots (allowReplaceDeleted), so an edit-heavy corpus does not grow
// the graph. hnswlib's replacement has one trap this class steers around: re-adding a label that is still in the
// graph as deleted must unmark and update it in place, never take another slot (that would leave two slots naming
// one label, and a later reuse of the stale one would unlink the live point).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import { z } from 'zod';
import { SieveError } from '../errors.js';

export interface HnswParams {
  /** Graph degree (level 0 keeps 2·m links). */
  m: number;
  /** Candidate list size while inserting: graph quality. */
  efConstruction: number;
  /** Candidate list size while searching (raised to k when k is larger): recall against latency. */
  efSearch: number;
  randomSeed: number;
}

/**
 * Chosen by measurement (dim 256, SciFact-sized corpus of ~5k vectors). On near-isotropic vectors — hashed
 * bag-of-words embeddings of SciFact, the hard case for any graph index, since a query's neighbours barely stand out
 * — recall@10 against exact search was: m 16/efC 200/ef 256: 0.951; m 32/efC 200/ef 256: 0.960; m 32/efC 400/ef
 * 256: 0.978, ef 512: 0.992; m 32/efC 800/ef 512: 0.995. Build quality (m, efConstruction) mattered more than ef;
 * m 64 gained nothing over 32. Structured (clustered) vectors reached 1.0 at ef 32. ef 384 costs under a
 * millisecond a query at this size; efConstruction 400 builds ~1.4k vectors/s on one core, far faster than the
 * embedder produces them.
 */
export const DEFAULT_HNSW_PARAMS: Readonly<HnswParams> = Object.freeze({ m: 32, efConstruction: 400, efSearch: 384, randomSeed: 42 });

const MIN_CAPACITY = 1024;
const GROWTH = 1.5;
const MAX_LABEL = 0xffff_ffff; // hnswlib-node passes labels as uint32

/** One nearest neighbour: cosine similarity, higher is better. */
export interface VectorHit {
  chunkId: number;
  score: number;
}

export const INDEX_FILE = 'hnsw.bin';
export const MANIFEST_FILE = 'manifest.json';

export const indexManifestSchema = z.object({
  format: z.literal(1),
  embedder: z.string().min(1),
  dim: z.number().int().positive(),
  space: z.literal('cosine'),
  /** Live (searchable) labels. */
  count: z.number().int().nonnegative(),
  /** Labels still in the graph but marked deleted (hnswlib cannot list them, so they are recorded here). */
  deletedLabels: z.array(z.number().int().nonnegative().max(MAX_LABEL)),
  capacity: z.number().int().positive(),
  params: z.object({
    m: z.number().int().min(2).max(512),
    efConstruction: z.number().int().positive(),
    efSearch: z.number().int().positive(),
    randomSeed: z.number().int().nonnegative(),
  }),
  file: z.object({
    name: z.literal(INDEX_FILE),
    bytes: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  writtenAt: z.iso.datetime(),
});
export type IndexManifest = z.infer<typeof indexManifestSchema>;

/**
 * The folder of one embedder version's index. Versions are free text, so anything outside [A-Za-z0-9._-] is
 * replaced and a short hash of the exact version keeps two versions that differ only there apart.
 */
export function indexDir(home: string, embedderVersion: string): string {
  const safe = embedderVersion.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 80);
  const name = safe === embedderVersion && safe.length > 0 ? safe : `${safe}-${createHash('sha256').update(embedderVersion).digest('hex').slice(0, 8)}`;
  return join(home, 'indexes', name);
}

function checkVector(vector: ArrayLike<number>, dim: number, what: string): void {
  if (vector.length !== dim) throw new SieveError('INTERNAL', `${what} has dimension ${vector.length}, the index has ${dim}`);
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) throw new SieveError('INTERNAL', `${what} has a non-finite component at ${i}`);
  }
}

function checkLabel(label: number): void {
  if (!Number.isInteger(label) || label < 0 || label > MAX_LABEL) throw new SieveError('INTERNAL', `chunk id ${label} cannot be an HNSW label`);
}

function sha256OfFile(path: string): string {
  // Streamed in 1 MiB reads: an index can be far larger than is comfortable to hold twice.
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } catch {
    // Some platforms (directories on Windows) cannot fsync; the rename is still atomic.
  } finally {
    closeSync(fd);
  }
}

/** The outcome of loading an index from disk: the index, or why it cannot be used. */
export type LoadResult =
  | { ok: true; index: HnswIndex; manifest: IndexManifest }
  | { ok: false; missing: boolean; reason: string };

/** Scopes with at most this many live points are searched exactly (see HnswIndex.search). */
export const EXACT_SCOPE_MAX = 512;

export class HnswIndex {
  readonly dim: number;
  readonly params: Readonly<HnswParams>;
  private readonly native: hnswlib.HierarchicalNSW;
  /** Searchable labels. */
  private readonly live = new Set<number>();
  /**
   * Labels marked deleted that may still occupy a slot (a superset: hnswlib silently drops a label when a new one
   * takes its slot). Consulted only when a label is re-added; see the file comment.
   */
  private readonly maybeDeleted = new Set<number>();
  /** The ef native search was last set to (setEf is skipped when unchanged). */
  private currentEf = -1;
  /** Bumped by every add and remove, so vectors copied for a scope know when they went stale. */
  private mutations = 0;
  /**
   * A small scope's live labels and stored vectors, by the scope's set (the engine hands the same set back for a
   * scope it has resolved before), so repeated questions in one scope scan them without touching the graph.
   */
  private readonly scopeBlocks = new WeakMap<ReadonlySet<number>, { mutations: number; labels: Int32Array; vectors: Float32Array }>();
  private efSearchOverride: number | undefined;

  private constructor(dim: number, params: Readonly<HnswParams>, native: hnswlib.HierarchicalNSW) {
    this.dim = dim;
    this.params = params;
    this.native = native;
  }

  /** An empty index with room for `capacity` points before it first grows. */
  static create(dim: number, params: Partial<HnswParams> = {}, capacity = MIN_CAPACITY): HnswIndex {
    if (!Number.isInteger(dim) || dim < 1) throw new SieveError('INTERNAL', `index dimension must be a positive integer, got ${dim}`);
    const full: HnswParams = { ...DEFAULT_HNSW_PARAMS, ...params };
    const native = new hnswlib.HierarchicalNSW('cosine', dim);
    native.initIndex({
      maxElements: Math.max(MIN_CAPACITY, Math.ceil(capacity)),
      m: full.m,
      efConstruction: full.efConstruction,
      randomSeed: full.randomSeed,
      allowReplaceDeleted: true,
    });
    return new HnswIndex(dim, Object.freeze(full), native);
  }

  /** Loads the index in `dir` if its manifest is valid, matches what is expected, and matches the file. */
  static load(dir: string, expected: { embedder: string; dim: number }): LoadResult {
    const manifestPath = join(dir, MANIFEST_FILE);
    const binPath = join(dir, INDEX_FILE);
    if (!existsSync(manifestPath)) {
      return { ok: false, missing: true, reason: existsSync(binPath) ? `${MANIFEST_FILE} is missing` : 'no index on disk' };
    }
    const parsed = readManifest(manifestPath);
    if (!parsed.ok) return { ok: false, missing: false, reason: parsed.reason };
    const manifest = parsed.manifest;
    if (manifest.embedder !== expected.embedder) {
      return { ok: false, missing: false, reason: `index was built for embedder '${manifest.embedder}', not '${expected.embedder}'` };
    }
    if (manifest.dim !== expected.dim) {
      return { ok: false, missing: false, reason: `index has dimension ${manifest.dim}, the embedder ${expected.dim}` };
    }
    if (!existsSync(binPath)) return { ok: false, missing: false, reason: `${INDEX_FILE} is missing` };
    const bytes = statSync(binPath).size;
    if (bytes !== manifest.file.bytes) {
      return { ok: false, missing: false, reason: `${INDEX_FILE} has ${bytes} bytes, the manifest says ${manifest.file.bytes}` };
    }
    if (sha256OfFile(binPath) !== manifest.file.sha256) {
      return { ok: false, missing: false, reason: `${INDEX_FILE} does not match the manifest's checksum` };
    }
    const native = new hnswlib.HierarchicalNSW('cosine', manifest.dim);
    try {
      native.readIndexSync(binPath, true);
    } catch (err) {
      return { ok: false, missing: false, reason: `hnswlib cannot read ${INDEX_FILE}: ${(err as Error).message}` };
    }
    const ids = native.getIdsList();
    const deleted = new Set(manifest.deletedLabels);
    const problem =
      native.getNumDimensions() !== manifest.dim
        ? `hnswlib reports dimension ${native.getNumDimensions()}`
        : ids.length !== native.getCurrentCount()
          ? `graph has ${native.getCurrentCount()} slots but ${ids.length} labels`
          : ids.length !== manifest.count + deleted.size
            ? `graph has ${ids.length} labels, the manifest ${manifest.count} live + ${deleted.size} deleted`
            : undefined;
    if (problem) return { ok: false, missing: false, reason: problem };
    const index = new HnswIndex(manifest.dim, Object.freeze({ ...manifest.params }), native);
    for (const label of ids) {
      if (deleted.has(label)) index.maybeDeleted.add(label);
      else index.live.add(label);
    }
    if (index.live.size !== manifest.count) {
      return { ok: false, missing: false, reason: `manifest lists deleted labels that are not in the graph` };
    }
    return { ok: true, index, manifest };
  }

  /** Searchable points. */
  get count(): number {
    return this.live.size;
  }

  /** Slots allocated before the next growth. */
  get capacity(): number {
    return this.native.getMaxElements();
  }

  /** Slots held by deleted points (reused by the next additions). */
  get deletedCount(): number {
    return this.native.getCurrentCount() - this.live.size;
  }

  has(label: number): boolean {
    return this.live.has(label);
  }

  /** Live labels, in no particular order. */
  labels(): IterableIterator<number> {
    return this.live.values();
  }

  /** Adds a point, or replaces the vector of a label already present. Grows capacity as needed. */
  add(label: number, vector: ArrayLike<number>): void {
    checkLabel(label);
    checkVector(vector, this.dim, `vector for chunk ${label}`);
    this.mutations++;
    const point = Array.from(vector); // hnswlib-node takes plain arrays only
    if (this.live.has(label)) {
      this.native.addPoint(point, label, false); // in-place update of a live point
      return;
    }
    if (this.maybeDeleted.has(label)) {
      this.maybeDeleted.delete(label);
      let stillInGraph = true;
      try {
        this.native.unmarkDelete(label);
      } catch {
        stillInGraph = false; // its slot went to another label; it is a new label now
      }
      if (stillInGraph) {
        this.native.addPoint(point, label, false);
        this.live.add(label);
        return;
      }
    }
    if (this.deletedCount === 0 && this.native.getCurrentCount() >= this.native.getMaxElements()) {
      this.native.resizeIndex(Math.ceil(this.native.getMaxElements() * GROWTH));
    }
    this.native.addPoint(point, label, true);
    this.live.add(label);
  }

  /** Hides a point from search (markDelete); returns whether it was live. */
  remove(label: number): boolean {
    if (!this.live.has(label)) return false;
    this.mutations++;
    this.native.markDelete(label);
    this.live.delete(label);
    this.maybeDeleted.add(label);
    return true;
  }

  /** Exact cosine top k among the live labels of a small scope, scores as the graph search gives them. */
  private searchExactly(vector: ArrayLike<number>, k: number, allowed: ReadonlySet<number>): VectorHit[] {
    let block = this.scopeBlocks.get(allowed);
    if (!block || block.mutations !== this.mutations) {
      const labels = [...allowed].filter((label) => this.live.has(label));
      const vectors = new Float32Array(labels.length * this.dim);
      labels.forEach((label, i) => vectors.set(this.native.getPoint(label), i * this.dim)); // stored normalised
      block = { mutations: this.mutations, labels: Int32Array.from(labels), vectors };
      this.scopeBlocks.set(allowed, block);
    }
    let norm = 0;
    for (let j = 0; j < this.dim; j++) norm += vector[j]! * vector[j]!;
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const scored = Array.from(block.labels, (label, i) => {
      let dot = 0;
      const base = i * this.dim;
      for (let j = 0; j < this.dim; j++) dot += block.vectors[base + j]! * vector[j]!;
      return { chunkId: label, score: Math.fround(dot * inv) };
    });
    scored.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
    return scored.slice(0, Math.floor(k));
  }

  /** The stored (normalised, float32) vector of a live label. */
  vectorOf(label: number): Float32Array | undefined {
    if (!this.live.has(label)) return undefined;
    return Float32Array.from(this.native.getPoint(label));
  }

  /** Overrides the search candidate list size (for recall/latency sweeps); not persisted. */
  setEfSearch(ef: number): void {
    if (!Number.isInteger(ef) || ef < 1) throw new SieveError('INTERNAL', `efSearch must be a positive integer, got ${ef}`);
    this.efSearchOverride = ef;
  }

  /** The k nearest live points by cosine similarity, best first; with `allowed`, only among those labels. */
  search(vector: ArrayLike<number>, k: number, allowed?: ReadonlySet<number>): VectorHit[] {
    if (this.live.size === 0 || k < 1) return [];
    checkVector(vector, this.dim, 'query vector');
    let reachable = this.live.size;
    if (allowed) {
      // hnswlib refuses to return fewer than it was asked for, so ask for no more than the scope holds.
      reachable = 0;
      for (const label of allowed) if (this.live.has(label)) reachable++;
      if (reachable === 0) return [];
      // A filtered graph walk must pass most of the graph to find a few allowed points (measured: 42 ms for 10 of
      // 50,000); a small scope is scanned exactly instead, which is also exact.
      if (reachable <= EXACT_SCOPE_MAX) return this.searchExactly(vector, k, allowed);
    }
    const wanted = Math.min(Math.floor(k), reachable);
    const ef = Math.max(this.efSearchOverride ?? this.params.efSearch, wanted);
    if (ef !== this.currentEf) {
      this.native.setEf(ef);
      this.currentEf = ef;
    }
    const { neighbors, distances } = allowed
      ? this.native.searchKnn(Array.from(vector), wanted, (label: number) => allowed.has(label))
      : this.native.searchKnn(Array.from(vector), wanted);
    // hnswlib's cosine distance is 1 − cos of the normalised vectors.
    return neighbors.map((chunkId, i) => ({ chunkId, score: 1 - distances[i]! }));
  }

  /**
   * Writes hnsw.bin and manifest.json into `dir` (created if needed) via temp files and renames, so a crash leaves
   * the previous pair or the new one — or a mismatched pair that load() refuses — never a half-written file.
   */
  save(dir: string, embedder: string): IndexManifest {
    mkdirSync(dir, { recursive: true });
    const binPath = join(dir, INDEX_FILE);
    const manifestPath = join(dir, MANIFEST_FILE);
    const suffix = `.tmp-${process.pid}`;
    const binTemp = binPath + suffix;
    const manifestTemp = manifestPath + suffix;
    try {
      const ids = this.native.getIdsList();
      const deletedLabels = ids.filter((label) => !this.live.has(label)).sort((a, b) => a - b);
      if (ids.length - deletedLabels.length !== this.live.size) {
        throw new SieveError('INTERNAL', `HNSW graph lost track of live labels (${ids.length - deletedLabels.length} vs ${this.live.size})`);
      }
      this.native.writeIndexSync(binTemp);
      fsyncPath(binTemp);
      const manifest: IndexManifest = {
        format: 1,
        embedder,
        dim: this.dim,
        space: 'cosine',
        count: this.live.size,
        deletedLabels,
        capacity: this.native.getMaxElements(),
        params: { ...this.params },
        file: { name: INDEX_FILE, bytes: statSync(binTemp).size, sha256: sha256OfFile(binTemp) },
        writtenAt: new Date().toISOString(),
      };
      writeFileSync(manifestTemp, `${JSON.stringify(manifest, null, 2)}\n`);
      fsyncPath(manifestTemp);
      renameSync(binTemp, binPath);
      renameSync(manifestTemp, manifestPath);
      fsyncPath(dir);
      // What is on disk now is exact: forget labels whose slots were taken by others.
      this.maybeDeleted.clear();
      for (const label of deletedLabels) this.maybeDeleted.add(label);
      return manifest;
    } finally {
      rmSync(binTemp, { force: true });
      rmSync(manifestTemp, { force: true });
    }
  }
}

/** Reads and validates a manifest file. */
export function readManifest(path: string): { ok: true; manifest: IndexManifest } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return { ok: false, reason: `${MANIFEST_FILE} is not readable JSON: ${(err as Error).message}` };
  }
  const parsed = indexManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { ok: false, reason: `${MANIFEST_FILE} is invalid: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'unknown'}` };
  }
  if (parsed.data.count + parsed.data.deletedLabels.length > parsed.data.capacity) {
    return { ok: false, reason: `${MANIFEST_FILE} is invalid: more points than capacity` };
  }
  return { ok: true, manifest: parsed.data };
}

// ---- recall measurement ----

/** Anything answering nearest-neighbour queries by chunk id (HnswIndex, VectorIndexer, ExactSearch). */
export interface NearestNeighbourSearch {
  search(vector: Float32Array, k: number, allowed?: ReadonlySet<number>): ReadonlyArray<{ chunkId: number; score: number }>;
}

/** Brute-force cosine search: the ground truth recall is measured against. */
export class ExactSearch implements NearestNeighbourSearch {
  readonly dim: number;
  private readonly ids: number[];
  private readonly matrix: Float32Array;

  constructor(vectors: ReadonlyMap<number, Float32Array>) {
    const first = vectors.values().next();
    this.dim = first.done ? 0 : first.value.length;
    this.ids = [...vectors.keys()];
    this.matrix = new Float32Array(this.ids.length * this.dim);
    let row = 0;
    for (const vector of vectors.values()) {
      if (vector.length !== this.dim) throw new SieveError('INTERNAL', `vectors of different dimensions (${vector.length} vs ${this.dim})`);
      this.matrix.set(unit(vector), row * this.dim);
      row++;
    }
  }

  /** Cosine similarity of every stored vector to the (normalised) query, in insertion order. */
  similarities(query: Float32Array): Float32Array {
    const q = unit(query);
    const out = new Float32Array(this.ids.length);
    for (let r = 0; r < this.ids.length; r++) {
      let dot = 0;
      const base = r * this.dim;
      for (let j = 0; j < this.dim; j++) dot += this.matrix[base + j]! * q[j]!;
      out[r] = dot;
    }
    return out;
  }

  search(vector: Float32Array, k: number, allowed?: ReadonlySet<number>): VectorHit[] {
    if (this.ids.length === 0 || k < 1) return [];
    const sims = this.similarities(vector);
    const rows = Array.from(sims.keys()).filter((r) => !allowed || allowed.has(this.ids[r]!));
    const order = rows.sort((a, b) => sims[b]! - sims[a]! || this.ids[a]! - this.ids[b]!);
    return order.slice(0, k).map((r) => ({ chunkId: this.ids[r]!, score: sims[r]! }));
  }

  /** Similarity of one stored id to a query (undefined if unknown). */
  similarityOf(chunkId: number, query: Float32Array, sims?: Float32Array): number | undefined {
    const row = this.rowOf().get(chunkId);
    if (row === undefined) return undefined;
    return (sims ?? this.similarities(query))[row];
  }

  private rowIndex: Map<number, number> | undefined;
  private rowOf(): Map<number, number> {
    if (!this.rowIndex) this.rowIndex = new Map(this.ids.map((id, r) => [id, r]));
    return this.rowIndex;
  }
}

function unit(vector: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < vector.length; i++) s += vector[i]! * vector[i]!;
  if (s === 0) return Float32Array.from(vector);
  const inv = 1 / Math.sqrt(s);
  return vector.map((x) => x * inv);
}

export interface RecallReport {
  k: number;
  queries: number;
  /** Mean over queries of |returned ∩ exact top-k| / min(k, n); a returned point tied with the exact k-th counts. */
  recall: number;
  /** The worst single query's recall. */
  minRecall: number;
  /** Mean wall time of one `index.search` call (informational). */
  meanSearchMs: number;
}

/**
 * Recall@k of an approximate index against exact cosine search over the same vectors (e.g. readVectors() of the
 * embedder version the index serves). Ties at the k-th similarity count as hits, so duplicate passages do not
 * penalise an index for returning either copy.
 */
export function measureRecall(
  index: NearestNeighbourSearch,
  vectors: ReadonlyMap<number, Float32Array>,
  queries: readonly Float32Array[],
  k: number,
): RecallReport {
  if (!Number.isInteger(k) || k < 1) throw new SieveError('INTERNAL', `k must be a positive integer, got ${k}`);
  const exact = new ExactSearch(vectors);
  const wanted = Math.min(k, vectors.size);
  const tolerance = 1e-5; // float32 dot products in two different orders
  let total = 0;
  let worst = 1;
  let searchMs = 0;
  for (const query of queries) {
    if (wanted === 0) break;
    const sims = exact.similarities(query);
    const kth = [...sims].sort((a, b) => b - a)[wanted - 1]!;
    const started = performance.now();
    const hits = index.search(query, wanted);
    searchMs += performance.now() - started;
    const seen = new Set<number>();
    let found = 0;
    for (const hit of hits.slice(0, wanted)) {
      if (seen.has(hit.chunkId)) continue;
      seen.add(hit.chunkId);
      const sim = exact.similarityOf(hit.chunkId, query, sims);
      if (sim !== undefined && sim >= kth - tolerance) found++;
    }
    const recall = found / wanted;
    total += recall;
    worst = Math.min(worst, recall);
  }
  const n = wanted === 0 ? 0 : queries.length;
  return { k, queries: n, recall: n === 0 ? 1 : total / n, minRecall: n === 0 ? 1 : worst, meanSearchMs: n === 0 ? 0 : searchMs / n };
}

// Keeps one embedder version's HNSW index consistent with the store.
// The store is the truth: chunk_vectors holds every embedding (and cascades away with its chunk), the index is a
// cache of it. sync() embeds chunks without a vector, stores them, adds them to the index, hides labels whose
// chunks are gone, and saves. open() loads the saved index and checks it against the store: an index that is
// merely behind (a crash after vectors were stored, an ingest without a sync) is caught up; one that is missing,
// corrupt, built for something else, or disagrees widely is rebuilt from stored vectors — never re-embedded.
import { SieveError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Embedder } from '../types.js';
import { HnswIndex, indexDir, type HnswParams, type VectorHit } from './hnsw.js';
import {
  iterateVectors,
  missingChunkCount,
  missingChunkIds,
  passageTexts,
  putVectors,
  readVectors,
  vectorChunkIds,
  vectorCount,
} from './vectors.js';

/** Where the indexer reports rebuilds and catch-ups (same shape as the runtime's logger). */
export interface IndexLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
}

export interface VectorIndexerOptions {
  logger?: IndexLogger;
  /** HNSW parameters for an index built from scratch (a loaded index keeps the ones it was built with). */
  params?: Partial<HnswParams>;
}

export interface SyncProgress {
  /** Chunks embedded so far in this sync. */
  embedded: number;
  /** Chunks that had no vector when the sync started. */
  total: number;
}

export interface SyncOptions {
  /** Chunks per embedder call and per store transaction (default 256). */
  batchSize?: number;
  /**
   * Embeds this sync's chunks instead of the indexer's embedder: a bulk embedder of the same version (an
   * EmbedderPool across cores) while queries keep the low-latency one.
   */
  embedWith?: Embedder;
  onProgress?: (p: SyncProgress) => void;
}

export interface SyncSummary {
  embedded: number;
  /** Index points hidden because their chunks are gone. */
  removed: number;
  seconds: number;
}

/** What open() found on disk and did about it. */
export interface OpenOutcome {
  action: 'loaded' | 'created' | 'caught-up' | 'rebuilt';
  reason?: string;
}

/** Labels sampled on open whose indexed vector must equal the stored one. */
const SAMPLE_SIZE = 16;
/** Indexed vs stored vectors agree to float rounding (both are the same fp16 values, normalised). */
const SAMPLE_MIN_COSINE = 0.999;
/** A loaded index at most this far behind the store (as a share of stored vectors, or 64 points) is caught up. */
const CATCH_UP_FRACTION = 0.1;
const CATCH_UP_MIN = 64;
/** More deleted slots than live points (and at least this many) make sync rebuild a compact graph. */
const COMPACT_MIN_DELETED = 1024;
const READ_BATCH = 1024;

interface Reconciliation {
  stale: number[];
  unindexed: number[];
}

export class VectorIndexer {
  readonly embedder: Embedder;
  readonly dir: string;
  readonly opened: OpenOutcome;
  private readonly store: Store;
  private readonly logger: IndexLogger | undefined;
  private readonly params: Partial<HnswParams>;
  private index: HnswIndex;
  private dirty = false;
  private closed = false;
  /** Syncs run one after another: two at once would embed the same chunks twice. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(store: Store, dir: string, embedder: Embedder, index: HnswIndex, opened: OpenOutcome, opts: VectorIndexerOptions) {
    this.store = store;
    this.dir = dir;
    this.embedder = embedder;
    this.index = index;
    this.opened = opened;
    this.logger = opts.logger;
    this.params = opts.params ?? {};
  }

  /** Opens (loading, catching up or rebuilding) the index of `embedder.version` under `<home>/indexes/`. */
  static async open(store: Store, home: string, embedder: Embedder, opts: VectorIndexerOptions = {}): Promise<VectorIndexer> {
    const dir = indexDir(home, embedder.version);
    const version = embedder.version;
    const loaded = HnswIndex.load(dir, { embedder: version, dim: embedder.dim });
    const stored = vectorChunkIds(store, version);

    const rebuildBecause = (reason: string): VectorIndexer => {
      opts.logger?.warn(`rebuilding the vector index of '${version}' from ${stored.length} stored vectors: ${reason}`, { dir });
      const indexer = new VectorIndexer(store, dir, embedder, HnswIndex.create(embedder.dim, opts.params), { action: 'rebuilt', reason }, opts);
      indexer.rebuild();
      return indexer;
    };

    if (!loaded.ok) {
      if (loaded.missing && stored.length === 0) {
        const fresh = HnswIndex.create(embedder.dim, opts.params);
        return new VectorIndexer(store, dir, embedder, fresh, { action: 'created' }, opts);
      }
      return rebuildBecause(loaded.reason);
    }

    const index = loaded.index;
    const mismatch = sampleMismatch(store, version, index, stored);
    if (mismatch) return rebuildBecause(mismatch);
    const diff = reconciliation(index, stored);
    const behind = diff.stale.length + diff.unindexed.length;
    if (behind === 0) return new VectorIndexer(store, dir, embedder, index, { action: 'loaded' }, opts);
    const reason = `index has ${index.count} points, the store ${stored.length} vectors (${diff.stale.length} gone, ${diff.unindexed.length} not indexed)`;
    if (behind > Math.max(CATCH_UP_MIN, CATCH_UP_FRACTION * stored.length)) return rebuildBecause(reason);
    opts.logger?.info?.(`catching up the vector index of '${version}': ${reason}`, { dir });
    const indexer = new VectorIndexer(store, dir, embedder, index, { action: 'caught-up', reason }, opts);
    indexer.apply(diff);
    indexer.save();
    return indexer;
  }

  /** Chunks in the store with no vector of this version yet (what the next sync embeds). */
  get pending(): number {
    return missingChunkCount(this.store, this.embedder.version);
  }

  /** Searchable points. */
  get count(): number {
    return this.index.count;
  }

  /** The k nearest chunks to a (query) vector by cosine similarity, best first. */
  search(vector: Float32Array, k: number, allowed?: ReadonlySet<number>): VectorHit[] {
    this.assertOpen();
    return this.index.search(vector, k, allowed);
  }

  /** Overrides the search candidate list size (recall/latency sweeps); not persisted. */
  setEfSearch(ef: number): void {
    this.index.setEfSearch(ef);
  }

  /**
   * Embeds chunks with no stored vector for this embedder (batched), stores and indexes them, hides points whose
   * chunks are gone, and saves the index when anything changed.
   */
  sync(opts: SyncOptions = {}): Promise<SyncSummary> {
    const run = this.queue.then(() => this.runSync(opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Saves pending changes; the indexer is unusable afterwards. A sync still awaiting the embedder stops at its next
   * step without touching the store or the files (what it stored is indexed by the next open).
   */
  close(): void {
    if (this.closed) return;
    if (this.dirty) this.save();
    this.closed = true;
  }

  private async runSync(opts: SyncOptions): Promise<SyncSummary> {
    this.assertOpen();
    const started = performance.now();
    const batchSize = opts.batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new SieveError('CONFIG_INVALID', `batchSize must be a positive integer, got ${batchSize}`);
    const version = this.embedder.version;
    const embedder = opts.embedWith ?? this.embedder;
    if (embedder.version !== version || embedder.dim !== this.embedder.dim) {
      throw new SieveError('INTERNAL', `sync of the '${version}' index was given embedder '${embedder.version}' (${embedder.dim}-d)`);
    }

    // Hide gone chunks first: their slots are then reused by the chunks embedded below.
    let removed = this.apply(reconciliation(this.index, vectorChunkIds(this.store, version)));

    const total = missingChunkCount(this.store, version);
    let embedded = 0;
    let after = 0;
    for (;;) {
      const ids = missingChunkIds(this.store, version, batchSize, after);
      if (ids.length === 0) break;
      after = ids[ids.length - 1]!;
      const passages = passageTexts(this.store, ids);
      if (passages.length === 0) continue; // deleted since the ids were read
      const vectors = await embedder.embed(
        passages.map((p) => p.text),
        'passage',
      );
      if (this.closed) return { embedded, removed, seconds: (performance.now() - started) / 1000 };
      if (vectors.length !== passages.length) {
        throw new SieveError('INTERNAL', `embedder '${version}' returned ${vectors.length} vectors for ${passages.length} passages`);
      }
      const rows = passages.map((p, i) => {
        const vector = vectors[i]!;
        if (vector.length !== this.embedder.dim) {
          throw new SieveError('INTERNAL', `embedder '${version}' returned a ${vector.length}-d vector, it declares ${this.embedder.dim}`);
        }
        return { chunkId: p.chunkId, vector };
      });
      // The store first: if the process dies after this, the next open or sync indexes them from the store.
      for (const row of putVectors(this.store, version, rows)) this.index.add(row.chunkId, row.vector);
      embedded += rows.length;
      this.dirty = true;
      opts.onProgress?.({ embedded, total: Math.max(total, embedded) });
    }

    // Chunks deleted while batches were embedding (the embedder awaits, so other work can run meanwhile).
    removed += this.apply(reconciliation(this.index, vectorChunkIds(this.store, version)));

    if (this.index.deletedCount >= COMPACT_MIN_DELETED && this.index.deletedCount > this.index.count) {
      this.logger?.info?.(`compacting the vector index of '${version}': ${this.index.deletedCount} deleted slots, ${this.index.count} live`);
      this.rebuild();
    }
    if (this.dirty) this.save();
    return { embedded, removed, seconds: (performance.now() - started) / 1000 };
  }

  /** Hides stale labels and indexes stored vectors the index lacks; returns how many were hidden. */
  private apply(diff: Reconciliation): number {
    for (const label of diff.stale) this.index.remove(label);
    for (let i = 0; i < diff.unindexed.length; i += READ_BATCH) {
      const batch = diff.unindexed.slice(i, i + READ_BATCH);
      for (const [chunkId, vector] of readVectors(this.store, this.embedder.version, batch)) this.index.add(chunkId, vector);
    }
    if (diff.stale.length + diff.unindexed.length > 0) this.dirty = true;
    return diff.stale.length;
  }

  /** Replaces the index with one built from every stored vector of this embedder version. */
  private rebuild(): void {
    const version = this.embedder.version;
    const next = HnswIndex.create(this.embedder.dim, { ...this.index.params, ...this.params }, Math.ceil(vectorCount(this.store, version) * 1.1));
    for (const row of iterateVectors(this.store, version)) next.add(row.chunkId, row.vector);
    this.index = next;
    this.dirty = true;
    this.save();
  }

  private save(): void {
    this.index.save(this.dir, this.embedder.version);
    this.dirty = false;
  }

  private assertOpen(): void {
    if (this.closed) throw new SieveError('INTERNAL', `the vector index of '${this.embedder.version}' is closed`);
  }
}

/** What separates the index from the store: live labels with no stored vector, stored vectors not indexed. */
function reconciliation(index: HnswIndex, storedIds: readonly number[]): Reconciliation {
  const stored = new Set(storedIds);
  const stale: number[] = [];
  for (const label of index.labels()) if (!stored.has(label)) stale.push(label);
  const unindexed = storedIds.filter((id) => !index.has(id));
  return { stale, unindexed };
}

/**
 * Compares the index's vectors with the stored ones for an evenly spaced sample of labels present in both: an index
 * written from other vectors under the same version (or damaged in a way the checksum could not see) shows here.
 */
function sampleMismatch(store: Store, version: string, index: HnswIndex, storedIds: readonly number[]): string | undefined {
  const shared = storedIds.filter((id) => index.has(id));
  if (shared.length === 0) return undefined;
  const step = Math.max(1, Math.floor(shared.length / SAMPLE_SIZE));
  const sample: number[] = [];
  for (let i = 0; i < shared.length && sample.length < SAMPLE_SIZE; i += step) sample.push(shared[i]!);
  const stored = readVectors(store, version, sample);
  for (const label of sample) {
    const a = index.vectorOf(label);
    const b = stored.get(label);
    if (!a || !b) return `chunk ${label} vanished while checking`;
    const similarity = cosine(a, b);
    if (!(similarity >= SAMPLE_MIN_COSINE)) {
      return `indexed vector of chunk ${label} differs from the stored one (cosine ${similarity.toFixed(4)})`;
    }
  }
  return undefined;
}

function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.NaN;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  // Two zero vectors (empty passages) are the same point.
  if (na === 0 && nb === 0) return 1;
  return dot / Math.sqrt(na * nb);
}

// Stored embeddings (table chunk_vectors, db/004): the source of truth an HNSW index is built from, so a lost or
// corrupt index is rebuilt from here without re-reading files or re-embedding.
//
// Vectors are stored as IEEE binary16 (fp16), little-endian. Embeddings are unit vectors: every component lies in
// [-1, 1], where fp16 keeps ~3 significant digits, so a cosine moves by well under 1e-3 — far below the gaps that
// decide a ranking — and storage halves against fp32. The index is always fed the fp16-rounded vectors (what
// putVectors returns, what readVectors gives back), so an index built incrementally and one rebuilt from the store
// hold identical points.
import { SieveError } from '../errors.js';
import { halfBitsOf, valueOfHalfBits } from '../util/fp16.js';
import type { Db } from '../store/db.js';
import type { Store } from '../store/store.js';

/** One chunk's embedding by one embedder version. */
export interface StoredVector {
  chunkId: number;
  vector: Float32Array;
}

/** The text a chunk is embedded from: its heading (document title › section path) and its body. */
export interface PassageText {
  chunkId: number;
  text: string;
}

// ---- fp16 codec ----

/** IEEE binary16 bits of a number, round-to-nearest-even (the shared codec). */
export const toHalfBits = halfBitsOf;

// Decoding is the hot path of a rebuild (every stored component once), so it is a table lookup (256 KiB).
let halfTable: Float32Array | undefined;
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = valueOfHalfBits(h);
  }
  return halfTable;
}

/** A vector as stored: fp16 little-endian bytes. */
export function encodeVector(vector: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(vector.length * 2);
  for (let i = 0; i < vector.length; i++) out.writeUInt16LE(toHalfBits(vector[i]!), i * 2);
  return out;
}

/** The float32 values of stored fp16 bytes (exact: every half is a float32). */
export function decodeVector(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 2 !== 0) throw new SieveError('DB_CORRUPT', `stored vector has an odd byte length ${bytes.byteLength}`);
  const table = halfToFloatTable();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = table[view.getUint16(i * 2, true)]!;
  return out;
}

/** The vector exactly as the store will give it back. */
export function roundToStored(vector: Float32Array): Float32Array {
  return decodeVector(encodeVector(vector));
}

/**
 * The vector scaled to unit length. The embedder promises unit vectors; normalising again costs nothing and keeps
 * fp16 components in [-1, 1]. A zero vector stays zero (cosine space scores it 0 against everything). Non-finite
 * components are a bug in the embedder and are refused rather than stored.
 */
export function toUnitVector(vector: Float32Array): Float32Array {
  let sumSquares = 0;
  for (let i = 0; i < vector.length; i++) sumSquares += vector[i]! * vector[i]!;
  if (!Number.isFinite(sumSquares)) throw new SieveError('INTERNAL', 'embedding has non-finite components');
  const out = new Float32Array(vector.length);
  if (sumSquares === 0) return out;
  const inverse = 1 / Math.sqrt(sumSquares);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! * inverse;
  return out;
}

// ---- queries ----

function prepareStatements(db: Db) {
  return {
    // Keyset pagination (id > after) keeps a full first sync linear instead of rescanning from the start each batch.
    missing: db.prepare(
      `SELECT c.id AS id FROM chunks c
       WHERE c.id > @after
         AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.embedder = @embedder)
       ORDER BY c.id LIMIT @limit`,
    ),
    missingCount: db.prepare(
      `SELECT count(*) AS n FROM chunks c
       WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.embedder = ?)`,
    ),
    passages: db.prepare(
      `SELECT id AS chunkId, heading, text FROM chunks WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`,
    ),
    // Writes only while the chunk exists: a document deleted while its batch was being embedded is not an error
    // (a plain INSERT would fail the foreign key and lose the whole batch).
    put: db.prepare(
      `INSERT OR REPLACE INTO chunk_vectors (chunk_id, embedder, vector)
       SELECT @chunkId, @embedder, @vector WHERE EXISTS (SELECT 1 FROM chunks WHERE id = @chunkId)`,
    ),
    byIds: db.prepare(
      `SELECT chunk_id AS chunkId, vector FROM chunk_vectors
       WHERE embedder = ? AND chunk_id IN (SELECT value FROM json_each(?)) ORDER BY chunk_id`,
    ),
    all: db.prepare(`SELECT chunk_id AS chunkId, vector FROM chunk_vectors WHERE embedder = ? ORDER BY chunk_id`),
    ids: db.prepare(`SELECT chunk_id AS chunkId FROM chunk_vectors WHERE embedder = ? ORDER BY chunk_id`),
    count: db.prepare(`SELECT count(*) AS n FROM chunk_vectors WHERE embedder = ?`),
    deleteFor: db.prepare(`DELETE FROM chunk_vectors WHERE embedder = ?`),
    embedders: db.prepare(`SELECT embedder, count(*) AS n FROM chunk_vectors GROUP BY embedder ORDER BY embedder`),
  };
}

// Prepared once per connection: sync and open call these in loops.
const statementsByDb = new WeakMap<Db, ReturnType<typeof prepareStatements>>();
function statements(store: Store): ReturnType<typeof prepareStatements> {
  let s = statementsByDb.get(store.db);
  if (!s) {
    s = prepareStatements(store.db);
    statementsByDb.set(store.db, s);
  }
  return s;
}

interface RawVectorRow {
  chunkId: number;
  vector: Buffer;
}

function toStoredVector(row: RawVectorRow): StoredVector {
  return { chunkId: row.chunkId, vector: decodeVector(row.vector) };
}

/** Up to `limit` chunk ids (ascending, all > `afterId`) that have no vector for this embedder version. */
export function missingChunkIds(store: Store, embedderVersion: string, limit: number, afterId = 0): number[] {
  const rows = statements(store).missing.all({ embedder: embedderVersion, limit, after: afterId }) as Array<{ id: number }>;
  return rows.map((r) => r.id);
}

/** How many chunks have no vector for this embedder version. */
export function missingChunkCount(store: Store, embedderVersion: string): number {
  return (statements(store).missingCount.get(embedderVersion) as { n: number }).n;
}

/** Embedding input for chunks: heading (title › sections) on its own line, then the text. Missing ids are absent. */
export function passageTexts(store: Store, chunkIds: readonly number[]): PassageText[] {
  if (chunkIds.length === 0) return [];
  const rows = statements(store).passages.all(JSON.stringify(chunkIds)) as Array<{ chunkId: number; heading: string; text: string }>;
  return rows.map((r) => ({ chunkId: r.chunkId, text: r.heading.length > 0 ? `${r.heading}\n${r.text}` : r.text }));
}

/**
 * Stores vectors for one embedder version in one transaction, replacing any stored before. Rows whose chunk no
 * longer exists are skipped. Returns the rows written, with their vectors as stored (unit length, fp16-rounded):
 * exactly what a rebuild would read back.
 */
export function putVectors(store: Store, embedderVersion: string, rows: readonly StoredVector[]): StoredVector[] {
  const { put } = statements(store);
  const written: StoredVector[] = [];
  store.db.transaction(() => {
    for (const row of rows) {
      const bytes = encodeVector(toUnitVector(row.vector));
      const { changes } = put.run({ chunkId: row.chunkId, embedder: embedderVersion, vector: bytes });
      if (changes > 0) written.push({ chunkId: row.chunkId, vector: decodeVector(bytes) });
    }
  }).immediate();
  return written;
}

/** Stored vectors of this embedder version, by chunk id: all of them, or those of `chunkIds` that exist. */
export function readVectors(store: Store, embedderVersion: string, chunkIds?: readonly number[]): Map<number, Float32Array> {
  const s = statements(store);
  const rows = (chunkIds ? s.byIds.all(embedderVersion, JSON.stringify(chunkIds)) : s.all.all(embedderVersion)) as RawVectorRow[];
  return new Map(rows.map((r) => [r.chunkId, decodeVector(r.vector)]));
}

/** Every stored vector of this embedder version in chunk id order, one row at a time (a rebuild's memory stays flat). */
export function* iterateVectors(store: Store, embedderVersion: string): Generator<StoredVector> {
  for (const row of statements(store).all.iterate(embedderVersion) as IterableIterator<RawVectorRow>) {
    yield toStoredVector(row);
  }
}

/** Chunk ids that have a vector for this embedder version, ascending. (Vectors cascade with their chunks.) */
export function vectorChunkIds(store: Store, embedderVersion: string): number[] {
  return (statements(store).ids.all(embedderVersion) as Array<{ chunkId: number }>).map((r) => r.chunkId);
}

export function vectorCount(store: Store, embedderVersion: string): number {
  return (statements(store).count.get(embedderVersion) as { n: number }).n;
}

/** Drops every vector of a retired embedder version; returns how many rows went. */
export function deleteVectorsFor(store: Store, embedderVersion: string): number {
  return store.db.transaction(() => statements(store).deleteFor.run(embedderVersion).changes).immediate();
}

/** Embedder versions with stored vectors and their counts (to find versions to retire). */
export function storedEmbedders(store: Store): Array<{ embedder: string; count: number }> {
  return (statements(store).embedders.all() as Array<{ embedder: string; n: number }>).map((r) => ({ embedder: r.embedder, count: r.n }));
}

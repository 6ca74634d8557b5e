// The store: one SQLite database under the home, and the typed queries every stage uses.
// Statements are prepared once per store because ask sits on a millisecond budget.
import { sep } from 'node:path';
import type { Statement } from 'better-sqlite3';
import type { ChunkDraft, ChunkRecord, LoadedDocument } from '../types.js';
import { closestSpelling, isCorrectable } from '../util/edit-distance.js';
import { SieveError } from '../errors.js';
import { openDatabase, type Db } from './db.js';

export interface SourceRow {
  id: number;
  path: string;
  root: string;
  contentHash: string;
  size: number;
  mtimeMs: number;
}

export interface DocumentRow {
  id: number;
  sourceId: number;
  uri: string;
  externalId: string | null;
  contentHash: string;
  chunkCount: number;
}

/** One ingested file: its path as stored (scopes match it), when it was last ingested, and what it holds. */
export interface SourceSummary {
  path: string;
  ingestedAt: string;
  documents: number;
  chunks: number;
}

export interface StoreStats {
  sources: number;
  documents: number;
  chunks: number;
  traces: number;
}

interface RawChunk {
  id: number;
  document_id: number;
  ordinal: number;
  heading_path: string;
  text: string;
  token_count: number;
  char_start: number;
  char_end: number;
  page_first: number | null;
  page_last: number | null;
  uri: string;
  external_id: string | null;
  title: string;
  source_path: string;
}

/** Parameters of the "is `root` or lies under it" statements: whole path segments, so `a/b` does not hold `a/bc`. */
function underRoot(root: string): { root: string; sep: string } {
  return { root: root.endsWith(sep) ? root.slice(0, -1) : root, sep };
}

export class Store {
  readonly db: Db;
  readonly path: string;
  private readonly stmts: ReturnType<typeof prepare>;
  private readonly chunkCache = new Map<number, ChunkRecord>();
  private chunkCacheGeneration = -1;
  private readonly statementCache = new Map<string, Statement>();

  constructor(path: string) {
    this.path = path;
    this.db = openDatabase(path);
    this.stmts = prepare(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * A prepared statement for `sql`, prepared once per store: modules with their own queries on a request path
   * use this instead of `db.prepare` (preparing costs more than running a small query).
   */
  statement(sql: string): Statement {
    let stmt = this.statementCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statementCache.set(sql, stmt);
    }
    return stmt;
  }

  // ---- sources ----

  getSource(path: string): SourceRow | undefined {
    return this.stmts.getSource.get(path) as SourceRow | undefined;
  }

  upsertSource(s: Omit<SourceRow, 'id'>): number {
    const row = this.stmts.upsertSource.get({ ...s, ingestedAt: new Date().toISOString() }) as { id: number };
    return row.id;
  }

  /** Sources at or below a path, whichever root they were ingested from (for pruning files gone from disk). */
  sourcesUnder(root: string): SourceRow[] {
    return this.stmts.sourcesUnder.all(underRoot(root)) as SourceRow[];
  }

  /**
   * Re-keys every source at or under `from` to the same place under `to` (its documents' uris with it), in one
   * transaction: what was ingested through a symlinked folder takes the folder's real path, keeping its documents,
   * chunks and vectors. Where `to` already holds that file, the `from` copy is a duplicate and is deleted.
   * Returns how many sources moved and how many duplicates went.
   */
  moveSourcesUnder(from: string, to: string): { moved: number; duplicates: number } {
    const outcome = { moved: 0, duplicates: 0 };
    const base = underRoot(from).root;
    const target = underRoot(to).root;
    this.db.transaction(() => {
      for (const source of this.sourcesUnder(from)) {
        const path = target + source.path.slice(base.length);
        if (this.getSource(path)) {
          this.stmts.deleteSource.run(source.id);
          outcome.duplicates++;
          continue;
        }
        const root = source.root === base || source.root.startsWith(base + sep) ? target + source.root.slice(base.length) : source.root;
        this.stmts.moveSource.run({ id: source.id, path, root });
        this.stmts.moveDocumentUris.run({ sourceId: source.id, from: source.path, to: path });
        outcome.moved++;
      }
    }).immediate();
    if (outcome.moved + outcome.duplicates > 0) this.chunkCache.clear();
    return outcome;
  }

  deleteSource(id: number): void {
    this.stmts.deleteSource.run(id);
    // Its documents' chunks went with it (cascade): none may be served from the cache afterwards.
    this.chunkCache.clear();
  }

  // ---- documents ----

  /** Ids of the chunks of every source that is `root` or lies under it (a folder), whole path segments only. */
  chunkIdsUnder(root: string): number[] {
    return this.stmts.chunkIdsUnder.all(underRoot(root)) as number[];
  }

  documentsOfSource(sourceId: number): DocumentRow[] {
    return this.stmts.documentsOfSource.all(sourceId) as DocumentRow[];
  }

  /**
   * Replaces one document and its chunks in a single transaction: readers and a crash see the old document whole
   * or the new one whole, never a mix. A chunk whose heading and text are unchanged keeps its row and id (only its
   * ordinal and span move), so what the history holds for it (its prior, the questions that cited it) survives an
   * edit elsewhere in the document; the others are deleted and inserted anew.
   */
  replaceDocument(sourceId: number, doc: LoadedDocument, contentHash: string, mtimeMs: number, chunks: ChunkDraft[]): number {
    return this.db.transaction(() => {
      const row = {
        sourceId,
        uri: doc.uri,
        externalId: doc.externalId,
        kind: doc.kind,
        language: doc.language,
        title: doc.title,
        contentHash,
        mtimeMs,
        metadata: JSON.stringify(doc.metadata),
        charCount: doc.text.length,
        chunkCount: chunks.length,
        ingestedAt: new Date().toISOString(),
      };
      const prior = this.stmts.documentIdByUri.get(doc.uri) as { id: number } | undefined;
      const id = prior === undefined ? (this.stmts.insertDocument.get(row) as { id: number }).id : prior.id;
      if (prior !== undefined) this.stmts.updateDocument.run({ ...row, id });
      const heading = (c: ChunkDraft) => [doc.title, ...c.headingPath].filter((s) => s.length > 0).join(' › ');
      const oldChunks = prior === undefined ? [] : (this.stmts.chunkKeysOfDocument.all(id) as Array<{ id: number; heading: string; text: string }>);
      // Old chunks by heading and text, in order, so identical chunks within one document pair up in order.
      const reusable = new Map<string, number[]>();
      for (const old of oldChunks) {
        const key = `${old.heading}\u0000${old.text}`;
        const ids = reusable.get(key);
        if (ids === undefined) reusable.set(key, [old.id]);
        else ids.push(old.id);
      }
      const keptIds = chunks.map((c) => reusable.get(`${heading(c)}\u0000${c.text}`)?.shift());
      const kept = new Set(keptIds.filter((k): k is number => k !== undefined));
      for (const old of oldChunks) if (!kept.has(old.id)) this.stmts.deleteChunk.run(old.id);
      // Kept chunks step out of the ordinals the new ones take (ordinals are unique within a document).
      if (kept.size > 0) this.stmts.parkChunkOrdinals.run(id);
      chunks.forEach((c, i) => {
        const fields = {
          documentId: id,
          ordinal: c.ordinal,
          heading: heading(c),
          headingPath: JSON.stringify(c.headingPath),
          text: c.text,
          tokenCount: c.tokenCount,
          charStart: c.charStart,
          charEnd: c.charEnd,
          pageFirst: c.pages?.first ?? null,
          pageLast: c.pages?.last ?? null,
        };
        const keep = keptIds[i];
        if (keep === undefined) this.stmts.insertChunk.run(fields);
        else this.stmts.moveChunk.run({ ...fields, id: keep });
      });
      this.chunkCache.clear();
      return id;
    }).immediate();
  }

  /**
   * Documents with this content hash stored for another source: where a moved file's documents may be. The caller
   * decides which of them were moved (their file is gone) rather than copied. At most 32, so that a file copied
   * thousands of times (a licence in every package) costs a bounded number of checks per copy.
   */
  documentsWithContent(contentHash: string, exceptSourceId: number): Array<{ id: number; sourceId: number; sourcePath: string }> {
    return this.stmts.documentsWithContent.all(contentHash, exceptSourceId) as Array<{ id: number; sourceId: number; sourcePath: string }>;
  }

  /**
   * Re-homes a document under a new source and uri (its file was moved or renamed), keeping its chunks, their ids
   * and every history row: events that named the document by its old uri name it by the new one.
   */
  moveDocument(id: number, sourceId: number, uri: string, mtimeMs: number): void {
    this.db.transaction(() => {
      const old = this.stmts.documentById.get(id) as { uri: string; externalId: string | null } | undefined;
      if (old === undefined) throw new SieveError('INTERNAL', `document ${id} to move is not stored`);
      this.stmts.moveDocument.run({ id, sourceId, uri, mtimeMs, ingestedAt: new Date().toISOString() });
      // A document without an external id is known to history by its uri.
      if (old.externalId === null && old.uri !== uri) {
        this.stmts.renameHistoryDocument.run(uri, old.uri);
        // The in-memory past-question index folds appended rows in and rebuilds only after deletions; rows that
        // changed count as both, so every process rebuilds it.
        this.stmts.bumpHistoryRewrite.run();
      }
    }).immediate();
    this.chunkCache.clear();
  }

  deleteDocument(id: number): void {
    this.db.transaction(() => this.stmts.deleteDocument.run(id)).immediate();
    this.chunkCache.clear();
  }

  // ---- chunks ----

  /** Chunks by id, with their document's identity; missing ids are absent from the map. */
  getChunks(ids: readonly number[]): Map<number, ChunkRecord> {
    // Another process (an ingest beside a running service) may have moved a kept chunk or renamed a document: the
    // cache holds only what was read since the corpus last changed.
    const generation = (this.stmts.chunksGeneration.get() as { value: number } | undefined)?.value ?? 0;
    if (generation !== this.chunkCacheGeneration) {
      this.chunkCache.clear();
      this.chunkCacheGeneration = generation;
    }
    const out = new Map<number, ChunkRecord>();
    const missing: number[] = [];
    for (const id of ids) {
      const hit = this.chunkCache.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    // json_each keeps this one statement for any number of ids.
    if (missing.length > 0) {
      for (const raw of this.stmts.chunksByIds.all(JSON.stringify(missing)) as RawChunk[]) {
        const rec = toChunkRecord(raw);
        out.set(rec.chunkId, rec);
        if (this.chunkCache.size > 50_000) this.chunkCache.clear();
        this.chunkCache.set(rec.chunkId, rec);
      }
    }
    return out;
  }

  /** Neighbouring chunks of a document (for adjacency merging in selection). */
  chunkAt(documentId: number, ordinal: number): ChunkRecord | undefined {
    const raw = this.stmts.chunkAt.get(documentId, ordinal) as RawChunk | undefined;
    return raw ? toChunkRecord(raw) : undefined;
  }

  // ---- full-text search ----

  /**
   * BM25 over the FTS5 index with per-field weights (heading, body). `match` must already be a safe FTS5
   * expression (see rank/fts-query.ts). Returns chunk ids with scores where higher is better.
   */
  searchFts(match: string, k: number, weights: { heading: number; body: number }): Array<{ chunkId: number; score: number }> {
    const rows = this.stmts.searchFts.all({ match, k, wHeading: weights.heading, wBody: weights.body }) as Array<{
      chunkId: number;
      score: number;
    }>;
    // FTS5's bm25() is negated so that ORDER BY ascending puts the best first; flip it back.
    for (const r of rows) r.score = -r.score;
    return rows;
  }

  /**
   * For a term the FTS index does not hold (an indexed term: folded, Porter-stemmed), the closest one it does (see
   * closestSpelling), or null. Known terms come back as they are.
   */
  correctFtsTerm(term: string): string | null {
    if (this.stmts.ftsTermKnown.get(term) !== undefined) return term;
    if (!isCorrectable(term)) return null;
    const initial = String.fromCodePoint(term.codePointAt(0)!);
    const next = String.fromCodePoint(term.codePointAt(0)! + 1);
    const rows = this.stmts.ftsTermsFrom.all(initial, next) as Array<{ term: string; doc: number }>;
    return closestSpelling(term, rows.map((r) => [r.term, r.term, r.doc] as const));
  }

  /** Merges the FTS5 index's segments into one (faster queries after a bulk load). */
  optimizeFts(): void {
    this.db.exec(`INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')`);
  }

  isEmpty(): boolean {
    return this.stmts.anyChunk.get() === undefined;
  }

  chunkCount(): number {
    return (this.stmts.chunkCount.get() as { n: number }).n;
  }

  stats(): StoreStats {
    return this.stmts.stats.get() as StoreStats;
  }

  /** Every ingested file with what it holds, by path: what `--in` and a scope's `sources` select from. */
  listSources(): SourceSummary[] {
    return this.stmts.listSources.all() as SourceSummary[];
  }

  integrityCheck(): string[] {
    return (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
  }

  /**
   * Whether the full-text index holds exactly the stored chunks. SQLite's integrity_check does not read inside
   * FTS5, and FTS5's own check against its content table cannot be used: the index holds each chunk's search
   * text (identifier parts, CJK bigrams), not the text column. So the index's per-row table is compared by id.
   */
  fullTextIndexCheck(): { problem: string | null } {
    try {
      this.db.prepare(`INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')`).run();
    } catch (err) {
      return { problem: err instanceof Error ? err.message : String(err) };
    }
    const { ghosts, missing } = this.db
      .prepare(
        `SELECT (SELECT count(*) FROM chunks_fts_docsize d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = d.id)) AS ghosts,
                (SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunks_fts_docsize d WHERE d.id = c.id)) AS missing`,
      )
      .get() as { ghosts: number; missing: number };
    if (ghosts === 0 && missing === 0) return { problem: null };
    return { problem: `${missing} stored chunks are not in it and ${ghosts} entries have no chunk` };
  }

  /**
   * Rebuilds the full-text index from the stored chunks, in one transaction (what `sieve doctor --repair` runs).
   * It indexes what the chunks_fts_insert trigger of db/012 indexes: a change to the indexed text changes both.
   */
  rebuildFullTextIndex(): void {
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO chunks_fts(chunks_fts) VALUES ('delete-all')`).run();
      this.db.prepare(`INSERT INTO chunks_fts(rowid, heading, text) SELECT id, sieve_fts_text_v2(heading), sieve_fts_text_v2(text) FROM chunks`).run();
    }).immediate();
  }
}

function toChunkRecord(raw: RawChunk): ChunkRecord {
  return {
    chunkId: raw.id,
    documentId: raw.document_id,
    docId: raw.external_id ?? raw.uri,
    source: raw.source_path,
    title: raw.title,
    ordinal: raw.ordinal,
    text: raw.text,
    headingPath: JSON.parse(raw.heading_path) as string[],
    tokenCount: raw.token_count,
    charStart: raw.char_start,
    charEnd: raw.char_end,
    ...(raw.page_first !== null && raw.page_last !== null ? { pages: { first: raw.page_first, last: raw.page_last } } : {}),
  };
}

const CHUNK_COLUMNS = `c.id, c.document_id, c.ordinal, c.heading_path, c.text, c.token_count, c.char_start, c.char_end,
  c.page_first, c.page_last,
  d.uri, d.external_id, d.title, s.path AS source_path
  FROM chunks c JOIN documents d ON d.id = c.document_id JOIN sources s ON s.id = d.source_id`;

function prepare(db: Db) {
  return {
    getSource: db.prepare(
      `SELECT id, path, root, content_hash AS contentHash, size, mtime_ms AS mtimeMs FROM sources WHERE path = ?`,
    ),
    upsertSource: db.prepare(
      `INSERT INTO sources (path, root, content_hash, size, mtime_ms, ingested_at)
       VALUES (@path, @root, @contentHash, @size, @mtimeMs, @ingestedAt)
       ON CONFLICT(path) DO UPDATE SET root = excluded.root, content_hash = excluded.content_hash,
         size = excluded.size, mtime_ms = excluded.mtime_ms, ingested_at = excluded.ingested_at
       RETURNING id`,
    ),
    sourcesUnder: db.prepare(
      `SELECT id, path, root, content_hash AS contentHash, size, mtime_ms AS mtimeMs FROM sources
       WHERE path = @root OR substr(path, 1, length(@root) + 1) = @root || @sep`,
    ),
    // Plucked ids, not row objects: a folder scope can hold every chunk of the corpus.
    chunkIdsUnder: db
      .prepare(
        `SELECT c.id FROM sources s JOIN documents d ON d.source_id = s.id JOIN chunks c ON c.document_id = d.id
         WHERE s.path = @root OR substr(s.path, 1, length(@root) + 1) = @root || @sep`,
      )
      .pluck(),
    deleteSource: db.prepare(`DELETE FROM sources WHERE id = ?`),
    moveSource: db.prepare(`UPDATE sources SET path = @path, root = @root WHERE id = @id`),
    // A document's uri is its file's path, with '#id' after it for each document of a corpus file.
    moveDocumentUris: db.prepare(
      `UPDATE documents SET uri = @to || substr(uri, length(@from) + 1) WHERE source_id = @sourceId AND substr(uri, 1, length(@from)) = @from`,
    ),
    documentsOfSource: db.prepare(
      `SELECT id, source_id AS sourceId, uri, external_id AS externalId, content_hash AS contentHash,
              chunk_count AS chunkCount
       FROM documents WHERE source_id = ?`,
    ),
    documentIdByUri: db.prepare(`SELECT id FROM documents WHERE uri = ?`),
    documentById: db.prepare(`SELECT uri, external_id AS externalId FROM documents WHERE id = ?`),
    documentsWithContent: db.prepare(
      `SELECT d.id, d.source_id AS sourceId, s.path AS sourcePath
       FROM documents d JOIN sources s ON s.id = d.source_id WHERE d.content_hash = ? AND d.source_id != ?
       ORDER BY d.id LIMIT 32`,
    ),
    moveDocument: db.prepare(`UPDATE documents SET source_id = @sourceId, uri = @uri, mtime_ms = @mtimeMs, ingested_at = @ingestedAt WHERE id = @id`),
    renameHistoryDocument: db.prepare(`UPDATE history SET doc_id = ? WHERE doc_id = ?`),
    bumpHistoryRewrite: db.prepare(`UPDATE store_state SET value = value + 1 WHERE key IN ('history_generation', 'history_deletions')`),
    chunksGeneration: db.prepare(`SELECT value FROM store_state WHERE key = 'chunks_generation'`),
    updateDocument: db.prepare(
      `UPDATE documents SET source_id = @sourceId, external_id = @externalId, kind = @kind, language = @language,
         title = @title, content_hash = @contentHash, mtime_ms = @mtimeMs, metadata = @metadata,
         char_count = @charCount, chunk_count = @chunkCount, ingested_at = @ingestedAt
       WHERE id = @id`,
    ),
    chunkKeysOfDocument: db.prepare(`SELECT id, heading, text FROM chunks WHERE document_id = ? ORDER BY ordinal`),
    deleteChunk: db.prepare(`DELETE FROM chunks WHERE id = ?`),
    parkChunkOrdinals: db.prepare(`UPDATE chunks SET ordinal = -1 - ordinal WHERE document_id = ?`),
    // Not heading or text: those are what made the chunk the same one, and updating them would re-index it.
    moveChunk: db.prepare(
      `UPDATE chunks SET ordinal = @ordinal, heading_path = @headingPath, token_count = @tokenCount,
         char_start = @charStart, char_end = @charEnd, page_first = @pageFirst, page_last = @pageLast
       WHERE id = @id AND document_id = @documentId`,
    ),
    deleteDocument: db.prepare(`DELETE FROM documents WHERE id = ?`),
    insertDocument: db.prepare(
      `INSERT INTO documents (source_id, uri, external_id, kind, language, title, content_hash, mtime_ms, metadata,
                              char_count, chunk_count, ingested_at)
       VALUES (@sourceId, @uri, @externalId, @kind, @language, @title, @contentHash, @mtimeMs, @metadata,
               @charCount, @chunkCount, @ingestedAt)
       RETURNING id`,
    ),
    insertChunk: db.prepare(
      `INSERT INTO chunks (document_id, ordinal, heading, heading_path, text, token_count, char_start, char_end, page_first, page_last)
       VALUES (@documentId, @ordinal, @heading, @headingPath, @text, @tokenCount, @charStart, @charEnd, @pageFirst, @pageLast)`,
    ),
    chunksByIds: db.prepare(`SELECT ${CHUNK_COLUMNS} WHERE c.id IN (SELECT value FROM json_each(?))`),
    chunkAt: db.prepare(`SELECT ${CHUNK_COLUMNS} WHERE c.document_id = ? AND c.ordinal = ?`),
    searchFts: db.prepare(
      `SELECT rowid AS chunkId, bm25(chunks_fts, @wHeading, @wBody) AS score
       FROM chunks_fts WHERE chunks_fts MATCH @match ORDER BY score LIMIT @k`,
    ),
    anyChunk: db.prepare(`SELECT 1 FROM chunks LIMIT 1`),
    ftsTermKnown: db.prepare(`SELECT 1 FROM chunks_fts_vocab WHERE term = ?`),
    ftsTermsFrom: db.prepare(`SELECT term, doc FROM chunks_fts_vocab WHERE term >= ? AND term < ?`),
    chunkCount: db.prepare(`SELECT count(*) AS n FROM chunks`),
    listSources: db.prepare(
      `SELECT s.path, s.ingested_at AS ingestedAt, count(DISTINCT d.id) AS documents, count(c.id) AS chunks
       FROM sources s LEFT JOIN documents d ON d.source_id = s.id LEFT JOIN chunks c ON c.document_id = d.id
       GROUP BY s.id ORDER BY s.path`,
    ),
    stats: db.prepare(
      `SELECT (SELECT count(*) FROM sources) AS sources, (SELECT count(*) FROM documents) AS documents,
              (SELECT count(*) FROM chunks) AS chunks, (SELECT count(*) FROM traces) AS traces`,
    ),
  };
}

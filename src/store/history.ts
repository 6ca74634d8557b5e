// Typed queries over the history table (past query → chunk events) and the generation counters.
import type { Store } from './store.js';

export type HistorySource = 'trace' | 'explicit' | 'qrels';

export interface HistoryEvent {
  query: string;
  queryKey: string;
  chunkId: number | null;
  docId: string;
  shown: boolean;
  cited: boolean;
  weight?: number;
  source: HistorySource;
}

export interface CitedQueryRow {
  queryKey: string;
  query: string;
  chunkId: number | null;
  docId: string;
  weight: number;
}

export interface ChunkHistoryCounts {
  chunkId: number;
  shown: number;
  cited: number;
}

const insertHistory = new WeakMap<Store, ReturnType<Store['db']['prepare']>>();

/** Appends events in one transaction (every ask calls this: the statement is prepared once per store). */
export function recordHistory(store: Store, events: readonly HistoryEvent[]): void {
  let insert = insertHistory.get(store);
  if (!insert) {
    insert = store.db.prepare(
      `INSERT INTO history (query, query_key, chunk_id, doc_id, shown, cited, weight, source, created_at)
       VALUES (@query, @queryKey, @chunkId, @docId, @shown, @cited, @weight, @source, @createdAt)`,
    );
    insertHistory.set(store, insert);
  }
  const statement = insert;
  const createdAt = new Date().toISOString();
  store.db.transaction(() => {
    for (const e of events) {
      statement.run({
        query: e.query,
        queryKey: e.queryKey,
        chunkId: e.chunkId,
        docId: e.docId,
        shown: e.shown ? 1 : 0,
        cited: e.cited ? 1 : 0,
        weight: e.weight ?? 1,
        source: e.source,
        createdAt,
      });
    }
  }).immediate();
}

/** Removes events whose query key starts with a prefix (e.g. re-loading a data set's qrels). */
export function deleteHistoryByKeyPrefix(store: Store, prefix: string): number {
  return store.db.prepare(`DELETE FROM history WHERE substr(query_key, 1, ?) = ?`).run(prefix.length, prefix).changes;
}

/**
 * Every cited event: what the past-query index is built from. An explicit label for the same ask and chunk
 * replaces what attribution inferred (a person's "down" removes an inferred citation).
 */
export function citedHistory(store: Store): CitedQueryRow[] {
  return store.db
    .prepare(
      `SELECT h.query_key AS queryKey, h.query, h.chunk_id AS chunkId, h.doc_id AS docId, h.weight
       FROM history h
       WHERE h.cited = 1
         AND NOT (h.source = 'trace' AND EXISTS (
           SELECT 1 FROM history e INDEXED BY history_explicit
           WHERE e.source = 'explicit' AND e.query_key = h.query_key AND e.chunk_id = h.chunk_id))
       ORDER BY h.id`,
    )
    .all() as CitedQueryRow[];
}

/** One vote per ask and shown chunk (explicit labels first): what the feedback prior counts. */
export function shownChunkVotes(store: Store): Array<{ queryKey: string; query: string; chunkId: number; cited: number }> {
  return store.db
    .prepare(
      `SELECT query_key AS queryKey, min(query) AS query, chunk_id AS chunkId,
              coalesce(max(CASE WHEN source = 'explicit' THEN cited END), max(cited)) AS cited
       FROM history WHERE chunk_id IS NOT NULL AND shown = 1 GROUP BY query_key, chunk_id`,
    )
    .all() as Array<{ queryKey: string; query: string; chunkId: number; cited: number }>;
}

/** Shown and cited counts per chunk (the feedback prior). */
export function chunkHistoryCounts(store: Store): ChunkHistoryCounts[] {
  const counts = new Map<number, ChunkHistoryCounts>();
  for (const v of shownChunkVotes(store)) {
    const c = counts.get(v.chunkId) ?? { chunkId: v.chunkId, shown: 0, cited: 0 };
    c.shown++;
    c.cited += v.cited;
    counts.set(v.chunkId, c);
  }
  return [...counts.values()];
}

export interface HistoryRow {
  id: number;
  queryKey: string;
  query: string;
  chunkId: number | null;
  docId: string;
  shown: number;
  cited: number;
  weight: number;
  source: HistorySource;
}

/** Raw rows after an id, in order (incremental index updates). */
export function historySince(store: Store, afterId: number): HistoryRow[] {
  return store
    .statement(
      `SELECT id, query_key AS queryKey, query, chunk_id AS chunkId, doc_id AS docId, shown, cited, weight, source
       FROM history WHERE id > ? ORDER BY id`,
    )
    .all(afterId) as HistoryRow[];
}

export function maxHistoryId(store: Store): number {
  return (store.statement(`SELECT coalesce(max(id), 0) AS m FROM history`).get() as { m: number }).m;
}

export function hasHistory(store: Store): boolean {
  return store.statement(`SELECT 1 FROM history LIMIT 1`).get() !== undefined;
}

export interface Generations {
  chunks: number;
  history: number;
  /** Rows ever deleted from history: appends alone leave it unchanged. */
  historyDeletions: number;
}

/** Bumped by triggers on every document and history write, by any process. */
export function generations(store: Store): Generations {
  // Read on every request by each in-memory cache.
  const rows = store.statement(`SELECT key, value FROM store_state`).all() as Array<{ key: string; value: number }>;
  const get = (k: string) => rows.find((r) => r.key === k)?.value ?? 0;
  return { chunks: get('chunks_generation'), history: get('history_generation'), historyDeletions: get('history_deletions') };
}

/** A chunk's text with what the in-memory indexes keep of it. */
export interface ChunkText {
  id: number;
  heading: string;
  text: string;
  docId: string;
  ordinal: number;
  tokenCount: number;
}

/** Rows per page of `chunkTextPages`. */
const CHUNK_PAGE_ROWS = 2000;

/**
 * Every chunk with its text, by id, a page at a time: each page is its own short statement, so a caller may use
 * the connection (or yield to other requests) between pages, and never holds the whole corpus's text at once.
 */
export function* chunkTextPages(store: Store): Generator<ChunkText[]> {
  const page = store.statement(
    `SELECT c.id, c.heading, c.text, coalesce(d.external_id, d.uri) AS docId, c.ordinal, c.token_count AS tokenCount
     FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id > ? ORDER BY c.id LIMIT ${CHUNK_PAGE_ROWS}`,
  );
  for (let rows = page.all(0) as ChunkText[]; rows.length > 0; rows = page.all(rows[rows.length - 1]!.id) as ChunkText[]) yield rows;
}

/** All chunks with their text (tests and small corpora; the indexes read `chunkTextPages`). */
export function allChunkTexts(store: Store): ChunkText[] {
  return [...chunkTextPages(store)].flat();
}

/** Chunk ids of a document by its caller-facing id (external id, or uri). */
export function chunkIdsOfDoc(store: Store, docId: string): number[] {
  return (
    store.db
      .prepare(
        `SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
         WHERE coalesce(d.external_id, d.uri) = ? ORDER BY c.ordinal`,
      )
      .all(docId) as Array<{ id: number }>
  ).map((r) => r.id);
}

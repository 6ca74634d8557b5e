// Checks shared by the suites that change what the FTS triggers index (CJK bigrams, identifier parts): the two
// lexical paths must agree, and a home written by an older version must be re-indexed by its migration.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { ingestPaths, type IngestSummary } from '../../src/ingest/ingest.js';
import { Bm25Index } from '../../src/rank/bm25-index.js';
import { lexicalTerms, parseQuery, toFtsMatch } from '../../src/rank/query.js';
import type { Store } from '../../src/store/store.js';

export const FIELD_WEIGHTS = { heading: 2, body: 1 };

/** Writes each file (name → text) into `dir`, then ingests them into the store with the default chunking. */
export async function writeAndIngest(store: Store, dir: string, files: Record<string, string>): Promise<IngestSummary> {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return ingestPaths(store, Object.keys(files).map((name) => join(dir, name)), { prune: false, maxFileBytes: 1 << 20, chunking: resolveConfig({ home: dir }).chunking });
}

/** File names of the chunks FTS5 finds for a question, best first. */
export function ftsSources(store: Store, question: string): Array<string | undefined> {
  return store.searchFts(toFtsMatch(parseQuery(question)), 10, FIELD_WEIGHTS).map((h) => store.getChunks([h.chunkId]).get(h.chunkId)!.source.split('/').pop());
}

/** Each question finds `expected` first through FTS5, and the in-memory index ranks and scores exactly as FTS5. */
export function expectBothPathsFind(store: Store, cases: ReadonlyArray<readonly [question: string, expected: string]>): void {
  const index = Bm25Index.build(store);
  for (const [question, expected] of cases) {
    expect(ftsSources(store, question)[0]).toBe(expected);
    const viaFts = store.searchFts(toFtsMatch(parseQuery(question)), 10, FIELD_WEIGHTS);
    const viaIndex = index.search(lexicalTerms(parseQuery(question)), 10, FIELD_WEIGHTS);
    expect(viaIndex.map((h) => h.chunkId)).toEqual(viaFts.map((h) => h.chunkId));
    expect(viaIndex.map((h) => h.score)).toEqual(viaFts.map((h) => expect.closeTo(h.score, 9)));
  }
}

/**
 * Puts a home back as an older schema version left it: triggers that index `indexed(column)` (an SQL expression
 * over the column, e.g. the column itself or sieve_fts_text(column)), FTS5 holding exactly that, and the version.
 */
export function rollBackFtsIndexing(store: Store, indexed: (column: string) => string, version: number): void {
  const values = (row: 'new' | 'old') => `${indexed(`${row}.heading`)}, ${indexed(`${row}.text`)}`;
  // Migration 013 added the vocabulary table; a home from before it has none.
  if (version < 13) store.db.exec('DROP TABLE IF EXISTS chunks_fts_vocab');
  // Migration 014 added the trigger that counts a document updated in place as a change of the corpus.
  if (version < 14) store.db.exec('DROP TRIGGER IF EXISTS documents_generation_update');
  // Migration 015 indexed documents by content (moved files).
  if (version < 15) store.db.exec('DROP INDEX IF EXISTS documents_content_hash');
  store.db.exec(`
    DROP TRIGGER chunks_fts_insert; DROP TRIGGER chunks_fts_delete; DROP TRIGGER chunks_fts_update;
    CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
      INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, ${values('new')}); END;
    CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
      INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.id, ${values('old')}); END;
    CREATE TRIGGER chunks_fts_update AFTER UPDATE ON chunks BEGIN
      INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.id, ${values('old')});
      INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, ${values('new')}); END;
    INSERT INTO chunks_fts(chunks_fts) VALUES ('delete-all');
    INSERT INTO chunks_fts(rowid, heading, text) SELECT id, ${indexed('heading')}, ${indexed('text')} FROM chunks;
    PRAGMA user_version = ${version};`);
}

/** FTS5's own consistency checks, and SQLite's. */
export function expectFtsIntact(store: Store): void {
  expect(store.integrityCheck()).toEqual(['ok']);
  store.db.exec(`INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 0)`);
}

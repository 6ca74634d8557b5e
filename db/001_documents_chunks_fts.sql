-- Sources are files on disk; a file yields one document (or many, for a BEIR corpus.jsonl).
-- Change detection is per source (content hash), then per document (content hash), so one changed line
-- of a corpus re-indexes one document.
CREATE TABLE sources (
  id           INTEGER PRIMARY KEY,
  path         TEXT NOT NULL UNIQUE,
  root         TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  size         INTEGER NOT NULL,
  mtime_ms     REAL NOT NULL,
  ingested_at  TEXT NOT NULL
);
CREATE INDEX sources_root ON sources(root);

CREATE TABLE documents (
  id           INTEGER PRIMARY KEY,
  source_id    INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  uri          TEXT NOT NULL UNIQUE,
  external_id  TEXT,
  kind         TEXT NOT NULL,
  language     TEXT,
  title        TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  mtime_ms     REAL NOT NULL,
  metadata     TEXT NOT NULL DEFAULT '{}',
  char_count   INTEGER NOT NULL,
  -- Written in the same transaction as the chunks, so a reader can prove a document is whole.
  chunk_count  INTEGER NOT NULL,
  ingested_at  TEXT NOT NULL
);
CREATE INDEX documents_source ON documents(source_id);
CREATE INDEX documents_external_id ON documents(external_id);

-- AUTOINCREMENT: chunk ids are referenced by traces and vector indexes; a deleted id must never come back
-- naming different text.
CREATE TABLE chunks (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id  INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal      INTEGER NOT NULL,
  -- The FTS 'heading' field: document title and heading path, so titles and section names weigh apart from the body.
  heading      TEXT NOT NULL,
  heading_path TEXT NOT NULL DEFAULT '[]',
  text         TEXT NOT NULL,
  token_count  INTEGER NOT NULL,
  char_start   INTEGER NOT NULL,
  char_end     INTEGER NOT NULL,
  UNIQUE (document_id, ordinal)
);

CREATE VIRTUAL TABLE chunks_fts USING fts5(
  heading, text,
  content = 'chunks', content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.id, old.heading, old.text);
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.id, old.heading, old.text);
  INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
END;

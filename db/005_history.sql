-- Past (query, chunk, cited) events: what the relevance model's prior and past-query features read.
-- Filled from attributed traces and explicit feedback (the feedback loop), or from a data set's train qrels
-- (benchmarks). doc_id survives re-ingest (chunk ids do not), so document-level evidence outlives an edit.
CREATE TABLE history (
  id          INTEGER PRIMARY KEY,
  query       TEXT NOT NULL,
  -- Which ask or data-set query this event belongs to: training leaves a query's own events out.
  query_key   TEXT NOT NULL,
  chunk_id    INTEGER REFERENCES chunks(id) ON DELETE SET NULL,
  doc_id      TEXT NOT NULL,
  shown       INTEGER NOT NULL,
  cited       INTEGER NOT NULL,
  weight      REAL NOT NULL DEFAULT 1,
  source      TEXT NOT NULL CHECK (source IN ('trace', 'explicit', 'qrels')),
  created_at  TEXT NOT NULL
);
CREATE INDEX history_chunk ON history(chunk_id);
CREATE INDEX history_doc ON history(doc_id);
CREATE INDEX history_query_key ON history(query_key);

-- Generation counters let in-memory views (term statistics, the past-query index) notice changes made by any
-- process with one indexed read per request.
CREATE TABLE store_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO store_state (key, value) VALUES ('chunks_generation', 0), ('history_generation', 0);

CREATE TRIGGER documents_generation_insert AFTER INSERT ON documents BEGIN
  UPDATE store_state SET value = value + 1 WHERE key = 'chunks_generation';
END;
CREATE TRIGGER documents_generation_delete AFTER DELETE ON documents BEGIN
  UPDATE store_state SET value = value + 1 WHERE key = 'chunks_generation';
END;
CREATE TRIGGER history_generation_insert AFTER INSERT ON history BEGIN
  UPDATE store_state SET value = value + 1 WHERE key = 'history_generation';
END;
CREATE TRIGGER history_generation_delete AFTER DELETE ON history BEGIN
  UPDATE store_state SET value = value + 1 WHERE key = 'history_generation';
END;

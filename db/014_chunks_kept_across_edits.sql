-- A re-ingested document keeps the rows (and ids) of its chunks whose heading and text did not change, so the
-- history tied to those chunk ids (their prior, the past questions that cited them) outlives an edit elsewhere in
-- the document. Kept chunks get a new ordinal or span, which must not re-index them: the FTS update trigger now
-- fires on the indexed columns only. The document row is updated in place, so that update counts as a change of
-- the corpus, as an insert or delete of a document does.
DROP TRIGGER chunks_fts_update;
CREATE TRIGGER chunks_fts_update AFTER UPDATE OF heading, text ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
    VALUES ('delete', old.id, sieve_fts_text_v2(old.heading), sieve_fts_text_v2(old.text));
  INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, sieve_fts_text_v2(new.heading), sieve_fts_text_v2(new.text));
END;
CREATE TRIGGER documents_generation_update AFTER UPDATE ON documents BEGIN
  UPDATE store_state SET value = value + 1 WHERE key = 'chunks_generation';
END;

-- Chinese, Japanese and Korean text is indexed as overlapping character bigrams (src/util/cjk.ts): unicode61
-- splits only at spaces and punctuation, so a CJK clause was one token and no word inside it could be found.
-- sieve_fts_text() is that rewrite (text without CJK passes unchanged); every connection registers it before it
-- migrates (src/store/db.ts). The FTS index keeps the rewritten text; the chunks table keeps the original.
DROP TRIGGER chunks_fts_insert;
DROP TRIGGER chunks_fts_delete;
DROP TRIGGER chunks_fts_update;
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, sieve_fts_text(new.heading), sieve_fts_text(new.text));
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
    VALUES ('delete', old.id, sieve_fts_text(old.heading), sieve_fts_text(old.text));
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
    VALUES ('delete', old.id, sieve_fts_text(old.heading), sieve_fts_text(old.text));
  INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, sieve_fts_text(new.heading), sieve_fts_text(new.text));
END;
-- Chunks already indexed with CJK text: take out what was indexed then (the text as it was), index the bigrams.
INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
  SELECT 'delete', id, heading, text FROM chunks WHERE sieve_fts_text(heading) != heading OR sieve_fts_text(text) != text;
INSERT INTO chunks_fts(rowid, heading, text)
  SELECT id, sieve_fts_text(heading), sieve_fts_text(text) FROM chunks
  WHERE sieve_fts_text(heading) != heading OR sieve_fts_text(text) != text;

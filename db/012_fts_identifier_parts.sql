-- Identifiers are indexed with their parts (src/util/identifiers.ts): "getUserName" also as "get", "user" and
-- "name", so a search in words reaches code. sieve_fts_text_v2() is sieve_fts_text() (CJK bigrams, migration 011)
-- after that split; sieve_fts_text() itself stays as it was, because the FTS index holds what it wrote and a
-- 'delete' must repeat exactly what was indexed.
DROP TRIGGER chunks_fts_insert;
DROP TRIGGER chunks_fts_delete;
DROP TRIGGER chunks_fts_update;
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, sieve_fts_text_v2(new.heading), sieve_fts_text_v2(new.text));
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
    VALUES ('delete', old.id, sieve_fts_text_v2(old.heading), sieve_fts_text_v2(old.text));
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
    VALUES ('delete', old.id, sieve_fts_text_v2(old.heading), sieve_fts_text_v2(old.text));
  INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, sieve_fts_text_v2(new.heading), sieve_fts_text_v2(new.text));
END;
-- Chunks whose identifiers now split: take out what migration 011's function indexed, index the new text.
INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
  SELECT 'delete', id, sieve_fts_text(heading), sieve_fts_text(text) FROM chunks
  WHERE sieve_fts_text_v2(heading) != sieve_fts_text(heading) OR sieve_fts_text_v2(text) != sieve_fts_text(text);
INSERT INTO chunks_fts(rowid, heading, text)
  SELECT id, sieve_fts_text_v2(heading), sieve_fts_text_v2(text) FROM chunks
  WHERE sieve_fts_text_v2(heading) != sieve_fts_text(heading) OR sieve_fts_text_v2(text) != sieve_fts_text(text);

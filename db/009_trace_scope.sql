-- The scope a question was asked in (JSON: {"sources": [...], "docIds": [...]}), NULL for the whole corpus. Training
-- rebuilds a trace's list under the same scope: evidence recomputed without it would add chunks the ask could not
-- have shown.
ALTER TABLE traces ADD COLUMN scope TEXT;

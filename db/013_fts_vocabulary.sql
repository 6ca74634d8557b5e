-- The terms the FTS index holds, with how many chunks hold each (fts5vocab reads the index itself; it stores
-- nothing). Lexical search reads it to correct a misspelt word while FTS5 serves queries (src/store/store.ts).
CREATE VIRTUAL TABLE chunks_fts_vocab USING fts5vocab(chunks_fts, 'row');

-- A file moved or renamed is found by its documents' content hash, so it keeps its documents, chunk ids and
-- history instead of starting over under its new path (src/ingest/ingest.ts).
CREATE INDEX documents_content_hash ON documents(content_hash);

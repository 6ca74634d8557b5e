-- Stored embeddings, one per (chunk, embedder version), so an HNSW index can be rebuilt without re-reading files
-- or re-embedding. Vectors are IEEE binary16, little-endian (see src/embed/vectors.ts): unit vectors lose nothing
-- that matters to cosine ranking, and storage halves.
-- The primary key leads with chunk_id so the ON DELETE CASCADE from chunks is an index lookup per deleted chunk.
CREATE TABLE chunk_vectors (
  chunk_id  INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
  embedder  TEXT NOT NULL,
  vector    BLOB NOT NULL,
  PRIMARY KEY (chunk_id, embedder)
);
-- Per-version scans (rebuild, counts, dropping a retired version) in chunk id order.
CREATE INDEX chunk_vectors_embedder ON chunk_vectors(embedder, chunk_id);

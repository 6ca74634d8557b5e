-- The model registry: every trained or shipped model version, its files, its metrics, and which one serves.
CREATE TABLE models (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('embedder', 'relevance')),
  parent      TEXT REFERENCES models(id),
  -- Folder holding the version's files, absolute or relative to the home.
  dir         TEXT NOT NULL,
  -- JSON: { "<role>": "<file name in dir>" }, e.g. { "fp32": "model.onnx", "fp16": "model.fp16.onnx" }.
  files       TEXT NOT NULL,
  -- JSON: architecture, training data window, hyper-parameters.
  meta        TEXT NOT NULL DEFAULT '{}',
  -- JSON: held-out metrics at registration.
  metrics     TEXT NOT NULL DEFAULT '{}',
  created_at  TEXT NOT NULL,
  active      INTEGER NOT NULL DEFAULT 0
);
-- At most one active version per kind.
CREATE UNIQUE INDEX models_one_active ON models(kind) WHERE active = 1;

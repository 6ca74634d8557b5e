-- Every ask leaves a trace: what was asked, what was shown (in order), what was answered, and which models served it.
-- The feedback loop extends this by later migrations (candidates with features, attribution, explicit feedback).
CREATE TABLE traces (
  id           TEXT PRIMARY KEY,
  created_at   TEXT NOT NULL,
  question     TEXT NOT NULL,
  answer       TEXT NOT NULL,
  reasoning    TEXT NOT NULL DEFAULT '',
  answered_by  TEXT NOT NULL,
  -- JSON: [{ n, chunkIds, score, tokenCount }] in display order.
  context      TEXT NOT NULL,
  -- JSON: [{ chunkId, scores, ranks }] the candidates the ranker saw, in ranked order.
  candidates   TEXT NOT NULL,
  citations    TEXT NOT NULL,
  models       TEXT NOT NULL,
  timings      TEXT NOT NULL,
  budget_tokens INTEGER NOT NULL
);
CREATE INDEX traces_created_at ON traces(created_at);

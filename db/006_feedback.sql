-- The feedback loop's additions to traces: the features the ranker computed (float32, row-major, for the ranked
-- candidates in order), what attribution decided per shown item, whether an exploration slot was used.
ALTER TABLE traces ADD COLUMN features BLOB;
ALTER TABLE traces ADD COLUMN feature_names TEXT;
-- JSON: [{ n, chunkIds, used, method, score, evidence }] per shown item.
ALTER TABLE traces ADD COLUMN attribution TEXT NOT NULL DEFAULT '[]';
ALTER TABLE traces ADD COLUMN explored INTEGER NOT NULL DEFAULT 0;

-- Explicit feedback from a person: outranks anything attribution inferred.
CREATE TABLE feedback (
  id          INTEGER PRIMARY KEY,
  trace_id    TEXT NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
  -- The shown item's number, or NULL for feedback on the whole answer.
  n           INTEGER,
  label       TEXT CHECK (label IN ('up', 'down')),
  helpful     INTEGER,
  created_at  TEXT NOT NULL
);
CREATE INDEX feedback_trace ON feedback(trace_id);

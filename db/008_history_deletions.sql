-- Deletions from history, counted. The in-memory past-question index folds appended rows in and must rebuild only
-- when rows went away (retention, removed documents); it used to tell the two apart with count(*) over the whole
-- table on every refresh, a cost that grew with the history (0.27 ms per ask at 135k rows, on every ask of a busy
-- service). A counter read with the generations costs one indexed read.
INSERT INTO store_state (key, value) VALUES ('history_deletions', 0);

CREATE TRIGGER history_deletions_count AFTER DELETE ON history BEGIN
  UPDATE store_state SET value = value + 1 WHERE key = 'history_deletions';
END;

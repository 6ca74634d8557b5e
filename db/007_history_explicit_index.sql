-- Explicit labels by (ask, chunk). citedHistory() asks, for every cited row, whether a person's label overrides
-- it; without this index SQLite walked all events of the chunk (history_chunk), which grew with every ask and
-- made building the past-query index quadratic (112 s on 176k events). Partial: only explicit rows are indexed.
CREATE INDEX history_explicit ON history(query_key, chunk_id) WHERE source = 'explicit';

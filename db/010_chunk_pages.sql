-- The pages of a paged document (PDF) a chunk's text lies on, 1-based and inclusive; NULL for other documents.
-- Context items and search hits carry them, so an answer's [n] can be checked on the page it came from.
ALTER TABLE chunks ADD COLUMN page_first INTEGER;
ALTER TABLE chunks ADD COLUMN page_last INTEGER;

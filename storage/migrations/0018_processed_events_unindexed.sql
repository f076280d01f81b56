-- A turn records its update in processed_events. With an index on "at" as well, every turn wrote two pages of it to
-- the WAL instead of one. The weekly pruning reads the old ids in a snapshot (a scan) and deletes them by key.
DROP INDEX IF EXISTS processed_events_at;

-- Several workers on one database (PostgreSQL; harmless on SQLite, where one process does everything).

-- Which worker claimed a row being sent: at start-up, and on the leader every minute, the rows of a worker that is
-- gone (no session of that name on the server) become 'uncertain', never resent; a live worker's are left alone.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

-- The platform's rate is shared by every worker: each send takes the next free moment on its channel's line.
CREATE TABLE send_pace (
    channel  TEXT PRIMARY KEY,
    next_at  DOUBLE PRECISION NOT NULL DEFAULT 0  -- seconds since 1970 (the database server's clock)
);

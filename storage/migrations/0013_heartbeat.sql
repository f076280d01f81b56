-- The running bot writes its heartbeat here; the command line reads it to say whether a bot is running.
CREATE TABLE heartbeat (
    name   TEXT PRIMARY KEY,
    at     TEXT NOT NULL,
    pid    INTEGER NOT NULL
);

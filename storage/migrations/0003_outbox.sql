-- Everything the bot sends on its own: one row per recipient and message, de-duplicated by key.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    dedupe_key  TEXT NOT NULL UNIQUE,
    channel     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    person_id   INTEGER REFERENCES persons(id) ON DELETE SET NULL,
    kind        TEXT NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 5,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'uncertain', 'skipped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  TEXT NOT NULL,
    last_error  TEXT,
    group_key   TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);
CREATE INDEX outbox_due ON outbox(status, priority, not_before);
CREATE INDEX outbox_group ON outbox(group_key, status);

-- Scheduled work already done (a reminder wave, a deadline nudge), so a restart neither repeats nor loses it.
CREATE TABLE jobs_done (
    job_key   TEXT PRIMARY KEY,
    done_at   TEXT NOT NULL
);

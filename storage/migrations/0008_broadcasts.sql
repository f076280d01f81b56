-- Announcements an organizer sends to a chosen audience. One row per broadcast; its messages are outbox rows
-- with group_key 'broadcast:<id>' (their statuses are the delivery tally). A draft is being composed in the chat;
-- confirming moves it to 'scheduled' (sent by the bot at scheduled_at) or 'sending' (queued now) exactly once;
-- 'done' once no message of it is waiting; 'cancelled' when the organizer gave it up (its unsent rows skipped).
CREATE TABLE broadcasts (
    id                 INTEGER PRIMARY KEY,
    created_by         TEXT NOT NULL,                -- 'telegram:<user id>' or 'cli'
    creator_person_id  INTEGER REFERENCES persons(id) ON DELETE SET NULL,  -- told the progress and the tally
    text               TEXT NOT NULL DEFAULT '',
    photo              TEXT NOT NULL DEFAULT '',     -- a platform file id
    photo_path         TEXT NOT NULL DEFAULT '',     -- a local image (CLI)
    document_id        TEXT NOT NULL DEFAULT '',     -- a platform file id, until downloaded
    document_path      TEXT NOT NULL DEFAULT '',
    document_name      TEXT NOT NULL DEFAULT '',
    audience           TEXT NOT NULL DEFAULT '{}',   -- JSON: {"kind": "hamlet", "ref": "tan-hau"}
    content_hash       TEXT NOT NULL DEFAULT '',     -- text and attachments: who already received the same
    status             TEXT NOT NULL DEFAULT 'draft'
                       CHECK (status IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
    scheduled_at       TEXT,
    recipients         INTEGER NOT NULL DEFAULT 0,   -- messages queued
    excluded_already   INTEGER NOT NULL DEFAULT 0,   -- left out: already received the same announcement
    excluded_blocked   INTEGER NOT NULL DEFAULT 0,   -- left out: blocked the bot
    progress           INTEGER NOT NULL DEFAULT 0,   -- the last progress step told to the creator (percent)
    created_at         TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT
);
CREATE INDEX broadcasts_status ON broadcasts(status, scheduled_at);
CREATE INDEX broadcasts_content ON broadcasts(content_hash);
-- Who already received an announcement: outbox rows of a person, by group (audience exclusions, 10,000 rows).
CREATE INDEX outbox_person_group ON outbox(person_id, group_key);

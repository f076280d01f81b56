-- The Zalo Official Account channel (issue 14).
-- The OA's token pair: the refresh token is single-use and rotates on every refresh, so the pair Zalo gave last is
-- the only one that works; it is written in one transaction before the access token is used. ``seeded_from`` is a
-- hash of the refresh token the organizer put in the environment: a new grant there replaces a dead pair.
CREATE TABLE zalo_oa_tokens (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    access_token   TEXT NOT NULL,
    refresh_token  TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    seeded_from    TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- How each outbox message went out on a channel with an interaction window (the OA): consultation, zns,
-- proactive, or wait (outside the window with no way to reach the household: it waits until the household writes);
-- the template data a ZNS template is filled from; the platform's id of the sent message and its delivery receipt.
ALTER TABLE outbox ADD COLUMN route TEXT;
ALTER TABLE outbox ADD COLUMN fields TEXT;
ALTER TABLE outbox ADD COLUMN platform_msg_id TEXT;
ALTER TABLE outbox ADD COLUMN delivered_at TEXT;
CREATE INDEX outbox_platform_msg ON outbox(platform_msg_id) WHERE platform_msg_id IS NOT NULL;
CREATE INDEX outbox_waiting ON outbox(channel, chat_id) WHERE route = 'wait';

-- The interaction window per chat: when the household last wrote, and how many messages were sent to it since.
CREATE TABLE outbox_windows (
    channel          TEXT NOT NULL,
    chat_id          TEXT NOT NULL,
    last_inbound_at  TEXT NOT NULL,
    sent_since       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, chat_id)
) WITHOUT ROWID;

-- Images and voice notes kept as files (a platform's URL of them expires): the file is <media folder>/<id>;
-- removed with the person (/forget) and by the purge once no submission names it.
CREATE TABLE kept_media (
    id          TEXT PRIMARY KEY,
    person_id   INTEGER REFERENCES persons(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX kept_media_person ON kept_media(person_id);

-- People, their channel identities, conversation state and submissions (request-form entries).
CREATE TABLE persons (
    id              INTEGER PRIMARY KEY,
    created_at      TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT 'vi',
    consent_at      TEXT,
    full_name       TEXT,
    hamlet_id       TEXT,
    category        TEXT,
    phone           TEXT,
    phone_verified  INTEGER NOT NULL DEFAULT 0,
    active          INTEGER NOT NULL DEFAULT 1
);

-- One row per (channel, user id on that channel); a household may have several (Telegram, Zalo, console).
CREATE TABLE identities (
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    person_id    INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    chat_id      TEXT NOT NULL,
    display_name TEXT,
    created_at   TEXT NOT NULL,
    blocked_at   TEXT,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX identities_person ON identities(person_id);

CREATE TABLE conversations (
    person_id   INTEGER PRIMARY KEY REFERENCES persons(id) ON DELETE CASCADE,
    step        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL
);

CREATE TABLE submissions (
    id              INTEGER PRIMARY KEY,
    code            TEXT UNIQUE,
    person_id       INTEGER REFERENCES persons(id) ON DELETE SET NULL,
    hamlet_id       TEXT,
    category        TEXT,
    kind            TEXT NOT NULL,
    field_id        TEXT NOT NULL,
    topic_id        TEXT NOT NULL,
    content         TEXT,
    media_kind      TEXT,
    media_file_id   TEXT,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'new',
    answer          TEXT,
    answered_at     TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX submissions_person ON submissions(person_id);
CREATE INDEX submissions_hamlet_topic ON submissions(hamlet_id, topic_id);

-- Dialogues, the hamlets taking part with their seat quotas, registrations, the eligibility roster, staff roles.
CREATE TABLE dialogues (
    id               TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    starts_at        TEXT,
    place            TEXT NOT NULL DEFAULT '',
    map_url          TEXT,
    status           TEXT NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'open', 'closed', 'held', 'cancelled')),
    deadline_days    INTEGER NOT NULL DEFAULT 5,
    reminder_minutes TEXT NOT NULL DEFAULT '[4320, 1440, 120]',
    requires_roster  INTEGER NOT NULL DEFAULT 0,
    contact          TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE dialogue_hamlets (
    dialogue_id  TEXT NOT NULL REFERENCES dialogues(id) ON DELETE CASCADE,
    hamlet_id    TEXT NOT NULL,
    quota        INTEGER NOT NULL CHECK (quota >= 1),
    PRIMARY KEY (dialogue_id, hamlet_id)
);
CREATE INDEX dialogue_hamlets_hamlet ON dialogue_hamlets(hamlet_id);

CREATE TABLE roster_entries (
    id              INTEGER PRIMARY KEY,
    dialogue_id     TEXT NOT NULL REFERENCES dialogues(id) ON DELETE CASCADE,
    household_code  TEXT NOT NULL,
    full_name       TEXT NOT NULL,
    hamlet_id       TEXT NOT NULL,
    category        TEXT,
    phone           TEXT,
    imported_at     TEXT NOT NULL,
    UNIQUE (dialogue_id, household_code)
);
CREATE INDEX roster_phone ON roster_entries(dialogue_id, phone);

CREATE TABLE registrations (
    id             INTEGER PRIMARY KEY,
    dialogue_id    TEXT NOT NULL REFERENCES dialogues(id) ON DELETE CASCADE,
    person_id      INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    hamlet_id      TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('registered', 'waitlisted', 'cancelled')),
    code           TEXT NOT NULL UNIQUE,
    attending      TEXT CHECK (attending IN ('yes', 'no')),
    roster_id      INTEGER REFERENCES roster_entries(id) ON DELETE SET NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    checked_in_at  TEXT,
    checked_in_by  TEXT,
    UNIQUE (dialogue_id, person_id)
);
CREATE INDEX registrations_seat ON registrations(dialogue_id, hamlet_id, status);

CREATE TABLE staff (
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'organizer', 'officer')),
    full_name    TEXT,
    scope        TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

-- Who did what: one row per privileged action (answers, status changes, views of a submission, invites, role
-- grants and revocations, check-ins, exports). ``detail`` is a JSON object; secrets never go in it.
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,
    actor_channel  TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    role           TEXT,
    action         TEXT NOT NULL,
    target         TEXT,
    detail         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_target ON audit_log(target, action);

-- One-time staff invitations: only the SHA-256 of the token is kept, so a copy of the database opens no door.
CREATE TABLE invites (
    token_hash   TEXT PRIMARY KEY,
    role         TEXT NOT NULL CHECK (role IN ('organizer', 'officer')),
    scope        TEXT NOT NULL DEFAULT '{}',
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    used_by      TEXT
);

-- The answer loop lists the submissions not yet answered, by status.
CREATE INDEX submissions_status ON submissions(status);

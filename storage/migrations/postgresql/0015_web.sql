-- PostgreSQL's own version of 0015_web.sql: the same tables; the trigger as PostgreSQL writes one.
-- The web desk (handlers/web): sign-in links, sessions, officers' group merges and splits, paper forms.

-- One-time sign-in links sent by /web: only the SHA-256 of the token is kept; valid 10 minutes, used once.
CREATE TABLE web_signin_tokens (
    token_hash   TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT
);

-- A signed-in browser: the cookie holds a random token, this table its hash; ended_at set at sign-out.
CREATE TABLE web_sessions (
    token_hash   TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    ended_at     TEXT
);
CREATE INDEX web_sessions_who ON web_sessions(channel, external_id);

-- An officer's decision on the grouping: the submissions sharing a group_key form one group in the digest and the
-- report whatever the automatic grouping says ("merge"); a key of its own puts a submission alone ("split").
CREATE TABLE group_overrides (
    submission_id  BIGINT PRIMARY KEY REFERENCES submissions(id) ON DELETE CASCADE,
    group_key      TEXT NOT NULL,
    set_by         TEXT NOT NULL,
    set_at         TEXT NOT NULL
);
CREATE INDEX group_overrides_key ON group_overrides(group_key);

-- A paper form or a phone call typed in by an officer for a household without a smartphone: who entered it, how;
-- consent was given on paper.
CREATE TABLE paper_entries (
    submission_id  BIGINT PRIMARY KEY REFERENCES submissions(id) ON DELETE CASCADE,
    entered_by     TEXT NOT NULL,
    entered_at     TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('paper', 'phone'))
);

-- The desk's text search: each submission's words without accents or case ("diacritics optional"), filled by the
-- desk as new submissions come; removed with the words when a household forgets its data.
CREATE TABLE submission_search (
    submission_id  BIGINT PRIMARY KEY REFERENCES submissions(id) ON DELETE CASCADE,
    folded         TEXT NOT NULL
);
CREATE FUNCTION submission_search_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM submission_search WHERE submission_id = NEW.id;
    RETURN NEW;
END
$$;
CREATE TRIGGER submission_search_forget AFTER UPDATE OF content ON submissions FOR EACH ROW
    WHEN (NEW.content IS NULL) EXECUTE FUNCTION submission_search_forget();

-- The desk filters by hamlet (an officer's scope), field, topic, status and kind: these indexes hold every filtered
-- column, so a count or a page of ids is read from the index alone (50,000 submissions in a few milliseconds).
CREATE INDEX submissions_desk_hamlet ON submissions(hamlet_id, field_id, topic_id, status, kind);
CREATE INDEX submissions_desk_topic ON submissions(topic_id, status, kind, hamlet_id, field_id)

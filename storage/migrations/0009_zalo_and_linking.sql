-- Zalo updates already handled, so a redelivery (Zalo delivers at least once, also after our restart) is dropped;
-- one-time codes that link a household's identities on two channels (Telegram and Zalo) into one person.
CREATE TABLE zalo_seen (
    event_name  TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (event_name, message_id)
);
CREATE INDEX zalo_seen_age ON zalo_seen(seen_at);

CREATE TABLE link_codes (
    code         TEXT PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX link_codes_person ON link_codes(person_id);

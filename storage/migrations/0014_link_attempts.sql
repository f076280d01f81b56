-- Wrong /link codes, by a one-way hash of the chat identity: the guess limit outlives /forget, which deletes the
-- person (and so the conversation) but must not reset the count. The hash is no personal data.
CREATE TABLE link_attempts (
    who  TEXT NOT NULL,
    at   TEXT NOT NULL
);
CREATE INDEX link_attempts_who ON link_attempts(who, at);

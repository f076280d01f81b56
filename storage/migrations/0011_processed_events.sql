-- Platform updates already handled (Telegram update_id, Zalo message id): a redelivery after a crash is skipped.
CREATE TABLE processed_events (
    channel   TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (channel, event_id)
) WITHOUT ROWID;
CREATE INDEX processed_events_at ON processed_events(at);

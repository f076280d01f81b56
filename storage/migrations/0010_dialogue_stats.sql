-- Anonymous counts kept for a dialogue after its personal data is purged (Nghị định 13/2023).
CREATE TABLE dialogue_stats (
    dialogue_id  TEXT NOT NULL,
    hamlet_id    TEXT NOT NULL,
    registered   INTEGER NOT NULL DEFAULT 0,
    waitlisted   INTEGER NOT NULL DEFAULT 0,
    checked_in   INTEGER NOT NULL DEFAULT 0,
    purged_at    TEXT NOT NULL,
    PRIMARY KEY (dialogue_id, hamlet_id)
);

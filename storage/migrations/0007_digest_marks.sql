-- The daily digest: up to which submission each staff member (officer, organizer, admin) has been sent.
-- A digest covers the submissions above the mark; the mark moves in the same transaction that queues the digest
-- (and records "digest:<local date>:<channel>:<id>" in jobs_done), so each submission is in one daily digest.
CREATE TABLE digest_marks (
    channel             TEXT NOT NULL,
    external_id         TEXT NOT NULL,
    last_submission_id  INTEGER NOT NULL DEFAULT 0,
    sent_at             TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

-- What the sender needs beyond 0003: when a row was claimed (so the window of messages whose delivery is
-- unknown after a crash can be reported); per-channel indexes so that claiming the most urgent due row and finding
-- the next due time stay index range scans with 10,000 rows queued; the identity behind a chat (blocked
-- households are skipped, mark_blocked finds them by chat).
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
CREATE INDEX outbox_claim ON outbox(channel, status, priority, not_before);
CREATE INDEX outbox_next_due ON outbox(channel, status, not_before);
CREATE INDEX identities_chat ON identities(channel, chat_id);

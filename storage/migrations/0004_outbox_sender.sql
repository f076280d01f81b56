-- What the sender needs beyond 0003: when a row was claimed (so the window of messages whose delivery is
-- unknown after a crash can be reported), the earliest due time without scanning every priority, and the
-- identity behind a chat (blocked households are skipped, mark_blocked finds them by chat).
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
CREATE INDEX outbox_pending_time ON outbox(status, not_before);
CREATE INDEX identities_chat ON identities(channel, chat_id);

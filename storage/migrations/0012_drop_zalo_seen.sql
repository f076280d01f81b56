-- zalo_seen is no longer written or read: processed_events (0011) records every handled update of every channel.
DROP INDEX IF EXISTS zalo_seen_age;
DROP TABLE IF EXISTS zalo_seen;

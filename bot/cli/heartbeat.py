"""Is a bot running? ``doithoai run`` beats every 20 seconds into the database; the command line reads the beat
before it promises that a queued announcement will go out, or waits on it."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage import Database, heartbeat

NAME = "bot"
BEAT_EVERY = timedelta(seconds=20)
STALE_AFTER = timedelta(seconds=90)   # no beat for this long: no bot is running


async def bot_running(db: Database, now: datetime) -> bool:
    async with db.reading() as conn:
        at = await heartbeat.last(conn, NAME)
    return at is not None and now - datetime.fromisoformat(at) < STALE_AFTER

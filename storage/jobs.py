"""Jobs done once (a reminder wave, a day's digest, a deadline report): their keys in ``jobs_done``."""

from __future__ import annotations

from storage.db import Connection


async def is_done(conn: Connection, job_key: str) -> bool:
    async with conn.execute("SELECT 1 FROM jobs_done WHERE job_key = ?", (job_key,)) as cur:
        return await cur.fetchone() is not None


async def mark_done(conn: Connection, job_key: str, now: str) -> None:
    await conn.execute("INSERT OR IGNORE INTO jobs_done (job_key, done_at) VALUES (?, ?)", (job_key, now))

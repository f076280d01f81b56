"""Zalo updates already handled: Zalo delivers at least once, so a redelivery (also after a restart) is dropped."""

from __future__ import annotations

import aiosqlite


async def first_sight(conn: aiosqlite.Connection, event_name: str, message_id: str, now: str) -> bool:
    """Record the update; False when it was recorded before (a redelivery)."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO zalo_seen (event_name, message_id, seen_at) VALUES (?, ?, ?)",
        (event_name, message_id, now),
    )
    return cur.rowcount == 1


async def forget_seen_before(conn: aiosqlite.Connection, cutoff: str) -> int:
    """Drop records older than ``cutoff`` (Zalo does not redeliver days later); returns how many."""
    cur = await conn.execute("DELETE FROM zalo_seen WHERE seen_at < ?", (cutoff,))
    return cur.rowcount

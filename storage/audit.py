"""The audit log: who did what to which record, and when (SQL only)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection

_COLS = "id, at, actor_channel, actor_id, role, action, target, detail"


@dataclass(slots=True)
class AuditEntry:
    id: int
    at: str
    actor_channel: str
    actor_id: str
    role: str | None
    action: str
    target: str | None
    detail: str


async def insert_entry(conn: Connection, *, at: str, actor_channel: str, actor_id: str, role: str | None,
                       action: str, target: str | None, detail: str) -> int:
    cur = await conn.execute(
        "INSERT INTO audit_log (at, actor_channel, actor_id, role, action, target, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (at, actor_channel, actor_id, role, action, target, detail),
    )
    return int((await cur.fetchall())[0][0])


async def last_entries(conn: Connection, limit: int) -> list[AuditEntry]:
    """The newest ``limit`` entries, oldest first (as a log is read)."""
    async with conn.execute(
        f"SELECT {_COLS} FROM (SELECT {_COLS} FROM audit_log ORDER BY id DESC LIMIT ?) AS newest ORDER BY id", (limit,)
    ) as cur:
        return [AuditEntry(*row) for row in await cur.fetchall()]


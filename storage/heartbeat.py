"""The running bot's heartbeat (SQL only): one row per process role, its last beat and its process id."""

from __future__ import annotations

from storage.db import Connection


async def beat(conn: Connection, name: str, at: str, pid: int) -> None:
    await conn.execute("INSERT INTO heartbeat (name, at, pid) VALUES (?, ?, ?)"
                       " ON CONFLICT(name) DO UPDATE SET at = excluded.at, pid = excluded.pid", (name, at, pid))


async def last(conn: Connection, name: str) -> str | None:
    """The time of the last beat (ISO, UTC), or None if none was ever written."""
    rows = await conn.execute_fetchall("SELECT at FROM heartbeat WHERE name = ?", (name,))
    return rows[0][0] if rows else None


async def stop(conn: Connection, name: str, pid: int) -> None:
    """A bot that stops cleanly says so: the command line need not wait for the beat to age."""
    await conn.execute("DELETE FROM heartbeat WHERE name = ? AND pid = ?", (name, pid))

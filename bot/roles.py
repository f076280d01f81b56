"""Who may do what: administrators (Telegram ids in the config), organizers and officers (the staff table)."""

from __future__ import annotations

import aiosqlite

from bot.config import Settings

RANK = {"officer": 1, "organizer": 2, "admin": 3}


async def role_of(conn: aiosqlite.Connection, settings: Settings, channel: str, external_id: str) -> str | None:
    if channel == "telegram" and external_id.lstrip("-").isdigit() and int(external_id) in settings.bot.admins:
        return "admin"
    async with conn.execute(
        "SELECT role FROM staff WHERE channel = ? AND external_id = ?", (channel, external_id)
    ) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


def allows(role: str | None, needed: str) -> bool:
    return role is not None and RANK[role] >= RANK[needed]


async def grant(conn: aiosqlite.Connection, channel: str, external_id: str, role: str, full_name: str | None,
                now: str) -> None:
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}")
    await conn.execute(
        "INSERT INTO staff (channel, external_id, role, full_name, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(channel, external_id) DO UPDATE SET role = excluded.role,"
        " full_name = COALESCE(excluded.full_name, staff.full_name)",
        (channel, external_id, role, full_name, now),
    )


async def revoke(conn: aiosqlite.Connection, channel: str, external_id: str) -> bool:
    cur = await conn.execute("DELETE FROM staff WHERE channel = ? AND external_id = ?", (channel, external_id))
    return cur.rowcount == 1

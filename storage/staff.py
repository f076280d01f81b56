"""The staff table: organizers and officers, their role and scope (SQL only; the rules are in bot/roles.py)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection


@dataclass(slots=True)
class StaffMember:
    channel: str
    external_id: str
    role: str
    full_name: str | None
    scope: str
    created_at: str


async def list_staff(conn: Connection) -> list[StaffMember]:
    async with conn.execute(
        "SELECT channel, external_id, role, full_name, scope, created_at FROM staff"
        " ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'organizer' THEN 1 ELSE 2 END, created_at, external_id"
    ) as cur:
        return [StaffMember(*row) for row in await cur.fetchall()]


async def list_by_role(conn: Connection) -> list[tuple[str, str, str, str | None]]:
    """(channel, external id, role, name) in the order of the role's name."""
    async with conn.execute("SELECT channel, external_id, role, full_name FROM staff ORDER BY role") as cur:
        return [(row[0], row[1], row[2], row[3]) for row in await cur.fetchall()]


async def staff_ids(conn: Connection) -> list[tuple[str, str]]:
    """(channel, external id) of everyone in the table."""
    async with conn.execute("SELECT channel, external_id FROM staff") as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


async def get_role(conn: Connection, channel: str, external_id: str) -> str | None:
    async with conn.execute(
        "SELECT role FROM staff WHERE channel = ? AND external_id = ?", (channel, external_id)
    ) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def get_scope(conn: Connection, channel: str, external_id: str) -> str | None:
    """The scope as stored (JSON), None when the person is not in the table."""
    async with conn.execute(
        "SELECT scope FROM staff WHERE channel = ? AND external_id = ?", (channel, external_id)
    ) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def save_staff(conn: Connection, channel: str, external_id: str, role: str, full_name: str | None,
                     scope: str, now: str) -> None:
    """Insert or update; a missing name keeps the stored one."""
    await conn.execute(
        "INSERT INTO staff (channel, external_id, role, full_name, scope, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(channel, external_id) DO UPDATE SET role = excluded.role, scope = excluded.scope,"
        " full_name = COALESCE(excluded.full_name, staff.full_name)",
        (channel, external_id, role, full_name, scope, now),
    )


async def delete_staff(conn: Connection, channel: str, external_id: str) -> bool:
    cur = await conn.execute("DELETE FROM staff WHERE channel = ? AND external_id = ?", (channel, external_id))
    return cur.rowcount == 1

"""The staff table as a list (SQL only; granting and revoking are in bot/roles.py)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(slots=True)
class StaffMember:
    channel: str
    external_id: str
    role: str
    full_name: str | None
    scope: str
    created_at: str


async def list_staff(conn: aiosqlite.Connection) -> list[StaffMember]:
    async with conn.execute(
        "SELECT channel, external_id, role, full_name, scope, created_at FROM staff"
        " ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'organizer' THEN 1 ELSE 2 END, created_at, external_id"
    ) as cur:
        return [StaffMember(*row) for row in await cur.fetchall()]

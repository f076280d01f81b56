"""Staff invitations (SQL only): stored by the SHA-256 of their token, used at most once."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection


@dataclass(slots=True)
class Invite:
    token_hash: str
    role: str
    scope: str
    created_by: str
    created_at: str
    expires_at: str
    used_at: str | None
    used_by: str | None


async def insert_invite(conn: Connection, invite: Invite) -> None:
    await conn.execute(
        "INSERT INTO invites (token_hash, role, scope, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (invite.token_hash, invite.role, invite.scope, invite.created_by, invite.created_at, invite.expires_at),
    )


async def get_invite(conn: Connection, token_hash: str) -> Invite | None:
    async with conn.execute(
        "SELECT token_hash, role, scope, created_by, created_at, expires_at, used_at, used_by FROM invites"
        " WHERE token_hash = ?", (token_hash,)
    ) as cur:
        row = await cur.fetchone()
    return Invite(*row) if row else None


async def mark_used(conn: Connection, token_hash: str, used_by: str, used_at: str) -> bool:
    """False when it was used already (the check and the mark are one statement)."""
    cur = await conn.execute(
        "UPDATE invites SET used_at = ?, used_by = ? WHERE token_hash = ? AND used_at IS NULL",
        (used_at, used_by, token_hash),
    )
    return cur.rowcount == 1


async def count_open(conn: Connection, now: str) -> int:
    async with conn.execute("SELECT COUNT(*) FROM invites WHERE used_at IS NULL AND expires_at > ?", (now,)) as cur:
        return int((await cur.fetchone())[0])

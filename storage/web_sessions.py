"""The web desk's sign-in links and sessions (SQL only). Only the SHA-256 of a token is stored: a copy of the
database opens no browser session."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection


@dataclass(frozen=True, slots=True)
class WebSession:
    token_hash: str
    channel: str
    external_id: str
    csrf: str
    created_at: str
    expires_at: str


async def insert_signin(conn: Connection, token_hash: str, channel: str, external_id: str, now: str,
                        expires_at: str) -> None:
    await conn.execute(
        "INSERT INTO web_signin_tokens (token_hash, channel, external_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)", (token_hash, channel, external_id, now, expires_at))


async def use_signin(conn: Connection, token_hash: str, now: str) -> tuple[str, str] | None:
    """Mark an unexpired, unused link used and return whose it is; None for a link unknown, used or expired."""
    cur = await conn.execute(
        "UPDATE web_signin_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (now, token_hash, now))
    if cur.rowcount != 1:
        return None
    async with conn.execute("SELECT channel, external_id FROM web_signin_tokens WHERE token_hash = ?",
                            (token_hash,)) as found:
        row = await found.fetchone()
    return (row[0], row[1]) if row else None


async def insert_session(conn: Connection, session: WebSession) -> None:
    await conn.execute(
        "INSERT INTO web_sessions (token_hash, channel, external_id, csrf, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (session.token_hash, session.channel, session.external_id, session.csrf, session.created_at,
         session.expires_at))


async def live_session(conn: Connection, token_hash: str, now: str) -> WebSession | None:
    async with conn.execute(
        "SELECT token_hash, channel, external_id, csrf, created_at, expires_at FROM web_sessions"
        " WHERE token_hash = ? AND ended_at IS NULL AND expires_at > ?", (token_hash, now)) as cur:
        row = await cur.fetchone()
    return WebSession(*row) if row else None


async def end_session(conn: Connection, token_hash: str, now: str) -> bool:
    cur = await conn.execute("UPDATE web_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                             (now, token_hash))
    return cur.rowcount == 1


async def end_sessions_of(conn: Connection, channel: str, external_id: str, now: str) -> int:
    """Every open session of one staff member (their role was revoked)."""
    cur = await conn.execute(
        "UPDATE web_sessions SET ended_at = ? WHERE channel = ? AND external_id = ? AND ended_at IS NULL",
        (now, channel, external_id))
    return cur.rowcount


async def forget_before(conn: Connection, now: str) -> int:
    """Links and sessions past their time (housekeeping)."""
    first = await conn.execute("DELETE FROM web_signin_tokens WHERE expires_at <= ?", (now,))
    second = await conn.execute("DELETE FROM web_sessions WHERE expires_at <= ? OR ended_at IS NOT NULL", (now,))
    return first.rowcount + second.rowcount

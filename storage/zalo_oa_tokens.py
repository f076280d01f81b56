"""The Zalo OA's token pair: one row, replaced whole in one transaction.

Zalo's refresh token is single-use: the pair it answers a refresh with is the only one that works from then on. The
caller stores that pair (``store``) and commits before using the access token, so a crash after the refresh loses
nothing that was stored, and a crash before the store keeps the previous pair in the row.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: str   # ISO time the access token stops working
    seeded_from: str  # hash of the environment's refresh token this chain started from


async def load(conn: Connection) -> TokenPair | None:
    async with conn.execute(
        "SELECT access_token, refresh_token, expires_at, seeded_from FROM zalo_oa_tokens WHERE id = 1"
    ) as cur:
        row = await cur.fetchone()
    return TokenPair(row[0], row[1], row[2], row[3]) if row else None


async def renewal(conn: Connection) -> tuple[str, str] | None:
    """When the kept access token expires and when the pair was last renewed (the doctor's check), or None."""
    async with conn.execute("SELECT expires_at, updated_at FROM zalo_oa_tokens WHERE id = 1") as cur:
        row = await cur.fetchone()
    return (str(row[0]), str(row[1])) if row else None


async def store(conn: Connection, pair: TokenPair, now: str) -> None:
    await conn.execute(
        "INSERT INTO zalo_oa_tokens (id, access_token, refresh_token, expires_at, seeded_from, updated_at)"
        " VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET access_token = excluded.access_token,"
        " refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,"
        " seeded_from = excluded.seeded_from, updated_at = excluded.updated_at",
        (pair.access_token, pair.refresh_token, pair.expires_at, pair.seeded_from, now),
    )

"""Broadcasts and the households they go to (SQL only; the rules live in ``bot/broadcast.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Connection

_COLS = ("id, created_by, creator_person_id, text, photo, photo_path, document_id, document_path, document_name,"
         " audience, content_hash, status, scheduled_at, recipients, excluded_already, excluded_blocked, progress,"
         " created_at, started_at, finished_at")
EDITABLE = frozenset({"text", "photo", "photo_path", "document_id", "document_path", "document_name", "audience",
                      "content_hash", "scheduled_at", "recipients", "excluded_already", "excluded_blocked",
                      "progress", "started_at", "finished_at"})

# The households of each kind of audience, as a condition on ``p`` (persons); ``?`` are the audience's refs.
_AUDIENCES = {
    "everyone": "1 = 1",
    "dialogue": "p.id IN (SELECT person_id FROM registrations WHERE status = 'registered' AND dialogue_id IN ({refs}))",
    "waitlist": "p.id IN (SELECT person_id FROM registrations WHERE status = 'waitlisted' AND dialogue_id IN ({refs}))",
    "hamlet": "p.hamlet_id IN ({refs})",
    "category": "p.category IN ({refs})",
    "no-question": "NOT EXISTS (SELECT 1 FROM submissions s WHERE s.person_id = p.id)",
}
# Each person's identity to write to: the most recent one that has not blocked the bot (as recipient_for_person).
_HOUSEHOLDS = """
WITH ranked AS (
    SELECT person_id, channel, chat_id, blocked_at, ROW_NUMBER() OVER (
        PARTITION BY person_id ORDER BY blocked_at IS NOT NULL, created_at DESC, rowid DESC) AS rank
    FROM identities
), same AS (
    SELECT 'broadcast:' || id AS group_key FROM broadcasts WHERE content_hash = ? AND id != ?
)
SELECT p.id, p.language, i.channel, i.chat_id, i.blocked_at IS NOT NULL AS blocked,
       EXISTS (SELECT 1 FROM outbox o WHERE o.person_id = p.id AND o.group_key IN (SELECT group_key FROM same)
               AND o.status IN ('pending', 'sending', 'sent', 'uncertain')) AS already  -- reached them, or may have
FROM persons p JOIN ranked i ON i.person_id = p.id AND i.rank = 1
WHERE p.active = 1 AND p.consent_at IS NOT NULL AND ({condition})
ORDER BY p.id
"""


@dataclass(slots=True)
class BroadcastRow:
    id: int
    created_by: str
    creator_person_id: int | None
    text: str
    photo: str
    photo_path: str
    document_id: str
    document_path: str
    document_name: str
    audience: str
    content_hash: str
    status: str
    scheduled_at: datetime | None
    recipients: int
    excluded_already: int
    excluded_blocked: int
    progress: int
    created_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def group_key(self) -> str:
        return f"broadcast:{self.id}"


@dataclass(frozen=True, slots=True)
class Household:
    person_id: int
    language: str
    channel: str
    chat_id: str
    blocked: bool   # every identity of the household blocked the bot
    already: bool   # received (or is being sent) a broadcast with the same content


def _row(raw: Any) -> BroadcastRow:
    values = list(raw)
    values[12] = datetime.fromisoformat(values[12]) if values[12] else None
    return BroadcastRow(*values)


async def insert(conn: Connection, *, created_by: str, creator_person_id: int | None, now: str) -> int:
    cur = await conn.execute(
        "INSERT INTO broadcasts (created_by, creator_person_id, created_at) VALUES (?, ?, ?) RETURNING id",
        (created_by, creator_person_id, now),
    )
    return int((await cur.fetchall())[0][0])


async def get(conn: Connection, broadcast_id: int) -> BroadcastRow | None:
    async with conn.execute(f"SELECT {_COLS} FROM broadcasts WHERE id = ?", (broadcast_id,)) as cur:
        raw = await cur.fetchone()
    return _row(raw) if raw else None


async def update(conn: Connection, broadcast_id: int, **values: object) -> None:
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValueError(f"not broadcast columns: {sorted(unknown)}")
    if values:
        assignments = ", ".join(f"{col} = ?" for col in values)
        await conn.execute(f"UPDATE broadcasts SET {assignments} WHERE id = ?", (*values.values(), broadcast_id))


async def move(conn: Connection, broadcast_id: int, to: str, *, from_: Sequence[str],
               **values: object) -> bool:
    """Change the status only if it is one of ``from_`` (a second confirmation finds it moved: False)."""
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValueError(f"not broadcast columns: {sorted(unknown)}")
    assignments = "".join(f", {col} = ?" for col in values)
    cur = await conn.execute(
        f"UPDATE broadcasts SET status = ?{assignments} WHERE id = ? AND status IN ({_marks(from_)})",
        (to, *values.values(), broadcast_id, *from_),
    )
    return cur.rowcount == 1


async def recent(conn: Connection, limit: int) -> list[BroadcastRow]:
    """The latest confirmed broadcasts (drafts left out), newest first."""
    async with conn.execute(
        f"SELECT {_COLS} FROM broadcasts WHERE status != 'draft' ORDER BY id DESC LIMIT ?", (limit,)
    ) as cur:
        return [_row(raw) for raw in await cur.fetchall()]


async def with_status(conn: Connection, status: str) -> list[BroadcastRow]:
    async with conn.execute(f"SELECT {_COLS} FROM broadcasts WHERE status = ? ORDER BY id", (status,)) as cur:
        return [_row(raw) for raw in await cur.fetchall()]


async def next_scheduled(conn: Connection) -> datetime | None:
    async with conn.execute("SELECT MIN(scheduled_at) FROM broadcasts WHERE status = 'scheduled'") as cur:
        (value,) = await cur.fetchone()
    return datetime.fromisoformat(value) if value else None


async def households(
    conn: Connection, kind: str, refs: Sequence[str], *, content_hash: str, broadcast_id: int,
) -> list[Household]:
    """Consented, active households of an audience, each with where to write and why it might be left out."""
    condition = _AUDIENCES[kind]
    if "{refs}" in condition:
        condition = condition.format(refs=_marks(refs) if refs else "NULL")
    params = (content_hash, broadcast_id, *(refs if "?" in condition else ()))
    async with conn.execute(_HOUSEHOLDS.format(condition=condition), params) as cur:
        return [Household(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5])) for row in await cur.fetchall()]


async def reasons(conn: Connection, group_key: str, status: str) -> dict[str, int]:
    """Why messages of a group ended in ``status`` ('failed', 'skipped'): last error → count, most frequent first."""
    async with conn.execute(
        "SELECT COALESCE(last_error, ''), COUNT(*) FROM outbox WHERE group_key = ? AND status = ?"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
        (group_key, status),
    ) as cur:
        return {reason: count for reason, count in await cur.fetchall()}


async def uncertain_window(conn: Connection, group_key: str) -> tuple[datetime, datetime] | None:
    """When the messages whose delivery is unknown (the bot was killed while sending them) were claimed."""
    async with conn.execute(
        "SELECT MIN(claimed_at), MAX(claimed_at) FROM outbox WHERE group_key = ? AND status = 'uncertain'"
        " AND claimed_at IS NOT NULL",
        (group_key,),
    ) as cur:
        first, last = await cur.fetchone()
    return (datetime.fromisoformat(first), datetime.fromisoformat(last)) if first else None


async def skip_pending(conn: Connection, group_key: str, reason: str) -> int:
    """A cancelled broadcast: its messages not yet claimed by the sender are never sent."""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'skipped', last_error = ? WHERE group_key = ? AND status = 'pending'",
        (reason, group_key),
    )
    return cur.rowcount


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)

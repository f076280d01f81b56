"""What the daily digest reads and writes: new submissions and each recipient's watermark (``digest_marks``)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection


@dataclass(frozen=True, slots=True)
class Entry:
    """A submission as the digest shows it."""

    id: int
    code: str
    created_at: str
    person_id: int | None
    name: str | None
    hamlet_id: str | None
    category: str | None
    kind: str
    field_id: str
    topic_id: str
    content: str
    media_kind: str | None


async def entries_after(conn: Connection, after: int) -> list[Entry]:
    """The submissions above this id, oldest first, withdrawn ones left out."""
    async with conn.execute(
        "SELECT s.id, s.code, s.created_at, s.person_id, p.full_name, s.hamlet_id, s.category, s.kind, s.field_id,"
        " s.topic_id, COALESCE(s.content, ''), s.media_kind FROM submissions s"
        " LEFT JOIN persons p ON p.id = s.person_id WHERE s.id > ? AND s.status != 'withdrawn' ORDER BY s.id",
        (after,),
    ) as cur:
        return [Entry(*row) for row in await cur.fetchall()]


async def get_mark(conn: Connection, channel: str, external_id: str) -> tuple[int, str] | None:
    """(the last submission id covered, when) for this recipient; None before their first daily digest."""
    async with conn.execute(
        "SELECT last_submission_id, sent_at FROM digest_marks WHERE channel = ? AND external_id = ?",
        (channel, external_id),
    ) as cur:
        row = await cur.fetchone()
    return (row[0], row[1]) if row else None


async def set_mark(conn: Connection, channel: str, external_id: str, last_submission_id: int,
                   now: str) -> None:
    await conn.execute(
        "INSERT INTO digest_marks (channel, external_id, last_submission_id, sent_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(channel, external_id) DO UPDATE SET last_submission_id = excluded.last_submission_id,"
        " sent_at = excluded.sent_at",
        (channel, external_id, last_submission_id, now),
    )

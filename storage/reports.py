"""What the committee report reads: the submissions of a dialogue's hamlets, and who receives the report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from storage.db import Connection

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One submission with the household it came from (withdrawn ones are only counted, never read)."""

    id: int
    code: str
    created_at: str
    person_id: int | None
    person_name: str | None
    phone: str | None
    hamlet_id: str | None
    category: str | None
    kind: str
    field_id: str
    topic_id: str
    content: str | None
    media_kind: str | None
    status: str
    answer: str | None


@dataclass(frozen=True, slots=True)
class StaffContact:
    channel: str
    external_id: str
    chat_id: str | None     # from the identities table when they have written to the bot
    person_id: int | None
    language: str | None


_IN_DIALOGUE = "s.hamlet_id IN (SELECT hamlet_id FROM dialogue_hamlets WHERE dialogue_id = ?)"


async def count_rows(conn: Connection, dialogue_id: str) -> tuple[int, int]:
    """(submissions to report, withdrawn ones) of the dialogue's hamlets."""
    async with conn.execute(
        "SELECT COUNT(*) FILTER (WHERE s.status != 'withdrawn'), COUNT(*) FILTER (WHERE s.status = 'withdrawn')"
        f" FROM submissions s WHERE {_IN_DIALOGUE}",
        (dialogue_id,),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]), int(row[1])


async def iter_rows(conn: Connection, dialogue_id: str) -> AsyncIterator[list[ReportRow]]:
    """The submissions to report, oldest first, in batches (50,000 rows never sit in one fetch)."""
    async with conn.execute(
        "SELECT s.id, s.code, s.created_at, s.person_id, p.full_name, p.phone, s.hamlet_id, s.category, s.kind,"
        " s.field_id, s.topic_id, s.content, s.media_kind, s.status, s.answer"
        f" FROM submissions s LEFT JOIN persons p ON p.id = s.person_id WHERE {_IN_DIALOGUE}"
        " AND s.status != 'withdrawn' ORDER BY s.id",
        (dialogue_id,),
    ) as cur:
        while batch := await cur.fetchmany(_BATCH):
            yield [ReportRow(*row) for row in batch]


async def organizers(conn: Connection) -> list[StaffContact]:
    """Staff who are organizers or administrators, with the chat they last wrote from (if any)."""
    async with conn.execute(
        "SELECT s.channel, s.external_id, i.chat_id, i.person_id, p.language FROM staff s"
        " LEFT JOIN identities i ON i.channel = s.channel AND i.external_id = s.external_id"
        " LEFT JOIN persons p ON p.id = i.person_id"
        " WHERE s.role IN ('organizer', 'admin') ORDER BY s.created_at, s.channel, s.external_id",
    ) as cur:
        return [StaffContact(*row) for row in await cur.fetchall()]


async def identity_contact(conn: Connection, channel: str, external_id: str) -> StaffContact | None:
    async with conn.execute(
        "SELECT i.channel, i.external_id, i.chat_id, i.person_id, p.language FROM identities i"
        " JOIN persons p ON p.id = i.person_id WHERE i.channel = ? AND i.external_id = ?",
        (channel, external_id),
    ) as cur:
        row = await cur.fetchone()
    return StaffContact(*row) if row else None

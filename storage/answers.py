"""The answer loop's queries: a submission by its code, its status and answer, what is still unanswered, and what
each household of a dialogue asked (SQL only; who may see what is decided in bot/answers.py)."""

from __future__ import annotations

from storage.db import Connection
from storage.records import Submission

_COLS = (
    "s.id, s.code, s.person_id, s.hamlet_id, s.category, s.kind, s.field_id, s.topic_id, s.content, s.media_kind,"
    " s.media_file_id, s.channel, s.status, s.answer, s.created_at"
)


async def by_id(conn: Connection, submission_id: int) -> Submission | None:
    async with conn.execute(f"SELECT {_COLS} FROM submissions s WHERE s.id = ?", (submission_id,)) as cur:
        row = await cur.fetchone()
    return Submission(*row) if row else None


async def set_status(conn: Connection, submission_id: int, status: str) -> None:
    await conn.execute("UPDATE submissions SET status = ? WHERE id = ?", (status, submission_id))


async def set_answer(conn: Connection, submission_id: int, answer: str, status: str, now: str) -> None:
    await conn.execute("UPDATE submissions SET answer = ?, status = ?, answered_at = ? WHERE id = ?",
                       (answer, status, now, submission_id))


async def with_status(conn: Connection, statuses: tuple[str, ...],
                      hamlet_ids: tuple[str, ...] | None = None) -> list[Submission]:
    """Submissions in one of ``statuses`` (and in ``hamlet_ids`` when given), oldest first."""
    marks = ", ".join("?" * len(statuses))
    sql = f"SELECT {_COLS} FROM submissions s WHERE s.status IN ({marks})"
    params: list[object] = list(statuses)
    if hamlet_ids is not None:
        sql += f" AND s.hamlet_id IN ({', '.join('?' * len(hamlet_ids))})"
        params.extend(hamlet_ids)
    async with conn.execute(sql + " ORDER BY s.id", params) as cur:
        return [Submission(*row) for row in await cur.fetchall()]


async def dialogue_hamlets(conn: Connection, dialogue_id: str) -> tuple[str, ...]:
    async with conn.execute("SELECT hamlet_id FROM dialogue_hamlets WHERE dialogue_id = ? ORDER BY hamlet_id",
                            (dialogue_id,)) as cur:
        return tuple(row[0] for row in await cur.fetchall())


async def of_dialogue_households(conn: Connection, dialogue_id: str) -> dict[int, list[Submission]]:
    """What each participating household asked for this dialogue: person id → its submissions in the dialogue's
    hamlets since the dialogue was set up (oldest first). Participants are the households with a seat (checked in
    or not) and every household that sent something from one of its hamlets; withdrawn entries are left out."""
    async with conn.execute(
        f"SELECT {_COLS} FROM submissions s JOIN dialogues d ON d.id = ?"
        " WHERE s.person_id IS NOT NULL AND s.status != 'withdrawn' AND s.created_at >= d.created_at"
        " AND s.hamlet_id IN (SELECT hamlet_id FROM dialogue_hamlets WHERE dialogue_id = d.id)"
        " ORDER BY s.person_id, s.id",
        (dialogue_id,),
    ) as cur:
        rows = [Submission(*row) for row in await cur.fetchall()]
    grouped: dict[int, list[Submission]] = {}
    for sub in rows:
        grouped.setdefault(int(sub.person_id or 0), []).append(sub)
    return grouped


async def seated_households(conn: Connection, dialogue_id: str) -> list[int]:
    async with conn.execute(
        "SELECT person_id FROM registrations WHERE dialogue_id = ? AND status = 'registered' ORDER BY id",
        (dialogue_id,),
    ) as cur:
        return [int(row[0]) for row in await cur.fetchall()]

"""Submissions: the entries of the request form (phiếu yêu cầu đối thoại)."""

from __future__ import annotations

from typing import Any

from storage.db import Connection
from storage.records import Submission

_COLS = (
    "id, code, person_id, hamlet_id, category, kind, field_id, topic_id, content, media_kind,"
    " media_file_id, channel, status, answer, created_at"
)


def submission_code(submission_id: int) -> str:
    return f"DT-{submission_id:04d}"


def _from_row(row: Any) -> Submission:
    return Submission(*row)


async def create_submission(
    conn: Connection, *, person_id: int, hamlet_id: str | None, category: str | None, kind: str,
    field_id: str, topic_id: str, content: str | None, media_kind: str | None, media_file_id: str | None,
    channel: str, now: str,
) -> Submission:
    cur = await conn.execute(
        "INSERT INTO submissions (person_id, hamlet_id, category, kind, field_id, topic_id, content,"
        " media_kind, media_file_id, channel, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (person_id, hamlet_id, category, kind, field_id, topic_id, content, media_kind, media_file_id,
         channel, now),
    )
    new_id = int((await cur.fetchall())[0][0])
    code = submission_code(new_id)
    await conn.execute("UPDATE submissions SET code = ? WHERE id = ?", (code, new_id))
    return Submission(new_id, code, person_id, hamlet_id, category, kind, field_id, topic_id, content,
                      media_kind, media_file_id, channel, "new", None, now)


async def list_for_person(conn: Connection, person_id: int, limit: int = 20) -> list[Submission]:
    async with conn.execute(
        f"SELECT {_COLS} FROM submissions WHERE person_id = ? ORDER BY id DESC LIMIT ?", (person_id, limit)
    ) as cur:
        return [_from_row(row) for row in await cur.fetchall()]


async def count_for_person(conn: Connection, person_id: int) -> int:
    async with conn.execute("SELECT COUNT(*) FROM submissions WHERE person_id = ?", (person_id,)) as cur:
        return int((await cur.fetchall())[0][0])


async def all_submissions(conn: Connection) -> list[Submission]:
    async with conn.execute(f"SELECT {_COLS} FROM submissions ORDER BY id") as cur:
        return [_from_row(row) for row in await cur.fetchall()]


async def highest_id(conn: Connection) -> int:
    """The highest submission id (0 when there is none)."""
    async with conn.execute("SELECT MAX(id) FROM submissions") as cur:
        (highest,) = await cur.fetchone()
    return highest or 0

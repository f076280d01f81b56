"""Persons and their channel identities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.db import Connection
from storage.records import Person

PROFILE_COLUMNS = frozenset({"full_name", "hamlet_id", "category", "phone", "phone_verified", "language"})
_PERSON_COLS = "p.id, p.language, p.consent_at, p.full_name, p.hamlet_id, p.category, p.phone, " \
    "p.phone_verified, p.active"


@dataclass(frozen=True, slots=True)
class Chat:
    """Where an identity is written to, whose it is and in which language."""

    channel: str
    chat_id: str
    person_id: int
    language: str
    blocked: bool


def person_from_row(row: Any) -> Person:
    return Person(
        id=row[0], language=row[1], consent_at=row[2], full_name=row[3], hamlet_id=row[4],
        category=row[5], phone=row[6], phone_verified=bool(row[7]), active=bool(row[8]),
    )


async def create_person_with_identity(
    conn: Connection, *, channel: str, external_id: str, chat_id: str,
    display_name: str | None, language: str, now: str,
) -> Person:
    cur = await conn.execute(
        "INSERT INTO persons (created_at, language) VALUES (?, ?) RETURNING id", (now, language)
    )
    person_id = int((await cur.fetchall())[0][0])
    await conn.execute(
        "INSERT INTO identities (channel, external_id, person_id, chat_id, display_name, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (channel, external_id, person_id, chat_id, display_name, now),
    )
    return Person(person_id, language, None, None, None, None, None, False, True)


async def create_person(conn: Connection, *, language: str, now: str) -> int:
    """A household without any chat (entered from a paper form); returns its id."""
    cur = await conn.execute("INSERT INTO persons (created_at, language) VALUES (?, ?) RETURNING id",
                             (now, language))
    return int((await cur.fetchall())[0][0])


async def get_person(conn: Connection, person_id: int) -> Person | None:
    async with conn.execute(f"SELECT {_PERSON_COLS} FROM persons p WHERE p.id = ?", (person_id,)) as cur:
        row = await cur.fetchone()
    return person_from_row(row) if row else None


async def update_profile(conn: Connection, person_id: int, **values: Any) -> None:
    unknown = set(values) - PROFILE_COLUMNS
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")
    if not values:
        return
    assignments = ", ".join(f"{col} = ?" for col in values)
    await conn.execute(f"UPDATE persons SET {assignments} WHERE id = ?", (*values.values(), person_id))


async def set_consent(conn: Connection, person_id: int, when: str | None) -> None:
    await conn.execute("UPDATE persons SET consent_at = ? WHERE id = ?", (when, person_id))


async def mark_chat_reachable(conn: Connection, channel: str, external_id: str, chat_id: str) -> None:
    """A message from the user proves the chat works again (they unblocked the bot)."""
    await conn.execute(
        "UPDATE identities SET blocked_at = NULL, chat_id = ? WHERE channel = ? AND external_id = ?"
        " AND (blocked_at IS NOT NULL OR chat_id != ?)",
        (chat_id, channel, external_id, chat_id),
    )


async def identity_chat(conn: Connection, channel: str, external_id: str) -> Chat | None:
    async with conn.execute(
        "SELECT i.channel, i.chat_id, i.person_id, p.language, i.blocked_at IS NOT NULL FROM identities i"
        " JOIN persons p ON p.id = i.person_id WHERE i.channel = ? AND i.external_id = ?",
        (channel, external_id),
    ) as cur:
        row = await cur.fetchone()
    return Chat(row[0], row[1], row[2], row[3], bool(row[4])) if row else None


async def person_chat(conn: Connection, person_id: int) -> Chat | None:
    """The person's most recent identity that has not blocked the bot, if the person is active."""
    async with conn.execute(
        "SELECT i.channel, i.chat_id, i.person_id, p.language FROM identities i JOIN persons p ON p.id = i.person_id"
        " WHERE i.person_id = ? AND i.blocked_at IS NULL AND p.active = 1"
        " ORDER BY i.created_at DESC, i.rowid DESC LIMIT 1",
        (person_id,),
    ) as cur:
        row = await cur.fetchone()
    return Chat(row[0], row[1], row[2], row[3], False) if row else None


async def mark_blocked(conn: Connection, channel: str, chat_id: str, when: str) -> None:
    await conn.execute(
        "UPDATE identities SET blocked_at = ? WHERE channel = ? AND chat_id = ?", (when, channel, chat_id)
    )


async def forget_person(conn: Connection, person_id: int) -> int:
    """Delete a person's personal data (Nghị định 13/2023).

    Their submissions stay only as anonymous counts (hamlet, topic, kind, date): the content, media and the link
    to the person are removed. Returns how many submissions were anonymised.
    """
    cur = await conn.execute(
        "UPDATE submissions SET person_id = NULL, content = NULL, media_kind = NULL, media_file_id = NULL,"
        " answer = NULL, status = 'withdrawn' WHERE person_id = ?",
        (person_id,),
    )
    anonymised = cur.rowcount
    await scrub_outbox(conn, person_id)
    await forget_roster_entries(conn, person_id)
    await conn.execute("DELETE FROM persons WHERE id = ?", (person_id,))
    return anonymised


async def forget_roster_entries(conn: Connection, person_id: int) -> int:
    """The roster rows that were this household: matched to one of its registrations, or by its phone."""
    cur = await conn.execute(
        "DELETE FROM roster_entries WHERE id IN (SELECT roster_id FROM registrations WHERE person_id = ?"
        " AND roster_id IS NOT NULL) OR (phone IS NOT NULL AND phone = (SELECT phone FROM persons WHERE id = ?))",
        (person_id, person_id),
    )
    return cur.rowcount


async def scrub_outbox(conn: Connection, person_id: int) -> int:
    """Every outbox row of a person (by person or by one of their chats): a message still to go is cancelled
    (``skipped``) and no row keeps the chat id or the text. Returns how many rows were scrubbed."""
    cur = await conn.execute(
        "UPDATE outbox SET status = CASE WHEN status = 'pending' THEN 'skipped' ELSE status END,"
        " last_error = CASE WHEN status = 'pending' THEN 'forgotten' ELSE last_error END,"
        " chat_id = '', payload = '{\"text\":\"\"}', person_id = NULL"
        " WHERE person_id = ? OR EXISTS (SELECT 1 FROM identities i WHERE i.person_id = ?"
        " AND i.channel = outbox.channel AND i.chat_id = outbox.chat_id)",
        (person_id, person_id),
    )
    return cur.rowcount

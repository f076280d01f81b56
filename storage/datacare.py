"""Care of people's data (SQL only; bot/datacare.py decides what and when): finding a person, their data, purging
past dialogues while keeping anonymous counts, and looking into a backup file."""

from __future__ import annotations

import sqlite3
from typing import Any

from storage.db import Connection

PERSON_TABLES = ("identities", "conversations", "submissions", "registrations")


async def person_by_identity(conn: Connection, channel: str, external_id: str) -> int | None:
    rows = await conn.execute_fetchall(
        "SELECT person_id FROM identities WHERE channel = ? AND external_id = ?", (channel, external_id))
    return rows[0][0] if rows else None


async def person_by_phone(conn: Connection, phone: str) -> int | None:
    rows = await conn.execute_fetchall("SELECT id FROM persons WHERE phone = ? ORDER BY id LIMIT 1", (phone,))
    return rows[0][0] if rows else None


async def person_data(conn: Connection, person_id: int) -> dict[str, Any] | None:
    """The person's row and their rows in ``PERSON_TABLES``, as plain data."""
    rows = await conn.execute_fetchall("SELECT * FROM persons WHERE id = ?", (person_id,))
    if not rows:
        return None
    data: dict[str, Any] = {"person": dict(rows[0])}
    for table in PERSON_TABLES:
        found = await conn.execute_fetchall(f"SELECT * FROM {table} WHERE person_id = ?", (person_id,))
        data[table] = [dict(row) for row in found]
    titles = dict(await conn.execute_fetchall(
        "SELECT d.id, d.title FROM dialogues d JOIN registrations r ON r.dialogue_id = d.id WHERE r.person_id = ?",
        (person_id,)))
    for registration in data["registrations"]:
        registration["dialogue_title"] = titles.get(registration["dialogue_id"])
    return data


FINISHED = ("held", "cancelled")
# A submission a live dialogue will report: its hamlet takes part in a dialogue not yet held or cancelled, or in
# one whose time is still ahead.
_LIVE_HAMLET = (
    "hamlet_id IN (SELECT h.hamlet_id FROM dialogue_hamlets h JOIN dialogues d ON d.id = h.dialogue_id"
    " WHERE d.status NOT IN ('held', 'cancelled') OR d.starts_at >= ?)"
)


async def dialogues_before(conn: Connection, before: str, now: str) -> list[str]:
    """Ids of the dialogues held or cancelled that ended before ``before`` (their time, or for a cancelled one
    with no time, the moment it was last changed) and whose time is not still ahead."""
    rows = await conn.execute_fetchall(
        "SELECT id FROM dialogues WHERE status IN ('held', 'cancelled')"
        " AND COALESCE(starts_at, updated_at) < ? AND COALESCE(starts_at, updated_at) < ? ORDER BY id",
        (before, now))
    return [row[0] for row in rows]


async def keep_counts(conn: Connection, dialogue_id: str, now: str) -> None:
    """Store the dialogue's seats and arrivals per hamlet in ``dialogue_stats`` (counts stored before are kept)."""
    await conn.execute(
        "INSERT INTO dialogue_stats (dialogue_id, hamlet_id, registered, waitlisted, checked_in,"
        " purged_at) SELECT h.dialogue_id, h.hamlet_id,"
        " COUNT(r.id) FILTER (WHERE r.status = 'registered'), COUNT(r.id) FILTER (WHERE r.status = 'waitlisted'),"
        " COUNT(r.id) FILTER (WHERE r.checked_in_at IS NOT NULL), ?"
        " FROM dialogue_hamlets h LEFT JOIN registrations r"
        " ON r.dialogue_id = h.dialogue_id AND r.hamlet_id = h.hamlet_id"
        " WHERE h.dialogue_id = ? AND NOT EXISTS (SELECT 1 FROM dialogue_stats s WHERE s.dialogue_id = ?"
        " AND s.hamlet_id = h.hamlet_id) GROUP BY h.dialogue_id, h.hamlet_id ON CONFLICT DO NOTHING",
        (now, dialogue_id, dialogue_id),
    )


async def delete_registrations(conn: Connection, dialogue_id: str) -> int:
    cur = await conn.execute("DELETE FROM registrations WHERE dialogue_id = ?", (dialogue_id,))
    return cur.rowcount


async def delete_roster(conn: Connection, dialogue_id: str) -> int:
    cur = await conn.execute("DELETE FROM roster_entries WHERE dialogue_id = ?", (dialogue_id,))
    return cur.rowcount


async def anonymise_submissions(conn: Connection, before: str, now: str) -> int:
    """Remove the person, text, media and answer of submissions made before this time that no live dialogue will
    report (see ``_LIVE_HAMLET``); returns how many changed."""
    cur = await conn.execute(
        "UPDATE submissions SET person_id = NULL, content = NULL, media_kind = NULL, media_file_id = NULL,"
        " answer = NULL WHERE created_at < ? AND (person_id IS NOT NULL OR content IS NOT NULL"
        f" OR media_file_id IS NOT NULL OR answer IS NOT NULL) AND NOT (hamlet_id IS NOT NULL AND {_LIVE_HAMLET})",
        (before, now))
    return cur.rowcount


async def delete_outbox_before(conn: Connection, before: str) -> int:
    """Outbox rows created before this time that are no longer pending."""
    cur = await conn.execute("DELETE FROM outbox WHERE created_at < ? AND status != 'pending'", (before,))
    return cur.rowcount


async def delete_idle_persons(conn: Connection, before: str) -> int:
    """Persons created before this time with no submission, no registration and no conversation since."""
    cur = await conn.execute(
        "DELETE FROM persons WHERE created_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.person_id = persons.id)"
        " AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.person_id = persons.id)"
        " AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.person_id = persons.id AND c.updated_at >= ?)",
        (before, before),
    )
    return cur.rowcount


def integrity(conn: sqlite3.Connection) -> str:
    """SQLite's integrity check: "ok", or the first problem found."""
    return conn.execute("PRAGMA integrity_check").fetchone()[0]


def table_names(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

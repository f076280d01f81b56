"""One-time link codes, and merging the person behind a second channel identity into the first person."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from storage.db import Connection


@dataclass(frozen=True, slots=True)
class LinkCode:
    code: str
    person_id: int
    channel: str
    external_id: str
    expires_at: str


async def save_code(conn: Connection, code: LinkCode, now: str) -> None:
    """Store a new code; the identity's earlier codes and every expired code are dropped."""
    await conn.execute("DELETE FROM link_codes WHERE expires_at <= ? OR (channel = ? AND external_id = ?)",
                       (now, code.channel, code.external_id))
    await conn.execute(
        "INSERT INTO link_codes (code, person_id, channel, external_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (code.code, code.person_id, code.channel, code.external_id, now, code.expires_at),
    )


async def code_taken(conn: Connection, code: str) -> bool:
    async with conn.execute("SELECT 1 FROM link_codes WHERE code = ?", (code,)) as cur:
        return await cur.fetchone() is not None


async def find_code(conn: Connection, code: str, now: str) -> LinkCode | None:
    """The code if it exists and has not expired."""
    async with conn.execute(
        "SELECT code, person_id, channel, external_id, expires_at FROM link_codes WHERE code = ? AND expires_at > ?",
        (code, now),
    ) as cur:
        row = await cur.fetchone()
    return LinkCode(row[0], row[1], row[2], row[3], row[4]) if row else None


async def delete_code(conn: Connection, code: str) -> None:
    await conn.execute("DELETE FROM link_codes WHERE code = ?", (code,))


async def has_identity_on(conn: Connection, person_id: int, channel: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM identities WHERE person_id = ? AND channel = ?", (person_id, channel)
    ) as cur:
        return await cur.fetchone() is not None


async def delete_registration(conn: Connection, registration_id: int) -> None:
    await conn.execute("DELETE FROM registrations WHERE id = ?", (registration_id,))


_PG_REFERENCES = (
    "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
    " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
    " WHERE c.contype = 'f' AND c.confrelid = 'persons'::regclass ORDER BY 1"
)


async def person_references(conn: Connection) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to persons(id), read from the schema: tables added by later migrations
    are merged too, without this module knowing them."""
    if conn.dialect == "postgresql":
        return [(row[0], row[1]) for row in await conn.execute_fetchall(_PG_REFERENCES)]
    async with conn.execute(
        "SELECT m.name, f.\"from\" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f"
        " WHERE m.type = 'table' AND f.\"table\" = 'persons' ORDER BY m.name"
    ) as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


async def merge_persons(conn: Connection, source_id: int, target_id: int) -> None:
    """Move everything of ``source_id`` to ``target_id``, then delete the source person.

    The target's profile keeps its values; a value it lacks is taken from the source. A row that cannot move
    because the target has its own (its conversation, a registration for the same dialogue: the caller settles
    those first) stays with the source and goes with it.
    """
    await conn.execute(
        "UPDATE persons SET"
        " full_name = COALESCE(full_name, (SELECT full_name FROM persons WHERE id = :source)),"
        " hamlet_id = COALESCE(hamlet_id, (SELECT hamlet_id FROM persons WHERE id = :source)),"
        " category = COALESCE(category, (SELECT category FROM persons WHERE id = :source)),"
        " phone_verified = CASE WHEN phone IS NULL"
        "   THEN (SELECT phone_verified FROM persons WHERE id = :source) ELSE phone_verified END,"
        " phone = COALESCE(phone, (SELECT phone FROM persons WHERE id = :source))"
        " WHERE id = :target",
        {"source": source_id, "target": target_id},
    )
    for table, column in await person_references(conn):
        # Identifiers come from the schema itself, never from input; values are parameters.
        if conn.dialect == "postgresql":
            await _move_rows_postgres(conn, table, column, source_id, target_id)
        else:
            await conn.execute(f'UPDATE OR IGNORE "{table}" SET "{column}" = ? WHERE "{column}" = ?',
                               (target_id, source_id))
    await conn.execute("DELETE FROM persons WHERE id = ?", (source_id,))


async def _move_rows_postgres(conn: Connection, table: str, column: str, source_id: int, target_id: int) -> None:
    """``UPDATE OR IGNORE`` as PostgreSQL can say it: all rows at once, or, when one would clash with the target's
    own, row by row, each behind a savepoint, leaving the clashing ones with the source."""
    await conn.execute("SAVEPOINT move_rows")
    try:
        await conn.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?', (target_id, source_id))
    except sqlite3.IntegrityError:
        await conn.execute("ROLLBACK TO SAVEPOINT move_rows")
        keys = await conn.execute_fetchall(f'SELECT ctid::text FROM "{table}" WHERE "{column}" = ?', (source_id,))
        for (key,) in keys:
            await conn.execute("SAVEPOINT move_row")
            try:
                await conn.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE ctid = ?::text::tid', (target_id, key))
            except sqlite3.IntegrityError:
                await conn.execute("ROLLBACK TO SAVEPOINT move_row")
            await conn.execute("RELEASE SAVEPOINT move_row")
    await conn.execute("RELEASE SAVEPOINT move_rows")


async def failed_attempts(conn: Connection, who: str, since: str) -> int:
    """Wrong codes typed by this (hashed) identity since then; older ones are forgotten on the way."""
    await conn.execute("DELETE FROM link_attempts WHERE at < ?", (since,))
    rows = await conn.execute_fetchall("SELECT COUNT(*) FROM link_attempts WHERE who = ? AND at >= ?", (who, since))
    return rows[0][0]


async def note_failed_attempt(conn: Connection, who: str, at: str) -> None:
    await conn.execute("INSERT INTO link_attempts (who, at) VALUES (?, ?)", (who, at))

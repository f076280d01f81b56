"""Conversation state: one row per person, versioned so that a tap on an old keyboard can be recognised."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

from storage.db import Connection
from storage.people import person_from_row
from storage.records import Session

_LOAD = (
    "SELECT p.id, p.language, p.consent_at, p.full_name, p.hamlet_id, p.category, p.phone,"
    " p.phone_verified, p.active, i.chat_id, c.step, c.data, c.version, i.blocked_at"
    " FROM identities i JOIN persons p ON p.id = i.person_id"
    " LEFT JOIN conversations c ON c.person_id = p.id"
    " WHERE i.channel = ? AND i.external_id = ?"
)


async def load_session(conn: Connection, channel: str, external_id: str) -> Session | None:
    rows = await conn.execute_fetchall(_LOAD, (channel, external_id))
    return _session(channel, rows[0]) if rows else None


async def load_session_for_turn(conn: Connection, channel: str, external_id: str) -> Session | None:
    """The speaker's state for a turn, which then holds it until it commits. On PostgreSQL, where several workers
    may each get one of a household's updates, the turns of one household run one after the other: a lock on the
    speaker (a transaction advisory lock, which also covers a household's very first message, when it has no row
    yet) and its identity row ``FOR UPDATE``. SQLite's write lock, taken by the turn's ``BEGIN IMMEDIATE``, does it
    already."""
    if conn.dialect != "postgresql":
        return await load_session(conn, channel, external_id)
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (f"{channel}:{external_id}",))
    rows = await conn.execute_fetchall(f"{_LOAD} FOR UPDATE OF i", (channel, external_id))
    return _session(channel, rows[0]) if rows else None


async def first_delivery(conn: Connection, channel: str, event_id: str, now: str) -> bool:
    """Record an update as handled; False when it was handled before (a redelivery after a crash)."""
    if not event_id:
        return True
    cur = await conn.execute("INSERT INTO processed_events (channel, event_id, at) VALUES (?, ?, ?)"
                             " ON CONFLICT DO NOTHING", (channel, event_id, now))
    return cur.rowcount == 1


async def events_handled_before(conn: Connection, before: str) -> list[tuple[str, str]]:
    """The keys of the updates handled before ``before``. A scan: ``processed_events`` has no index on ``at``, so
    that every turn writes one page for it, not two. Read it in a snapshot (``Database.snapshot``), never under the
    write lock."""
    rows = await conn.execute_fetchall("SELECT channel, event_id FROM processed_events WHERE at < ?", (before,))
    return [(str(row[0]), str(row[1])) for row in rows]


async def forget_events(conn: Connection, keys: Sequence[tuple[str, str]]) -> int:
    """Forget these handled updates (found by ``events_handled_before``): a few hundred at a time, by key."""
    if not keys:
        return 0
    rows = ", ".join("(?, ?)" for _ in keys)
    cur = await conn.execute(f"DELETE FROM processed_events WHERE (channel, event_id) IN (VALUES {rows})",
                             tuple(chain.from_iterable(keys)))
    return cur.rowcount


def _session(channel: str, row: sqlite3.Row | tuple) -> Session:
    return Session(
        person=person_from_row(row),
        channel=channel,
        chat_id=row[9],
        step=row[10] or "",
        data=json.loads(row[11]) if row[11] else {},
        version=row[12] or 0,
        blocked=row[13] is not None,
    )


_STATE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: json.dumps would per call
_SAVE = (
    "INSERT INTO conversations (person_id, step, data, version, updated_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT(person_id) DO UPDATE SET step = excluded.step, data = excluded.data,"
    " version = excluded.version, updated_at = excluded.updated_at"
)


def save_state_statement(person_id: int, step: str, data: dict[str, Any], version: int, now: str,
                         ) -> tuple[str, tuple[Any, ...]]:
    return _SAVE, (person_id, step, _STATE_JSON.encode(data), version, now)


"""Putting rows into the outbox (the inserts behind ``bot.outbox.enqueue`` and ``enqueue_many``).

Kept apart from storage/outbox.py, which reads payloads back as ``bot.outbox.Message`` and so imports
bot.outbox: this module imports nothing from bot/, so bot/outbox.py can import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from storage.db import Connection

_INSERT = (
    "INSERT OR IGNORE INTO outbox (dedupe_key, channel, chat_id, person_id, kind, priority, payload,"
    " not_before, group_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class NewRow(NamedTuple):
    dedupe_key: str
    channel: str
    chat_id: str
    person_id: int | None
    kind: str
    priority: int
    payload: str
    not_before: str
    group_key: str | None
    created_at: str


async def insert(conn: Connection, row: NewRow) -> bool:
    """False when a row with this key is there already (it is left as it was)."""
    cur = await conn.execute(_INSERT, row)
    return cur.rowcount == 1


async def insert_many(conn: Connection, rows: Sequence[NewRow]) -> int:
    """Many rows in one statement; returns how many were new."""
    before = conn.total_changes
    await conn.executemany(_INSERT, rows)
    return conn.total_changes - before

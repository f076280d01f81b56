"""Which database a config names, and the calls that work on either: ``database_at`` (SQLite's ``Database`` or
PostgreSQL's ``PgDatabase``, one face), ``read_snapshot`` (a worker's read), ``pending_migrations``."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from storage import schema
from storage.db import Database, read_sqlite_snapshot, unusable

T = TypeVar("T")


def pending_migrations(path: str | Path) -> list[str]:
    """The names of the shipped migrations a database has not had yet (all of them for a new one), read without
    changing it. ``path`` may be a PostgreSQL URL (then not from inside a running event loop)."""
    if is_postgres(str(path)):
        from storage.pg import applied_numbers

        applied = asyncio.run(applied_numbers(str(path)))
        return [name for number, name, _ in schema.migrations() if number not in applied]
    path = Path(sqlite_path(path))
    if not path.exists() or path.stat().st_size == 0:
        return [name for _, name, _ in schema.migrations()]
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            known = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
            applied = {row[0] for row in conn.execute("SELECT number FROM schema_migrations")} \
                if known.fetchone() else set()
    except sqlite3.DatabaseError as exc:  # not a database, damaged, unreadable: one line, as on opening
        raise unusable(path, exc) from exc
    return [name for number, name, _ in schema.migrations() if number not in applied]


def read_snapshot(path: str, work: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``work(conn, *args)`` on a private read-only connection in one read transaction, with an event loop of its
    own (the connection never suspends, so ``work`` runs straight through). For a worker thread or process.
    ``path`` may be a PostgreSQL URL (``Database.path`` of either database)."""
    if is_postgres(path):
        from storage.pg import read_snapshot as read_postgres

        return read_postgres(path, work, *args)
    return read_sqlite_snapshot(path, work, *args)


def is_postgres(target: str) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def sqlite_path(target: str | Path) -> str:
    """The file of a SQLite target: a path, or ``sqlite:///relative`` / ``sqlite:////absolute``."""
    text = str(target)
    return text[len("sqlite:///"):] if text.startswith("sqlite:///") else text


def database_at(target: str | Path, *, files: str | Path | None = None) -> Any:
    """The database a config names: ``Database`` for a SQLite file (a path or ``sqlite:///path``), ``PgDatabase``
    for ``postgresql://...``; both have the same face. ``files``: the folder for the files kept beside the data
    (kept media); a SQLite database keeps them next to its file."""
    if is_postgres(str(target)):
        from storage.pg import PgDatabase

        return PgDatabase(str(target), files=files)
    return Database(sqlite_path(target))

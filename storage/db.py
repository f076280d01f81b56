"""SQLite: one aiosqlite connection per process (``storage/connection.py``), every transaction serialised by an
asyncio lock, and the chat turn's own sqlite3 connection on the event loop (``turn``).

Why one connection and a lock: SQLite allows one writer at a time anyway, and a shared connection without a lock
would let one task read another task's uncommitted writes. ``BEGIN IMMEDIATE`` takes the write lock up front so
that two processes (the bot and a CLI export) never deadlock; ``busy_timeout`` makes the other one wait.
WAL with ``synchronous=NORMAL`` keeps every committed transaction across a SIGKILL of the process.
A chat turn's SQL takes tens of microseconds: it runs on the loop's own connection with a 2 ms busy timeout and an
asynchronous back-off, no hop to a thread (``python -m bench form`` measures it against aiosqlite in the same run).
PostgreSQL has the same face in ``storage/pg.py``; ``storage/backends.py`` picks one from the config.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from storage.connection import Connection, LoopConnection
from storage.dialect import SQLITE
from storage.errors import DatabaseBusy, DatabaseUnusable
from storage.schema import SCHEMA_TABLE, migration_statements

log = logging.getLogger(__name__)
T = TypeVar("T")
Statement = tuple[str, tuple[Any, ...]]
HOT_BUSY_TIMEOUT_MS = 2  # the turn's connection on the event loop waits this long for a lock, at most, in SQLite
HOT_BUSY_BACKOFF = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)  # then asynchronously, ~0.4 s before DatabaseBusy


FILE_MODE = 0o600   # names and phone numbers: the bot's own user only
FOLDER_MODE = 0o700


class AlwaysLeader:
    """SQLite serves one process: it runs the schedules itself (PostgreSQL elects one: ``storage.pg``)."""

    async def try_lead(self) -> bool:
        return True

    async def holds(self) -> bool:
        return True

    async def close(self) -> None:
        return None


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if "not a database" in text or "file is encrypted" in text:
        return "not_a_database"
    if "malformed" in text or "corrupt" in text:
        return "damaged"
    if "readonly" in text or "read-only" in text or "unable to open" in text or isinstance(exc, PermissionError):
        return "read_only"
    return "unavailable"


def unusable(path: str | Path, exc: BaseException) -> DatabaseUnusable:
    """SQLite's error about a file as the one error every command tells in one line (``bot.cli.database_unusable``)."""
    return DatabaseUnusable(str(path), _reason(exc), str(exc))


def loose_permissions(path: str | Path) -> list[str]:
    """The database's files and folder that others than the bot's user may read (empty when all is private)."""
    path = Path(path)
    found = [str(path.parent)] if path.parent.exists() and path.parent.stat().st_mode & 0o077 else []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists() and candidate.stat().st_mode & 0o077:
            found.append(str(candidate))
    return found


class Database:
    dialect = SQLITE

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000, hot_turn: bool = True) -> None:
        self.path = str(path)
        self.files = Path(self.path).resolve().parent  # kept media and such, next to the file
        self.busy_timeout_ms = busy_timeout_ms
        self.hot_turn = hot_turn  # False: turns go through aiosqlite too (``python -m bench form --turn-driver``)
        self._connection: Connection | None = None
        self._hot: LoopConnection | None = None  # the chat turn's connection, on the event loop's thread
        self._lock = asyncio.Lock()

    async def open(self) -> Database:
        """Open (creating it owner-only), check it is sound (``PRAGMA quick_check``) and migrate.

        Raises ``DatabaseUnusable`` when the file is not a database, is damaged, or cannot be written: one clear
        reason instead of a traceback, and nothing left running."""
        if self._connection is not None:
            return self
        conn = None
        try:
            if self.path != ":memory:":
                self._create_private()
            conn = await Connection.open(self.path)
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA secure_delete=ON",  # a forgotten household's rows are overwritten, not left in free pages
            ):
                await conn.execute(pragma)
            await conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            await self._check(conn)
            self._connection = conn
            await self._migrate()
            if self.path != ":memory:":  # a second connection to :memory: would be another, empty database
                self._hot = LoopConnection.open(self.path, HOT_BUSY_TIMEOUT_MS)
        except (sqlite3.DatabaseError, OSError, DatabaseUnusable) as exc:
            self._connection = None
            if conn is not None:
                await conn.close()
            if isinstance(exc, DatabaseUnusable):
                raise
            raise unusable(self.path, exc) from exc
        if self.path != ":memory:":
            self._warn_if_loose()
        return self

    def _create_private(self) -> None:
        """A new database starts owner-only: its folder 0700 (when we make it), the file 0600."""
        path = Path(self.path)
        if not path.parent.exists():
            path.parent.mkdir(mode=FOLDER_MODE, parents=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))  # SQLite gives -wal and -shm its mode

    async def _check(self, conn: Connection) -> None:
        async with conn.execute("PRAGMA quick_check") as cur:
            verdict = (await cur.fetchone())[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {verdict}")

    def _warn_if_loose(self) -> None:
        for loose in loose_permissions(self.path):
            log.warning("%s can be read by other users of this computer: chmod %s it (it holds names and phone"
                        " numbers)", loose, "700" if Path(loose).is_dir() else "600")

    async def close(self) -> None:
        if self._hot is not None:
            self._hot.close()
            self._hot = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("database is not open")
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A write transaction: all or nothing, one at a time in this process."""
        async with self._lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    @asynccontextmanager
    async def turn(self, load: Callable[[Any], Awaitable[T]],
                   ) -> AsyncIterator[tuple[Any, T, list[Statement]]]:
        """The hot path of a chat turn: ``BEGIN IMMEDIATE`` then ``await load(conn)``; statements appended to the
        yielded list run just before ``COMMIT``.

        On a file database the turn's SQL (tens of µs) runs on the event loop's own connection, whose calls never
        suspend: no hop to a thread at all. Another process holding the write lock (an export, a backup) is waited
        for asynchronously, a few ms at a time (``_begin_hot``). The turn yields to the loop once before it starts, so
        that turns one after the other never starve it (a roster import's task, the answer to a tapped button)."""
        hot = self._hot if self.hot_turn else None
        await asyncio.sleep(0)
        async with self._lock:
            conn: Any = hot if hot is not None else self.conn
            if hot is not None:
                await _begin_hot(hot.raw)
            else:
                await conn.execute("BEGIN IMMEDIATE")
            at_commit: list[Statement] = []
            try:
                loaded = await load(conn)
                yield conn, loaded, at_commit
                if hot is None:
                    for sql, params in at_commit:
                        await conn.execute(sql, params)
            except BaseException:
                await _rollback(conn, hot)
                raise
            if hot is not None:
                _commit_with(hot.raw, at_commit)
            else:
                await conn.execute("COMMIT")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        """A consistent read: waits for any transaction of this process to finish first."""
        async with self._lock:
            conn = self.conn
            await conn.execute("BEGIN")
            try:
                yield conn
            finally:
                await conn.execute("COMMIT")

    async def snapshot(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``work(conn)`` in a worker thread on a read-only connection of its own, in one read transaction (a
        consistent snapshot): a long read and whatever is computed from it (a digest's grouping, an export's rows)
        neither runs on the event loop nor waits for, or holds up, the turns' lock. ``conn`` has the face of
        ``Connection``. An in-memory database has no second connection: there it reads as ``reading()``."""
        if self.path == ":memory:":
            async with self.reading() as conn:
                return await work(conn)
        return await asyncio.to_thread(read_sqlite_snapshot, self.path, work)

    worker = None  # one process does everything on SQLite

    def leadership(self) -> AlwaysLeader:
        return AlwaysLeader()

    async def applied_migrations(self) -> list[int]:
        async with self.conn.execute("SELECT number FROM schema_migrations ORDER BY number") as cur:
            return [row[0] for row in await cur.fetchall()]

    async def _migrate(self) -> None:
        """Apply every shipped migration not yet recorded, in order, all in one transaction: one that fails leaves
        the database exactly as it was (SQLite's schema changes are transactional) and says which one failed."""
        async with self.transaction() as conn:
            await conn.execute(SCHEMA_TABLE)
            async with conn.execute("SELECT number FROM schema_migrations") as cur:
                applied = {row[0] for row in await cur.fetchall()}
            for number, name, statements in migration_statements(SQLITE):
                if number in applied:
                    continue
                log.info("applying migration %s", name)
                try:
                    for statement in statements:
                        await conn.execute(statement)
                except sqlite3.DatabaseError as exc:
                    raise DatabaseUnusable(self.path, "migration_failed", f"{name}: {exc}") from exc
                await conn.execute("INSERT INTO schema_migrations (number, name) VALUES (?, ?)", (number, name))


def read_sqlite_snapshot(path: str, work: Callable[..., Awaitable[T]], *args: Any) -> T:
    conn = LoopConnection.open(f"file:{path}?mode=ro", HOT_BUSY_TIMEOUT_MS * 500, uri=True, read_only=True)
    try:
        conn.raw.execute("BEGIN")
        try:
            return asyncio.run(work(conn, *args))
        finally:
            conn.raw.execute("ROLLBACK")
    finally:
        conn.close()


def _busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


async def _begin_hot(raw: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE`` on the loop's connection: its busy timeout is 2 ms; past it, back off asynchronously."""
    for delay in (*HOT_BUSY_BACKOFF, None):
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            if delay is None:
                raise DatabaseBusy(str(exc)) from exc
            await asyncio.sleep(delay)


async def _rollback(conn: Any, hot: LoopConnection | None) -> None:
    if hot is not None:
        hot.raw.execute("ROLLBACK")
    else:
        await conn.execute("ROLLBACK")


def _commit_with(conn: sqlite3.Connection, statements: list[Statement]) -> None:
    try:
        for sql, params in statements:
            conn.execute(sql, params)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")

"""PostgreSQL behind the same face as ``storage.db.Database``, through asyncpg: for several ``doithoai run`` workers
sharing one database.

What holds under several workers:
- a chat turn is one transaction; the household's turns are taken one after the other across workers (an
  advisory lock on the speaker, taken first, and their state row ``FOR UPDATE``: ``storage/conversations.py``);
- within one process, writes go one at a time through one connection, as with SQLite, so the code above is correct
  on both; several processes write side by side and meet only on the rows they share (locked where it matters:
  the seat quota, the outbox claim with ``SKIP LOCKED``, the send-rate slots);
- reads (``reading``, ``snapshot``) run on connections of their own in a repeatable-read snapshot, beside writes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.dialect import POSTGRESQL, returns_rows, to_postgres
from storage.errors import DatabaseUnusable
from storage.schema import SCHEMA_TABLE, migration_statements

log = logging.getLogger(__name__)
T = TypeVar("T")
Statement = tuple[str, tuple[Any, ...]]
MIGRATION_LOCK = 0x646F6974  # "doit": one process migrates at a time
LEADER_LOCK = 0x646F69746C656164  # "doitlead": the one worker that runs the schedules
# This process's name on the server (its connections' application_name): the outbox knows whose claims are alive.
WORKER = f"doithoai:{socket.gethostname()[:24]}:{os.getpid()}:{secrets.token_hex(3)}"
_CHANGED = re.compile(r"^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY|SELECT) (\d+)$")
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def redacted(url: str) -> str:
    """The URL without its password: safe for a log line or a message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class PgCursor:
    """A statement's outcome with the sqlite3 cursor's face: its rows were all read in the one round trip."""

    __slots__ = ("_next", "_rows", "description", "lastrowid", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows, self._next = rows, 0
        self.rowcount = rowcount
        self.lastrowid = None  # the repositories read new ids with RETURNING, on both databases
        self.description = None

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows[self._next:self._next + (size or 1)]
        self._next += len(rows)
        return rows

    async def fetchall(self) -> list[Any]:
        rows = self._rows[self._next:]
        self._next = len(self._rows)
        return rows

    async def close(self) -> None:
        self._rows = []

    async def __aenter__(self) -> PgCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Pending:
    """Awaited for the cursor, or ``async with`` (the face of ``storage.connection.Connection.execute``)."""

    __slots__ = ("_start",)

    def __init__(self, start: Callable[[], Awaitable[PgCursor]]) -> None:
        self._start = start

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._start().__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._start()

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConnection:
    """One asyncpg connection with the face the repositories use; SQL is translated (``storage.dialect``) and a
    constraint violation is raised as ``sqlite3.IntegrityError``, as the callers expect from either database."""

    dialect = POSTGRESQL

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw
        self.total_changes = 0

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> _Pending:
        return _Pending(lambda: self._execute(sql, params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> _Pending:
        return _Pending(lambda: self._executemany(sql, rows))

    async def execute_fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return await (await self._execute(sql, params)).fetchall()

    async def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> PgCursor:
        text, args = _statement(sql, params)
        try:
            if returns_rows(text):
                rows = await self.raw.fetch(text, *args)
                changed = len(rows) if _RETURNING.search(text) else -1  # a query changes nothing (-1, as sqlite3)
                self.total_changes += max(changed, 0)
                return PgCursor(rows, changed)
            status = await self.raw.execute(text, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc
        found = _CHANGED.match(status or "")
        count = int(found.group(1)) if found else -1
        if count > 0:
            self.total_changes += count
        return PgCursor([], count)

    async def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        text = to_postgres(sql)
        batch = [tuple(row) for row in rows]
        try:
            await self.raw.executemany(text, batch)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc
        self.total_changes += len(batch)  # asyncpg does not count them; callers that need the count ask otherwise
        return PgCursor([], len(batch))


def _statement(sql: str, params: Sequence[Any] | dict[str, Any]) -> tuple[str, Sequence[Any]]:
    if isinstance(params, dict):
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        return _NAMED.sub(number, sql), [params[name] for name in names]
    args = tuple(params)
    return to_postgres(sql, tuple(map(type, args)) if "IS" in sql.upper() else ()), args


class PgDatabase:
    """``storage.db.Database``'s face on PostgreSQL (``url`` as ``postgresql://user@host/db``; the password from
    the environment, ``PGPASSWORD``, or ``~/.pgpass``)."""

    dialect = POSTGRESQL

    def __init__(self, url: str, *, readers: int = 4, worker: str = WORKER, files: str | Path | None = None) -> None:
        self.url = self.path = url
        self.files = Path(files) if files is not None else Path.cwd()  # kept media: this machine's folder
        self.worker = worker  # this process's name on the server (two in one process only in tests)
        self.readers = readers
        self._pool: asyncpg.Pool | None = None
        self._writer: PgConnection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> PgDatabase:
        if self._pool is not None:
            return self
        try:
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.readers + 1,
                                                   max_inactive_connection_lifetime=60,
                                                   server_settings={"application_name": self.worker})
            self._writer = PgConnection(await self._pool.acquire())
            await self._migrate()
        except DatabaseUnusable:
            await self.close()
            raise
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            await self.close()
            raise DatabaseUnusable(redacted(self.url), "unavailable", _first_line(exc)) from exc
        return self

    async def close(self) -> None:
        pool, writer = self._pool, self._writer
        self._pool = self._writer = None
        if pool is not None:
            if writer is not None:
                await pool.release(writer.raw)
            await pool.close()

    async def __aenter__(self) -> PgDatabase:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> PgConnection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConnection]:
        """A write transaction: all or nothing, one at a time in this process."""
        async with self._lock:
            conn = self.conn
            await conn.raw.execute("BEGIN")
            try:
                yield conn
            except BaseException:
                await conn.raw.execute("ROLLBACK")
                raise
            await conn.raw.execute("COMMIT")

    @asynccontextmanager
    async def turn(self, load: Callable[[Any], Awaitable[T]],
                   ) -> AsyncIterator[tuple[PgConnection, T, list[Statement]]]:
        """A chat turn: ``load`` (which takes the speaker's locks), the turn, then the statements left for the
        end, and ``COMMIT``: one transaction."""
        async with self.transaction() as conn:
            at_commit: list[Statement] = []
            yield conn, await load(conn), at_commit
            for sql, params in at_commit:
                await conn.execute(sql, params)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PgConnection]:
        """A consistent read on a connection of its own: neither waits for this process's writes nor holds them."""
        if self._pool is None:
            raise RuntimeError("database is not open")
        async with self._pool.acquire() as raw:
            conn = PgConnection(raw)
            await raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                yield conn
            except BaseException:
                await raw.execute("ROLLBACK")
                raise
            await raw.execute("COMMIT")

    async def snapshot(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """``work(conn)`` in a worker thread on a connection of its own, in one read-only snapshot, so that what
        it computes (a digest's grouping, an export's rows) never runs on the event loop."""
        return await asyncio.to_thread(read_snapshot, self.url, work)

    def leadership(self) -> PgLeadership:
        return PgLeadership(self.url, self.worker)

    async def applied_migrations(self) -> list[int]:
        rows = await self.conn.raw.fetch("SELECT number FROM schema_migrations ORDER BY number")
        return [row[0] for row in rows]

    async def _migrate(self) -> None:
        """Every shipped migration not yet recorded, in order, in one transaction, by one process at a time."""
        raw = self.conn.raw
        await raw.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            async with raw.transaction():
                await raw.execute(SCHEMA_TABLE)
                applied = {row[0] for row in await raw.fetch("SELECT number FROM schema_migrations")}
                for number, name, statements in migration_statements(POSTGRESQL):
                    if number in applied:
                        continue
                    log.info("applying migration %s", name)
                    try:
                        for statement in statements:
                            await raw.execute(statement)
                    except asyncpg.PostgresError as exc:
                        raise DatabaseUnusable(redacted(self.url), "migration_failed", f"{name}: {exc}") from exc
                    await raw.execute("INSERT INTO schema_migrations (number, name) VALUES ($1, $2)", number, name)
        finally:
            await raw.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


class PgLeadership:
    """One leader among the workers: PostgreSQL's session advisory lock, held on a connection of its own. The
    server lets go of it the moment that connection ends (the worker stopped, crashed or was killed), so another
    worker's next ``try_lead`` takes over."""

    def __init__(self, url: str, worker: str = WORKER) -> None:
        self.url = url
        self.worker = worker
        self._raw: asyncpg.Connection | None = None

    async def try_lead(self) -> bool:
        try:
            if self._raw is None or self._raw.is_closed():
                self._raw = await asyncpg.connect(self.url, server_settings={"application_name": self.worker})
            return bool(await self._raw.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot reach the database to take the lead: %s", _first_line(exc))
            return False

    async def holds(self) -> bool:
        """Still the leader: the lock's connection still answers (a lost connection lost the lock with it)."""
        if self._raw is None or self._raw.is_closed():
            return False
        try:
            return bool(await self._raw.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                " AND objid = ($1::bigint & 4294967295)::oid AND granted)", LEADER_LOCK))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False

    async def close(self) -> None:
        if self._raw is not None and not self._raw.is_closed():
            await self._raw.close()
        self._raw = None


async def applied_numbers(url: str) -> set[int]:
    """The migrations a PostgreSQL database has had (none when it is new), read without changing it. A server that
    cannot be reached (down, a wrong address or password) is ``DatabaseUnusable`` ("unavailable"), as on opening."""
    try:
        raw = await asyncpg.connect(url)
        try:
            if not await raw.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
                return set()
            return {row[0] for row in await raw.fetch("SELECT number FROM schema_migrations")}
        finally:
            await raw.close()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise DatabaseUnusable(redacted(url), "unavailable", _first_line(exc)) from exc


def read_snapshot(url: str, work: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``work(conn, *args)`` on a private connection in one read-only snapshot, with an event loop of its own: for a
    worker thread or process."""
    return asyncio.run(_in_snapshot(url, work, *args))


async def _in_snapshot(url: str, work: Callable[..., Awaitable[T]], *args: Any) -> T:
    raw = await asyncpg.connect(url)
    try:
        async with raw.transaction(isolation="repeatable_read", readonly=True):
            return await work(PgConnection(raw), *args)
    finally:
        await raw.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0]

"""One SQLite connection per process on its own thread, every transaction serialised by an asyncio lock.

Why one connection and a lock: SQLite allows one writer at a time anyway, and a shared connection without a lock
would let one task read another task's uncommitted writes. ``BEGIN IMMEDIATE`` takes the write lock up front so
that two processes (the bot and a CLI export) never deadlock; ``busy_timeout`` makes the other one wait.
WAL with ``synchronous=NORMAL`` keeps every committed transaction across a SIGKILL of the process.
The connection lives on a thread of its own (``storage/connection.py``) so that no call blocks the event loop, and
so that a chat turn's ``BEGIN IMMEDIATE`` + load, then its saved state + ``COMMIT``, are one hop each (``turn``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from storage.connection import Connection, LoopConnection
from storage.dialect import SQLITE, ddl_for_postgres

log = logging.getLogger(__name__)
T = TypeVar("T")
Statement = tuple[str, tuple[Any, ...]]
TRIGGER = re.compile(r"^CREATE\s+TRIGGER\b", re.IGNORECASE)
TRIGGER_END = re.compile(r"\bEND\s*$", re.IGNORECASE)
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
HOT_BUSY_TIMEOUT_MS = 2  # the turn's connection on the event loop waits this long for a lock, at most, in SQLite
HOT_BUSY_BACKOFF = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)  # then asynchronously, ~0.4 s before DatabaseBusy


def migration_statements(dialect: str) -> list[tuple[int, str, list[str]]]:
    """(number, name, statements) of every migration for this database: PostgreSQL's are translated
    (``storage.dialect.ddl_for_postgres``) unless ``migrations/postgresql/`` holds its own file of that name."""
    if dialect == SQLITE:
        return [(number, name, _split_sql(sql)) for number, name, sql in migrations()]
    own = resources.files("storage.migrations").joinpath("postgresql")
    found = []
    for number, name, sql in migrations():
        override = own.joinpath(name)
        if override.is_file():
            found.append((number, name, _split_sql(override.read_text(encoding="utf-8"), functions=True)))
        else:
            found.append((number, name, [ddl_for_postgres(statement) for statement in _split_sql(sql)]))
    return found


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration shipped in storage/migrations, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found


SCHEMA_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")


def pending_migrations(path: str | Path) -> list[str]:
    """The names of the shipped migrations a database has not had yet (all of them for a new one), read without
    changing it. ``path`` may be a PostgreSQL URL (then not from inside a running event loop)."""
    if is_postgres(str(path)):
        from storage.pg import applied_numbers

        applied = asyncio.run(applied_numbers(str(path)))
        return [name for number, name, _ in migrations() if number not in applied]
    path = Path(sqlite_path(path))
    if not path.exists() or path.stat().st_size == 0:
        return [name for _, name, _ in migrations()]
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        known = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        applied = {row[0] for row in conn.execute("SELECT number FROM schema_migrations")} if known.fetchone() \
            else set()
    return [name for number, name, _ in migrations() if number not in applied]


FILE_MODE = 0o600   # names and phone numbers: the bot's own user only
FOLDER_MODE = 0o700


class DatabaseUnusable(Exception):
    """The database cannot be used at all: ``reason`` is ``not_a_database``, ``damaged``, ``read_only``,
    ``migration_failed`` or ``unavailable``; ``detail`` is SQLite's own words (no personal data in them)."""

    def __init__(self, path: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{path}: {reason} {detail}".strip())
        self.path, self.reason, self.detail = path, reason, detail


class AlwaysLeader:
    """SQLite serves one process: it runs the schedules itself (PostgreSQL elects one: ``storage.pg``)."""

    async def try_lead(self) -> bool:
        return True

    async def holds(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class DatabaseBusy(Exception):
    """Another process held SQLite's write lock longer than the busy timeout: nothing was done; try again."""


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if "not a database" in text or "file is encrypted" in text:
        return "not_a_database"
    if "malformed" in text or "corrupt" in text:
        return "damaged"
    if "readonly" in text or "read-only" in text or "unable to open" in text or isinstance(exc, PermissionError):
        return "read_only"
    return "unavailable"


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
            raise DatabaseUnusable(self.path, _reason(exc), str(exc)) from exc
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
        yielded list run just before ``COMMIT``. On a file database this makes no hop at all (``_hot_turn``)."""
        hot = self._hot if self.hot_turn else None
        if hot is not None:
            await asyncio.sleep(0)  # a turn makes no hop: let the loop run others between turns (fairness)
        async with self._lock:
            if hot is not None:
                async with self._hot_turn(hot, load) as inside:
                    yield inside
                return
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            at_commit: list[Statement] = []
            try:
                loaded = await load(conn)
                yield conn, loaded, at_commit
                for sql, params in at_commit:
                    await conn.execute(sql, params)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    @asynccontextmanager
    async def _hot_turn(self, hot: LoopConnection, load: Callable[[Any], Awaitable[T]],
                        ) -> AsyncIterator[tuple[Any, T, list[Statement]]]:
        """The turn with no hop at all: its SQL (tens of µs) runs on the event loop's own connection, whose calls
        never suspend, so ``load`` runs straight through. Another process holding the write lock (an export, a
        backup) is waited for asynchronously, a few ms at a time."""
        for delay in (*HOT_BUSY_BACKOFF, None):
            try:
                hot.raw.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
                if delay is None:
                    raise DatabaseBusy(str(exc)) from exc
                await asyncio.sleep(delay)
        at_commit: list[Statement] = []
        try:
            loaded = await load(hot)
            yield hot, loaded, at_commit
        except BaseException:
            hot.raw.execute("ROLLBACK")
            raise
        _commit_with(hot.raw, at_commit)

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
        return await asyncio.to_thread(_in_snapshot, self.path, work)

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


def read_snapshot(path: str, work: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``work(conn, *args)`` on a private read-only connection in one read transaction, with an event loop of its
    own (the connection never suspends, so ``work`` runs straight through). For a worker thread or process.
    ``path`` may be a PostgreSQL URL (``Database.path`` of either database)."""
    if is_postgres(path):
        from storage.pg import read_snapshot as read_postgres

        return read_postgres(path, work, *args)
    return _in_snapshot(path, work, *args)


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


def _in_snapshot(path: str, work: Callable[..., Awaitable[T]], *args: Any) -> T:
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


def _commit_with(conn: sqlite3.Connection, statements: list[Statement]) -> None:
    try:
        for sql, params in statements:
            conn.execute(sql, params)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _split_sql(script: str, *, functions: bool = False) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction). With ``functions``, a
    PostgreSQL function's body between ``$$`` marks stays whole."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending = f"{pending};{piece}" if pending else piece
        if TRIGGER.match(pending.strip()) and not TRIGGER_END.search(pending) and not functions:
            continue
        if functions and pending.count("$$") % 2:
            continue  # a trigger's body has statements of its own: it ends at its END
        if pending.strip():
            statements.append(pending.strip())
        pending = ""
    return statements

"""The storage's connections: aiosqlite for the storage at large, ``sqlite3`` on the loop for a chat turn.

``Connection`` is aiosqlite's (the owner's driver, issue 17): one ``sqlite3`` connection that only aiosqlite's
own thread touches, every call awaited, answered in the order it was made. It keeps the face every repository
uses: ``await conn.execute(sql, params)`` or ``async with conn.execute(...) as cur``, ``executemany``,
``execute_fetchall``, ``total_changes``, ``close``; rows are ``sqlite3.Row``.

``LoopConnection`` has the same face on a ``sqlite3`` connection used right on the event loop's thread, for the
chat turn's hot path only (``Database.turn``): a turn's SQL takes tens of microseconds, less than one hop to a
driver's thread and back (``python -m bench form --turn-driver aiosqlite`` measures the difference). Its busy
timeout is a few milliseconds and ``Database.turn`` waits asynchronously beyond that, so a busy database never
freezes the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Generator, Iterable
from typing import Any

import aiosqlite

Params = Iterable[Any] | dict[str, Any]


def _no_statements(record: logging.LogRecord) -> bool:
    """aiosqlite logs every call it runs, SQL and parameters (names, phones, tokens), at DEBUG: never let one out."""
    return record.levelno >= logging.WARNING


_driver_log = logging.getLogger("aiosqlite")
_driver_log.setLevel(logging.WARNING)  # not even built: a record per statement costs time too
_driver_log.addFilter(_no_statements)  # and none gets out should someone turn DEBUG on for everything
# A commit that finds the WAL over ``wal_autocheckpoint`` pages copies it back into the database (a checkpoint:
# hundreds of ms while a roster import writes), on the loop or inside the turns' lock. No connection of ours does
# that (0): ``Connection`` runs a PASSIVE checkpoint every ``CHECKPOINT_EVERY_S`` in a thread, on a connection of
# its own, which never waits for nor blocks a reader or a writer.
LOOP_CHECKPOINT_PAGES = 0
CHECKPOINT_EVERY_S = 2.0
Cursor = aiosqlite.Cursor


class Connection:
    """The connection every repository takes: aiosqlite's, in autocommit mode (``Database`` says ``BEGIN``)."""

    dialect = "sqlite"

    def __init__(self, driver: aiosqlite.Connection, path: str) -> None:
        self._driver = driver
        self._closed = False
        self._path = path
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self._checkpoint: asyncio.Future[tuple[int, int]] | None = None

    @classmethod
    async def open(cls, path: str) -> Connection:
        # check_same_thread=False: ``total_changes`` is read on the event loop's thread, between calls
        driver = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
        driver.row_factory = sqlite3.Row
        conn = cls(driver, path)
        if path != ":memory:":
            await driver.execute(f"PRAGMA wal_autocheckpoint={LOOP_CHECKPOINT_PAGES}")
            conn._checkpoints = asyncio.get_running_loop().create_task(conn._checkpoint_often())
        return conn

    async def checkpoint(self) -> tuple[int, int]:
        """One PASSIVE checkpoint in a thread, on a connection of its own: (WAL frames, frames copied back)."""
        if self._checkpoint is None or self._checkpoint.done():
            self._checkpoint = asyncio.ensure_future(asyncio.to_thread(self._checkpoint_here))
        return await asyncio.shield(self._checkpoint)  # a cancelled caller leaves the thread's work to finish

    async def _checkpoint_often(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            with contextlib.suppress(sqlite3.Error):  # one that cannot run now runs next time
                await self.checkpoint()

    def _checkpoint_here(self) -> tuple[int, int]:
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        _, frames, copied = self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames, copied

    def execute(self, sql: str, params: Params = ()) -> aiosqlite.context.Result[Cursor]:
        """Await it for the cursor, or use it as ``async with`` to close the cursor after."""
        self._check_open()
        return self._driver.execute(sql, params)  # type: ignore[arg-type]  # named parameters too

    def executemany(self, sql: str, rows: Iterable[Params]) -> aiosqlite.context.Result[Cursor]:
        self._check_open()
        return self._driver.executemany(sql, rows)  # type: ignore[arg-type]

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        """Every row of one statement, in one call to the driver's thread."""
        self._check_open()
        return list(await self._driver.execute_fetchall(sql, params))  # type: ignore[arg-type]

    @property
    def total_changes(self) -> int:
        """Rows changed since the connection opened, as of the last call."""
        self._check_open()
        return self._driver.total_changes

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError, sqlite3.Error):
                await self._checkpoints
        if self._checkpoint is not None:
            with contextlib.suppress(asyncio.CancelledError, sqlite3.Error):
                await self._checkpoint  # the thread's connection is closed only once it is done
        if self._checkpointer is not None:
            self._checkpointer.close()
        await self._driver.close()

    def _check_open(self) -> None:
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")


def _all_rows(raw: sqlite3.Cursor) -> list[Any]:
    rows = raw.fetchall()
    raw.close()
    return rows


class LoopConnection:
    """The same face as ``Connection`` on a ``sqlite3`` connection used right on the event loop's thread.

    For a chat turn's hot path only (``Database.turn``): its SQL takes tens of microseconds, less than one hop to
    the database thread and back, and its busy timeout is a few milliseconds, so a lock held by another process
    never freezes the loop (``Database.turn`` waits for it asynchronously instead)."""

    dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    @classmethod
    def open(cls, path: str, busy_timeout_ms: int, *, uri: bool = False, read_only: bool = False) -> LoopConnection:
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, uri=uri)
        raw.row_factory = sqlite3.Row
        pragmas = () if read_only else ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                                         "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON",
                                         f"PRAGMA wal_autocheckpoint={LOOP_CHECKPOINT_PAGES}")
        for pragma in (*pragmas, f"PRAGMA busy_timeout={int(busy_timeout_ms)}"):
            raw.execute(pragma)
        return cls(raw)

    def execute(self, sql: str, params: Params = ()) -> _Ready:
        return _Ready(lambda: _LoopCursor(self.raw.execute(sql, params)))

    def executemany(self, sql: str, rows: Iterable[Params]) -> _Ready:
        return _Ready(lambda: _LoopCursor(self.raw.executemany(sql, rows)))

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        return _all_rows(self.raw.execute(sql, params))

    @property
    def total_changes(self) -> int:
        return self.raw.total_changes

    def close(self) -> None:
        self.raw.close()


class _LoopCursor:
    """A cursor read on the loop's thread: the ``Cursor`` face, answered at once."""

    __slots__ = ("_raw", "description", "lastrowid", "rowcount")

    def __init__(self, raw: sqlite3.Cursor) -> None:
        self._raw = raw
        self.rowcount: int = raw.rowcount
        self.lastrowid: int | None = raw.lastrowid
        self.description = raw.description

    async def fetchone(self) -> Any:
        return self._raw.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._raw.fetchmany(size if size is not None else self._raw.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._raw.fetchall()

    async def close(self) -> None:
        self._raw.close()

    async def __aenter__(self) -> _LoopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._raw.close()


class _Ready:
    """What ``LoopConnection.execute`` returns: awaited, or ``async with``; the statement runs then, not before."""

    __slots__ = ("_cursor", "_start")

    def __init__(self, start: Callable[[], _LoopCursor]) -> None:
        self._start = start
        self._cursor: _LoopCursor | None = None

    def __await__(self) -> Generator[Any, None, _LoopCursor]:
        return self._start()
        yield  # a generator: awaiting it returns at once, without a trip through the event loop

    async def __aenter__(self) -> _LoopCursor:
        self._cursor = self._start()
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            self._cursor._raw.close()

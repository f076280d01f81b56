"""An async face on one ``sqlite3`` connection that only its own thread ever touches.

Why our own thread and not a driver: the hot path of a chat turn runs ``BEGIN IMMEDIATE`` and its load in ONE hop
to the database thread, and the saved state with ``COMMIT`` in one more (``Connection.run``). Drivers offer no
public way to do that, and blocking calls must stay off the event loop.

How a call travels: the work goes on a queue; the database thread runs the jobs one after another, in the order
they were queued, and hands each answer back to the caller's event loop with ``call_soon_threadsafe``. A statement
and its first ``PREFETCH`` rows come back in that one hop (and a finished cursor is closed in it too), so a
``SELECT`` read with ``fetchone`` or ``fetchall`` costs one hop, not three. Larger results are read on demand.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
Params = Iterable[Any] | dict[str, Any]
PREFETCH = 64  # rows read together with their statement
_STOP = object()


class _DatabaseThread(threading.Thread):
    """Runs jobs on the one connection, in order; the connection is opened and closed here too."""

    def __init__(self, path: str) -> None:
        super().__init__(name=f"sqlite:{path}", daemon=True)
        self.path = path
        self.raw: sqlite3.Connection | None = None
        self.total_changes = 0  # as of the last job, read from the event loop without a hop
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def call(self, work: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((work, future, loop))
        return future

    def stop(self) -> None:
        self._jobs.put(_STOP)

    def run(self) -> None:
        while (job := self._jobs.get()) is not _STOP:
            work, future, loop = job
            try:
                answer, value = _resolve, work(self.raw)  # type: ignore[arg-type]  # None only around (dis)connect
            except BaseException as exc:  # handed to the caller, who re-raises it
                answer, value = _fail, exc
            if self.raw is not None:  # counted before answering: the caller reads what its own call left
                self.total_changes = self.raw.total_changes
            try:
                loop.call_soon_threadsafe(answer, future, value)
            except RuntimeError:  # the caller's event loop is closed: nobody is waiting any more
                pass

    def connect(self, _: object) -> None:
        raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        raw.row_factory = sqlite3.Row
        self.raw = raw

    def disconnect(self, raw: sqlite3.Connection) -> None:
        self.raw = None
        raw.close()


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # a cancelled caller no longer wants it
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class Cursor:
    """The outcome of one statement: its counters, its prefetched rows, and the rest on demand."""

    def __init__(self, thread: _DatabaseThread, raw: sqlite3.Cursor, rows: list[Any], more: bool) -> None:
        self._thread = thread
        self._raw = raw
        self._rows = rows
        self._next = 0
        self._more = more  # rows may be left in the raw cursor (it is still open)
        self.rowcount: int = raw.rowcount
        self.lastrowid: int | None = raw.lastrowid
        self.description = raw.description

    async def fetchone(self) -> Any:
        if self._next == len(self._rows):
            self._rows, self._next = await self._read(PREFETCH), 0
        if self._next == len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        wanted = size if size is not None else self._raw.arraysize
        rows = self._buffered(wanted)
        if len(rows) < wanted:
            rows += await self._read(wanted - len(rows))
        return rows

    async def fetchall(self) -> list[Any]:
        return self._buffered(len(self._rows)) + await self._read(None)

    async def close(self) -> None:
        if self._more:
            self._more = False
            await self._thread.call(lambda _: self._raw.close())

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _buffered(self, wanted: int) -> list[Any]:
        rows = self._rows[self._next:self._next + wanted]
        self._next += len(rows)
        return rows

    async def _read(self, count: int | None) -> list[Any]:
        """Up to ``count`` more rows (all when None) from the raw cursor, closed once it has no more."""
        if not self._more:
            return []
        rows, self._more = await self._thread.call(lambda _: _rows(self._raw, count))
        return rows


def _rows(raw: sqlite3.Cursor, count: int | None) -> tuple[list[Any], bool]:
    """(rows, whether more may follow) on the database thread."""
    rows = raw.fetchall() if count is None else raw.fetchmany(count)
    more = count is not None and len(rows) == count
    if not more:
        raw.close()
    return rows, more


class _Pending:
    """What ``execute`` returns: await it for the cursor, or use it as ``async with`` to close the cursor after."""

    __slots__ = ("_cursor", "_start")

    def __init__(self, start: Callable[[], asyncio.Future[Cursor]]) -> None:
        self._start = start
        self._cursor: Cursor | None = None

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._start().__await__()

    async def __aenter__(self) -> Cursor:
        self._cursor = await self._start()
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class Connection:
    """The connection every repository takes: the subset of the sqlite3 API our code uses, awaited."""

    dialect = "sqlite"

    def __init__(self, thread: _DatabaseThread) -> None:
        self._thread = thread
        self._closed = False

    @classmethod
    async def open(cls, path: str) -> Connection:
        thread = _DatabaseThread(path)
        thread.start()
        try:
            await thread.call(thread.connect)
        except BaseException:
            thread.stop()
            raise
        return cls(thread)

    def execute(self, sql: str, params: Params = ()) -> _Pending:
        return _Pending(lambda: self._call(lambda raw: _started(self._thread, raw.execute(sql, params))))

    def executemany(self, sql: str, rows: Iterable[Params]) -> _Pending:
        return _Pending(lambda: self._call(lambda raw: _started(self._thread, raw.executemany(sql, rows))))

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        return await self._call(lambda raw: _all_rows(raw.execute(sql, params)))

    def run(self, work: Callable[[sqlite3.Connection], T]) -> Awaitable[T]:
        """Run ``work`` with the raw connection on the database thread, in one hop, in order with every call."""
        return self._call(work)

    @property
    def total_changes(self) -> int:
        """Rows changed since the connection opened, as of the last call."""
        return self._thread.total_changes

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._thread.call(self._thread.disconnect)
        finally:
            self._thread.stop()

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._thread.call(work)


def _started(thread: _DatabaseThread, raw: sqlite3.Cursor) -> Cursor:
    """A cursor with its first rows read, closed at once when that was all (on the database thread)."""
    if raw.description is None:  # not a query: no rows to read
        raw.close()
        return Cursor(thread, raw, [], False)
    return Cursor(thread, raw, *_rows(raw, PREFETCH))


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
                                         "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON")
        for pragma in (*pragmas, f"PRAGMA busy_timeout={int(busy_timeout_ms)}"):
            raw.execute(pragma)
        return cls(raw)

    def execute(self, sql: str, params: Params = ()) -> _Ready:
        return _Ready(lambda: _LoopCursor(self.raw.execute(sql, params)))

    def executemany(self, sql: str, rows: Iterable[Params]) -> _Ready:
        return _Ready(lambda: _LoopCursor(self.raw.executemany(sql, rows)))

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        return _all_rows(self.raw.execute(sql, params))

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return work(self.raw)

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

"""Another process holding SQLite's write lock (an export, a backup) never freezes the bot's event loop: the chat
turn's connection on the loop waits a couple of milliseconds in SQLite, then asynchronously."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from storage import Database, DatabaseBusy
from storage.db import HOT_BUSY_BACKOFF


async def _count(conn: Any) -> int:
    return int((await conn.execute_fetchall("SELECT COUNT(*) FROM schema_migrations"))[0][0])


async def _longest_stall_while(task: asyncio.Task[object], until: float) -> float:
    """Tick the loop until ``until`` (perf_counter) and return the longest gap between two ticks."""
    longest, last = 0.0, time.perf_counter()
    while time.perf_counter() < until and not task.done():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    return longest


async def test_turn_waits_for_another_process_without_freezing_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with Database(path) as db:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the other process holds the write lock

        async def one_turn() -> int:
            async with db.turn(_count) as (_, loaded, at_commit):
                at_commit.append(("UPDATE schema_migrations SET name = name WHERE number = ?", (1,)))
                return loaded

        task = asyncio.ensure_future(one_turn())
        stall = await _longest_stall_while(task, time.perf_counter() + 0.1)
        assert not task.done()  # still waiting for the lock...
        assert stall < 0.05     # ...without holding the loop
        other.execute("COMMIT")
        assert await task > 0
        other.close()


async def test_turn_reports_busy_when_the_lock_is_held_past_the_back_off(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with Database(path) as db:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        with pytest.raises(DatabaseBusy):
            async with db.turn(_count):
                pass
        assert time.perf_counter() - started >= sum(HOT_BUSY_BACKOFF) * 0.9
        other.execute("COMMIT")
        async with db.turn(_count) as (_, loaded, _):  # and works again once the lock is free
            assert loaded > 0
        other.close()


async def test_a_snapshot_read_runs_beside_the_turns_without_holding_their_lock(tmp_path: Path) -> None:
    async with Database(tmp_path / "bot.sqlite3") as db:
        reading, release = threading.Event(), threading.Event()

        async def slow_read(conn: Any) -> int:  # a digest's grouping or an export's rows, in a worker thread
            count = (await conn.execute_fetchall("SELECT COUNT(*) FROM schema_migrations"))[0][0]
            reading.set()
            release.wait(10)
            return int(count)

        snapshot = asyncio.ensure_future(db.snapshot(slow_read))
        assert await asyncio.to_thread(reading.wait, 10)
        async with db.turn(_count) as (_, loaded, at_commit):  # not held up by the open snapshot
            at_commit.append(("UPDATE schema_migrations SET name = name WHERE number = ?", (1,)))
        release.set()
        assert await snapshot == loaded

"""Storage on a real SQLite file: migrations, pragmas, transactions all-or-nothing, one writer at a time."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest

from storage import Database
from storage.schema import migrations

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL


async def test_migrations_bring_a_new_file_to_the_latest_version(tmp_path: Path) -> None:
    async with Database(tmp_path / "m.sqlite3") as db:
        assert await db.applied_migrations() == [n for n, _, _ in migrations()]
        async with db.conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        async with db.conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1


async def test_opening_twice_applies_nothing_again(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    async with Database(path) as db:
        applied = await db.applied_migrations()
    async with Database(path) as db:
        assert await db.applied_migrations() == applied


async def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    async with Database(tmp_path / "t.sqlite3") as db:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO persons (created_at) VALUES ('2023-06-20T08:30:00+00:00')")
                raise RuntimeError("crash half-way")
        async with db.reading() as conn, conn.execute("SELECT COUNT(*) FROM persons") as cur:
            assert (await cur.fetchone())[0] == 0


async def test_concurrent_transactions_never_lose_an_update(tmp_path: Path) -> None:
    async with Database(tmp_path / "c.sqlite3") as db:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO persons (id, created_at) VALUES (1, 'x')")
            await conn.execute("INSERT INTO conversations (person_id, step, updated_at) VALUES (1, 's', 'x')")

        async def increment() -> None:
            async with db.transaction() as conn:
                async with conn.execute("SELECT version FROM conversations WHERE person_id = 1") as cur:
                    value = (await cur.fetchone())[0]
                await asyncio.sleep(0)
                await conn.execute("UPDATE conversations SET version = ? WHERE person_id = 1", (value + 1,))

        await asyncio.gather(*(increment() for _ in range(100)))
        async with db.reading() as conn, conn.execute("SELECT version FROM conversations") as cur:
            assert (await cur.fetchone())[0] == 101


async def test_deleting_a_person_cascades_to_identities_and_state(tmp_path: Path) -> None:
    async with Database(tmp_path / "f.sqlite3") as db:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO persons (id, created_at) VALUES (7, 'x')")
            await conn.execute("INSERT INTO identities VALUES ('telegram', '7', 7, '7', NULL, 'x', NULL)")
            await conn.execute("INSERT INTO conversations (person_id, step, updated_at) VALUES (7, 's', 'x')")
            await conn.execute("DELETE FROM persons WHERE id = 7")
        async with db.reading() as conn:
            for table in ("identities", "conversations"):
                async with conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
                    assert (await cur.fetchone())[0] == 0


async def _in_transaction(db: Database, work, *args):
    async with db.transaction() as conn:
        return await work(conn, *args)


async def test_a_redelivered_update_is_handled_once_and_old_ids_are_forgotten(tmp_path: Path) -> None:
    from storage.conversations import events_handled_before, first_delivery, forget_events

    async with Database(tmp_path / "e.sqlite3") as db:
        first = await _in_transaction(db, first_delivery, "telegram", "700", "2023-06-01T00:00:00+00:00")
        again = await _in_transaction(db, first_delivery, "telegram", "700", "2023-06-01T00:00:05+00:00")
        other_channel = await _in_transaction(db, first_delivery, "zalo", "700", "2023-06-01T00:00:05+00:00")
        assert (first, again, other_channel) == (True, False, True)
        late = await _in_transaction(db, first_delivery, "telegram", "701", "2023-06-09T00:00:00+00:00")
        old = await db.snapshot(partial(events_handled_before, before="2023-06-08T00:00:00+00:00"))
        assert late and sorted(old) == [("telegram", "700"), ("zalo", "700")]
        async with db.transaction() as conn:
            assert await forget_events(conn, old) == 2
        assert await _in_transaction(db, first_delivery, "telegram", "701", "2023-06-09T00:00:05+00:00") is False


async def test_an_update_handled_before_a_crash_is_not_handled_again(settings, tmp_path: Path) -> None:
    from bot.cli.wiring import build_engine
    from bot.core.types import Incoming, InputKind

    async with Database(tmp_path / "e.sqlite3") as db:
        engine = build_engine(settings, db)
        start = Incoming("telegram", "1", "1", InputKind.COMMAND, command="start", event_id="41")
        assert await engine.handle(start)
        assert await engine.handle(start) == []


async def test_the_connection_reads_results_of_any_size_in_order(tmp_path: Path) -> None:
    PREFETCH = 64  # aiosqlite's chunk: results shorter, as long and longer than it

    async with Database(tmp_path / "r.sqlite3") as db, db.transaction() as conn:
        await conn.execute("CREATE TABLE n (v INTEGER)")
        cur = await conn.executemany("INSERT INTO n VALUES (?)", [(v,) for v in range(3 * PREFETCH + 5)])
        assert cur.rowcount == 3 * PREFETCH + 5
        inserted = await conn.execute("INSERT INTO n VALUES (?)", (-1,))
        assert (inserted.rowcount, inserted.lastrowid) == (1, 3 * PREFETCH + 6)
        before = conn.total_changes
        await conn.execute("DELETE FROM n WHERE v = -1")
        assert conn.total_changes == before + 1
        async with conn.execute("SELECT v FROM n ORDER BY v") as cur:
            assert cur.description[0][0] == "v"
            one_by_one = [(await cur.fetchone())[0] for _ in range(PREFETCH + 2)]
            batch = [row[0] for row in await cur.fetchmany(PREFETCH)]
            rest = [row[0] for row in await cur.fetchall()]
            assert await cur.fetchone() is None and await cur.fetchmany(5) == []
        assert one_by_one + batch + rest == list(range(3 * PREFETCH + 5))
        async with conn.execute("SELECT v FROM n ORDER BY v") as cur:  # left half-read: closed on the way out
            assert (await cur.fetchone())[0] == 0
        assert len(await conn.execute_fetchall("SELECT v FROM n")) == 3 * PREFETCH + 5


async def test_the_storage_driver_is_aiosqlite_and_rows_read_by_name(tmp_path: Path) -> None:
    import sqlite3

    import aiosqlite

    from storage.connection import Connection

    async with Database(tmp_path / "d.sqlite3") as db:
        assert isinstance(db.conn, Connection)
        async with db.conn.execute("SELECT 1 AS one") as cur:
            assert isinstance(cur, aiosqlite.Cursor)
            row = await cur.fetchone()
        assert isinstance(row, sqlite3.Row) and row["one"] == 1
        assert [tuple(r) for r in await db.conn.execute_fetchall("SELECT :a, :b", {"a": 1, "b": 2})] == [(1, 2)]


async def test_errors_reach_the_caller_and_the_database_thread_goes_on(tmp_path: Path) -> None:
    import sqlite3

    async with Database(tmp_path / "x.sqlite3") as db:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await db.conn.execute("SELECT * FROM nowhere")
        abandoned = asyncio.ensure_future(db.conn.execute_fetchall("SELECT 1"))
        await asyncio.sleep(0)  # queued on the database thread, then its caller goes away
        abandoned.cancel()
        assert (await db.conn.execute_fetchall("SELECT 2"))[0][0] == 2
        conn = db.conn
    with pytest.raises(sqlite3.ProgrammingError):
        await conn.execute("SELECT 1")


async def test_a_payload_that_cannot_be_read_fails_its_row_and_takes_no_place(tmp_path: Path) -> None:
    from bot.outbox.sender import read_message
    from storage import outbox

    at = "2023-06-01T00:00:00+00:00"
    rows = [outbox.NewRow(key, "telegram", chat, None, "notice", 1, payload, at, None, at)
            for key, chat, payload in (("bad", "1", "{not json"), ("good", "2", '{"text": "Xin chào"}'))]
    async with Database(tmp_path / "o.sqlite3") as db:
        async with db.transaction() as conn:
            assert await outbox.insert_many(conn, rows) == 2
            claim = await outbox.claim_due(conn, now=at, limit=1, channel="telegram", read=read_message)
        assert [(row.chat_id, message.text) for row, message in claim.rows] == [("2", "Xin chào")]
        assert (claim.broken, claim.skipped) == (1, 0)
        async with db.reading() as conn:
            assert await outbox.get_row_status(conn, "bad") == ("failed", 0, "unreadable payload")
            assert await outbox.get_row_status(conn, "good") == ("sending", 1, None)


async def test_no_commit_checkpoints_the_wal_a_thread_of_its_own_does(tmp_path: Path) -> None:
    async with Database(tmp_path / "w.sqlite3") as db:
        async with db.turn(lambda conn: conn.execute_fetchall("PRAGMA wal_autocheckpoint")) as (_, loop_pages, _):
            pass
        driver_pages = await db.conn.execute_fetchall("PRAGMA wal_autocheckpoint")
        async with db.transaction() as conn:
            await conn.executemany("INSERT INTO persons (created_at) VALUES (?)", [("x" * 500,)] * 2000)
        frames, copied = await db.conn.checkpoint()
    # neither the loop nor the turns' lock ever copies the WAL back: the checkpoint thread copies all of it
    assert (loop_pages[0][0], driver_pages[0][0]) == (0, 0)
    assert frames > 100 and copied == frames


async def test_turns_can_go_through_aiosqlite_for_the_benchmark(tmp_path: Path) -> None:
    from storage.connection import Connection

    async with Database(tmp_path / "a.sqlite3", hot_turn=False) as db:
        async with db.turn(lambda conn: conn.execute_fetchall("SELECT 1")) as (conn, loaded, at_commit):
            assert isinstance(conn, Connection) and loaded[0][0] == 1
            at_commit.append(("INSERT INTO persons (created_at) VALUES (?)", ("x",)))
        assert (await db.conn.execute_fetchall("SELECT COUNT(*) FROM persons"))[0][0] == 1


async def test_no_statement_or_parameter_reaches_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aiosqlite")  # even with the driver's own logger turned up
    async with Database(tmp_path / "l.sqlite3") as db, db.transaction() as conn:
        await conn.execute("INSERT INTO persons (created_at) VALUES (?)", ("0912345678 Nguyễn Văn Bình",))
    assert not [r for r in caplog.records if "0912345678" in r.getMessage() or "INSERT" in r.getMessage()]

"""``doithoai migrate-db``: a commune's SQLite database, filled through the real engine (a household's question, a
registration for the dialogue, an organizer's announcement), copied into a fresh PostgreSQL database and read back
through the repositories there exactly as on SQLite; the bot then goes on on PostgreSQL with fresh ids."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock, iso
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.dialogues import service as dialogues
from bot.staff import roles
from storage import Database, broadcasts, conversations, database_at, pending_migrations, people, submissions
from storage import dialogues as dialogue_repo
from storage import outbox as outbox_repo
from storage.copy import columns, parents_first, tables_in_order
from storage.dialect import ROWID_TABLES
from tests.conftest import EXAMPLE_CONFIG
from tests.support import Household
from tests.test_broadcast_support import ORGANIZER_ID, add_households

ANNOUNCEMENT = "Kính mời bà con ấp Tân Hậu dự buổi đối thoại lúc 15:30 ngày 20/6 tại Trung tâm VHHTCĐ xã."
QUESTION = "Khi nào hộ cận nghèo được cấp thẻ bảo hiểm y tế?"


async def fill(engine: Engine, database: Database, clock: FrozenClock) -> None:
    """A household asks a question, another registers for the dialogue, an organizer announces to a hamlet."""
    async with database.transaction() as conn:
        await dialogues.seed_from_config(conn, engine.settings, clock())
    asking = Household(engine, user_id="1001")
    await asking.identify()
    await asking.ask(QUESTION)
    assert "DT-0001" in asking.text
    coming = Household(engine, user_id="1002")
    await coming.identify(name="Trần Thị Bình", hamlet="Tân Hậu")
    await coming.tap("back")
    await coming.tap("dialogue")
    await coming.tap("register")
    sang = Household(engine, user_id=ORGANIZER_ID)
    await sang.identify(name="Phạm Thanh Sang", hamlet="Tân Dân", category="c:other")
    async with database.transaction() as conn:
        await roles.grant(conn, "telegram", ORGANIZER_ID, "organizer", "Phạm Thanh Sang", iso(clock()))
    await add_households(database, clock(), 101, 4, hamlet="tan-hau")
    await sang.command("broadcast")
    await sang.type(ANNOUNCEMENT)
    await sang.tap("hamlet")
    await sang.pick("Tân Hậu")
    replies = await sang.tap("send")
    assert replies[0].text == t("broadcast.started", id=1, count=6)


async def migrate(source: str, target: str, *args: str) -> Result:
    """The command as an operator types it (in a thread: it runs its own event loop)."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, main, ["migrate-db", "--from", source, "--to", target, *args])


async def seen_through_repositories(db: Any) -> dict[str, Any]:
    """What the bot reads of the copied things, through the repositories."""
    async with db.reading() as conn:
        dialogue = (await dialogue_repo.list_dialogues(conn))[0]
        persons = [await people.get_person(conn, n) for n in range(1, 10)]
        return {
            "persons": persons,
            "sessions": [await conversations.load_session(conn, "telegram", user) for user in ("1001", "1002")],
            "chats": [await people.person_chat(conn, n) for n in range(1, 10)],
            "submissions": await submissions.all_submissions(conn),
            "dialogue": dialogue,
            "seats": await dialogue_repo.seat_counts(conn, dialogue.id),
            "registered": await dialogue_repo.registrations(conn, dialogue.id, "registered"),
            "broadcasts": await broadcasts.recent(conn, 10),
            "announcement": await outbox_repo.tally(conn, "broadcast:1"),
            "households": await outbox_repo.unsent_payloads(conn),
        }


async def every_row(db: Any, tables: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables, in the columns named (sorted: the two databases need not agree on an order)."""
    async with db.reading() as conn:
        found = {}
        for table, names in tables.items():
            listed = ", ".join(f'"{name}"' for name in names)
            rows = await conn.execute_fetchall(f'SELECT {listed} FROM "{table}"')
            found[table] = sorted((tuple(row) for row in rows), key=repr)
        return found


async def sqlite_columns(database: Database) -> dict[str, list[str]]:
    async with database.reading() as conn:
        return {table: list(await columns(conn, "sqlite", table)) for table in await tables_in_order(conn, "sqlite")}


@pytest.fixture
async def filled(engine: Engine, database: Database, clock: FrozenClock) -> str:
    """The commune's SQLite file, filled through the engine (still open: the bot may be reading it)."""
    await fill(engine, database, clock)
    return f"sqlite:///{database.path}"


async def test_everything_copied_to_postgresql_reads_back_the_same(filled: str, database: Database,
                                                                   pg_url: str) -> None:
    result = await migrate(filled, pg_url)
    assert result.exit_code == 0, result.output
    tables = await sqlite_columns(database)
    in_order = {table: ["rowid", *names] for table, names in tables.items() if table in ROWID_TABLES}
    async with database_at(pg_url) as copy:
        assert await seen_through_repositories(copy) == await seen_through_repositories(database)
        theirs, their_order = await every_row(copy, tables), await every_row(copy, in_order)
    ours = await every_row(database, tables)
    audited = theirs.pop("audit_log")
    assert theirs == {table: rows for table, rows in ours.items() if table != "audit_log"}
    assert audited[:-1] == ours["audit_log"]   # and the copy itself, audited on the new database
    assert audited[-1][2:6] == ("cli", audited[-1][3], "admin", "migrate_db")
    assert their_order == await every_row(database, in_order)  # the insertion order the repositories read
    filled_in = {"persons", "identities", "conversations", "submissions", "dialogues", "dialogue_hamlets",
                 "registrations", "staff", "broadcasts", "outbox"}
    assert not [table for table in filled_in if not theirs[table]]


async def test_the_command_shows_each_table_and_the_counts_on_both_ends(filled: str, pg_url: str) -> None:
    result = await migrate(filled, pg_url)
    assert result.exit_code == 0, result.output
    assert "Đang chép" in result.output and "từ sqlite:///" in result.output
    assert "  persons: đã chép 7 dòng" in result.output
    assert "  identities: đã chép 7 dòng" in result.output
    assert "Số dòng từng bảng (nguồn, đích):" in result.output
    assert "số dòng từng bảng đều khớp" in result.output
    assert f'[database] url = "{pg_url}"' in result.output
    lines = result.output.splitlines()
    assert lines.index("  persons: đã chép 7 dòng") < lines.index("  identities: đã chép 7 dòng")


async def test_the_bot_goes_on_on_postgresql_with_fresh_ids(filled: str, pg_url: str, clock: FrozenClock,
                                                           engine: Engine) -> None:
    assert (await migrate(filled, pg_url)).exit_code == 0
    async with database_at(pg_url) as copy:
        moved = build_engine(engine.settings, copy, clock=clock)
        again = Household(moved, user_id="1001")
        await again.command("start")
        await again.ask("Hộ tôi có được vay vốn làm nhà không?")
        assert "DT-0002" in again.text       # the same household, recognised; the next receipt code
        newcomer = Household(moved, user_id="3001")
        await newcomer.identify(name="Lê Văn Cường")
        async with copy.reading() as conn:
            ids = [p.id for p in [await people.get_person(conn, n) for n in range(1, 12)] if p]
            assert len(await submissions.all_submissions(conn)) == 2
        assert ids == list(range(1, 9))   # the newcomer is person 8: the sequence went on after the copied ids


async def test_a_target_holding_data_is_refused_and_left_alone(filled: str, database: Database, pg_url: str) -> None:
    assert (await migrate(filled, pg_url)).exit_code == 0
    tables = await sqlite_columns(database)
    async with database_at(pg_url) as copy:
        before = await every_row(copy, tables)
    result = await migrate(filled, pg_url)
    assert result.exit_code == 2
    assert "đã có dữ liệu" in result.output and "persons" in result.output and "Không chép gì" in result.output
    async with database_at(pg_url) as copy:
        assert await every_row(copy, tables) == before


async def test_a_source_not_yet_upgraded_is_refused_before_anything_is_opened(tmp_path: Path, pg_url: str) -> None:
    old = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(old)) as raw, raw:
        raw.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT)")
    result = await migrate(f"sqlite:///{old}", pg_url, "--lang", "en")
    assert result.exit_code == 2
    assert "Run doithoai migrate first" in result.output
    with closing(sqlite3.connect(old)) as raw:
        assert raw.execute("SELECT name FROM sqlite_master").fetchall() == [("schema_migrations",)]
    assert await asyncio.to_thread(pending_migrations, pg_url) != []   # the target was not even opened
    missing = await migrate(f"sqlite:///{tmp_path / 'nope.sqlite3'}", pg_url)
    assert missing.exit_code == 2 and "Không tìm thấy cơ sở dữ liệu nguồn" in missing.output


async def test_a_copy_between_two_sqlite_files_works_too(filled: str, database: Database, tmp_path: Path) -> None:
    target = tmp_path / "copy" / "doithoai.sqlite3"
    result = await migrate(filled, f"sqlite:///{target}", "--batch", "2")
    assert result.exit_code == 0, result.output
    async with Database(target) as copy:
        assert await seen_through_repositories(copy) == await seen_through_repositories(database)


def test_parents_are_copied_before_the_tables_that_point_at_them() -> None:
    order = parents_first({"identities": {"persons"}, "persons": set(), "registrations": {"persons", "dialogues"},
                           "dialogues": set(), "outbox": {"persons"}, "submissions": {"persons"},
                           "group_overrides": {"submissions"}})
    assert order.index("persons") < order.index("identities")
    assert order.index("dialogues") < order.index("registrations")
    assert order.index("submissions") < order.index("group_overrides")
    with pytest.raises(ValueError, match="circle"):
        parents_first({"a": {"b"}, "b": {"a"}})


async def test_a_row_the_target_refuses_leaves_it_empty_and_says_which_table(filled: str, database: Database,
                                                                              pg_url: str) -> None:
    """An old file written before SQLite checked foreign keys may hold a row pointing at nobody: PostgreSQL
    refuses it, the whole copy is undone, and the operator is told where."""
    with closing(sqlite3.connect(database.path)) as raw, raw:  # foreign keys off on a plain connection, as then
        raw.execute("INSERT INTO identities (channel, external_id, person_id, chat_id, created_at)"
                    " VALUES ('zalo', 'z-404', 404, 'z-404', '2023-06-15T02:00:00+00:00')")
    result = await migrate(filled, pg_url)
    assert result.exit_code == 2
    assert "Không chép được bảng identities" in result.output and "vẫn trống như trước" in result.output
    assert "z-404" not in result.output
    tables = await sqlite_columns(database)
    async with database_at(pg_url) as copy:
        left = await every_row(copy, tables)
    assert {table: rows for table, rows in left.items() if rows} == {}


def test_restore_on_postgresql_says_how_with_pg_restore(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "doithoai.sqlite3"', 'path = "doithoai.sqlite3"\n'
                                   'url = "postgresql://doithoai@db.example/doithoai"', 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["restore", "--config", str(config), "old.dump", "--yes"])
    assert result.exit_code == 2
    assert "pg_restore --clean" in result.output and '"postgresql://doithoai@db.example/doithoai"' in result.output
    assert not (tmp_path / "backups").exists() and not (tmp_path / "doithoai.sqlite3").exists()

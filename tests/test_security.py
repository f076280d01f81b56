"""Security: hostile text in every field is stored as text (SQL only with parameters), never run."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from bot.core.config import Settings
from bot.core.engine import Engine
from bot.dialogues import service as dialogues
from bot.dialogues.roster import import_roster
from bot.dialogues.service import DialogueSpec
from bot.staff import roles
from tests.support import Household

INJECTIONS = [
    "Robert'); DROP TABLE submissions;--",
    "' OR '1'='1",
    "\"; DELETE FROM persons; --",
    "1; UPDATE staff SET role='admin' --",
    "%s %d {0} {name} ${x} `rm -rf /`",
    "<script>alert('x')</script>",
]
TABLES = ("persons", "identities", "conversations", "submissions", "dialogues", "registrations", "staff", "outbox")


def tables(path: str) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.mark.parametrize("attack", INJECTIONS)
async def test_injection_strings_in_every_household_field_are_stored_verbatim(
        engine: Engine, settings: Settings, attack: str) -> None:
    hh = Household(engine, "1")
    await hh.command("start", attack)
    await hh.tap("yes")
    await hh.type(f"Nguyễn Văn {attack}")
    await hh.type("Nguyễn Văn Bình")
    await hh.pick("Tân Hậu")
    await hh.tap("c:poor")
    await hh.type(attack)
    await hh.tap("skip")
    await hh.ask(f"Câu hỏi {attack}")
    await hh.command("myquestions", attack)
    assert set(TABLES) <= tables(settings.database.path)
    with sqlite3.connect(settings.database.path) as db:
        assert db.execute("SELECT content FROM submissions").fetchall() == [(f"Câu hỏi {attack}",)]
        assert db.execute("SELECT COUNT(*), MAX(full_name) FROM persons").fetchone() == (1, "Nguyễn Văn Bình")
        assert db.execute("SELECT COUNT(*) FROM staff").fetchone() == (0,)


@pytest.mark.parametrize("attack", INJECTIONS)
async def test_injection_strings_in_staff_commands_and_the_roster_change_nothing_else(
        engine: Engine, settings: Settings, attack: str) -> None:
    now = engine.clock()
    async with engine.db.transaction() as conn:
        await roles.grant(conn, "telegram", "9001", "organizer", attack, "2023-06-01T00:00:00+00:00")
        await dialogues.create(conn, settings, DialogueSpec(
            id="d1", title="Đối thoại", starts_at=datetime(2030, 1, 1, tzinfo=UTC), place="Hội trường",
            quotas={"tan-hau": 5}, status="open"), now)
    org = Household(engine, "9001")
    await org.command("setplace", f"d1 {attack}")
    await org.command("checkin", attack)
    await org.command("settime", f"d1 {attack}")
    await org.command("setquota", f"d1 {attack} 5")
    roster = f"Họ và tên,Mã hộ,Ấp\n{attack},{attack[:20]},Tân Hậu\n".encode("utf-8-sig")
    await import_roster(engine.db, settings, "d1", data=roster, filename="ds.csv", now=now)
    assert set(TABLES) <= tables(settings.database.path)
    with sqlite3.connect(settings.database.path) as db:
        assert db.execute("SELECT place FROM dialogues WHERE id = 'd1'").fetchone() == (" ".join(attack.split()),)
        assert db.execute("SELECT role FROM staff").fetchall() == [("organizer",)]
        assert db.execute("SELECT full_name FROM roster_entries").fetchall() in ([(attack,)], [])

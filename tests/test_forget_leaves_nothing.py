"""/forget keeps the promise: after a household has been in every table (its questions, an answer waiting and one
sent, a seat, the roster, the audit log, handled updates, a link code, an exported report), the database dump and
the exports folder hold none of its name, phone, chat id or words."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.cli.runtime import seed_dialogues
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.types import Incoming, InputKind
from bot.dialogues import service as dialogues
from bot.reports.build import build_report
from bot.reports.report_files import exports_dir
from storage import Database
from storage import dialogues as dialogue_repo
from tests.support import Household

NAME = "Huỳnh Thị Xuân Mai"
PHONE_STORED = "0938271604"
CHAT = "738294615"
QUESTION = "Nhà tôi có ba đứa nhỏ đang đi học, xin hỏi được miễn học phí không"
ANSWER = "Ba cháu được miễn học phí theo Nghị định 81, bà mang giấy chứng nhận hộ nghèo đến trường"
DIALOGUE = "tan-thuan-tay-2027"


def dump(path: str) -> str:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return "\n".join(db.iterdump())


def traces(text: str) -> list[str]:
    return [secret for secret in (NAME, PHONE_STORED, CHAT, QUESTION, ANSWER) if secret in text]


async def test_forget_leaves_nothing_of_the_household_in_the_database_or_the_exports(
        engine: Engine, database: Database, settings: Settings, clock: FrozenClock, grant) -> None:
    await seed_dialogues(database, settings, clock)
    mai = Household(engine, CHAT)
    await mai.identify(name=NAME, hamlet="Tân Hậu")
    await mai.ask(QUESTION, topic="t:giao-duc")
    await mai.tap("another")
    await mai.ask("Câu hỏi thứ hai về thẻ bảo hiểm y tế của tôi")
    await engine.handle(Incoming("telegram", CHAT, CHAT, InputKind.COMMAND, command="link", event_id="99001"))
    async with database.transaction() as conn:
        dialogue = await dialogues.require(conn, DIALOGUE)
        person_id = (await conn.execute_fetchall("SELECT person_id FROM identities WHERE external_id = ?",
                                                 (CHAT,)))[0][0]
        await conn.execute("UPDATE persons SET phone = ? WHERE id = ?", (PHONE_STORED, person_id))  # as typed
        await dialogue_repo.upsert_roster(conn, DIALOGUE, [("TTT-077", NAME, "tan-hau", "poor", PHONE_STORED)],
                                          "2027-06-01T00:00:00+00:00")
        await dialogues.register(conn, dialogue, person_id, "tan-hau", clock())
    await grant("2002", "officer")
    officer = Household(engine, "2002")
    await officer.command("answer", f"DT-0001 {ANSWER}")              # an answer queued for her
    await officer.command("answer", "DT-0002 Thẻ của bà sẽ có vào tháng 7")
    async with database.transaction() as conn:                            # ... and one already sent
        await conn.execute("UPDATE outbox SET status = 'sent' WHERE id = (SELECT MIN(id) FROM outbox)")
    report = await build_report(database, settings, DIALOGUE, now=clock(), folder=exports_dir(settings),
                                formats=("csv",))
    csv_text = report.paths["csv"].read_bytes().decode("utf-16")
    assert NAME in csv_text and QUESTION in csv_text
    before = dump(settings.database.path)
    assert set(traces(before)) == {NAME, PHONE_STORED, CHAT, QUESTION, ANSWER}, "every table was filled"

    await mai.command("forget")
    await mai.tap("yes")

    assert traces(dump(settings.database.path)) == []
    left = [p for p in exports_dir(settings).iterdir() if p.is_file()]
    assert left == [], left
    assert await asyncio.to_thread(Path(settings.database.path).exists)

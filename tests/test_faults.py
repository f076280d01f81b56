"""Faults: a database locked for a moment by another process, and one locked for too long."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.cli.wiring import build_engine
from bot.core.config import Settings
from bot.core.i18n import t
from storage import Database
from tests.support import Household


def hold_write_lock(path: str, seconds: float, ready: threading.Event) -> None:
    """Another process (a CLI import, a backup tool) holding SQLite's write lock."""
    with sqlite3.connect(path, isolation_level=None) as other:
        other.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        other.execute("COMMIT")


async def test_a_database_locked_for_a_moment_loses_no_update_and_the_bot_stays_responsive(
        settings: Settings, tmp_path: Path) -> None:
    async with Database(settings.database.path) as db:
        engine = build_engine(settings, db)
        ready = threading.Event()
        locker = threading.Thread(target=hold_write_lock, args=(settings.database.path, 0.8, ready))
        locker.start()
        await asyncio.to_thread(ready.wait)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while locker.is_alive():
                ticks += 1
                await asyncio.sleep(0.05)

        households = [Household(engine, str(n)) for n in range(20)]
        beat = asyncio.create_task(ticker())
        replies = await asyncio.gather(*(hh.command("start") for hh in households))
        await beat
        locker.join()
        assert all(t("form.consent") in r[-1].text for r in replies), "every household answered after the lock"
        assert ticks >= 8, "the event loop kept running while the database was locked"
        async with db.reading() as conn:
            assert (await conn.execute_fetchall("SELECT COUNT(*) FROM persons"))[0][0] == 20


async def test_a_lock_held_past_the_busy_timeout_makes_the_turn_wait_and_it_is_never_dropped(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    async with Database(settings.database.path, busy_timeout_ms=200) as db:
        engine = build_engine(settings, db)
        hh = Household(engine, "1")
        await hh.identify()
        ready = threading.Event()
        locker = threading.Thread(target=hold_write_lock, args=(settings.database.path, 1.0, ready))
        locker.start()
        await asyncio.to_thread(ready.wait)
        await hh.tap("k:question")  # 1 s of lock against a 0.2 s busy timeout: tried again, not dropped
        locker.join()
        assert hh.prompt.text == "Thuộc lĩnh vực nào?"
        assert any("busy in another process" in r.getMessage() for r in caplog.records)


async def test_a_connection_reset_while_replying_keeps_the_answer_and_the_next_message_is_served(
        household, fake_telegram, session_of) -> None:
    from bot.core.i18n import t

    await household.reach("name")
    fake_telegram.reset("sendMessage", chat_id=household.user.id)
    await household.say("Nguyễn Thị Bình")
    session = await session_of(household)
    assert (session.step, session.person.full_name) == ("hamlet", "Nguyễn Thị Bình"), "what was typed is kept"
    replies = await household.command("start")
    assert replies[-1]["text"] == t("form.ask_unit", kind="ấp")


async def test_an_outbox_message_hit_by_a_connection_reset_is_retried_and_arrives_once(
        fake_telegram, telegram_app, database, clock) -> None:
    from bot.core.types import Message
    from bot.outbox.enqueue import Priority, Recipient, enqueue
    from bot.outbox.sender import ChannelLimits, Sender
    from handlers.telegram.transport import TelegramTransport

    user = fake_telegram.user(1501, "Hoa", "Trần Thị")
    async with database.transaction() as conn:
        await enqueue(conn, key="notice:reset", recipient=Recipient(None, "telegram", str(user.id)), kind="notice",
                      message=Message("Thông báo thay đổi địa điểm"), priority=Priority.NOTICE, now=clock())
    fake_telegram.reset("sendMessage", chat_id=user.id)
    sender = Sender(database, {"telegram": TelegramTransport(telegram_app.bot)}, clock=clock,
                    limits={"telegram": ChannelLimits(rate=100, per_chat_interval=0, base_backoff=0.0)})
    outcome = await sender.drain_once()
    assert (outcome.get("retried"), outcome.get("sent")) == (1, 1)
    assert fake_telegram.texts(user.id) == ["Thông báo thay đổi địa điểm"]

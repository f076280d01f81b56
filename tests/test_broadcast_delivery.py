"""Broadcasts over real HTTP: the organizer's chat, the outbox sender and the Telegram transport against the fake Bot
API server, with the platform's refusals (blocked, chat not found, 429, 5xx) and a reminder due in the middle."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram.ext import Application

from bot.broadcast import service as broadcast
from bot.broadcast.jobs import BroadcastJobs
from bot.broadcast.service import Audience
from bot.core.clock import FrozenClock, iso, system_clock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.events import OUTBOX_QUEUED
from bot.core.i18n import t
from bot.dialogues import service as dialogues
from bot.dialogues.reminders import plan, run_wave
from bot.outbox.sender import ChannelLimits, Sender
from handlers.telegram.transport import TelegramTransport
from storage import Database, outbox
from storage import dialogues as dialogue_repo
from tests.fake_telegram import FakeTelegram, find_button
from tests.test_broadcast_support import ORGANIZER_ID, add_households, add_organizer
from tests.waiting import ReadClock, until

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
TEXT = "📢 Ấp Tân Hậu: buổi đối thoại chính sách giảm nghèo bắt đầu lúc 15:30 ngày 20/6/2027. Kính mời bà con."


@pytest.fixture
async def running(telegram_app: Application, engine: Engine, database: Database, clock: FrozenClock,
                  ) -> AsyncIterator[Sender]:
    """The bot as ``doithoai run`` has it: the sender (on the real clock: retries are due in real seconds) and the
    broadcast jobs, woken by the engine's events."""
    sender = Sender(database, {"telegram": TelegramTransport(telegram_app.bot)}, clock=system_clock,
                    events=engine.events, rng=random.Random(5),
                    limits={"telegram": ChannelLimits(rate=200, per_chat_interval=0.0, max_attempts=3,
                                                      base_backoff=0.05)})
    jobs = BroadcastJobs(database, engine.settings, engine.events, clock, follow_every=0.05)
    await sender.start()
    await jobs.start()
    yield sender
    await jobs.stop()
    await sender.stop()


async def test_an_announcement_reaches_each_household_once_and_the_organizer_gets_the_tally(
    fake_telegram: FakeTelegram, running: Sender, database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    async with database.transaction() as conn:
        await add_organizer(conn, clock())
    await add_households(database, clock(), 101, 10, hamlet="tan-hau")
    users = {n: fake_telegram.user(n, "Hộ", str(n)) for n in range(101, 111) if n != 104}  # 104: chat not found
    fake_telegram.block(users[103])
    fake_telegram.fail("sendMessage", status=429, retry_after=1, chat_id=105)
    fake_telegram.fail("sendMessage", status=502, chat_id=106, times=2)       # recovers at the third attempt
    fake_telegram.fail("sendMessage", status=500, chat_id=107, times=5)       # gives up after three
    sang = fake_telegram.chat_with(fake_telegram.user(int(ORGANIZER_ID), "Sang", "Phạm Thanh"))

    await sang.command("broadcast")
    await sang.say(TEXT)
    await sang.press(t("broadcast.pick_hamlet"))
    [preview] = await sang.press("Ấp Tân Hậu")
    assert f"━━━━━━━━━━\n{TEXT}\n━━━━━━━━━━" in preview["text"]
    send = find_button(preview, t("broadcast.send_now", count=10))  # nobody is known to have blocked the bot yet
    [started, *_] = await sang.send(fake_telegram.tap(sang.user, preview, send["callback_data"]))
    assert started["text"] == t("broadcast.started", id=1, count=10)
    [again, *_] = await sang.send(fake_telegram.tap(sang.user, preview, send["callback_data"]))
    assert again["text"] == t("form.stale_button")

    tally = await fake_telegram.wait_for(
        lambda: next((text for text in sang.texts if text.startswith("📊 Thông báo #1")), None), 10, "the tally")
    for n, user in users.items():
        received = [text for text in fake_telegram.texts(user.id) if text == TEXT]
        assert len(received) == (0 if n in (103, 107) else 1), n
    for line in ("✅ Đã nhận: 7", "🚫 Đã chặn bot: 1", "⚠️ Gửi không được: 2", "• Internal Server Error: 1",
                 "• Chat not found: 1"):
        assert line in tally
    assert len(fake_telegram.calls_to("sendMessage", 107)) == 3

    async with database.transaction() as conn:   # the next announcement leaves out the household that blocked
        second = await broadcast.new_draft(conn, created_by="test", creator_person_id=None, now=clock())
        await broadcast.edit(conn, second, text="Thông báo thứ hai")
        row = await broadcast.set_audience(conn, settings, second, Audience("hamlet", "tan-hau"))
        assert await broadcast.preview(conn, settings, row) == broadcast.Preview(9, 0, 1)


async def test_a_reminder_due_during_a_large_broadcast_goes_out_first(
    fake_telegram: FakeTelegram, telegram_app: Application, engine: Engine, database: Database, settings: Settings,
    clock: FrozenClock,
) -> None:
    await add_households(database, clock(), 100_001, 1000, hamlet="tan-hung")
    [household] = await add_households(database, clock(), 5001, 1, hamlet="tan-hau")
    for n in (*range(100_001, 101_001), 5001):
        fake_telegram.user(n)
    async with database.transaction() as conn:
        await dialogues.seed_from_config(conn, settings, clock())
        dialogue = await dialogue_repo.get_dialogue(conn, "tan-thuan-tay-2027")
        await dialogues.register(conn, dialogue, household, "tan-hau", clock())
        broadcast_id = await broadcast.new_draft(conn, created_by="test", creator_person_id=None, now=clock())
        await broadcast.edit(conn, broadcast_id, text="Thông báo chung cho ấp Tân Hùng")
        await broadcast.set_audience(conn, settings, broadcast_id, Audience("hamlet", "tan-hung"))
        await broadcast.confirm(conn, settings, broadcast_id, clock())
    assert dialogue is not None and dialogue.starts_at is not None
    now = dialogue.starts_at - timedelta(hours=1)                           # the 2-hour reminder is due
    sender = Sender(database, {"telegram": TelegramTransport(telegram_app.bot)}, clock=FrozenClock(now),
                    events=engine.events)                                  # Telegram's limits: 30/s, 1/s a chat
    loop = asyncio.get_running_loop()
    await sender.start()
    try:
        await fake_telegram.wait_for(lambda: len(fake_telegram.calls_to("sendMessage")) >= 10, 5, "the broadcast")
        [wave] = [w for w in plan(dialogue, now) if w.due(now)]
        queued_at = loop.time()
        assert await run_wave(database, settings, wave, now, engine.events) == 1
        await fake_telegram.wait_for(lambda: fake_telegram.calls_to("sendMessage", 5001), 2, "the reminder")
        arrived = loop.time()
    finally:
        await sender.stop()
    assert arrived - queued_at < 0.5                                        # measured: 30-60 ms
    async with database.reading() as conn:
        counts = await outbox.tally(conn, f"broadcast:{broadcast_id}")
    assert counts["pending"] > 900                                           # the broadcast was still under way


async def test_the_running_jobs_release_a_scheduled_broadcast_and_wake_the_sender(
    engine: Engine, database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    woken: list[str] = []
    engine.events.subscribe(OUTBOX_QUEUED, lambda: woken.append(iso(clock())))
    read_clock = ReadClock(clock)
    jobs = BroadcastJobs(database, settings, engine.events, read_clock)
    await add_households(database, clock(), 101, 3)
    async with database.transaction() as conn:
        broadcast_id = await broadcast.new_draft(conn, created_by="test", creator_person_id=None, now=clock())
        await broadcast.edit(conn, broadcast_id, text="Xin chào")
        await broadcast.set_audience(conn, settings, broadcast_id, Audience("everyone"))
        await broadcast.set_time(conn, broadcast_id, clock() + timedelta(minutes=5), clock())
        await broadcast.confirm(conn, settings, broadcast_id, clock())
    await jobs.start()
    try:
        await read_clock.reads_reach(2)   # a whole pass: the clock read by its tick, then for its next wake-up
        assert woken == []
        clock.advance(minutes=5)
        jobs.wake()
        await until(lambda: woken, what="the released broadcast to wake the sender")
    finally:
        await jobs.stop()
    assert woken == [iso(clock())]
    async with database.reading() as conn:
        assert (await broadcast.require(conn, broadcast_id)).status == "sending"
        assert (await outbox.tally(conn, f"broadcast:{broadcast_id}"))["pending"] == 3

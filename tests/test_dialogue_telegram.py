"""Seed 000's dialogue on Telegram through the fake Bot API: set up from the chat, filled, reminded, checked in.

The real python-telegram-bot Application, the real outbox sender and transport, the real reminder scheduler's
planning, one SQLite file; only the clock is frozen (2023-06-15, five days before 15:30 on 20 June 2023).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.ext import Application

from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.dialogues.reminders import ReminderScheduler
from bot.outbox.sender import ChannelLimits, Sender
from bot.staff import roles
from handlers.telegram.transport import TelegramTransport
from storage import Database
from tests.fake_telegram import Chat, FakeTelegram

DIALOGUE = "tan-thuan-tay-2023"
HOUSEHOLDS = [(1001, "Bình", "Nguyễn Văn"), (1002, "Hoa", "Trần Thị"), (1003, "Tám", "Lê Văn")]


@pytest.fixture
async def sender(database: Database, engine: Engine, telegram_app: Application, clock: FrozenClock
                 ) -> AsyncIterator[Sender]:
    sender = Sender(database, {"telegram": TelegramTransport(telegram_app.bot)}, clock=clock, events=engine.events,
                    limits={"telegram": ChannelLimits(rate=1000, per_chat_interval=0)})
    yield sender


async def organizer(fake: FakeTelegram, database: Database) -> Chat:
    async with database.transaction() as conn:
        await roles.grant(conn, "telegram", "9001", "organizer", "Phạm Thanh Sang", "2023-06-01T00:00:00+00:00")
    return fake.chat_with(fake.user(9001, "Sang", "Phạm Thanh"))


async def sign_up(fake: FakeTelegram, user_id: int, first: str, last: str, hamlet: str = "Ấp Tân Dân") -> Chat:
    chat = fake.chat_with(fake.user(user_id, first, last))
    await chat.command("start")
    await chat.press(t("form.consent_yes"))
    await chat.say(f"{last} {first}")
    await chat.press(hamlet)
    await chat.press(t("form.category_poor"))
    await chat.say(t("form.skip"))  # a reply-keyboard button sends its label as text
    await chat.press(t("form.kind_question"))
    await chat.press("Giảm nghèo")
    await chat.press("Y tế, thẻ bảo hiểm y tế")
    await chat.say("Khi nào hộ tôi được cấp thẻ bảo hiểm y tế?")
    await chat.press(t("form.submit"))
    await chat.press(t("registration.menu_register"))
    await chat.press(t("registration.register"))
    return chat


async def setup_seed_000(org: Chat) -> None:
    await org.command("newdialogue", f"{DIALOGUE} Đối thoại chính sách giảm nghèo, lao động, việc làm năm 2023")
    for hamlet, seats in (("Tân Dân", 2), ("Tân Hùng", 10), ("Tân Chủ", 10), ("Tân Hậu", 20)):
        await org.command("setquota", f"{DIALOGUE} {hamlet} {seats}")
    await org.command("settime", f"{DIALOGUE} 15:30 20/6/2023")
    await org.command("setplace", f"{DIALOGUE} Trung tâm VHHTCĐ xã Tân Thuận Tây")
    replies = await org.command("opendialogue", DIALOGUE)
    assert "đang nhận đăng ký" in replies[-1]["text"]


async def outbox_rows(database: Database, kind: str) -> list[tuple[str, str]]:
    async with database.reading() as conn, conn.execute(
            "SELECT dedupe_key, status FROM outbox WHERE kind = ? ORDER BY id", (kind,)) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def test_seed_000_is_set_up_filled_reminded_and_checked_in_on_telegram(
        fake_telegram: FakeTelegram, database: Database, engine: Engine, settings: Settings, clock: FrozenClock,
        sender: Sender) -> None:
    org = await organizer(fake_telegram, database)
    await setup_seed_000(org)
    binh, hoa, tam = [await sign_up(fake_telegram, *h) for h in HOUSEHOLDS]
    assert any("Mã đăng ký" in text for text in binh.texts)
    assert fake_telegram.calls_to("sendPhoto", binh.user.id), "the check-in QR code is sent as an image"
    assert any("danh sách chờ, thứ 1" in text for text in tam.texts)

    clock.now = clock.now + timedelta(days=2, hours=6, minutes=30)  # 17/6 15:30: three days before
    scheduler = ReminderScheduler(database, settings, engine.events, clock=clock, scheduler=AsyncIOScheduler())
    await scheduler.replan_all()
    await sender.drain_once()
    reminder = next(m for m in fake_telegram.bot_messages(binh.user.id) if "🔔 Còn 3 ngày nữa" in (m.get("text") or ""))
    assert "15 giờ 30 phút, thứ Ba, ngày 20/6/2023" in reminder["text"] and "Trung tâm VHHTCĐ" in reminder["text"]
    assert not any("🔔" in text for text in tam.texts), "the waitlist gets no reminder"

    await binh.send(fake_telegram.tap(binh.user, reminder, _button(reminder, "không đến")))
    await sender.drain_once()
    assert any("Đã có chỗ cho ông/bà" in text for text in tam.texts)

    restarted = ReminderScheduler(database, settings, engine.events, clock=clock, scheduler=AsyncIOScheduler())
    await restarted.replan_all()  # a restart
    await sender.drain_once()
    three_days = [key for key, _ in await outbox_rows(database, "reminder")]
    assert len(three_days) == len(set(three_days)) == 2, "one reminder each for the two seated households, once"
    assert sum("🔔 Còn 3 ngày nữa" in text for text in binh.texts) == 1

    hoa_code = _registration_code(hoa)
    door = fake_telegram.chat_with(fake_telegram.user(9002, "Lan", "Võ Thị"))
    async with database.transaction() as conn:
        await roles.grant(conn, "telegram", "9002", "officer", "Võ Thị Lan", "2023-06-01T00:00:00+00:00")
    replies = await door.command("checkin", hoa_code)
    assert "✅ Đã điểm danh: Trần Thị Hoa — Ấp Tân Dân" in replies[-1]["text"]
    replies = await door.command("checkin", hoa_code)
    assert "đã điểm danh lúc" in replies[-1]["text"]
    replies = await door.command("attendance", DIALOGUE)
    assert "Ấp Tân Dân: 2/2 hộ đăng ký, 0 chờ, 1 đã đến" in replies[-1]["text"]


async def test_a_time_change_tells_registered_households_on_telegram(
        fake_telegram: FakeTelegram, database: Database, engine: Engine, sender: Sender) -> None:
    org = await organizer(fake_telegram, database)
    await setup_seed_000(org)
    binh = await sign_up(fake_telegram, *HOUSEHOLDS[0])
    await org.command("settime", f"{DIALOGUE} 8:00 21/6/2023")
    await sender.drain_once()
    assert any("Thay đổi thời gian" in text and "8 giờ, thứ Tư, ngày 21/6/2023" in text for text in binh.texts)


def _button(message: dict, label_part: str) -> str:
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if label_part in button["text"]:
                return button["callback_data"]
    raise AssertionError(f"no button with {label_part!r}: {json.dumps(markup, ensure_ascii=False)}")


def _registration_code(chat: Chat) -> str:
    photo = next(c for c in chat.fake.calls_to("sendPhoto", chat.user.id))
    return str(photo.params["caption"]).split(":")[-1]

"""The answer loop over real HTTP: python-telegram-bot against the fake Bot API server, the outbox drained by the
real sender and Telegram transport, as ``doithoai run`` wires them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from telegram.ext import Application

from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.i18n import t
from bot.outbox.sender import ChannelLimits, Sender
from bot.staff.roles import Scope
from handlers.telegram.transport import TelegramTransport
from storage import Database
from tests.fake_telegram import Chat, FakeTelegram, buttons

ANSWER = "Ông/bà mang sổ hộ nghèo đến Phòng giao dịch Ngân hàng Chính sách xã hội huyện, thứ Năm hằng tuần."
Grant = Callable[..., Awaitable[None]]


@pytest.fixture
async def officer(fake_telegram: FakeTelegram, grant: Grant) -> Chat:
    """Phạm Thanh Sang, officer for ấp Tân Hùng (where Bình of the form path lives)."""
    await grant("2002", "officer", Scope(hamlets=("tan-hung",)))
    return fake_telegram.chat_with(fake_telegram.user(2002, "Sang", "Phạm Thanh"))


def sender(database: Database, app: Application, clock: FrozenClock) -> Sender:
    return Sender(database, {"telegram": TelegramTransport(app.bot)}, clock=clock,
                  limits={"telegram": ChannelLimits(per_chat_interval=0)})


async def submitted(household: Chat) -> None:
    await household.reach("review")
    await household.press(t("form.submit"))


async def test_an_officers_answer_reaches_the_households_chat(
        household: Chat, officer: Chat, telegram_app: Application, database: Database, clock: FrozenClock) -> None:
    await submitted(household)
    replies = await officer.command("answer", "DT-0001")
    assert replies[-1]["text"].startswith("📄 Phiếu DT-0001 — ❓ Câu hỏi")
    assert "Xin hỏi thủ tục vay vốn hộ nghèo cần giấy tờ gì?" in replies[-1]["text"]

    await officer.press(t("answers.set_later"))
    await officer.say(ANSWER)
    replies = await officer.press(t("answers.send"))
    assert t("answers.sent", code="DT-0001") in [r["text"] for r in replies]

    assert await sender(database, telegram_app, clock).drain_once() == {"sent": 2}
    later, answer = household.texts[-2:]
    assert later.startswith("📌 Phiếu DT-0001 (câu hỏi về Vay vốn hộ nghèo, hộ cận nghèo) đã được ghi nhận")
    assert answer == t("answers.delivered", code="DT-0001", kind="câu hỏi", topic="Vay vốn hộ nghèo, hộ cận nghèo",
                       answer=ANSWER)
    assert answer.startswith("📬 Trả lời cho phiếu DT-0001 (câu hỏi về Vay vốn hộ nghèo, hộ cận nghèo):")

    replies = await household.command("myquestions")
    assert any(ANSWER in r["text"] for r in replies)


async def test_the_officer_hears_a_voice_question_again(
        fake_telegram: FakeTelegram, household: Chat, officer: Chat, telegram_app: Application,
        database: Database, clock: FrozenClock) -> None:
    await household.reach("q_content")
    update = fake_telegram.send_voice(household.user)
    await household.send(update)
    await household.press(t("form.submit"))

    replies = await officer.command("answer", "DT-0001")
    assert t("answers.media_follows", media=t("form.media_voice")) in [r["text"] for r in replies]
    assert await sender(database, telegram_app, clock).drain_once() == {"sent": 1}
    [call] = fake_telegram.calls_to("sendVoice", chat_id=officer.user.id)
    assert call.params["voice"] == update["message"]["voice"]["file_id"]
    assert call.params["caption"] == t("answers.media_caption", media=t("form.media_voice"), code="DT-0001")


async def test_a_forged_button_cannot_open_another_hamlets_submission(
        fake_telegram: FakeTelegram, household: Chat, officer: Chat, settings: Settings) -> None:
    await submitted(household)                                          # DT-0001, ấp Tân Hùng
    neighbour = fake_telegram.chat_with(fake_telegram.user(1002, "Lan", "Trần Thị"),
                                        [*household.path[:3], ("press", "Ấp Tân Dân", "category"),
                                         *household.path[4:]])
    await submitted(neighbour)                                          # DT-0002, ấp Tân Dân

    replies = await officer.command("outstanding")
    listing = replies[-1]
    assert [b["text"].split(" · ")[0] for b in buttons(listing)] == ["DT-0001", t("answers.done")]
    version = buttons(listing)[0]["callback_data"].split(":", 1)[0]

    replies = await officer.send(fake_telegram.tap(officer.user, listing, f"{version}:s:2"))
    assert replies[0]["text"] == t("form.choose_please")
    assert [b["text"].split(" · ")[0] for b in buttons(replies[-1])] == ["DT-0001", t("answers.done")]
    assert not any("DT-0002" in text or "Tân Dân" in text for text in officer.texts)

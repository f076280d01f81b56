"""Sending to Telegram: long texts, keyboards, blocked users, flood limits, server errors, timeouts, the token."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.core.config import ConfigError, Settings, TelegramSection
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.types import Choice, Incoming, InputKind, Message
from handlers.telegram.channel import TelegramChannel
from handlers.telegram.format import render, split_message, utf16_len
from storage import Database
from storage.records import Session
from tests.fake_telegram import Chat, FakeTelegram, buttons

SessionOf = Callable[[Chat], Awaitable[Session]]


async def blocked_at(database: Database, chat: Chat) -> str | None:
    async with database.reading() as conn, conn.execute(
        "SELECT blocked_at FROM identities WHERE channel = 'telegram' AND external_id = ?", (str(chat.user.id),)
    ) as cur:
        return (await cur.fetchone())[0]


# ---- rendering ------------------------------------------------------------------------------------------------


def test_buttons_fill_rows_by_columns_and_long_labels_get_their_own_row() -> None:
    choices = (Choice("a", "Ấp Tân Dân"), Choice("b", "Ấp Tân Hùng"),
               Choice("t", "Tiến độ, kết quả Chương trình mục tiêu quốc gia giảm nghèo"), Choice("c", "Ấp Tân Chủ"),
               Choice("back", "⬅️ Quay lại"), Choice("cancel", "✖️ Hủy"))
    [out] = render(Message("Xin chọn ấp:", choices, version=7, columns=2))
    assert isinstance(out.markup, dict)  # the Bot API's JSON, built without python-telegram-bot objects
    rows = [[(b["text"], b["callback_data"]) for b in row] for row in out.markup["inline_keyboard"]]
    assert rows == [
        [("Ấp Tân Dân", "7:a"), ("Ấp Tân Hùng", "7:b")],
        [("Tiến độ, kết quả Chương trình mục tiêu quốc gia giảm nghèo", "7:t")],
        [("Ấp Tân Chủ", "7:c"), ("⬅️ Quay lại", "7:back")],
        [("✖️ Hủy", "7:cancel")],
    ]


def test_contact_request_is_a_reply_keyboard_with_the_choices_as_text_buttons() -> None:
    reply = Message("Số điện thoại?", (Choice("skip", "Bỏ qua"), Choice("back", "⬅️ Quay lại")), version=3,
                  ask_contact=True, contact_label="📱 Gửi số điện thoại")
    [out] = render(reply)
    assert isinstance(out.markup, dict) and "keyboard" in out.markup
    assert out.markup["resize_keyboard"] and out.markup["one_time_keyboard"]
    rows = [[(b["text"], b.get("request_contact")) for b in row] for row in out.markup["keyboard"]]
    assert rows == [[("📱 Gửi số điện thoại", True)], [("Bỏ qua", None)], [("⬅️ Quay lại", None)]]


def test_removing_the_reply_keyboard_and_showing_buttons_takes_two_steps() -> None:
    [out] = render(Message("Hộ của ông/bà thuộc loại nào?", (Choice("c:poor", "Hộ nghèo"),), version=5,
                         remove_keyboard=True))
    assert out.markup == {"remove_keyboard": True}
    assert out.then_inline is not None and out.then_inline["inline_keyboard"][0][0]["callback_data"] == "5:c:poor"


def test_long_text_is_split_on_lines_with_the_keyboard_on_the_last_part() -> None:
    text = "\n".join(f"{n}. " + "câu hỏi về vay vốn " * 10 for n in range(60))
    parts = render(Message(text, (Choice("ok", "OK"),), remove_keyboard=True))
    assert len(parts) == 3
    assert all(utf16_len(p.text) <= 4096 for p in parts)
    assert "\n".join(p.text for p in parts) == text  # cut between lines only
    assert parts[0].markup == {"remove_keyboard": True}
    assert parts[1].markup is None
    assert isinstance(parts[-1].markup, dict) and "inline_keyboard" in parts[-1].markup


@pytest.mark.parametrize("text", ["🙏" * 5000, "a" * 9000, "ư " * 3000, "\n\nxin chào\n\n", ""])
def test_split_counts_utf16_units_and_never_sends_an_empty_message(text: str) -> None:
    parts = split_message(text)
    assert all(0 < utf16_len(p) <= 4096 and p.strip() for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "") or (
        not text.strip() and parts == ["…"])


# ---- over the wire ----------------------------------------------------------------------------------------------


async def test_review_longer_than_a_telegram_message_arrives_in_parts(household: Chat) -> None:
    await household.reach("q_content")
    replies = await household.say("🙏" * 2500)  # 2500 characters but 5000 UTF-16 units
    assert len(replies) == 3  # the summary's first lines, then the content line cut in two
    assert [bool(buttons(r)) for r in replies] == [False, False, True]
    assert replies[0]["text"].startswith(t("form.review").split("\n")[0])
    assert "".join(r["text"] for r in replies[1:]).count("🙏") == 2500


async def test_going_back_from_the_phone_step_removes_its_keyboard(
    household: Chat, fake_telegram: FakeTelegram,
) -> None:
    await household.reach("phone")
    assert household.keyboard is not None
    replies = await household.say(t("form.back"))  # the text button under the share-my-number button
    assert household.keyboard is None
    assert replies[-1]["text"] == t("form.ask_category") and buttons(replies[-1])
    [send] = fake_telegram.calls_to("sendMessage")[-1:]
    assert send.params["reply_markup"] == {"remove_keyboard": True}
    assert fake_telegram.calls_to("editMessageReplyMarkup")[-1].params["message_id"] == replies[-1]["message_id"]


async def test_household_who_blocked_the_bot_is_marked_and_served_when_back(
    household: Chat, fake_telegram: FakeTelegram, database: Database,
) -> None:
    await household.reach("name")
    fake_telegram.block(household.user)
    before = len(fake_telegram.calls_to("sendMessage", household.user.id))
    replies = await household.say("Nguyễn Thị Bình")
    assert replies == []
    assert len(fake_telegram.calls_to("sendMessage", household.user.id)) == before + 1  # one refused try, no more
    assert await blocked_at(database, household) is not None

    fake_telegram.unblock(household.user)
    replies = await household.command("start")
    assert replies[-1]["text"] == t("form.ask_unit", kind="ấp")  # the name was saved before the send failed
    assert await blocked_at(database, household) is None  # writing again proves the chat works


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside RetryAfter()
async def test_flood_limit_is_waited_out(household: Chat, fake_telegram: FakeTelegram) -> None:
    await household.reach("name")
    fake_telegram.fail("sendMessage", status=429, retry_after=1, chat_id=household.user.id)
    replies = await household.say("Nguyễn Thị Bình")
    assert replies[-1]["text"] == t("form.ask_unit", kind="ấp")
    assert [c.error is not None for c in fake_telegram.calls_to("sendMessage")[-2:]] == [True, False]


async def test_server_error_apologises_and_keeps_what_was_entered(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    await household.reach("name")
    fake_telegram.fail("sendMessage", status=500, chat_id=household.user.id)
    replies = await household.say("Nguyễn Thị Bình")
    assert [r["text"] for r in replies] == [t("common.error")]
    session = await session_of(household)
    assert (session.step, session.person.full_name) == ("hamlet", "Nguyễn Thị Bình")
    replies = await household.command("start")
    assert replies[-1]["text"] == t("form.ask_unit", kind="ấp")


async def test_timeout_while_sending_apologises_and_keeps_what_was_entered(
    telegram_settings: Settings, engine: Engine, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    channel = TelegramChannel(telegram_settings, request=HTTPXRequest(read_timeout=0.3))
    await channel.prepare()
    await channel.start(engine)
    fake_telegram.track(channel.app)
    try:
        chat = fake_telegram.chat_with(fake_telegram.user(1003, "Ba"))
        await chat.command("start")
        fake_telegram.slow("sendMessage", 1.0, chat_id=chat.user.id)
        replies = await chat.press(t("form.consent_yes"))
        assert [r["text"] for r in replies] == [t("common.error")]
        assert (await session_of(chat)).step == "name"
    finally:
        await channel.stop()


# ---- set-up and secrets -----------------------------------------------------------------------------------------


async def test_commands_menu_is_set_in_vietnamese(telegram_app: Application, fake_telegram: FakeTelegram) -> None:
    names = ["start", "myquestions", "dialogue", "mydata", "link", "cancel", "help", "forget"]
    assert [(c["command"], c["description"]) for c in fake_telegram.commands] == [
        (name, t(f"telegram.cmd_{name}")) for name in names]


def test_missing_token_is_a_config_error_naming_the_key(settings: Settings, engine: Engine,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOITHOAI_TELEGRAM_TOKEN", raising=False)
    with pytest.raises(ConfigError) as caught:
        TelegramChannel(settings.model_copy(update={"telegram": TelegramSection()}))
    assert caught.value.key == "telegram.token"


async def test_token_never_reaches_the_logs(
    household: Chat, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await household.reach("name")
    fake_telegram.fail("sendMessage", status=500, chat_id=household.user.id)
    await household.say("Nguyễn Thị Bình")
    fake_telegram.fail("getUpdates", status=502)
    await household.say("Tân Hùng")
    secret = fake_telegram.token.split(":")[1]
    assert all(secret not in r.getMessage() and secret not in (r.exc_text or "") for r in caplog.records)
    ours = [r for r in caplog.records if r.name == "handlers.telegram.channel" and r.levelno >= logging.WARNING]
    assert ours and all("Nguyễn Thị Bình" not in r.getMessage() for r in ours)  # logged, not what was written
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


async def test_engine_replies_to_a_blocked_chat_are_not_retried(
    household: Chat, fake_telegram: FakeTelegram, engine: Engine,
) -> None:
    """Only the first refused message is tried; the engine's later replies of that turn are dropped."""
    await household.reach("q_kind")
    fake_telegram.fail("sendMessage", status=403, chat_id=household.user.id)
    before = len(fake_telegram.calls_to("sendMessage", household.user.id))
    await household.command("myquestions")
    assert len(fake_telegram.calls_to("sendMessage", household.user.id)) == before + 1
    user_id = str(household.user.id)
    assert await engine.handle(Incoming("telegram", user_id, user_id, InputKind.COMMAND, command="help"))

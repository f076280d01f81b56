"""What households actually send: blanks, walls of text, emoji, decomposed accents, stickers, edits, commands."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable

import pytest
from telegram.ext import Application

from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.types import Incoming, InputKind
from storage import Database, submissions
from storage.records import Session
from tests.fake_telegram import Chat, FakeTelegram, buttons

SessionOf = Callable[[Chat], Awaitable[Session]]


@pytest.mark.parametrize("blank", ["   ", " \n\t \n "])
async def test_blank_text_asks_for_content_again(household: Chat, session_of: SessionOf, blank: str) -> None:
    await household.reach("q_content")
    replies = await household.say(blank)
    assert replies[0]["text"] == t("form.empty_text")
    assert (await session_of(household)).step == "q_content"


async def test_message_at_telegrams_own_limit_gets_the_length_limit(household: Chat, session_of: SessionOf) -> None:
    await household.reach("q_content")
    replies = await household.say("a" * 4096)
    assert replies[0]["text"] == t("form.too_long", length="4.096", limit="3.000")
    assert (await session_of(household)).step == "q_content"


async def test_ten_thousand_characters_are_refused_kindly(household: Chat, engine: Engine) -> None:
    """Telegram caps a message at 4096 characters; another channel may not, so the engine is driven directly."""
    await household.reach("q_content")
    user_id = str(household.user.id)
    replies = await engine.handle(Incoming("telegram", user_id, user_id, InputKind.TEXT, text="ư" * 10_000))
    assert replies[0].text == t("form.too_long", length="10.000", limit="3.000")


async def test_emoji_are_kept_as_written(household: Chat, database: Database) -> None:
    await household.reach("q_content")
    content = "Nhà tôi 🏠 bị dột 😢, xin hỗ trợ 🙏🏽 — cảm ơn 👨‍👩‍👧"
    replies = await household.say(content)
    assert content in replies[-1]["text"]
    await household.press(t("form.submit"))
    async with database.reading() as conn:
        [sub] = await submissions.all_submissions(conn)
    assert sub.content == content


async def test_decomposed_vietnamese_is_stored_composed_and_matches_buttons(
    household: Chat, session_of: SessionOf,
) -> None:
    await household.reach("name")
    await household.say(unicodedata.normalize("NFD", "Nguyễn Thị Bình"))
    replies = await household.say(unicodedata.normalize("NFD", "Tân Hậu"))  # typed, not tapped
    assert replies[-1]["text"] == t("form.ask_category")
    person = (await session_of(household)).person
    assert person.full_name == "Nguyễn Thị Bình" == unicodedata.normalize("NFC", person.full_name or "")
    assert person.hamlet_id == "tan-hau"


@pytest.mark.parametrize("kind", ["sticker", "location", "document"])
async def test_unreadable_messages_are_refused_and_change_nothing(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf, kind: str,
) -> None:
    await household.reach("q_content")
    before = await session_of(household)
    replies = await household.send(getattr(fake_telegram, f"send_{kind}")(household.user))
    assert replies[0]["text"] == t("form.unsupported")
    after = await session_of(household)
    assert (after.step, after.version) == (before.step, before.version)


async def test_edited_message_is_not_read(household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf) -> None:
    await household.reach("hamlet")
    name_message = next(m for m in fake_telegram.chat(household.user.id) if m.get("text") == "Nguyễn Thị Bình")
    replies = await household.send(fake_telegram.edit_message(household.user, name_message, "Trần Văn Nam"))
    assert replies[0]["text"] == t("form.edited_ignored")
    session = await session_of(household)
    assert (session.person.full_name, session.step) == ("Nguyễn Thị Bình", "hamlet")


async def test_help_in_the_middle_of_a_step_keeps_the_step(household: Chat, session_of: SessionOf) -> None:
    await household.reach("q_topic")
    replies = await household.command("help")
    assert replies[0]["text"] == t("common.help")
    assert replies[-1]["text"].startswith("Lĩnh vực Giảm nghèo") and buttons(replies[-1])
    assert (await session_of(household)).step == "q_topic"
    replies = await household.press("Nhà ở")  # the prompt shown again works
    assert (await session_of(household)).step == "q_content"


async def test_unknown_command_is_explained(household: Chat) -> None:
    await household.reach("name")
    replies = await household.command("xoa")
    assert replies[0]["text"] == t("common.unknown_command", command="xoa")


async def test_command_addressed_to_the_bot_by_name(household: Chat, fake_telegram: FakeTelegram) -> None:
    await household.reach("review")
    await household.press(t("form.submit"))
    replies = await household.say("/MyQuestions@doithoai_test_bot")
    assert "DT-0001" in replies[0]["text"]


async def test_someone_elses_contact_is_refused_and_no_number_is_saved(
    household: Chat, session_of: SessionOf,
) -> None:
    await household.reach("phone")
    replies = await household.share_contact("0987 654 321", own=False)
    assert replies[0]["text"] == t("form.contact_not_own")
    session = await session_of(household)
    assert (session.person.phone, session.step) == (None, "phone"), "still asked for the household's own number"


async def test_group_and_channel_messages_are_ignored(
    telegram_app: Application, fake_telegram: FakeTelegram, database: Database,
) -> None:
    user = fake_telegram.user(2002, "Tư")
    group = fake_telegram.group()
    updates = [fake_telegram.send_command(user, "start", chat=group), fake_telegram.send_text(user, "xin chào",
                                                                                             chat=group)]
    await fake_telegram.processed(*updates)
    assert fake_telegram.calls_to("sendMessage") == []
    async with database.reading() as conn, conn.execute("SELECT COUNT(*) FROM persons") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_a_phone_book_card_without_a_telegram_user_is_refused_too(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    await household.reach("phone")
    card = fake_telegram.send_message(household.user, contact={"phone_number": "0912 345 678", "first_name": "Bố"})
    replies = await household.send(card)
    assert replies[0]["text"] == t("form.contact_not_own")
    assert (await session_of(household)).person.phone is None

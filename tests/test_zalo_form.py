"""The request form on Zalo, through the Zalo channel polling the fake Zalo Bot API over real HTTP.

Zalo has no buttons: every choice is a numbered list, answered by its number or its words (accents optional).
"""

from __future__ import annotations

from bot.cli.runtime import seed_dialogues
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.types import Choice, Message
from handlers.base import split_text
from handlers.console import render as console_render
from handlers.text_render import typed_incoming
from handlers.zalo.channel import ZaloChannel
from handlers.zalo.channel import render as zalo_render
from storage import Database
from tests.fake_zalo import FakeZalo, ZaloChat

PHOTO = "https://photo-stal.zadn.vn/hinh/so-ho-ngheo-binh.jpg"


async def identify(chat: ZaloChat, hamlet: str = "tan hau") -> None:
    """From the first message to the question-kind step, typing the way a household would."""
    for text in ("/start", "1", "Nguyễn Thị Bình", hamlet, "1", "0912 345 678"):
        await chat.say(text)


async def rows(database: Database, sql: str) -> list[tuple]:
    async with database.reading() as conn, conn.execute(sql) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def test_a_household_fills_the_whole_form_on_zalo_and_it_is_stored(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database,
) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("5c1a7e", "Nguyễn Thị Bình"))
    await chat.say("/start")
    assert "1. ✅ Tôi đồng ý" in chat.last
    assert chat.last.endswith(t("form.choose_number"))
    await identify(chat)
    assert "1. ❓ Câu hỏi" in chat.last
    await chat.say("1")
    await chat.say("giam ngheo")
    await chat.say("vay von ho ngheo")
    await chat.send(fake_zalo.send_image(chat.user, PHOTO, caption="Xin hỏi thủ tục vay vốn hộ nghèo?"))
    assert "Xin hỏi thủ tục vay vốn hộ nghèo?" in chat.last and "1. ✅ Gửi phiếu" in chat.last
    await chat.say("1")
    assert "Mã phiếu: DT-0001" in chat.replies[0]

    assert await rows(database, "SELECT hamlet_id, topic_id, content, media_kind, media_file_id, channel"
                                " FROM submissions") == [
        ("tan-hau", "vay-ho-ngheo", "Xin hỏi thủ tục vay vốn hộ nghèo?", "photo", PHOTO, "zalo")]
    assert await rows(database, "SELECT channel, external_id, chat_id, display_name FROM identities") == [
        ("zalo", "5c1a7e", "chat-5c1a7e", "Nguyễn Thị Bình")]


async def test_typed_words_without_accents_pick_the_option(zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
                                                           database: Database) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("9f00b2", "Trần Văn Hùng"))
    for text in ("/start", "1", "Trần Văn Hùng"):
        await chat.say(text)
    assert "4. Ấp Tân Hậu" in chat.last
    await chat.say("TAN HAU")
    assert await rows(database, "SELECT hamlet_id FROM persons") == [("tan-hau",)]


async def test_a_sticker_gets_a_kind_answer_and_the_same_question_again(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database,
) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("77aa01"))
    for text in ("/start", "1", "Lê Thị Hậu"):
        await chat.say(text)
    hamlet_question = chat.last
    for send in (fake_zalo.send_sticker, fake_zalo.send_unsupported):
        replies = await chat.send(send(chat.user))
        assert replies == [t("form.unsupported"), hamlet_question]
    assert await rows(database, "SELECT step FROM conversations") == [("hamlet",)]


async def test_a_reply_over_2000_characters_arrives_in_parts_that_each_fit(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("b16b00"))
    await identify(chat)
    for text in ("1", "1", "1"):
        await chat.say(text)
    question = " ".join(f"Câu {i}: gia đình tôi khó khăn, xin hỏi chính sách hỗ trợ nhà ở." for i in range(40))
    assert 2000 < len(question) <= 3000
    replies = await chat.say(question)
    assert len(replies) >= 2
    assert all(0 < len(text) <= 2000 for text in replies)
    assert question.split(" ")[-1] in replies[-2] + replies[-1]
    assert "1. ✅ Gửi phiếu" in replies[-1]


async def test_an_image_under_photo_and_a_sender_under_name_are_read_too(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database,
) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("c0ffee", "Phạm Văn Chủ", name_key="name"))
    await identify(chat)
    for text in ("1", "1", "1"):
        await chat.say(text)
    await chat.send(fake_zalo.send_image(chat.user, PHOTO, key="photo"))
    await chat.say("1")
    assert await rows(database, "SELECT media_file_id FROM submissions") == [(PHOTO,)]
    assert await rows(database, "SELECT display_name FROM identities") == [("Phạm Văn Chủ",)]


async def test_group_messages_are_left_alone(zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
                                             database: Database) -> None:
    user = fake_zalo.user("9a9a9a")
    update = fake_zalo.send_text(user, "/start", chat_type="GROUP")
    await fake_zalo.processed(update)
    assert fake_zalo.observations(update) == [False]
    assert fake_zalo.calls_to("sendMessage") == []
    assert await rows(database, "SELECT COUNT(*) FROM persons") == [(0,)]


async def test_registering_on_zalo_gives_the_check_in_code_as_text(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    await seed_dialogues(database, settings, clock)
    chat = fake_zalo.chat_with(fake_zalo.user("d1a109"))
    await identify(chat)
    await chat.say("/dialogue")
    assert "1. ✅ Đăng ký dự" in chat.last
    await chat.say("1")
    code = chat.replies[0].split("Mã đăng ký: ")[1][:6]
    assert t("zalo.checkin_code", code=code) in chat.replies[0]
    assert fake_zalo.calls_to("sendPhoto") == []


async def test_words_the_bot_does_not_understand_are_answered_once_then_the_list_again(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("c0ffee"))
    for text in ("/start", "1", "Nguyễn Thị Bình"):
        await chat.say(text)
    replies = await chat.say("nhà tôi ở gần chợ")
    shown = "\n".join(replies)
    assert t("form.not_understood_number") in shown
    assert shown.count(t("form.choose_number")) == 1  # the list's own hint, not the same sentence twice
    assert "4. Ấp Tân Hậu" in chat.last


def test_the_terminal_and_zalo_show_a_screen_the_same_way() -> None:
    reply = Message("Ông/bà ở ấp nào?", (Choice("u:tan-dan", "Ấp Tân Dân"), Choice("u:tan-hau", "Ấp Tân Hậu")))
    shown = console_render(reply, "vi")
    assert shown == "Ông/bà ở ấp nào?\n\n1. Ấp Tân Dân\n2. Ấp Tân Hậu\n\n" + t("form.choose_number")
    assert zalo_render(reply, "vi") == [shown]
    assert typed_incoming("zalo", "u1", "c1", "/Link@doithoai_bot k7p2qx").command == "link"
    assert split_text("a\n\n\n" + "b" * 30, 10) == ["a", "b" * 10, "b" * 10, "b" * 10]

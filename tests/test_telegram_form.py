"""The request form over Telegram: the real python-telegram-bot Application against the fake Bot API server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.i18n import t
from storage import Database, submissions
from storage.records import Session
from tests.fake_telegram import Chat, FakeTelegram, buttons

SessionOf = Callable[[Chat], Awaitable[Session]]


def labels(message: dict[str, Any]) -> list[list[str]]:
    return [[b["text"] for b in row] for row in message.get("reply_markup", {}).get("inline_keyboard", [])]


async def stored(database: Database) -> list[submissions.Submission]:
    async with database.reading() as conn:
        return await submissions.all_submissions(conn)


async def test_household_submits_form_through_telegram(
    household: Chat, fake_telegram: FakeTelegram, database: Database, session_of: SessionOf,
) -> None:
    replies = await household.command("start")
    assert t("form.consent") in replies[-1]["text"]
    assert labels(replies[-1]) == [[t("form.consent_yes")], [t("form.consent_no")], [t("form.consent_more")]]
    consent_message = replies[-1]

    replies = await household.press(t("form.consent_yes"))
    assert [r["text"] for r in replies] == [t("form.consent_thanks"), t("form.ask_name")]
    marked = fake_telegram.messages[household.user.id][consent_message["message_id"]]
    assert marked["text"].endswith("\n\n➡️ " + t("form.consent_yes"))
    assert "reply_markup" not in marked  # the choice shows, the old keyboard is gone

    replies = await household.say("Nguyễn Thị Bình")
    assert labels(replies[-1])[:2] == [["Ấp Tân Dân", "Ấp Tân Hùng"], ["Ấp Tân Chủ", "Ấp Tân Hậu"]]

    replies = await household.press("Ấp Tân Hùng")
    assert replies[-1]["text"] == t("form.ask_category")

    replies = await household.press(t("form.category_poor"))
    assert replies[-1]["text"] == t("form.ask_phone")
    keyboard = household.keyboard
    assert keyboard is not None and keyboard["keyboard"][0] == [{"text": t("form.share_phone"),
                                                                "request_contact": True}]
    assert [row[0]["text"] for row in keyboard["keyboard"][1:]] == [t("form.skip"), t("form.back"), t("form.cancel")]

    replies = await household.share_contact("+84 912 345 678")
    assert replies[0]["text"] == t("form.phone_saved", phone="0912 345 678")
    assert household.keyboard is None  # the share-my-number keyboard was removed
    assert replies[-1]["text"] == t("form.ask_kind")

    await household.press(t("form.kind_question"))
    await household.press("Giảm nghèo")
    replies = await household.press("Vay vốn hộ nghèo, hộ cận nghèo")
    assert replies[-1]["text"].startswith("Xin gõ nội dung câu hỏi")

    replies = await household.say("Xin hỏi thủ tục vay vốn hộ nghèo cần giấy tờ gì?")
    review = replies[-1]["text"]
    for part in ("Nguyễn Thị Bình — Ấp Tân Hùng", "Vay vốn hộ nghèo, hộ cận nghèo", "cần giấy tờ gì?"):
        assert part in review

    replies = await household.press(t("form.submit"))
    assert "DT-0001" in replies[0]["text"]

    [sub] = await stored(database)
    assert (sub.code, sub.kind, sub.field_id, sub.topic_id, sub.hamlet_id, sub.category, sub.channel) == (
        "DT-0001", "question", "giam-ngheo", "vay-ho-ngheo", "tan-hung", "poor", "telegram")
    assert sub.content == "Xin hỏi thủ tục vay vốn hộ nghèo cần giấy tờ gì?"
    session = await session_of(household)
    assert (session.person.full_name, session.person.phone, session.person.phone_verified) == (
        "Nguyễn Thị Bình", "0912345678", True)

    replies = await household.command("myquestions")
    assert "DT-0001" in replies[0]["text"] and "cần giấy tờ gì?" in replies[0]["text"]
    assert fake_telegram.unanswered_callbacks() == []


async def test_invitation_link_skips_the_hamlet_step(household: Chat, session_of: SessionOf) -> None:
    await household.command("start", "tan-hau")
    await household.press(t("form.consent_yes"))
    replies = await household.say("Lê Văn Tư")
    assert replies[-1]["text"] == t("form.ask_category")  # no hamlet question
    session = await session_of(household)
    assert session.person.hamlet_id == "tan-hau"

    await household.press(t("form.category_near_poor"))
    await household.say(t("form.skip"))  # typed, or tapped on the reply keyboard
    await household.press(t("form.kind_proposal"))
    await household.press("Lao động - việc làm")
    await household.press("Đào tạo nghề, giải quyết việc làm")
    replies = await household.say("Đề nghị mở lớp dạy nghề may tại ấp.")
    assert "Lê Văn Tư — Ấp Tân Hậu" in replies[-1]["text"]


async def test_voice_note_is_stored_by_file_id(
    household: Chat, fake_telegram: FakeTelegram, database: Database,
) -> None:
    await household.reach("q_content")
    update = fake_telegram.send_voice(household.user)
    replies = await household.send(update)
    assert t("form.media_voice") in replies[-1]["text"]
    await household.press(t("form.submit"))

    [sub] = await stored(database)
    assert (sub.media_kind, sub.media_file_id, sub.content) == ("voice", update["message"]["voice"]["file_id"], None)


async def test_photo_with_caption_is_stored_with_its_largest_size(
    household: Chat, fake_telegram: FakeTelegram, database: Database,
) -> None:
    await household.reach("q_content")
    update = fake_telegram.send_photo(household.user, caption="Nhà tôi bị dột, xin hỗ trợ sửa nhà")
    replies = await household.send(update)
    assert "Nhà tôi bị dột" in replies[-1]["text"]
    await household.press(t("form.submit"))

    [sub] = await stored(database)
    largest = max(update["message"]["photo"], key=lambda size: size["width"])
    assert (sub.media_kind, sub.media_file_id) == ("photo", largest["file_id"])
    assert sub.content == "Nhà tôi bị dột, xin hỗ trợ sửa nhà"


async def test_video_note_and_audio_count_as_media(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    await household.reach("q_content")
    await household.send(fake_telegram.send_video(household.user, note=True))
    session = await session_of(household)
    assert session.step == "review"
    assert session.data["draft"]["media_kind"] == "video"

    await household.press(t("form.back"))
    await household.send(fake_telegram.send_audio(household.user))
    session = await session_of(household)
    assert session.data["draft"]["media_kind"] == "audio"


async def test_household_can_send_a_second_question(household: Chat, database: Database) -> None:
    await household.reach("review")
    await household.press(t("form.submit"))
    replies = await household.press(t("form.another"))
    assert replies[-1]["text"] == t("form.ask_kind")
    await household.press(t("form.kind_opinion"))
    await household.press("Vấn đề khác")
    await household.press("Vấn đề khác hộ nghèo, cận nghèo quan tâm")
    await household.say("Đường vào ấp bị ngập khi mưa.")
    replies = await household.press(t("form.submit"))
    assert "DT-0002" in replies[0]["text"]
    assert [s.code for s in await stored(database)] == ["DT-0001", "DT-0002"]


async def test_buttons_carry_the_state_version(household: Chat, session_of: SessionOf) -> None:
    replies = await household.command("start")
    session = await session_of(household)
    assert {b["callback_data"].split(":")[0] for b in buttons(replies[-1])} == {str(session.version)}

"""Say it first (issue 13, point 1 and 3): a returning household types its question wherever it is, the bot
suggests the topic, and two taps send it — on Telegram (buttons), Zalo (numbers) and the terminal (numbers)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

from bot.cli.runtime import seed_dialogues
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.types import InputKind
from handlers.console import chat as console_chat
from handlers.zalo.channel import ZaloChannel
from storage import Database
from tests.fake_telegram import Chat, FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.support import Household

STUDENT_LOAN = "Tôi muốn hỏi về vay vốn cho con đi học đại học"
SUGGESTED = t("form.ask_suggest", topic="Vay vốn học sinh, sinh viên")


async def rows(database: Database, sql: str) -> list[tuple]:
    async with database.reading() as conn, conn.execute(sql) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def returning(engine: Engine, user_id: str = "1001") -> Household:
    """A household that sent one question before and is back at the menu."""
    hh = Household(engine, user_id)
    await hh.identify()
    await hh.ask("Khi nào có thẻ bảo hiểm y tế?")
    await hh.tap("done")
    assert hh.prompt.text == t("form.ask_menu")
    return hh


async def test_returning_household_goes_from_typed_question_to_receipt_in_two_taps(
        engine: Engine, database: Database) -> None:
    hh = await returning(engine)
    await hh.type(STUDENT_LOAN)  # typed straight at the menu: kept, not thrown away with a hint
    taps = 0
    assert hh.prompt.text == SUGGESTED
    assert hh.labels[0] == "✅ Đúng" and hh.labels[3:] == ["🔎 Chọn chủ đề khác", "⬅️ Quay lại", "✖️ Hủy"]
    assert len(set(hh.labels[1:3])) == 2  # the next two likely topics
    await hh.tap("yes")
    taps += 1
    assert hh.prompt.text.startswith("Xin kiểm tra lại phiếu")
    assert "❓ Câu hỏi" in hh.prompt.text and STUDENT_LOAN in hh.prompt.text
    await hh.tap("submit")
    taps += 1
    assert "Mã phiếu: DT-0002" in hh.text
    assert taps == 2
    assert await rows(database, "SELECT kind, field_id, topic_id, content FROM submissions WHERE code = 'DT-0002'") \
        == [("question", "giam-ngheo", "vay-hoc-sinh", STUDENT_LOAN)]


async def test_the_words_say_the_kind_and_it_can_be_changed_on_the_review(engine: Engine, database: Database) -> None:
    hh = await returning(engine)
    await hh.type("Đề nghị xã sửa con đường vào ấp Tân Hậu, mưa lầy lội quá")
    assert hh.prompt.text == t("form.ask_suggest", topic="Vấn đề khác hộ nghèo, cận nghèo quan tâm")
    await hh.tap("yes")
    assert t("form.kind_proposal") in hh.prompt.text
    await hh.tap("edit")
    await hh.tap("kind")
    await hh.tap("k:petition")
    assert t("form.kind_petition") in hh.prompt.text
    await hh.tap("submit")
    assert await rows(database, "SELECT kind, topic_id FROM submissions WHERE code = 'DT-0002'") == [
        ("petition", "khac")]


async def test_one_of_the_next_likely_topics_or_another_topic(engine: Engine, database: Database) -> None:
    hh = await returning(engine)
    await hh.type(STUDENT_LOAN)
    second = hh.labels[1]
    await hh.pick(second)
    assert f"🏷 Chủ đề: {second}" in hh.prompt.text

    await hh.tap("back")
    assert hh.prompt.text == SUGGESTED
    await hh.tap("other")
    assert hh.prompt.text == t("form.ask_field")
    await hh.tap("back")
    assert hh.prompt.text == SUGGESTED  # back from "another topic" is the suggestion again, the words kept
    await hh.tap("other")
    await hh.tap("f:lao-dong-viec-lam")
    await hh.tap("t:dao-tao-nghe")
    assert "🏷 Chủ đề: Đào tạo nghề, giải quyết việc làm" in hh.prompt.text and STUDENT_LOAN in hh.prompt.text
    await hh.tap("submit")
    assert await rows(database, "SELECT topic_id FROM submissions WHERE code = 'DT-0002'") == [("dao-tao-nghe",)]


async def test_a_voice_note_at_the_menu_asks_only_its_topic(engine: Engine, database: Database) -> None:
    hh = await returning(engine)
    await hh.send(InputKind.MEDIA, media_kind="voice", media_id="AwACAgUAAx")
    assert hh.prompt.text == t("form.ask_field_said")
    await hh.tap("f:giam-ngheo")
    await hh.tap("t:nha-o")
    assert t("form.media_voice") in hh.prompt.text
    await hh.tap("submit")
    assert await rows(database, "SELECT kind, topic_id, media_kind FROM submissions WHERE code = 'DT-0002'") == [
        ("question", "nha-o", "voice")]


async def test_words_that_ask_nothing_are_not_kept(engine: Engine, database: Database) -> None:
    hh = await returning(engine)
    for words in ("cảm ơn cán bộ ạ", "dạ", "ok"):
        await hh.type(words)
        assert t("form.say_it_hint") in hh.text
        assert hh.prompt.text == t("form.ask_menu")
    assert await rows(database, "SELECT COUNT(*) FROM submissions") == [(1,)]


async def test_a_first_time_household_is_identified_as_before(engine: Engine, database: Database) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.type(STUDENT_LOAN)
    assert t("form.consent") in hh.prompt.text  # the consent question again, nothing kept
    await hh.tap("yes")
    await hh.type("Vay vốn cho con đi học được không?")
    assert t("form.bad_name") in hh.text  # at the name step typed words are the name
    assert await rows(database, "SELECT full_name FROM persons") == [(None,)]


async def test_a_question_typed_at_the_kind_step_or_the_dialogue_screen_is_taken(
        engine: Engine, database: Database, settings: Settings, clock: FrozenClock) -> None:
    await seed_dialogues(database, settings, clock)
    hh = Household(engine)
    await hh.identify()
    assert hh.prompt.text == t("form.ask_kind")
    await hh.type("Khi nào rà soát hộ nghèo năm nay?")
    assert hh.prompt.text == t("form.ask_suggest", topic="Phúc tra, rà soát, bình xét hộ nghèo, hộ cận nghèo")
    await hh.tap("cancel")
    await hh.tap("dialogue")
    await hh.type("Nhà tôi dột nát có được hỗ trợ sửa nhà không?")
    assert hh.prompt.text == t("form.ask_suggest", topic="Nhà ở")


async def test_after_the_receipt_ask_more_about_the_same_topic_in_one_tap(
        engine: Engine, database: Database, settings: Settings, clock: FrozenClock) -> None:
    await seed_dialogues(database, settings, clock)
    hh = Household(engine)
    await hh.identify()
    await hh.ask("Khi nào có thẻ bảo hiểm y tế?")
    assert hh.labels[0] == t("form.ask_again", topic="Y tế, thẻ bảo hiểm y tế")
    assert t("registration.menu_register") in hh.labels  # not registered yet: offered
    await hh.tap("again")
    assert hh.prompt.text.startswith("Xin gõ nội dung câu hỏi")
    await hh.type("Mất thẻ thì làm lại ở đâu?")
    await hh.tap("submit")
    assert await rows(database, "SELECT topic_id FROM submissions ORDER BY id") == [("y-te",), ("y-te",)]

    await hh.tap("dialogue")
    await hh.tap("register")
    await hh.tap("back")
    await hh.type("Thẻ bảo hiểm y tế hết hạn thì gia hạn ở đâu?")
    await hh.tap("yes")
    await hh.tap("submit")
    assert t("registration.menu_register") not in hh.labels  # registered: not offered again
    assert hh.labels[0] == t("form.ask_again", topic="Y tế, thẻ bảo hiểm y tế")


# ---- the same two taps on each channel ----------------------------------------------------------------------------

async def test_two_taps_on_telegram(household: Chat, fake_telegram: FakeTelegram, database: Database) -> None:
    await household.reach("review")
    await household.press(t("form.submit"))
    await household.press(t("form.finished"))
    replies = await household.say(STUDENT_LOAN)
    assert replies[-1]["text"] == SUGGESTED
    taps = 0
    replies = await household.press("✅ Đúng")
    taps += 1
    assert replies[-1]["text"].startswith("Xin kiểm tra lại phiếu")
    replies = await household.press(t("form.submit"))
    taps += 1
    assert "DT-0002" in replies[0]["text"] and taps == 2
    assert await rows(database, "SELECT topic_id FROM submissions WHERE code = 'DT-0002'") == [("vay-hoc-sinh",)]


async def test_two_taps_on_zalo(zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("5c1a7e", "Nguyễn Thị Bình"))
    for text in ("/start", "1", "Nguyễn Thị Bình", "tan hau", "1", "0912 345 678", "/menu"):
        await chat.say(text)
    await chat.say(STUDENT_LOAN)
    assert SUGGESTED in chat.last and "1. ✅ Đúng" in chat.last
    await chat.say("1")
    assert "Xin kiểm tra lại phiếu" in chat.last and "1. ✅ Gửi phiếu" in chat.last
    await chat.say("1")
    assert "Mã phiếu: DT-0001" in chat.replies[0]
    assert await rows(database, "SELECT topic_id, channel FROM submissions") == [("vay-hoc-sinh", "zalo")]


async def test_two_taps_in_the_terminal(engine: Engine, database: Database) -> None:
    async def lines(*typed: str) -> AsyncIterator[str]:
        for line in typed:
            yield line

    out = io.StringIO()
    await console_chat(engine, lines("/start", "1", "Nguyễn Văn Bình", "Tân Hậu", "1", "0912345678", "/menu",
                                     STUDENT_LOAN, "1", "1"), out)
    screens = out.getvalue().split("\n\n")
    assert any(SUGGESTED in screen for screen in screens)
    assert "Mã phiếu: DT-0001" in out.getvalue()
    assert await rows(database, "SELECT topic_id, channel FROM submissions") == [("vay-hoc-sinh", "console")]

"""Button taps: forged data, old keyboards, double taps, and every callback query answered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.core.i18n import t
from storage import Database
from storage.records import Session
from tests.fake_telegram import Chat, FakeTelegram, find_button

SessionOf = Callable[[Chat], Awaitable[Session]]


async def count_submissions(database: Database) -> int:
    async with database.reading() as conn, conn.execute("SELECT COUNT(*) FROM submissions") as cur:
        return int((await cur.fetchone())[0])


@pytest.mark.parametrize("data", ["999:submit", "garbage", "1:", ":submit", "x" * 64])
async def test_forged_callback_data_changes_nothing(
    household: Chat, fake_telegram: FakeTelegram, database: Database, session_of: SessionOf, data: str,
) -> None:
    replies = await household.reach("review")
    before = await session_of(household)
    replies = await household.send(fake_telegram.tap(household.user, replies[-1], data))
    assert replies[0]["text"] == t("form.stale_button")
    assert find_button(replies[-1], t("form.submit"))  # the review is shown again, with working buttons
    after = await session_of(household)
    assert (after.step, after.version, await count_submissions(database)) == ("review", before.version, 0)
    assert fake_telegram.unanswered_callbacks() == []


async def test_another_households_version_is_not_accepted(
    household: Chat, fake_telegram: FakeTelegram, database: Database, session_of: SessionOf,
) -> None:
    review = (await household.reach("review"))[-1]
    version = (await session_of(household)).version
    neighbour = fake_telegram.chat_with(fake_telegram.user(1002, "Tư", "Lê Văn"), household.path)
    content_prompt = (await neighbour.reach("q_content"))[-1]
    assert (await session_of(neighbour)).version == version - 1

    stolen = find_button(review, t("form.submit"))["callback_data"]
    replies = await neighbour.send(fake_telegram.tap(neighbour.user, content_prompt, stolen))
    assert replies[0]["text"] == t("form.stale_button")
    replies = await neighbour.send(fake_telegram.tap(neighbour.user, content_prompt, f"{version - 1}:submit"))
    assert replies[0]["text"] == t("form.choose_please")  # the right version, but not a choice of this step
    assert (await session_of(neighbour)).step == "q_content"
    assert await count_submissions(database) == 0
    assert fake_telegram.unanswered_callbacks() == []


async def test_old_keyboard_tap_gets_the_kind_stale_answer(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    hamlets = (await household.reach("hamlet"))[-1]
    await household.say("Tân Hùng")  # typed: the hamlet keyboard stays on screen
    before = await session_of(household)
    assert before.step == "category"

    old = find_button(hamlets, "Ấp Tân Dân")["callback_data"]
    replies = await household.send(fake_telegram.tap(household.user, hamlets, old))
    assert replies[0]["text"] == t("form.stale_button")
    assert replies[-1]["text"] == t("form.ask_category")
    after = await session_of(household)
    assert (after.step, after.version, after.person.hamlet_id) == ("category", before.version, "tan-hung")
    old_message = fake_telegram.messages[household.user.id][hamlets["message_id"]]
    assert "reply_markup" not in old_message and "➡️" not in old_message["text"]  # keyboard gone, no mark


async def test_two_taps_on_submit_make_one_submission(
    household: Chat, fake_telegram: FakeTelegram, database: Database,
) -> None:
    review = (await household.reach("review"))[-1]
    data = find_button(review, t("form.submit"))["callback_data"]
    first = fake_telegram.tap(household.user, review, data)
    second = fake_telegram.tap(household.user, review, data)  # queued before the bot handled the first
    await fake_telegram.processed(first, second)

    assert await count_submissions(database) == 1
    receipts = [text for text in household.texts if "DT-0001" in text]
    assert len(receipts) == 1 and not any("DT-0002" in text for text in household.texts)
    assert fake_telegram.unanswered_callbacks() == []


async def test_tapped_message_shows_the_choice_and_loses_its_keyboard(
    household: Chat, fake_telegram: FakeTelegram,
) -> None:
    """A tap that does more than move on (here: the form is sent, a receipt follows) keeps the tapped message as
    a record of the choice; a tap that only moves on turns it into the next step (tests/test_edit_in_place.py)."""
    review = (await household.reach("review"))[-1]
    await household.press(t("form.submit"))
    tapped = fake_telegram.messages[household.user.id][review["message_id"]]
    assert tapped["text"] == f"{review['text']}\n\n➡️ {t('form.submit')}"
    assert "reply_markup" not in tapped


async def test_choice_that_cannot_be_marked_still_loses_its_keyboard(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    kinds = (await household.reach("q_kind"))[-1]
    fake_telegram.fail("editMessageText", status=400, description="Bad Request: message can't be edited")
    replies = await household.press(t("form.kind_petition"))
    assert replies[-1]["text"] == t("form.ask_field")
    assert "reply_markup" not in fake_telegram.messages[household.user.id][kinds["message_id"]]
    assert (await session_of(household)).step == "q_field"


async def test_failure_while_handling_a_tap_still_answers_it_and_apologises(
    household: Chat, fake_telegram: FakeTelegram, database: Database,
) -> None:
    await household.reach("q_kind")
    await database.close()  # the engine cannot reach its database
    replies = await household.press(t("form.kind_question"))
    assert replies[-1]["text"] == t("common.error")
    assert fake_telegram.unanswered_callbacks() == []


async def test_tap_and_text_sent_together_are_handled_in_order(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    kinds = (await household.reach("q_kind"))[-1]
    tap = fake_telegram.tap(household.user, kinds, find_button(kinds, t("form.kind_question"))["callback_data"])
    typed = fake_telegram.send_text(household.user, "Giảm nghèo")  # the field, typed right after the tap
    await fake_telegram.processed(tap, typed)
    session = await session_of(household)
    assert (session.step, session.data["draft"]) == ("q_topic", {"kind": "question", "field": "giam-ngheo"})


async def test_tap_is_handled_even_if_answering_it_fails(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    await household.reach("q_kind")
    fake_telegram.fail("answerCallbackQuery", status=400, description="Bad Request: query is too old")
    replies = await household.press(t("form.kind_question"))
    assert replies[-1]["text"] == t("form.ask_field")
    assert (await session_of(household)).step == "q_field"

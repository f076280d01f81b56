"""Navigation edits in place (issue 13, point 2): on Telegram a tap that only moves on turns the tapped message into
the next step; a typed answer, or a tap that says something (a receipt, a saved detail), gets new messages; stale and
forged taps are handled as before."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.i18n import t
from storage.records import Session
from tests.fake_telegram import Chat, FakeTelegram, buttons, find_button

SessionOf = Callable[[Chat], Awaitable[Session]]


def labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for b in buttons(message)]


async def test_a_navigation_tap_turns_the_tapped_message_into_the_next_step(
    household: Chat, fake_telegram: FakeTelegram,
) -> None:
    kinds = (await household.reach("q_kind"))[-1]
    before = len(fake_telegram.bot_messages(household.user.id))
    replies = await household.press(t("form.kind_question"))
    assert len(fake_telegram.bot_messages(household.user.id)) == before  # no new message on the small screen
    [screen] = replies
    assert screen["message_id"] == kinds["message_id"]
    assert screen["text"] == t("form.ask_field") and "Giảm nghèo" in labels(screen)

    replies = await household.press("Giảm nghèo")  # and again: the same message is now the topic step
    assert replies[0]["message_id"] == kinds["message_id"]
    assert replies[0]["text"].startswith("Lĩnh vực Giảm nghèo") and "Nhà ở" in labels(replies[0])
    assert len(fake_telegram.bot_messages(household.user.id)) == before

    replies = await household.press(t("form.back"))  # back is navigation too
    assert replies[0]["message_id"] == kinds["message_id"] and replies[0]["text"] == t("form.ask_field")
    assert fake_telegram.unanswered_callbacks() == []


async def test_a_typed_answer_gets_a_new_message(household: Chat, fake_telegram: FakeTelegram) -> None:
    name_prompt = (await household.reach("name"))[-1]
    replies = await household.say("Nguyễn Thị Bình")
    assert replies[-1]["message_id"] > name_prompt["message_id"]
    assert fake_telegram.messages[household.user.id][name_prompt["message_id"]]["text"] == name_prompt["text"]


async def test_a_tap_that_says_something_keeps_the_tapped_message_as_a_record(
    household: Chat, fake_telegram: FakeTelegram,
) -> None:
    consent = (await household.command("start"))[-1]
    replies = await household.press(t("form.consent_yes"))
    assert [r["text"] for r in replies] == [t("form.consent_thanks"), t("form.ask_name")]
    marked = fake_telegram.messages[household.user.id][consent["message_id"]]
    assert marked["text"].endswith("➡️ " + t("form.consent_yes")) and "reply_markup" not in marked


async def test_a_second_tap_on_the_screen_it_replaced_gets_the_stale_answer(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    kinds = (await household.reach("q_kind"))[-1]
    data = find_button(kinds, t("form.kind_question"))["callback_data"]
    await household.press(t("form.kind_question"))
    before = await session_of(household)
    replies = await household.send(fake_telegram.tap(household.user, kinds, data))  # from the old keyboard
    assert replies[0]["text"] == t("form.stale_button")
    assert replies[-1]["text"] == t("form.ask_field") and "Giảm nghèo" in labels(replies[-1])
    after = await session_of(household)
    assert (after.step, after.version) == (before.step, before.version)


async def test_a_forged_tap_changes_nothing_and_edits_nothing(
    household: Chat, fake_telegram: FakeTelegram, session_of: SessionOf,
) -> None:
    kinds = (await household.reach("q_kind"))[-1]
    before = await session_of(household)
    edits = len(fake_telegram.calls_to("editMessageText"))
    replies = await household.send(fake_telegram.tap(household.user, kinds, f"{before.version}:f:nowhere"))
    assert replies[0]["text"] == t("form.choose_please")
    assert (await session_of(household)).step == "q_kind"
    assert not any(c.params.get("reply_markup") for c in fake_telegram.calls_to("editMessageText")[edits:])

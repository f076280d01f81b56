"""A household on a commune's Zalo OA fills the whole form with buttons, through the OA channel and the fake OA.

Buttons are ``oa.query.hide`` with the choice's value and the screen's version as payload: a stale or a forged
payload is recognised and refused, never an error. The phone step offers Zalo's share-info form.
"""

from __future__ import annotations

from bot.core.i18n import t
from handlers.zalo_oa.channel import ZaloOAChannel
from storage import Database
from tests.fake_zalo_oa import FakeZaloOA, buttons_of, template_type
from tests.zalo_oa_support import oa_chat, rows


async def test_a_household_fills_the_whole_form_with_buttons_and_shares_its_phone_in_one_tap(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database,
) -> None:
    chat = oa_chat(fake_oa)
    await chat.send(fake_oa.event(chat.user, "follow", follower={"id": chat.user.id}))
    assert t("form.consent_yes") in chat.titles
    await chat.tap(t("form.consent_yes"))
    await chat.say("Nguyễn Thị Bình")
    await chat.choose("Ấp Tân Hùng")  # four hamlets, back and cancel: more than five, a numbered list
    await chat.choose(t("form.category_poor"))
    assert [template_type(m) for m in chat.replies][-1] == "request_user_info"
    await chat.send(fake_oa.submit_info_event(chat.user))
    await chat.choose(t("form.kind_question"))
    await chat.choose("Giảm nghèo")
    await chat.choose("Vay vốn hộ nghèo, hộ cận nghèo")
    await chat.say("Xin hỏi thủ tục vay vốn hộ nghèo cần giấy tờ gì?")
    assert t("form.submit") in chat.titles
    await chat.tap(t("form.submit"))
    assert "DT-0001" in chat.replies[0]["text"]

    assert await rows(database, "SELECT full_name, hamlet_id, category, phone, phone_verified FROM persons") == [
        ("Nguyễn Thị Bình", "tan-hung", "poor", "0912345678", 1)]
    assert await rows(database, "SELECT topic_id, content, channel FROM submissions") == [
        ("vay-ho-ngheo", "Xin hỏi thủ tục vay vốn hộ nghèo cần giấy tờ gì?", "zalo_oa")]
    every = [m for m in fake_oa.sent[chat.user.id]]
    assert all(len(buttons_of(m)) <= 5 for m in every)
    assert all(b["type"] == "oa.query.hide" and b["payload"].startswith("#") for m in every for b in buttons_of(m))


async def test_a_stale_button_and_a_forged_one_are_refused_and_change_nothing(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database,
) -> None:
    chat = oa_chat(fake_oa)
    await chat.say("/start")
    old = fake_oa.button(chat.user, t("form.consent_yes"))["payload"]
    await chat.tap(t("form.consent_yes"))
    assert await rows(database, "SELECT step FROM conversations") == [("name",)]

    replies = await chat.say(old)  # the consent button of an older screen
    assert t("form.stale_button") in replies[0]["text"]
    version = old[1:].split(":", 1)[0]
    replies = await chat.say(f"#{int(version) + 1}:admin")  # the right version, a value the screen never offered
    assert t("form.choose_please") in replies[0]["text"]
    assert await rows(database, "SELECT step FROM conversations") == [("name",)]


async def test_more_choices_than_buttons_fall_back_to_a_numbered_list(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database,
) -> None:
    chat = oa_chat(fake_oa)
    await chat.say("/start")
    await chat.tap(t("form.consent_yes"))
    replies = await chat.say("Trần Văn Hùng")  # the hamlets: more than five choices
    assert not [b for m in replies for b in buttons_of(m)]
    assert "4. Ấp Tân Hậu" in chat.last_text and t("form.choose_number") in chat.last_text
    await chat.say("4")
    assert await rows(database, "SELECT hamlet_id FROM persons") == [("tan-hau",)]

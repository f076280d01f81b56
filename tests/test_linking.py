"""``/link``: a household using both Telegram and Zalo becomes one person with one set of questions."""

from __future__ import annotations

import re

from telegram.ext import Application

from bot.cli.runtime import seed_dialogues
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.linking.chat import MAX_FAILS
from handlers.zalo.channel import ZaloChannel
from storage import Database
from tests.fake_telegram import Chat
from tests.fake_zalo import FakeZalo
from tests.support import Household

CODE = re.compile(r"/link ([A-Z0-9]{6})")


def code_in(household: Household) -> str:
    found = CODE.search(household.text)
    assert found, household.text
    return found.group(1)


async def rows(database: Database, sql: str) -> list[tuple]:
    async with database.reading() as conn, conn.execute(sql) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def two_channels(engine: Engine) -> tuple[Household, Household]:
    """Bình on Telegram and on Zalo, each with a question sent."""
    telegram = Household(engine, user_id="1001", channel="telegram")
    zalo = Household(engine, user_id="5c1a7e", channel="zalo")
    await telegram.identify()
    await telegram.ask("Khi nào phúc tra hộ nghèo năm nay?")
    await zalo.identify(hamlet="Tân Dân")
    await zalo.ask("Thủ tục vay vốn giải quyết việc làm?", field="f:lao-dong-viec-lam", topic="t:vay-viec-lam")
    return telegram, zalo


async def test_linking_merges_the_second_channel_into_the_first_person(engine: Engine, database: Database) -> None:
    telegram, zalo = await two_channels(engine)
    await telegram.command("link")
    code = code_in(telegram)
    assert code in telegram.replies[0].text.split("\n")[0]
    await zalo.command("link", code)
    assert zalo.replies[0].text == t("linking.linked", first="Telegram", second="Zalo")

    assert await rows(database, "SELECT COUNT(*) FROM persons") == [(1,)]
    assert await rows(database, "SELECT channel, person_id FROM identities ORDER BY channel") == [
        ("telegram", 1), ("zalo", 1)]
    assert await rows(database, "SELECT person_id, hamlet_id FROM submissions ORDER BY id") == [
        (1, "tan-hau"), (1, "tan-dan")]
    for household in (telegram, zalo):
        await household.command("myquestions")
        assert t("common.mine_header", count=2) in household.text


async def test_a_new_zalo_user_links_with_the_code_as_first_message_and_goes_on_where_it_was(
    engine: Engine, database: Database,
) -> None:
    telegram = Household(engine, user_id="1001", channel="telegram")
    await telegram.identify()
    await telegram.command("link")
    zalo = Household(engine, user_id="5c1a7e", channel="zalo")
    await zalo.command("link", code_in(telegram).lower())
    assert zalo.prompt.text == telegram.prompt.text  # the question-kind step, where the Telegram chat stands
    await zalo.type("1")  # answers that step: the number belongs to the prompt just shown
    assert await rows(database, "SELECT COUNT(*) FROM persons") == [(1,)]
    assert await rows(database, "SELECT step FROM conversations") == [("q_field",)]


async def test_a_code_works_once_and_for_15_minutes(engine: Engine, database: Database, clock: FrozenClock) -> None:
    telegram = Household(engine, user_id="1001", channel="telegram")
    await telegram.identify()
    await telegram.command("link")
    late = Household(engine, user_id="5c1a7e", channel="zalo")
    clock.advance(minutes=16)
    await late.command("link", code_in(telegram))
    assert late.replies[0].text == t("linking.bad_code", code=code_in(telegram))
    assert await rows(database, "SELECT COUNT(*) FROM persons") == [(2,)]

    await telegram.command("link")
    code = code_in(telegram)
    await late.command("link", code)
    other = Household(engine, user_id="77aa01", channel="zalo")
    await other.command("link", code)
    assert other.replies[0].text == t("linking.bad_code", code=code)


async def test_a_code_must_come_from_the_other_channel_of_another_account(engine: Engine, database: Database) -> None:
    telegram = Household(engine, user_id="1001", channel="telegram")
    await telegram.identify()
    await telegram.command("link")
    code = code_in(telegram)
    await telegram.command("link", code)
    assert telegram.replies[0].text == t("linking.already_linked")
    second_telegram = Household(engine, user_id="1002", channel="telegram")
    await second_telegram.command("link", code)
    assert second_telegram.replies[0].text == t("linking.same_channel", channel="Telegram")

    zalo = Household(engine, user_id="5c1a7e", channel="zalo")
    await zalo.command("link", code)
    await telegram.command("link")
    another_zalo = Household(engine, user_id="77aa01", channel="zalo")
    await another_zalo.command("link", code_in(telegram))
    assert another_zalo.replies[0].text == t("linking.other_account", channel="Zalo")
    assert await rows(database, "SELECT COUNT(*) FROM identities WHERE person_id = 1") == [(2,)]


async def test_no_code_before_consent_and_no_guessing(engine: Engine, database: Database) -> None:
    stranger = Household(engine, user_id="5c1a7e", channel="zalo")
    await stranger.command("link")
    assert stranger.replies[0].text == t("linking.need_consent")
    assert await rows(database, "SELECT COUNT(*) FROM link_codes") == [(0,)]

    telegram = Household(engine, user_id="1001", channel="telegram")
    await telegram.identify()
    await telegram.command("link")
    for guess in ("AAAAAA", "BBBBBB", "CCCCCC", "DDDDDD", "EEEEEE")[:MAX_FAILS]:
        await stranger.command("link", guess)
    await stranger.command("link", code_in(telegram))
    assert stranger.replies[0].text == t("linking.too_many", minutes=15)
    assert await rows(database, "SELECT COUNT(*) FROM persons") == [(2,)]

    await stranger.command("forget")  # deleting the person does not reset the count of wrong guesses
    await stranger.command("link", code_in(telegram))
    assert stranger.replies[0].text == t("linking.too_many", minutes=15)
    assert await rows(database, "SELECT COUNT(*) FROM persons") == [(2,)], "the guesser was not linked"
    assert all("5c1a7e" not in str(row) for row in await rows(database, "SELECT * FROM link_attempts"))


async def test_two_seats_for_one_household_become_one_and_the_waitlist_moves_up(
    engine: Engine, database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    await seed_dialogues(database, settings, clock)
    async with database.transaction() as conn:
        await conn.execute("UPDATE dialogue_hamlets SET quota = 2 WHERE hamlet_id = 'tan-hau'")
    telegram = Household(engine, user_id="1001", channel="telegram")
    zalo = Household(engine, user_id="5c1a7e", channel="zalo")
    waiting = Household(engine, user_id="1003", channel="telegram")
    for household in (telegram, zalo, waiting):
        await household.identify()
        await household.command("dialogue")
        await household.pick(t("registration.register"))
    assert await rows(database, "SELECT person_id, status FROM registrations ORDER BY id") == [
        (1, "registered"), (2, "registered"), (3, "waitlisted")]

    await telegram.command("link")
    await zalo.command("link", code_in(telegram))
    assert await rows(database, "SELECT person_id, status FROM registrations ORDER BY id") == [
        (1, "registered"), (3, "registered")]
    assert await rows(database, "SELECT channel, chat_id, kind FROM outbox") == [("telegram", "1003", "notice")]


# ---- through the real channels ------------------------------------------------------------------------------------


async def test_a_household_linking_telegram_and_zalo_keeps_one_set_of_questions(
    household: Chat, telegram_app: Application, zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
    database: Database,
) -> None:
    await household.reach("review")
    await household.press(t("form.submit"))
    replies = await household.command("link")
    found = CODE.search(replies[0]["text"])
    assert found
    zalo = fake_zalo.chat_with(fake_zalo.user("5c1a7e", "Nguyễn Thị Bình"))
    await zalo.say(f"/link {found.group(1)}")
    assert zalo.replies[0] == t("linking.linked", first="Telegram", second="Zalo")

    await zalo.say("/myquestions")
    assert t("common.mine_header", count=1) in zalo.replies[0]
    assert "Xin hỏi thủ tục vay vốn hộ nghèo cần giấy tờ gì?" in zalo.replies[0]
    for text in ("1", "1", "1", "1", "Gia đình tôi cần học nghề may, xã có lớp không?", "1"):  # menu → … → submit
        await zalo.say(text)
    assert "Mã phiếu: DT-0002" in zalo.replies[0]

    replies = await household.command("myquestions")
    assert t("common.mine_header", count=2) in replies[0]["text"]
    assert await rows(database, "SELECT DISTINCT person_id FROM submissions") == [(1,)]

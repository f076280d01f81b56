"""A role is checked at the moment of every act, not when the screen was drawn: a revoked organizer's tap on an
old "send now" sends nothing, and a revoked officer's confirmation answers nothing."""

from __future__ import annotations

from bot.core.engine import Engine
from bot.core.i18n import t
from bot.staff import roles
from bot.staff.roles import Scope
from storage import Database
from tests.support import Household
from tests.test_answers import ANSWER, binh  # noqa: F401 - a household with a question (DT-0001)
from tests.test_broadcast_chat import compose_to_preview, organizer  # noqa: F401 - an organizer at work
from tests.test_broadcast_support import ORGANIZER_ID, outbox_rows


async def revoke(database: Database, user_id: str) -> None:
    async with database.transaction() as conn:
        assert await roles.revoke(conn, "telegram", user_id)


async def test_a_revoked_organizer_taps_send_on_the_old_preview_and_nothing_goes(
        organizer: Household, database: Database) -> None:  # noqa: F811
    await compose_to_preview(organizer)
    assert t("broadcast.send_now", count=5) in organizer.labels
    await revoke(database, ORGANIZER_ID)

    replies = await organizer.tap("send")

    assert replies[0].text == t("staff.role_gone")
    assert await outbox_rows(database, "broadcast:1") == []
    assert t("broadcast.send_now", count=5) not in organizer.labels, "the staff screen is left"
    again = await organizer.command("broadcast")
    assert again[0].text == t("staff.not_available")


async def test_a_revoked_officer_confirms_an_answer_and_the_household_hears_nothing(
        binh: Household, engine: Engine, database: Database, grant) -> None:  # noqa: F811
    await grant("2002", "officer", Scope(fields=("giam-ngheo",), hamlets=("tan-hau",)))
    officer = Household(engine, "2002")
    await officer.command("answer", "DT-0001")
    await officer.pick("Sẽ trả lời sau")
    await officer.type(ANSWER)
    assert officer.prompt.text.startswith(t("answers.confirm", code="DT-0001", name="Nguyễn Văn Bình",
                                            answer=ANSWER)[:20])
    await revoke(database, "2002")

    replies = await officer.pick("Gửi cho hộ")

    assert replies[0].text == t("staff.role_gone")
    assert await outbox_rows(database, "answer") == []
    async with database.reading() as conn:
        rows = await conn.execute_fetchall("SELECT answer FROM submissions WHERE code = 'DT-0001'")
    assert rows[0][0] is None

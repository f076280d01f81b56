"""The answer loop at the engine: officers set statuses and write answers within their scope; households hear
about it through the outbox, in their language; after the dialogue each household gets one message."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from bot.cli.runtime import seed_dialogues
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.types import InputKind
from bot.dialogues import service as dialogues
from bot.outbox.enqueue import Priority
from bot.staff.roles import Scope
from storage import Database
from tests.support import Household

ADMIN = "9001"
DIALOGUE = "tan-thuan-tay-2027"
ANSWER = "Ông/bà mang sổ hộ nghèo và căn cước đến UBND xã để được cấp thẻ bảo hiểm y tế miễn phí."
Grant = Callable[..., Awaitable[None]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"bot": settings.bot.model_copy(update={"admins": [int(ADMIN)]})})


@pytest.fixture
async def binh(engine: Engine, database: Database, settings: Settings, clock: FrozenClock) -> Household:
    """Bình of ấp Tân Hậu, who asked about health insurance cards (DT-0001, giảm nghèo / y tế)."""
    await seed_dialogues(database, settings, clock)
    household = Household(engine, "1001")
    await household.identify(name="Nguyễn Văn Bình", hamlet="Tân Hậu")
    await household.ask("Xin hỏi thẻ bảo hiểm y tế cho hộ nghèo làm ở đâu?")
    return household


async def outbox_rows(database: Database, kind: str | None = None) -> list[dict]:
    async with database.reading() as conn, conn.execute(
        "SELECT dedupe_key, chat_id, kind, priority, payload FROM outbox WHERE ? IS NULL OR kind = ? ORDER BY id",
        (kind, kind),
    ) as cur:
        return [{**dict(row), "message": json.loads(row["payload"])} for row in await cur.fetchall()]


async def submission(database: Database, code: str) -> dict:
    async with database.reading() as conn, conn.execute(
        "SELECT status, answer, answered_at FROM submissions WHERE code = ?", (code,)
    ) as cur:
        return dict(await cur.fetchone())


async def audit_actions(database: Database) -> list[tuple[str, str, str]]:
    async with database.reading() as conn, conn.execute(
        "SELECT actor_id, action, target FROM audit_log ORDER BY id") as cur:
        return [tuple(row) for row in await cur.fetchall()]


# ---- one line answers and statuses -----------------------------------------------------------------------------


async def test_a_one_line_answer_is_saved_and_queued_for_the_household_once(
        binh: Household, engine: Engine, database: Database) -> None:
    admin = Household(engine, ADMIN)
    await admin.command("answer", f"DT-0001 {ANSWER}")
    assert admin.text == t("answers.sent", code="DT-0001")
    assert await submission(database, "DT-0001") == {"status": "answered", "answer": ANSWER,
                                                     "answered_at": "2023-06-15T02:00:00+00:00"}
    [row] = await outbox_rows(database, "answer")
    assert row["chat_id"] == "1001" and row["priority"] == Priority.ANSWER
    assert row["dedupe_key"].startswith("answer:1:")
    assert row["message"]["text"].startswith(
        "📬 Trả lời cho phiếu DT-0001 (câu hỏi về Y tế, thẻ bảo hiểm y tế):\n\n" + ANSWER)

    await admin.command("answer", f"DT-0001 {ANSWER}")  # the same answer again: nothing doubled
    assert len(await outbox_rows(database, "answer")) == 1
    await admin.command("answer", "DT-0001 Bổ sung: mang theo sổ hộ khẩu.")  # a changed answer is sent
    assert len(await outbox_rows(database, "answer")) == 2

    await binh.command("myquestions")
    assert t("common.mine_answer", answer="Bổ sung: mang theo sổ hộ khẩu.") in binh.text
    assert t("common.status_answered") in binh.text


async def test_the_answer_is_written_in_the_households_language(binh: Household, engine: Engine,
                                                                 database: Database) -> None:
    async with database.transaction() as conn:
        await conn.execute("UPDATE persons SET language = 'en' WHERE id = 1")
    await Household(engine, ADMIN).command("answer", "DT-0001 Please bring your poor-household book.")
    [row] = await outbox_rows(database, "answer")
    assert row["message"]["text"].startswith("📬 Answer to DT-0001 (your question about Y tế, thẻ bảo hiểm y tế)")


@pytest.mark.parametrize(("word", "status", "told"), [
    ("sau", "later", True), ("later", "later", True), ("chuyển cấp trên", "forwarded", True),
    ("chuyen", "forwarded", True), ("tại buổi", "at_dialogue", False), ("at_dialogue", "at_dialogue", False),
    ("đã trả lời", "answered", False),
])
async def test_status_words_in_vietnamese_or_english_set_the_status(
        word: str, status: str, told: bool, binh: Household, engine: Engine, database: Database) -> None:
    admin = Household(engine, ADMIN)
    await admin.command("status", f"dt-1 {word}")
    assert admin.text == t("answers.status_saved", code="DT-0001", status=t(f"common.status_{status}"))
    assert (await submission(database, "DT-0001"))["status"] == status
    notices = await outbox_rows(database, "notice")
    assert [r["dedupe_key"] for r in notices] == ([f"status:1:{status}"] if told else [])
    if told:
        assert notices[0]["message"]["text"].startswith("📌 Phiếu DT-0001 (câu hỏi về Y tế")


async def test_a_bad_status_or_code_gets_the_usage_and_changes_nothing(binh: Household, engine: Engine,
                                                                      database: Database) -> None:
    admin = Household(engine, ADMIN)
    await admin.command("status", "DT-0001 ngày mai")
    assert admin.text == t("answers.status_usage")
    await admin.command("status", "DT-0099 sau")
    assert admin.text == t("answers.not_found", code="DT-0099")
    await admin.command("answer", "DT-0001 x")
    assert admin.text == t("answers.too_short")
    assert (await submission(database, "DT-0001"))["status"] == "new"
    assert await outbox_rows(database) == []


# ---- the answer steps -------------------------------------------------------------------------------------------


async def test_an_officer_opens_a_submission_taps_a_status_types_the_answer_and_confirms(
        binh: Household, engine: Engine, database: Database, grant: Grant) -> None:
    await grant("2002", "officer", Scope(fields=("giam-ngheo",), hamlets=("tan-hau",)))
    officer = Household(engine, "2002")  # never wrote to the bot before: no household consent asked
    await officer.command("answer", "DT-0001")
    card = officer.prompt.text
    for part in ("📄 Phiếu DT-0001 — ❓ Câu hỏi", "Lĩnh vực: Giảm nghèo · Chủ đề: Y tế, thẻ bảo hiểm y tế",
                 "Ấp Tân Hậu · Hộ: Nguyễn Văn Bình (Hộ nghèo)", "Xin hỏi thẻ bảo hiểm y tế cho hộ nghèo làm ở đâu?"):
        assert part in card
    assert officer.labels == [t("answers.set_at_dialogue"), t("answers.set_later"), t("answers.set_forwarded"),
                              t("answers.set_answered"), t("answers.done")]

    await officer.pick("Sẽ trả lời sau")
    assert t("answers.status_saved", code="DT-0001", status=t("common.status_later")) in officer.text
    assert "✔️ " + t("answers.set_later") in officer.labels

    await officer.type(ANSWER)
    assert officer.prompt.text == t("answers.confirm", code="DT-0001", name="Nguyễn Văn Bình", answer=ANSWER)
    assert await outbox_rows(database, "answer") == []  # nothing goes before the officer confirms

    await officer.type(ANSWER + " Thứ Hai đến thứ Sáu.")  # typing again replaces it
    await officer.pick("Gửi cho hộ")
    assert t("answers.sent", code="DT-0001") in officer.text
    assert (await submission(database, "DT-0001"))["answer"] == ANSWER + " Thứ Hai đến thứ Sáu."
    assert len(await outbox_rows(database, "answer")) == 1
    assert [a[1:] for a in await audit_actions(database)] == [
        ("view", "DT-0001"), ("command", "/answer DT-0001"), ("status", "DT-0001"), ("answer", "DT-0001")]


async def test_an_answer_at_the_dialogue_keeps_that_status(binh: Household, engine: Engine,
                                                           database: Database) -> None:
    admin = Household(engine, ADMIN)
    await admin.command("status", "DT-0001 tại buổi")
    await admin.command("answer", f"DT-0001 {ANSWER}")
    assert (await submission(database, "DT-0001"))["status"] == "at_dialogue"


async def test_outstanding_lists_only_what_the_officer_may_see_and_answered_ones_leave_the_list(
        binh: Household, engine: Engine, database: Database, grant: Grant) -> None:
    lan = Household(engine, "1002")
    await lan.identify(name="Trần Thị Lan", hamlet="Tân Dân")
    await lan.ask("Xin hỏi vay vốn đi làm việc ở nước ngoài cần gì?", field="f:lao-dong-viec-lam",
                  topic="t:xuat-khau-lao-dong")
    await binh.command("menu")
    await binh.tap("new")
    await binh.ask("Nhà tôi bị dột, xin hỗ trợ sửa nhà.", topic="t:nha-o")
    await grant("2002", "officer", Scope(hamlets=("tan-hau",)))

    officer = Household(engine, "2002")
    await officer.command("outstanding")
    assert officer.prompt.text.startswith(t("answers.pick", count=2, shown=2))
    assert [label.split(" · ")[0] for label in officer.labels] == ["DT-0001", "DT-0003", t("answers.done")]

    await officer.pick("DT-0003")
    await officer.type("Xã sẽ cử cán bộ đến xem nhà trong tuần này.")
    await officer.pick("Gửi cho hộ")
    assert [label.split(" · ")[0] for label in officer.labels] == ["DT-0001", t("answers.done")]

    admin = Household(engine, ADMIN)
    await admin.command("outstanding", DIALOGUE)
    assert [label.split(" · ")[0] for label in admin.labels] == ["DT-0001", "DT-0002", t("answers.done")]
    await admin.command("outstanding", "khong-co")
    assert admin.text == t("dialogues.unknown", id="khong-co")


async def test_forged_taps_cannot_open_a_submission_outside_the_officers_scope(
        binh: Household, engine: Engine, database: Database, grant: Grant) -> None:
    lan = Household(engine, "1002")
    await lan.identify(name="Trần Thị Lan", hamlet="Tân Dân")
    await lan.ask("Xin hỏi vay vốn hộ cận nghèo?", topic="t:vay-ho-ngheo")   # DT-0002, outside the scope
    await grant("2002", "officer", Scope(hamlets=("tan-hau",)))
    officer = Household(engine, "2002")
    await officer.command("outstanding")
    assert "s:1" in [c.value for c in officer.prompt.choices]

    for forged in ("s:2", "s:02", "s:2 ", "s:1;2", "st:later", "send"):
        replies = await officer.tap(forged)
        assert replies[0].refused and replies[0].text == t("form.choose_please"), forged
    assert "DT-0002" not in "\n".join(r.text for r in officer.replies)
    assert "Xin hỏi vay vốn hộ cận nghèo?" not in officer.text

    await officer.command("answer", "DT-0001")   # inside the card, only statuses are buttons
    for forged in ("s:2", "st:withdrawn", "st:new"):
        replies = await officer.tap(forged)
        assert replies[0].refused, forged
    assert (await submission(database, "DT-0002"))["status"] == "new"
    assert (await submission(database, "DT-0001"))["status"] == "new"
    assert ("2002", "view", "DT-0002") not in await audit_actions(database)


async def test_an_officer_whose_role_is_revoked_mid_answer_can_change_nothing(
        binh: Household, engine: Engine, database: Database, grant: Grant) -> None:
    await grant("2002", "officer")
    officer = Household(engine, "2002")
    await officer.command("answer", "DT-0001")
    keyboard = officer.version
    await Household(engine, ADMIN).command("revoke", "telegram:2002")

    replies = await officer.tap("st:later", version=keyboard)
    assert replies[0].refused and replies[0].text == t("staff.role_gone")  # checked at the tap, not the screen
    await officer.type(ANSWER)
    assert (await submission(database, "DT-0001"))["status"] == "new"
    assert await outbox_rows(database) == []


async def test_a_voice_question_is_sent_again_to_the_officer_reading_it(engine: Engine, database: Database,
                                                                        settings: Settings, clock: FrozenClock
                                                                        ) -> None:
    household = Household(engine, "1001")
    await household.identify()
    await household.tap("k:question")
    await household.tap("f:giam-ngheo")
    await household.tap("t:nha-o")
    await household.send(InputKind.MEDIA, media_kind="voice", media_id="voice-file-77", text="")
    await household.tap("submit")
    admin = Household(engine, ADMIN)
    await admin.command("answer", "DT-0001")
    assert t("answers.media_follows", media=t("form.media_voice")) in admin.text
    [row] = await outbox_rows(database, "media")
    assert row["chat_id"] == ADMIN
    assert row["message"]["voice"] == "voice-file-77" and row["message"]["text"].endswith("DT-0001")


async def test_a_household_that_deleted_its_data_cannot_be_answered(binh: Household, engine: Engine,
                                                                    database: Database) -> None:
    await binh.command("forget")
    await binh.tap("yes")
    admin = Household(engine, ADMIN)
    await admin.command("answer", f"DT-0001 {ANSWER}")
    assert admin.text == t("answers.withdrawn", code="DT-0001")
    assert await outbox_rows(database, "answer") == []


# ---- after the dialogue ------------------------------------------------------------------------------------------


async def test_sendanswers_sends_each_household_one_message_with_its_own_answers_once(
        binh: Household, engine: Engine, database: Database, clock: FrozenClock) -> None:
    await binh.command("menu")
    await binh.tap("new")
    await binh.ask("Xin hỏi học phí cho cháu được miễn không?", topic="t:giao-duc")   # DT-0002
    lan = Household(engine, "1002")
    await lan.identify(name="Trần Thị Lan", hamlet="Tân Dân")
    await lan.ask("Xin hỏi vay vốn hộ cận nghèo?", topic="t:vay-ho-ngheo")           # DT-0003
    hoa = Household(engine, "1003")
    await hoa.identify(name="Lê Văn Hòa", hamlet="Tân Chủ")                          # registered, asked nothing
    async with database.transaction() as conn:
        dialogue = await dialogues.require(conn, DIALOGUE)
        await dialogues.register(conn, dialogue, 3, "tan-chu", clock())

    organizer = Household(engine, ADMIN)
    await organizer.command("answer", f"DT-0001 {ANSWER}")
    await organizer.command("status", "DT-0002 chuyển")
    await organizer.command("status", "DT-0003 tại buổi")
    await organizer.command("sendanswers", DIALOGUE)
    assert organizer.text == t("answers.sendanswers_done", id=DIALOGUE, queued=2, before=0, unreachable=0, silent=1)

    summaries = {row["chat_id"]: row["message"]["text"] for row in await outbox_rows(database, "answer")
                 if row["dedupe_key"].startswith("answers:")}
    assert set(summaries) == {"1001", "1002"}
    assert "DT-0001" in summaries["1001"] and ANSWER in summaries["1001"]
    assert "DT-0002" in summaries["1001"] and t("common.status_forwarded") in summaries["1001"]
    assert t("answers.summary_pending") in summaries["1001"]
    assert "DT-0003" in summaries["1002"] and "DT-0001" not in summaries["1002"]
    assert t("common.status_at_dialogue") in summaries["1002"]

    await organizer.command("sendanswers", DIALOGUE)
    assert organizer.text == t("answers.sendanswers_done", id=DIALOGUE, queued=0, before=2, unreachable=0, silent=1)
    await organizer.command("sendanswers")
    assert organizer.text == t("answers.sendanswers_usage")
    await organizer.command("sendanswers", "cum-9")
    assert organizer.text == t("dialogues.unknown", id="cum-9")

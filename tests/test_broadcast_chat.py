"""/broadcast, /broadcasts, /cancelbroadcast and /radio in the chat, driven through the engine as people would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock, iso
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.types import InputKind, Message
from bot.dialogues import service as dialogues
from bot.staff import roles
from storage import Database
from tests.support import Household
from tests.test_broadcast_support import ORGANIZER_ID, add_households, outbox_rows

TEXT = "Kính mời bà con ấp Tân Hậu dự buổi đối thoại lúc 15:30 ngày 20/6/2027 tại Trung tâm VHHTCĐ xã."


@pytest.fixture
async def organizer(engine: Engine, database: Database, clock: FrozenClock) -> Household:
    """Phạm Thanh Sang has agreed and identified in the chat, and was given the organizer role."""
    async with database.transaction() as conn:
        await dialogues.seed_from_config(conn, engine.settings, clock())
    sang = Household(engine, user_id=ORGANIZER_ID)
    await sang.identify(name="Phạm Thanh Sang", hamlet="Tân Dân", category="c:other")
    async with database.transaction() as conn:
        await roles.grant(conn, "telegram", ORGANIZER_ID, "organizer", "Phạm Thanh Sang", iso(clock()))
    await add_households(database, clock(), 101, 5, hamlet="tan-hau")
    await add_households(database, clock(), 201, 3, hamlet="tan-dan", category="near_poor")
    return sang


async def compose_to_preview(sang: Household, text: str = TEXT, hamlet: str = "Tân Hậu") -> None:
    await sang.command("broadcast")
    await sang.type(text)
    await sang.tap("hamlet")
    await sang.pick(hamlet)


async def test_an_organizer_composes_previews_and_sends_to_a_hamlet(organizer: Household,
                                                                     database: Database) -> None:
    replies = await organizer.command("broadcast")
    assert organizer.prompt.text.startswith(t("broadcast.ask_text", limit="4.096"))
    await organizer.type(TEXT)
    assert organizer.prompt.text == t("broadcast.ask_audience")
    await organizer.tap("hamlet")
    replies = await organizer.pick("Tân Hậu")
    preview = replies[-1].text
    assert f"━━━━━━━━━━\n{TEXT}\n━━━━━━━━━━" in preview          # exactly as households will see it
    assert "👥 Người nhận: 🏘 Hộ ở Ấp Tân Hậu — 5 hộ" in preview
    assert t("broadcast.send_now", count=5) in organizer.labels

    replies = await organizer.tap("send")
    assert replies[0].text == t("broadcast.started", id=1, count=5)
    rows = await outbox_rows(database, "broadcast:1")
    assert [chat for chat, _, _ in rows] == ["101", "102", "103", "104", "105"]
    assert {Message.from_json(payload).text for _, _, payload in rows} == {TEXT}
    assert organizer.prompt.text == t("form.ask_kind")        # back where the organizer was before /broadcast


async def test_a_second_tap_on_send_is_an_old_button_and_sends_nothing_more(organizer: Household,
                                                                             database: Database) -> None:
    await compose_to_preview(organizer)
    version = organizer.version
    await organizer.tap("send", version)
    replies = await organizer.tap("send", version)
    assert replies[0].refused and replies[0].text == t("form.stale_button")
    assert len(await outbox_rows(database, "broadcast:1")) == 5
    replies = await organizer.command("broadcasts")
    assert replies[0].text.count("#") == 1


async def test_a_household_cannot_broadcast(engine: Engine, database: Database, clock: FrozenClock) -> None:
    await add_households(database, clock(), 101, 2)
    binh = Household(engine, user_id="1001")
    await binh.identify()
    for command in ("broadcast", "broadcasts", "cancelbroadcast", "radio"):
        replies = await binh.command(command, "Xin chào cả xóm")
        assert replies[0].text == t("staff.not_available")
    async with database.reading() as conn, conn.execute("SELECT COUNT(*) FROM broadcasts") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_empty_and_overlong_texts_get_a_clear_answer_and_the_question_again(organizer: Household) -> None:
    await organizer.command("broadcast")
    replies = await organizer.type("   ")
    assert replies[0].text == t("broadcast.empty")
    replies = await organizer.type("Thông báo " * 500)
    assert replies[0].text == t("broadcast.too_long", length="4.999", limit="4.096")
    assert organizer.prompt.text.startswith(t("broadcast.ask_text", limit="4.096"))
    await organizer.type(TEXT)
    assert organizer.prompt.text == t("broadcast.ask_audience")


async def test_a_group_with_nobody_in_it_offers_no_send_button(organizer: Household, database: Database) -> None:
    await organizer.command("broadcast", TEXT)           # the text may follow the command
    await organizer.tap("category")
    replies = await organizer.pick("Hộ mới thoát nghèo")
    assert t("broadcast.nobody") in replies[-1].text
    assert "send" not in {c.value for c in organizer.prompt.choices}
    replies = await organizer.tap("send", organizer.version)  # a forged tap all the same
    assert replies[0].refused
    async with database.reading() as conn, conn.execute("SELECT COUNT(*) FROM outbox") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_a_photo_with_its_caption_goes_to_every_household(organizer: Household, database: Database) -> None:
    await organizer.command("broadcast")
    await organizer.send(InputKind.MEDIA, media_kind="voice", media_id="voice-1")
    assert organizer.replies[0].text == t("broadcast.photo_only")
    await organizer.send(InputKind.MEDIA, media_kind="photo", media_id="photo-file-1", text="")
    assert organizer.replies[0].text == t("broadcast.photo_received_ask_text")
    await organizer.type(TEXT)
    await organizer.tap("a:everyone")
    assert t("broadcast.attached", what=t("broadcast.with_photo")) in organizer.prompt.text
    await organizer.tap("send")
    rows = await outbox_rows(database, "broadcast:1")
    assert len(rows) == 9   # five in Tân Hậu, three in Tân Dân, and the organizer, who agreed like a household
    message = Message.from_json(rows[0][2])
    assert (message.text, message.photo) == (TEXT, "photo-file-1")


async def test_an_announcement_can_be_scheduled_and_cancelled(organizer: Household, database: Database) -> None:
    await compose_to_preview(organizer)
    await organizer.tap("when")
    replies = await organizer.type("ngày mai")
    assert replies[0].text == t("broadcast.bad_time", text="ngày mai")
    replies = await organizer.type("7:30 15/6/2023")                 # earlier that morning
    assert replies[0].text == t("broadcast.time_in_past")
    await organizer.type("7:30 18/6/2027")
    assert "🕒 Gửi: 7 giờ 30 phút, thứ Sáu, ngày 18/6/2027" in organizer.prompt.text
    replies = await organizer.tap("send")
    assert replies[0].text == t("broadcast.scheduled", id=1, when="7 giờ 30 phút, thứ Sáu, ngày 18/6/2027")
    assert await outbox_rows(database, "broadcast:1") == []
    assert "đã hẹn giờ" in (await organizer.command("broadcasts"))[0].text

    replies = await organizer.command("cancelbroadcast", "1")
    assert replies[0].text == t("broadcast.cancelled", id=1, count=0)
    replies = await organizer.command("cancelbroadcast", "1")
    assert replies[0].text == t("broadcast.not_cancellable", id=1, status="đã hủy")


async def test_going_back_changes_the_text_or_the_audience_and_cancel_drops_it(organizer: Household,
                                                                                database: Database) -> None:
    await compose_to_preview(organizer)
    await organizer.tap("edit")
    await organizer.type("Lịch đối thoại đổi sang 8 giờ sáng ngày 21/6/2027.")
    assert "Lịch đối thoại đổi sang 8 giờ sáng" in organizer.prompt.text      # straight back to the preview
    await organizer.tap("audience")
    await organizer.tap("a:dialogue:tan-thuan-tay-2027")
    assert "0 hộ" in organizer.prompt.text
    replies = await organizer.tap("cancel")
    assert replies[0].text == t("broadcast.abandoned")
    async with database.reading() as conn, conn.execute("SELECT status FROM broadcasts") as cur:
        assert [row[0] for row in await cur.fetchall()] == ["cancelled"]


async def test_radio_gives_the_loudspeaker_script_of_the_dialogue_or_a_broadcast(organizer: Household) -> None:
    replies = await organizer.command("radio")
    assert replies[0].text == t("broadcast.radio_intro")
    script = replies[1].text
    assert script.startswith("Loa phát thanh xã Tân Thuận Tây xin thông báo.")
    assert ("mười lăm giờ ba mươi phút, chủ nhật, ngày hai mươi tháng sáu năm hai nghìn không trăm hai mươi bảy"
            in script)
    await compose_to_preview(organizer)
    await organizer.tap("send")
    script = (await organizer.command("radio", "1"))[1].text
    assert "lúc mười lăm giờ ba mươi phút ngày hai mươi tháng sáu năm hai nghìn không trăm hai mươi bảy" in script
    assert (await organizer.command("radio", "99"))[0].text == t("broadcast.unknown", id=99)


async def test_a_document_is_downloaded_and_attached(organizer: Household, database: Database,
                                                     clock: FrozenClock) -> None:
    """No skip: without the compose step's ``on_document`` the document is not attached and this fails."""
    fetched: list[str] = []

    async def fetch(file_id: str) -> bytes:
        fetched.append(file_id)
        return b"%PDF-1.4 ke hoach"

    # the channel's downloader is given when the engine is built, as the composition root does
    engine = build_engine(organizer.engine.settings, database, clock=clock, file_fetchers={"telegram": fetch})
    organizer = Household(engine, organizer.user_id)
    await organizer.command("broadcast")
    await organizer.send(InputKind.DOCUMENT, media_id="doc-1", file_name="ke-hoach.pdf", text=TEXT)
    assert organizer.replies[0].text == t("broadcast.document_received", name="ke-hoach.pdf")
    await organizer.tap("a:everyone")
    await organizer.tap("send")
    message = Message.from_json((await outbox_rows(database, "broadcast:1"))[0][2])
    assert message.document_name == "ke-hoach.pdf" and message.document_path.endswith("1-ke-hoach.pdf")
    assert fetched == ["doc-1"]
    assert await asyncio.to_thread(Path(message.document_path).read_bytes) == b"%PDF-1.4 ke hoach"

"""The daily digest to officers on a real SQLite file: at the configured time, once a day, within each one's scope,
similar questions as one line, with a chart and the Excel list; ``/digest`` on demand.

Seed 000: xã Tân Thuận Tây, ấp Tân Dân, Tân Hùng, Tân Chủ, Tân Hậu; the households' questions come in the week
before the dialogue of 15 giờ 30 phút, thứ Ba, ngày 20/6/2023. The digest goes at 17:00 (10:00 UTC).
"""

from __future__ import annotations

import asyncio
import io
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from openpyxl import load_workbook

from bot.core.clock import FrozenClock, iso
from bot.core.config import Settings, parse_settings
from bot.core.engine import Engine
from bot.core.events import OUTBOX_QUEUED, Events
from bot.core.i18n import t
from bot.core.types import Message
from bot.digest.service import JOB_ID, DigestScheduler, send_digests
from bot.outbox.enqueue import Priority
from bot.staff import roles
from bot.staff.roles import Scope
from storage import Database
from storage.people import create_person_with_identity, mark_blocked, set_consent, update_profile
from storage.submissions import create_submission
from tests.support import Household

JUNE_14_MORNING = datetime(2023, 6, 14, 2, 0, tzinfo=UTC)     # 9 giờ sáng ở Việt Nam
JUNE_14_5PM = datetime(2023, 6, 14, 10, 0, tzinfo=UTC)        # 17 giờ, ngày 14/6/2023
HEALTH_CARD = ["Khi nào được cấp thẻ bảo hiểm y tế?", "Xin hỏi bao giờ được cấp thẻ BHYT ạ?",
               "Khi nào gia đình tôi được cấp thẻ bảo hiểm y tế vậy?", "Bao giờ được cấp thẻ bảo hiểm y tế ạ",
               "Cho hỏi khi nào cấp thẻ BHYT", "Khi nào được cấp thẻ bảo hiểm y tế cho hộ nghèo?",
               "Xin hỏi khi nào được cấp thẻ bảo hiểm y tế", "Thẻ bảo hiểm y tế khi nào được cấp?",
               "Bao giờ cấp thẻ BHYT vậy", "Khi nào được cấp thẻ bảo hiểm y tế ạ?",
               "Cho tôi hỏi bao giờ được cấp thẻ bảo hiểm y tế", "Khi nào được cấp thẻ BHYT?"]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Huỳnh Văn Em", "Võ Thị Gấm",
         "Đặng Văn Hải", "Bùi Thị Hoa", "Đỗ Văn Khánh", "Hồ Thị Lan", "Ngô Văn Minh", "Dương Thị Nga"]
HAMLETS = ["tan-dan", "tan-hung", "tan-chu", "tan-hau"]
ORGANIZER = "2001"   # Phạm Thanh Sang
TAN_HAU_HEAD = "2002"
HEALTH_OFFICER = "2003"


class Commune:
    """Households that send questions, staff with their scopes, and what the outbox holds."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.events = Events()
        self.queued_events = 0
        self.events.subscribe(OUTBOX_QUEUED, self._count)
        self.people = 0

    def _count(self) -> None:
        self.queued_events += 1

    async def ask(self, name: str, hamlet: str, content: str | None, *, topic: str = "y-te",
                  field: str = "giam-ngheo", media: str | None = None, at: datetime = JUNE_14_MORNING) -> None:
        self.people += 1
        async with self.db.transaction() as conn:
            person = await create_person_with_identity(
                conn, channel="telegram", external_id=str(1000 + self.people), chat_id=str(1000 + self.people),
                display_name=name, language="vi", now=iso(at))
            await set_consent(conn, person.id, iso(at))
            await update_profile(conn, person.id, full_name=name, hamlet_id=hamlet, category="poor")
            await create_submission(conn, person_id=person.id, hamlet_id=hamlet, category="poor", kind="question",
                                    field_id=field, topic_id=topic, content=content, media_kind=media,
                                    media_file_id=f"file-{self.people}" if media else None, channel="telegram",
                                    now=iso(at))

    async def twelve_ask_about_health_cards(self) -> None:
        for index, (name, question) in enumerate(zip(NAMES, HEALTH_CARD, strict=True)):
            await self.ask(name, HAMLETS[index % 4], question)

    async def staff(self, user_id: str, role: str, name: str, scope: Scope = roles.EVERYTHING) -> None:
        async with self.db.transaction() as conn:
            await roles.grant(conn, "telegram", user_id, role, name, iso(JUNE_14_MORNING), scope)

    async def digests(self, user_id: str | None = None) -> list[tuple[str, str, int, Message]]:
        """(dedupe key, chat id, priority, message) of the queued digest parts, in queue order."""
        async with self.db.reading() as conn, conn.execute(
            "SELECT dedupe_key, chat_id, priority, payload FROM outbox WHERE kind = 'digest' ORDER BY id"
        ) as cur:
            rows = [(r[0], r[1], r[2], Message.from_json(r[3])) for r in await cur.fetchall()]
        return [r for r in rows if user_id is None or r[1] == user_id]

    async def text_for(self, user_id: str) -> str:
        return "\n".join(m.text for key, _, _, m in await self.digests(user_id) if key.endswith(":text"))

    async def send(self, now: datetime) -> int:
        return await send_digests(self.db, self.settings, now, self.events)


def read_files(chart_path: str, sheet_path: str) -> tuple[bytes, list[tuple]]:
    """The chart's bytes and the Excel list's rows, as the officer's phone would open them."""
    rows = list(load_workbook(io.BytesIO(Path(sheet_path).read_bytes())).active.iter_rows(values_only=True))
    return Path(chart_path).read_bytes(), rows


def stop(scheduler: DigestScheduler) -> None:
    """What the runtime does at stop: the digest job leaves, then the process's APScheduler stops."""
    scheduler.shutdown()
    if scheduler.scheduler.running:
        scheduler.scheduler.shutdown(wait=False)


@pytest.fixture
def commune(database: Database, settings: Settings) -> Commune:
    return Commune(database, settings)


# ---- what the digest says ----------------------------------------------------------------------------------------


async def test_twelve_households_asking_about_health_cards_read_as_one_line_with_twelve_names(
        commune: Commune) -> None:
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    await commune.twelve_ask_about_health_cards()
    await commune.ask("Lê Thị Mai", "tan-dan", "Thủ tục vay vốn hộ nghèo cần giấy tờ gì?", topic="vay-ho-ngheo")

    assert await commune.send(JUNE_14_5PM) == 1

    text = await commune.text_for(ORGANIZER)
    assert text.startswith("📋 Ý kiến mới của bà con — ngày 14/6/2023\nCó 13 ý kiến của 13 hộ.")
    (health_line,) = [line for line in text.splitlines() if "(12 hộ)" in line]
    assert all(name in health_line for name in NAMES[:8]) and "và 4 hộ khác" in health_line
    assert "🔹 Giảm nghèo: 13" in text and "• Y tế, thẻ bảo hiểm y tế: 12" in text
    assert '– DT-0013: "Thủ tục vay vốn hộ nghèo cần giấy tờ gì?" — Lê Thị Mai, Ấp Tân Dân' in text
    assert "🏘 Theo ấp: Ấp Tân Dân 4 · Ấp Tân Hùng 3 · Ấp Tân Chủ 3 · Ấp Tân Hậu 3" in text
    assert commune.queued_events == 1


async def test_voice_notes_and_photos_are_listed_with_their_code_to_open_them(commune: Commune) -> None:
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    await commune.ask("Nguyễn Văn An", "tan-hau", None, media="voice")
    await commune.ask("Trần Thị Bình", "tan-chu", None, media="photo", topic="nha-o")

    await commune.send(JUNE_14_5PM)

    text = await commune.text_for(ORGANIZER)
    assert "🎤 DT-0001 — Nguyễn Văn An, Ấp Tân Hậu. /answer DT-0001 để nghe lại" in text
    assert "🖼 DT-0002 — Trần Thị Bình, Ấp Tân Chủ. /answer DT-0002 để xem lại" in text


async def test_the_digest_comes_with_a_chart_and_the_excel_list_in_a_private_folder(
        commune: Commune, settings: Settings) -> None:
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    await commune.twelve_ask_about_health_cards()
    await commune.ask("Lê Thị Mai", "tan-dan", "=HYPERLINK(\"http://x.example\",\"bấm vào\")", topic="vay-ho-ngheo")

    await commune.send(JUNE_14_5PM)

    parts = await commune.digests(ORGANIZER)
    assert [key.rsplit(":", 1)[-1] for key, *_ in parts] == ["text", "chart", "xlsx"]
    assert {priority for _, _, priority, _ in parts} == {Priority.DIGEST}
    chart, sheet = parts[1][3], parts[2][3]
    assert sheet.document_name == "y-kien-moi-14-06-2023.xlsx"
    assert sheet.text == "📎 Danh sách 13 ý kiến mới (tệp Excel)."
    png, rows = read_files(chart.photo_path, sheet.document_path)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # the same column names as the committee report's
    assert rows[0] == ("Mã phiếu", "Ngày gửi", "Ấp", "Họ tên", "Loại hộ", "Loại", "Lĩnh vực", "Nội dung về",
                       "Nội dung", "Tệp đính kèm")
    assert rows[1][:5] == ("DT-0001", datetime(2023, 6, 14, 9, 0), "Ấp Tân Dân", "Nguyễn Văn An", "Hộ nghèo")
    assert len(rows) == 14 and rows[13][8] == "=HYPERLINK(\"http://x.example\",\"bấm vào\")"
    sheet_cell = load_workbook(sheet.document_path).active["I14"]
    assert sheet_cell.data_type == "s"  # a household's text is never a formula
    folder = Path(settings.database.path).parent / "exports"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}


async def test_nothing_new_means_no_message(commune: Commune) -> None:
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")

    assert await commune.send(JUNE_14_5PM) == 0
    assert await commune.digests() == [] and commune.queued_events == 0


# ---- who gets what -----------------------------------------------------------------------------------------------


async def test_each_officer_gets_only_their_hamlet_or_their_topic(commune: Commune) -> None:
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    await commune.staff(TAN_HAU_HEAD, "officer", "Trưởng ấp Tân Hậu", Scope(hamlets=("tan-hau",)))
    await commune.staff(HEALTH_OFFICER, "officer", "Cán bộ y tế", Scope(topics=("y-te",)))
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")
    await commune.ask("Trần Thị Bình", "tan-hau", "Con tôi muốn học nghề sửa xe, xin hỗ trợ.", topic="dao-tao-nghe",
                      field="lao-dong-viec-lam")
    await commune.ask("Lê Văn Cường", "tan-dan", "Xin hỗ trợ tiền mua thẻ bảo hiểm y tế cho hộ cận nghèo.")
    await commune.ask("Phạm Thị Dung", "tan-dan", "Xin vay vốn đi làm việc ở Hàn Quốc.", topic="xuat-khau-lao-dong",
                      field="lao-dong-viec-lam")

    assert await commune.send(JUNE_14_5PM) == 3

    tan_hau, health, everything = [await commune.text_for(who) for who in (TAN_HAU_HEAD, HEALTH_OFFICER, ORGANIZER)]
    assert "Có 2 ý kiến của 2 hộ." in tan_hau and "Nguyễn Văn An" in tan_hau and "Trần Thị Bình" in tan_hau
    assert "Lê Văn Cường" not in tan_hau and "Phạm Thị Dung" not in tan_hau
    assert "Có 2 ý kiến của 2 hộ." in health and "Nguyễn Văn An" in health and "Lê Văn Cường" in health
    assert "Trần Thị Bình" not in health and "Phạm Thị Dung" not in health
    assert "Có 4 ý kiến của 4 hộ." in everything


async def test_admins_in_the_config_get_it_but_not_who_blocked_the_bot(database: Database, settings: Settings
                                                                      ) -> None:
    commune = Commune(database, settings.model_copy(
        update={"bot": settings.bot.model_copy(update={"admins": [3001]})}))
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    async with database.transaction() as conn:  # the organizer once wrote to the bot, then blocked it
        await create_person_with_identity(conn, channel="telegram", external_id=ORGANIZER, chat_id=ORGANIZER,
                                          display_name="Sang", language="vi", now=iso(JUNE_14_MORNING))
        await mark_blocked(conn, "telegram", ORGANIZER, iso(JUNE_14_MORNING))
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")

    assert await commune.send(JUNE_14_5PM) == 1
    assert {chat for _, chat, _, _ in await commune.digests()} == {"3001"}


# ---- once a day, at the right time -------------------------------------------------------------------------------


async def test_never_twice_a_day_even_across_a_restart(commune: Commune, settings: Settings) -> None:
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")
    clock = FrozenClock(JUNE_14_5PM)
    first = DigestScheduler(commune.db, settings, commune.events, clock=clock, scheduler=AsyncIOScheduler())
    assert await first.start() == 1
    stop(first)
    await commune.ask("Trần Thị Bình", "tan-chu", "Xin vay vốn sửa nhà.", topic="nha-o",
                      at=JUNE_14_5PM + timedelta(minutes=30))

    async with Database(settings.database.path) as reopened:  # the bot restarts at 19:00
        clock.advance(hours=2)
        second = DigestScheduler(reopened, settings, commune.events, clock=clock, scheduler=AsyncIOScheduler())
        assert await second.start() == 0
        stop(second)
        assert len(await commune.digests()) == 3

        clock.now = JUNE_14_5PM + timedelta(days=1)  # the next day's digest has only what came since
        assert await send_digests(reopened, settings, clock.now, commune.events) == 1
    text = (await commune.digests())[3][3].text
    assert "ngày 15/6/2023" in text and "Trần Thị Bình" in text and "Nguyễn Văn An" not in text


async def test_a_digest_missed_while_down_is_sent_at_start_only_the_same_day(commune: Commune,
                                                                             settings: Settings) -> None:
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")
    clock = FrozenClock(JUNE_14_5PM - timedelta(minutes=1))

    for moment, expected in ((JUNE_14_5PM - timedelta(minutes=1), 0),       # 16:59: not yet
                             (JUNE_14_5PM + timedelta(hours=16), 0),        # 9:00 next morning: too late
                             (JUNE_14_5PM + timedelta(days=1, hours=3), 1)):  # 20:00 next day: that day's is due
        clock.now = moment
        scheduler = DigestScheduler(commune.db, settings, commune.events, clock=clock,
                                    scheduler=AsyncIOScheduler())
        assert await scheduler.start() == expected, moment
        stop(scheduler)
    assert "ngày 15/6/2023" in await commune.text_for(ORGANIZER)


async def test_the_scheduler_wakes_at_the_configured_local_time(commune: Commune, settings: Settings) -> None:
    evening = settings.model_copy(update={"digest": settings.digest.model_copy(update={"time": "19:30"})})
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")
    clock = FrozenClock(JUNE_14_5PM)  # 17:00, before 19:30
    scheduler = DigestScheduler(commune.db, evening, commune.events, clock=clock, scheduler=AsyncIOScheduler())
    assert await scheduler.start() == 0
    try:
        job = scheduler.scheduler.get_job(JOB_ID)
        assert (job.next_run_time.hour, job.next_run_time.minute) == (19, 30)
        assert str(job.next_run_time.tzinfo) == "Asia/Ho_Chi_Minh"

        clock.now = JUNE_14_5PM + timedelta(hours=2, minutes=30)  # the real scheduler fires it (moved 0.2 s ahead)
        fired = asyncio.Event()
        commune.events.subscribe(OUTBOX_QUEUED, fired.set)
        job.modify(next_run_time=datetime.now(settings.tz) + timedelta(seconds=0.2))
        await asyncio.wait_for(fired.wait(), 2)
    finally:
        stop(scheduler)
    assert "Nguyễn Văn An" in await commune.text_for(ORGANIZER)


async def test_a_digest_turned_off_in_the_config_is_not_sent(commune: Commune, settings: Settings) -> None:
    off = settings.model_copy(update={"digest": settings.digest.model_copy(update={"enabled": False})})
    await commune.staff(ORGANIZER, "organizer", "Phạm Thanh Sang")
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")
    scheduler = DigestScheduler(commune.db, off, commune.events, clock=FrozenClock(JUNE_14_5PM),
                                scheduler=AsyncIOScheduler())

    assert await scheduler.start() == 0
    assert scheduler.scheduler.get_jobs() == [] and await commune.digests() == []
    stop(scheduler)


def test_a_wrong_digest_time_names_the_key() -> None:
    from bot.core.config import ConfigError
    from tests.test_config import example

    data = example()
    data["digest"] = {"time": "5 giờ chiều"}
    with pytest.raises(ConfigError) as caught:
        parse_settings(data)
    assert caught.value.key == "digest.time"
    data["digest"] = {"time": "7:5"}
    with pytest.raises(ConfigError):
        parse_settings(data)
    data["digest"] = {"time": "7:05"}
    assert parse_settings(data).digest.hour_minute == (7, 5)


# ---- /digest on demand -------------------------------------------------------------------------------------------


async def test_digest_on_demand_shows_whats_new_and_the_evening_digest_still_brings_it(
        commune: Commune, engine: Engine) -> None:
    await commune.staff(TAN_HAU_HEAD, "officer", "Trưởng ấp Tân Hậu", Scope(hamlets=("tan-hau",)))
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")
    await commune.ask("Lê Văn Cường", "tan-dan", "Xin hỗ trợ tiền mua thẻ bảo hiểm y tế.")
    head = Household(engine, user_id=TAN_HAU_HEAD)

    await head.command("digest")

    assert "Ý kiến của bà con từ trước đến nay\nCó 1 ý kiến của 1 hộ." in head.text
    assert "Nguyễn Văn An" in head.text and "Lê Văn Cường" not in head.text
    assert "Bản tóm tắt hằng ngày lúc 17:00 vẫn gửi đủ các ý kiến này." in head.text
    files = await commune.digests(TAN_HAU_HEAD)
    assert [key.split(":")[0] for key, *_ in files] == ["digest-now", "digest-now"]
    assert files[0][3].photo_path and files[1][3].document_path

    await head.command("digest")  # nothing new since: the same text, the files are not sent again
    assert t("digest.files_already") in head.text and len(await commune.digests(TAN_HAU_HEAD)) == 2

    await commune.send(JUNE_14_5PM)
    assert "Nguyễn Văn An" in await commune.text_for(TAN_HAU_HEAD)
    await head.command("digest")
    assert head.text == t("digest.nothing_new", since="17 giờ, thứ Tư, ngày 14/6/2023")


async def test_households_cannot_ask_for_the_digest(commune: Commune, engine: Engine) -> None:
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")
    household = Household(engine, user_id="1001")

    await household.command("digest")

    assert t("staff.not_available") in household.text and "Nguyễn Văn An" not in household.text
    assert await commune.digests() == []

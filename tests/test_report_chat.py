"""The report reaches organizers: on /report in the chat, and by itself at each dialogue's submission deadline."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.events import OUTBOX_QUEUED, Events
from bot.core.i18n import t
from bot.outbox.enqueue import Priority
from bot.outbox.sender import ChannelLimits, Sender
from bot.reports.delivery import send_deadline_reports
from handlers.telegram.transport import TelegramTransport
from storage import Database
from tests.fake_telegram import FakeTelegram
from tests.support import Household
from tests.test_report_data import DIALOGUE, Commune

ORGANIZER = "2004"
ADMIN = 9001
DEADLINE = datetime(2027, 6, 15, 8, 30, tzinfo=UTC)   # 15:30 on 15 June: five days before 15:30, 20 June 2027
Grant = Callable[..., Awaitable[None]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"bot": settings.bot.model_copy(update={"admins": [ADMIN]})})


@pytest.fixture
async def commune(database: Database, settings: Settings, grant: Grant) -> Commune:
    await grant(ORGANIZER, "organizer")
    return await Commune(database, settings).setup()


async def queued(database: Database) -> list[dict]:
    async with database.reading() as conn:
        async with conn.execute("SELECT dedupe_key, channel, chat_id, kind, priority, payload FROM outbox"
                                " WHERE kind = 'report' ORDER BY id") as cur:
            rows = await cur.fetchall()
    return [{"key": r[0], "channel": r[1], "chat_id": r[2], "kind": r[3], "priority": r[4], **json.loads(r[5])}
            for r in rows]


# ---- /report --------------------------------------------------------------------------------------------------


async def test_an_organizer_asking_for_the_report_gets_word_excel_and_csv_queued(
        engine: Engine, database: Database, commune: Commune) -> None:
    organizer = Household(engine, ORGANIZER)

    replies = await organizer.command("report", DIALOGUE)

    assert [r.text for r in replies] == [t("report.preparing", id=DIALOGUE)]
    rows = await queued(database)
    assert [Path(r["document_path"]).suffix for r in rows] == [".docx", ".xlsx", ".csv"]
    assert {(r["chat_id"], r["priority"]) for r in rows} == {(ORGANIZER, Priority.DIGEST)}
    assert [r["document_name"] for r in rows] == [f"Bao-cao-tong-hop-{DIALOGUE}.{f}" for f in ("docx", "xlsx", "csv")]
    assert rows[0]["text"].startswith("📄 Báo cáo tổng hợp (Word, để in và ký)")
    assert "5 ý kiến của 5 hộ" in rows[0]["text"]


async def test_the_only_current_dialogue_is_reported_when_none_is_named(
        engine: Engine, database: Database, commune: Commune) -> None:
    await Household(engine, ORGANIZER).command("report")

    assert len(await queued(database)) == 3


async def test_a_household_asking_for_the_report_is_told_it_is_not_available(
        engine: Engine, database: Database, commune: Commune) -> None:
    household = Household(engine, "1001")

    replies = await household.command("report", DIALOGUE)

    assert t("staff.not_available") in [r.text for r in replies]
    assert await queued(database) == []


async def test_a_second_request_sends_again_but_the_same_request_twice_does_not_double(
        engine: Engine, database: Database, commune: Commune, clock: FrozenClock) -> None:
    organizer = Household(engine, ORGANIZER)

    await organizer.command("report", DIALOGUE)
    await organizer.command("report", DIALOGUE)      # the same update handled twice, at the same moment
    assert len(await queued(database)) == 3
    clock.advance(minutes=10)
    await organizer.command("report", DIALOGUE)

    assert len(await queued(database)) == 6


async def test_the_report_of_an_unknown_dialogue_is_explained(
        engine: Engine, database: Database, commune: Commune) -> None:
    replies = await Household(engine, ORGANIZER).command("report", "khong-co")

    assert replies[-1].text == t("dialogues.unknown", id="khong-co")
    assert await queued(database) == []


# ---- at the deadline ----------------------------------------------------------------------------------------------


async def test_at_the_deadline_every_organizer_gets_the_report_once_even_across_a_restart(
        database: Database, settings: Settings, commune: Commune) -> None:
    woken: list[object] = []
    events = Events()
    events.subscribe(OUTBOX_QUEUED, lambda: woken.append(OUTBOX_QUEUED))

    first = await send_deadline_reports(database, settings, DEADLINE, events)
    async with Database(settings.database.path) as restarted:   # the bot restarts and the safety job runs again
        again = await send_deadline_reports(restarted, settings, DEADLINE.replace(minute=35), events)

    rows = await queued(database)
    assert (first, again) == (6, 0) and woken == [OUTBOX_QUEUED]
    assert sorted({r["chat_id"] for r in rows}) == [ORGANIZER, str(ADMIN)]
    assert rows[0]["text"].startswith("⏰ Đã đến hạn tổng hợp câu hỏi gửi các cơ quan trả lời (15 giờ 30 phút")
    assert all(r["key"].startswith(f"report:{DIALOGUE}:20270615T0830Z:") for r in rows)


async def test_before_the_deadline_no_report_is_sent(database: Database, settings: Settings, commune: Commune) -> None:
    assert await send_deadline_reports(database, settings, DEADLINE.replace(minute=29), Events()) == 0
    assert await queued(database) == []


# ---- all the way to Telegram -------------------------------------------------------------------------------------


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    request = HTTPXRequest(connection_pool_size=8, read_timeout=2.0)
    async with Bot(fake_telegram.token, base_url=fake_telegram.base_url, base_file_url=fake_telegram.base_file_url,
                   request=request) as client:
        yield client


async def test_the_organizer_receives_the_three_files_in_telegram(
        engine: Engine, database: Database, commune: Commune, fake_telegram: FakeTelegram, bot: Bot,
        clock: FrozenClock) -> None:
    fake_telegram.user(int(ORGANIZER), "Sang", "Phạm Thanh")
    await Household(engine, ORGANIZER).command("report", DIALOGUE)
    sender = Sender(database, {"telegram": TelegramTransport(bot)}, clock=clock,
                    limits={"telegram": ChannelLimits(rate=200, per_chat_interval=0.0)})

    assert await sender.drain_once() == {"sent": 3}

    calls = fake_telegram.calls_to("sendDocument", int(ORGANIZER))
    assert [c.params["document"].filename for c in calls] == [
        f"Bao-cao-tong-hop-{DIALOGUE}.{f}" for f in ("docx", "xlsx", "csv")]
    received = Document(io.BytesIO(calls[0].params["document"].content))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in received.tables[0].cell(0, 1).text


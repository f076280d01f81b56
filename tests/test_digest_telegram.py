"""The daily digest reaches an officer's Telegram chat: outbox → Sender → TelegramTransport → python-telegram-bot →
real HTTP to the fake Bot API server."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.outbox.sender import ChannelLimits, Sender
from bot.staff.roles import Scope
from handlers.telegram.transport import TelegramTransport
from storage import Database
from tests.fake_telegram import FakeTelegram, Upload
from tests.test_digest import JUNE_14_5PM, TAN_HAU_HEAD, Commune


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    request = HTTPXRequest(connection_pool_size=8, read_timeout=2.0)
    async with Bot(fake_telegram.token, base_url=fake_telegram.base_url, base_file_url=fake_telegram.base_file_url,
                   request=request) as client:
        yield client


async def test_the_digest_reaches_the_hamlet_heads_chat_with_its_chart_and_excel_list(
        fake_telegram: FakeTelegram, bot: Bot, database: Database, settings: Settings) -> None:
    head = fake_telegram.user(int(TAN_HAU_HEAD), "Hậu", "Trưởng ấp Tân")
    commune = Commune(database, settings)
    await commune.staff(TAN_HAU_HEAD, "officer", "Trưởng ấp Tân Hậu", Scope(hamlets=("tan-hau",)))
    await commune.ask("Nguyễn Văn An", "tan-hau", "Khi nào được cấp thẻ bảo hiểm y tế?")
    await commune.ask("Trần Thị Bình", "tan-hau", "Bao giờ được cấp thẻ BHYT ạ?")
    await commune.ask("Lê Văn Cường", "tan-dan", "Xin vay vốn sửa nhà.", topic="nha-o")
    await commune.send(JUNE_14_5PM)

    sender = Sender(database, {"telegram": TelegramTransport(bot)}, clock=FrozenClock(JUNE_14_5PM),
                    limits={"telegram": ChannelLimits(rate=200, per_chat_interval=0.0)})
    assert await sender.drain_once() == {"sent": 3}

    text, chart, sheet = fake_telegram.bot_messages(head.id)
    assert text["text"].startswith("📋 Ý kiến mới của bà con — ngày 14/6/2023\nCó 2 ý kiến của 2 hộ.")
    assert ('"Khi nào được cấp thẻ bảo hiểm y tế?" (2 hộ): Nguyễn Văn An, Trần Thị Bình. Mã phiếu: DT-0001, DT-0002'
            in text["text"]), "a merged line lists every code, so each one can be answered"
    assert "Lê Văn Cường" not in text["text"]
    assert chart["caption"] == "📊 Số ý kiến mới theo chủ đề và theo ấp." and "photo" in chart
    (photo_call,) = fake_telegram.calls_to("sendPhoto", head.id)
    upload = photo_call.params["photo"]
    assert isinstance(upload, Upload) and upload.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert sheet["document"]["file_name"] == "y-kien-moi-14-06-2023.xlsx"
    (document_call,) = fake_telegram.calls_to("sendDocument", head.id)
    received = load_workbook(io.BytesIO(document_call.params["document"].content))
    rows = list(received.active.iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[3]) for row in rows] == [("DT-0001", "Nguyễn Văn An"), ("DT-0002", "Trần Thị Bình")]

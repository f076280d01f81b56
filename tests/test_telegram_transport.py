"""The Telegram transport through a real python-telegram-bot Bot talking HTTP to the fake Bot API server."""

from __future__ import annotations

import asyncio
import datetime as dtm
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Bot
from telegram.error import NetworkError, RetryAfter
from telegram.request import HTTPXRequest

from bot.core.clock import FrozenClock, iso
from bot.core.qr import qr_png
from bot.core.types import Choice, Message
from bot.outbox.enqueue import Priority, Recipient, SendResult, SendStatus, enqueue
from bot.outbox.sender import ChannelLimits, Sender
from handlers.telegram.format import retry_after_seconds
from handlers.telegram.transport import TelegramTransport
from storage import outbox
from storage.db import Database
from storage.people import create_person_with_identity
from tests.fake_telegram import FakeTelegram, Upload, buttons

START = datetime(2023, 6, 15, 2, 0, tzinfo=UTC)
# PTB itself reads the deprecated int form of retry_after while building RetryAfter.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
CHOICES = (Choice("yes", "Tôi sẽ tham dự"), Choice("no", "Tôi không đến được"), Choice("later", "Để sau"))


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    request = HTTPXRequest(connection_pool_size=32, read_timeout=1.0)
    async with Bot(fake_telegram.token, base_url=fake_telegram.base_url, base_file_url=fake_telegram.base_file_url,
                   request=request) as client:
        yield client


@pytest.fixture
def transport(bot: Bot) -> TelegramTransport:
    return TelegramTransport(bot)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "outbox.sqlite3").open()
    yield database
    await database.close()


def sender_for(db: Database, transport: TelegramTransport, clock: FrozenClock) -> Sender:
    return Sender(db, {"telegram": transport}, clock=clock, rng=random.Random(3),
                  limits={"telegram": ChannelLimits(rate=200, per_chat_interval=0.0)})


async def queue(db: Database, clock: FrozenClock, key: str, chat_id: int, text: str = "Nhắc lịch đối thoại",
                person_id: int | None = None) -> None:
    async with db.transaction() as conn:
        await enqueue(conn, key=key, recipient=Recipient(person_id, "telegram", str(chat_id)), kind="reminder",
                      message=Message(text), priority=Priority.REMINDER, now=clock())


async def row(db: Database, key: str) -> tuple[str, int, str | None]:
    async with db.reading() as conn:
        found = await outbox.get_row_status(conn, key)
    assert found is not None
    return found


# ---- what arrives ---------------------------------------------------------------------------------------------------


async def test_text_with_choices_arrives_with_an_inline_keyboard(fake_telegram: FakeTelegram,
                                                                 transport: TelegramTransport) -> None:
    user = fake_telegram.user(1001)
    message = Message("Bà/ông có tham dự buổi đối thoại ngày 20/6 không?", choices=CHOICES, columns=2)

    assert await transport.send("1001", message) == SendResult(SendStatus.SENT)

    (sent,) = fake_telegram.bot_messages(user.id)
    assert sent["text"] == message.text
    rows = sent["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in r] for r in rows] == [["Tôi sẽ tham dự", "Tôi không đến được"], ["Để sau"]]
    assert [b["callback_data"] for b in buttons(sent)] == ["0:yes", "0:no", "0:later"]


async def test_qr_code_is_sent_as_a_photo_with_the_text_as_caption(fake_telegram: FakeTelegram,
                                                                   transport: TelegramTransport) -> None:
    fake_telegram.user(1001)
    message = Message("Mã check-in của bà/ông: đưa mã này cho cán bộ ở cửa.", qr="checkin:d1:p42:7QX")

    assert (await transport.send("1001", message)).status is SendStatus.SENT

    (call,) = fake_telegram.calls_to("sendPhoto", 1001)
    upload = call.params["photo"]
    assert isinstance(upload, Upload) and upload.content == qr_png("checkin:d1:p42:7QX")
    assert call.params["caption"] == message.text and fake_telegram.calls_to("sendMessage") == []


async def test_a_caption_too_long_for_a_photo_goes_first_as_text(fake_telegram: FakeTelegram,
                                                                 transport: TelegramTransport) -> None:
    fake_telegram.user(1001)
    text = "Hướng dẫn đến hội trường xã. " * 50   # ~1500 characters: more than a caption may hold
    message = Message(text, qr="checkin:d1:p42:7QX", choices=(Choice("ok", "Đã hiểu"),))

    assert (await transport.send("1001", message)).status is SendStatus.SENT

    texts, photos = fake_telegram.calls_to("sendMessage", 1001), fake_telegram.calls_to("sendPhoto", 1001)
    assert [c.params["text"] for c in texts] == [text] and "reply_markup" not in texts[0].params
    assert "caption" not in photos[0].params and photos[0].params["reply_markup"]["inline_keyboard"]
    assert [m.get("photo") is not None for m in fake_telegram.bot_messages(1001)] == [False, True]


async def test_photo_by_url_and_document_with_its_name(fake_telegram: FakeTelegram, transport: TelegramTransport,
                                                       tmp_path: Path) -> None:
    fake_telegram.user(1001)
    report = tmp_path / "report.xlsx"
    report.write_bytes(b"PK\x03\x04 fake workbook")

    photo = Message("Ảnh buổi đối thoại", photo="https://example.org/doi-thoai.jpg")
    document = Message("Báo cáo tổng hợp ý kiến", document_path=str(report), document_name="bao-cao-ap-tan-hau.xlsx")
    missing = Message("Báo cáo", document_path=str(tmp_path / "gone.xlsx"))

    assert (await transport.send("1001", photo)).status is SendStatus.SENT
    assert (await transport.send("1001", document)).status is SendStatus.SENT
    assert await transport.send("1001", missing) == SendResult(SendStatus.FAILED, error="document not found")

    (photo_call,) = fake_telegram.calls_to("sendPhoto", 1001)
    assert photo_call.params["photo"] == "https://example.org/doi-thoai.jpg"
    (sent,) = [m for m in fake_telegram.bot_messages(1001) if "document" in m]
    assert sent["document"]["file_name"] == "bao-cao-ap-tan-hau.xlsx" and sent["caption"] == document.text
    assert fake_telegram.calls_to("sendDocument", 1001)[0].params["document"].content == report.read_bytes()


async def test_long_text_is_split_with_the_keyboard_on_the_last_part(fake_telegram: FakeTelegram,
                                                                     transport: TelegramTransport) -> None:
    fake_telegram.user(1001)
    lines = [f"{n}. Ý kiến của hộ dân về chính sách vay vốn giải quyết việc làm, ấp Tân Hậu." for n in range(1, 121)]
    text = "\n".join(lines)   # ~9,000 characters
    message = Message(text, choices=(Choice("more", "Xem thêm"),))

    assert (await transport.send("1001", message)).status is SendStatus.SENT

    sent = fake_telegram.bot_messages(1001)
    assert len(sent) == 3 and all(len(m["text"]) <= 4096 for m in sent)
    assert "\n".join(m["text"] for m in sent) == text
    assert [bool(buttons(m)) for m in sent] == [False, False, True]


# ---- how failures map -----------------------------------------------------------------------------------------------


async def test_403_marks_the_row_blocked_and_the_household_unreachable(
    fake_telegram: FakeTelegram, transport: TelegramTransport, db: Database, clock: FrozenClock,
) -> None:
    user = fake_telegram.user(1001)
    async with db.transaction() as conn:
        person = await create_person_with_identity(conn, channel="telegram", external_id="1001", chat_id="1001",
                                                   display_name="Bình", language="vi", now=iso(clock()))
    await queue(db, clock, "first", user.id, person_id=person.id)
    fake_telegram.block(user)

    assert await sender_for(db, transport, clock).drain_once() == {"blocked": 1}
    await queue(db, clock, "second", user.id, person_id=person.id)
    assert await sender_for(db, transport, clock).drain_once() == {"skipped": 1}

    assert await row(db, "first") == ("blocked", 1, "Forbidden: bot was blocked by the user")
    assert await row(db, "second") == ("skipped", 0, "blocked")
    async with db.reading() as conn, conn.execute("SELECT blocked_at FROM identities") as cur:
        assert (await cur.fetchone())[0] == iso(START)
    assert len(fake_telegram.calls_to("sendMessage")) == 1


async def test_429_retry_after_is_honoured(fake_telegram: FakeTelegram, transport: TelegramTransport,
                                           db: Database, clock: FrozenClock) -> None:
    fake_telegram.user(1001)
    await queue(db, clock, "reminder", 1001)
    fake_telegram.fail("sendMessage", status=429, retry_after=1)
    sender = sender_for(db, transport, clock)

    assert await sender.drain_once() == {"retried": 1}
    assert await row(db, "reminder") == ("pending", 1, "Flood control exceeded. Retry in 1 seconds")
    clock.advance(seconds=1)
    assert await sender.drain_once() == {"sent": 1}

    refused, accepted = fake_telegram.calls_to("sendMessage", 1001)
    assert refused.error and refused.error["error_code"] == 429 and accepted.ok
    assert accepted.at - refused.at >= 0.95          # the channel stayed paused for retry_after (second accuracy)


async def test_chat_not_found_fails_the_row(fake_telegram: FakeTelegram, transport: TelegramTransport,
                                            db: Database, clock: FrozenClock) -> None:
    await queue(db, clock, "nobody", 424242)

    assert await sender_for(db, transport, clock).drain_once() == {"failed": 1}
    assert await row(db, "nobody") == ("failed", 1, "Chat not found")


async def test_other_bad_requests_fail_and_server_errors_retry(fake_telegram: FakeTelegram,
                                                               transport: TelegramTransport) -> None:
    fake_telegram.user(1001)
    fake_telegram.fail("sendMessage", status=400, description="Bad Request: can't parse entities")
    fake_telegram.fail("sendMessage", status=502)
    fake_telegram.fail("sendMessage", status=400, description="Bad Request: user is deactivated")
    fake_telegram.slow("sendMessage", 2.0)   # longer than the bot's read timeout
    message = Message("Xin chào")

    results = [await transport.send("1001", message) for _ in range(4)]

    assert [r.status for r in results] == [SendStatus.FAILED, SendStatus.RETRY, SendStatus.BAD_CHAT, SendStatus.RETRY]
    assert results[0].error == "Can't parse entities" and results[3].error == "Timed out"


def test_retry_after_in_seconds_from_int_or_timedelta() -> None:
    assert retry_after_seconds(RetryAfter(7)) == 7.0
    assert retry_after_seconds(RetryAfter(dtm.timedelta(seconds=2, milliseconds=500))) == 2.5


async def test_error_texts_never_carry_the_token(bot: Bot, transport: TelegramTransport) -> None:
    async def leaky(*args: object, **kwargs: object) -> None:
        raise NetworkError(f"connect failed: https://api.telegram.org/bot{bot.token}/sendMessage")

    transport._bot = type("Leaky", (), {"token": bot.token, "send_message": staticmethod(leaky),  # type: ignore
                                        "do_api_request": staticmethod(leaky)})()
    result = await transport.send("1001", Message("Xin chào"))
    assert result.status is SendStatus.RETRY and bot.token not in result.error and "***" in result.error


async def test_concurrent_sends_through_one_bot(fake_telegram: FakeTelegram, transport: TelegramTransport) -> None:
    for n in range(20):
        fake_telegram.user(3000 + n)
    results = await asyncio.gather(*(transport.send(str(3000 + n), Message(f"Tin {n}")) for n in range(20)))
    assert all(r.status is SendStatus.SENT for r in results)
    assert sorted(c.chat_id for c in fake_telegram.calls_to("sendMessage")) == list(range(3000, 3020))


"""What the bot sends on its own reaches Zalo: outbox rows through the Sender and the Zalo transport, over real
HTTP to the fake Zalo Bot API, with Zalo's limits and errors."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.cli.runtime import seed_dialogues
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.events import Events
from bot.core.i18n import t
from bot.core.types import Choice, Message
from bot.dialogues.reminders import plan, run_wave
from bot.outbox.enqueue import Priority, Recipient, SendStatus, enqueue, recipient_for_person
from bot.outbox.sender import ChannelLimits, Sender
from handlers.zalo.channel import ZaloChannel
from handlers.zalo.client import ZaloClient
from handlers.zalo.transport import TOKEN_PAUSE, ZaloTransport, zalo_limits
from storage import Database, outbox
from storage import dialogues as dialogue_repo
from tests.fake_zalo import FakeZalo, ZaloChat

DIALOGUE_ID = "tan-thuan-tay-2027"
THREE_DAYS_BEFORE = datetime(2027, 6, 17, 8, 31, tzinfo=UTC)  # the dialogue is at 15:30 20/6/2027 (08:30 UTC)
PHOTO = "https://photo-stal.zadn.vn/thong-bao/doi-thoai-2027.jpg"


@pytest.fixture
async def client(fake_zalo: FakeZalo) -> AsyncIterator[ZaloClient]:
    client = ZaloClient(fake_zalo.token, fake_zalo.base_url, timeout=0.5)
    yield client
    await client.aclose()


@pytest.fixture
def transport(client: ZaloClient) -> ZaloTransport:
    return ZaloTransport(client)


def sender_for(database: Database, transport: ZaloTransport, clock: FrozenClock) -> Sender:
    return Sender(database, {"zalo": transport}, clock=clock, rng=random.Random(6),
                  limits={"zalo": ChannelLimits(rate=200, per_chat_interval=0.0)})


async def registered_household(chat: ZaloChat, database: Database, settings: Settings, clock: FrozenClock) -> int:
    """A household that registered for the seed 000 dialogue on Zalo; its person id."""
    await seed_dialogues(database, settings, clock)
    for text in ("/start", "1", "Nguyễn Thị Bình", "tan hau", "1", "0912 345 678", "/dialogue", "1"):
        await chat.say(text)
    async with database.reading() as conn, conn.execute("SELECT person_id FROM registrations") as cur:
        return int((await cur.fetchone())[0])


async def queue(database: Database, clock: FrozenClock, key: str, recipient: Recipient, message: Message,
                priority: Priority = Priority.BROADCAST) -> None:
    async with database.transaction() as conn:
        await enqueue(conn, key=key, recipient=recipient, kind="broadcast", message=message, priority=priority,
                      now=clock())


async def status(database: Database, key: str) -> tuple[str, int, str | None]:
    async with database.reading() as conn:
        found = await outbox.get_row_status(conn, key)
    assert found is not None
    return found


# ---- reminders and broadcasts reach a Zalo household ----------------------------------------------------------------


async def test_a_reminder_reaches_a_zalo_household_who_answers_with_attend(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("5c1a7e"))
    await registered_household(chat, database, settings, clock)
    async with database.reading() as conn:
        dialogue = await dialogue_repo.get_dialogue(conn, DIALOGUE_ID)
    assert dialogue is not None
    wave = next(w for w in plan(dialogue, THREE_DAYS_BEFORE) if w.due(THREE_DAYS_BEFORE))
    assert await run_wave(database, settings, wave, THREE_DAYS_BEFORE, Events()) == 1

    clock.now = THREE_DAYS_BEFORE
    assert await sender_for(database, zalo_channel.transport, clock).drain_once() == {"sent": 1}
    reminder = chat.texts[-1]
    assert "Còn 3 ngày nữa" in reminder and "Trung tâm Văn hóa - Học tập cộng đồng xã Tân Thuận Tây" in reminder
    assert reminder.endswith(t("zalo.reply_attendance"))

    replies = await chat.say("/attend")
    assert replies[0] == t("registration.see_you")
    async with database.reading() as conn, conn.execute("SELECT attending FROM registrations") as cur:
        assert (await cur.fetchone())[0] == "yes"


async def test_a_broadcast_with_an_image_url_reaches_a_zalo_household(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("77aa01"))
    person_id = await registered_household(chat, database, settings, clock)
    async with database.reading() as conn:
        recipient = await recipient_for_person(conn, person_id)
    assert recipient is not None and recipient.channel == "zalo" and recipient.chat_id == "chat-77aa01"
    text = "📢 UBND xã Tân Thuận Tây thông báo: buổi đối thoại dời sang 15 giờ 30 phút, thứ Ba, ngày 22/6/2027."
    await queue(database, clock, "broadcast:1:1", recipient, Message(text, photo=PHOTO))
    await queue(database, clock, "broadcast:2:1", recipient, Message("Ảnh buổi họp", photo="AgACAgUAAxkBAAI"))

    assert await sender_for(database, zalo_channel.transport, clock).drain_once() == {"sent": 2}
    photo, text_only = fake_zalo.sent["chat-77aa01"][-2:]
    assert photo["photo"] == PHOTO and photo["caption"] == text
    assert text_only["text"] == "Ảnh buổi họp\n\n" + t("zalo.image_elsewhere")


# ---- how each message is rendered ---------------------------------------------------------------------------------


async def test_a_long_message_is_split_into_parts_of_at_most_2000_characters(
    transport: ZaloTransport, fake_zalo: FakeZalo,
) -> None:
    user = fake_zalo.user("b16b00")
    digest = "\n".join(f"DT-{i:04d} · Ấp Tân Dân · Vay vốn hộ nghèo: xin hỏi thủ tục và thời gian giải ngân?"
                       for i in range(60))
    assert len(digest) > 4000
    result = await transport.send(user.chat_id, Message(digest))
    assert result.status is SendStatus.SENT
    parts = fake_zalo.texts(user.chat_id)
    assert len(parts) == 3 and all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts) == digest


async def test_a_qr_code_goes_as_its_check_in_code_and_a_file_as_a_note(
    transport: ZaloTransport, fake_zalo: FakeZalo, tmp_path: object,
) -> None:
    user = fake_zalo.user("d1a109")
    await transport.send(user.chat_id, Message("Mã của ông/bà", qr="DOITHOAI-CHECKIN:K7P2QX"))
    await transport.send(user.chat_id, Message("Báo cáo tổng hợp", document_path="/tmp/bao-cao.xlsx",
                                                  document_name="bao-cao-tan-thuan-tay.xlsx"))
    assert fake_zalo.texts(user.chat_id) == [
        "Mã của ông/bà\n\n" + t("zalo.checkin_code", code="K7P2QX"),
        "Báo cáo tổng hợp\n\n" + t("zalo.file_elsewhere", name="bao-cao-tan-thuan-tay.xlsx"),
    ]
    assert fake_zalo.calls_to("sendPhoto") == []


async def test_choices_without_a_typed_command_are_listed_as_plain_points(
    transport: ZaloTransport, fake_zalo: FakeZalo,
) -> None:
    user = fake_zalo.user("c0ffee")
    message = Message("Ông/bà có đến được không?",
                      choices=(Choice("att:7:yes", "✅ Tôi sẽ đến"), Choice("poll:1", "Để sau")))
    await transport.send(user.chat_id, message)
    assert fake_zalo.texts(user.chat_id) == [
        "Ông/bà có đến được không?\n\n" + t("zalo.choice_command", command="/attend", label="✅ Tôi sẽ đến")
        + "\n\n• Để sau"]


# ---- Zalo's errors ------------------------------------------------------------------------------------------------


async def test_quota_exceeded_backs_off_and_the_message_goes_later(
    transport: ZaloTransport, fake_zalo: FakeZalo, database: Database, clock: FrozenClock,
) -> None:
    user = fake_zalo.user("5c1a7e")
    await queue(database, clock, "reminder:1", Recipient(None, "zalo", user.chat_id), Message("Nhắc lịch"),
                Priority.REMINDER)
    fake_zalo.fail("sendMessage", code=429)
    sender = sender_for(database, transport, clock)
    assert await sender.drain_once() == {"retried": 1}
    assert await status(database, "reminder:1") == ("pending", 1, "429 Quota exceeded")
    assert await sender.drain_once() == {}  # not due again yet: backing off
    clock.advance(seconds=10)
    assert await sender.drain_once() == {"sent": 1}
    assert fake_zalo.texts(user.chat_id) == ["Nhắc lịch"]


async def test_quota_exceeded_with_retry_after_is_honoured(transport: ZaloTransport, fake_zalo: FakeZalo) -> None:
    fake_zalo.fail("sendMessage", code=429, retry_after=7)
    result = await transport.send(fake_zalo.user("5c1a7e").chat_id, Message("Nhắc lịch"))
    assert (result.status, result.retry_after) == (SendStatus.RETRY, 7)


@pytest.mark.parametrize(("fault", "expected"), [
    ({"code": 403}, SendStatus.RETRY),  # Zalo's "internal server error", not a block
    ({"code": 400, "description": "Bad Request: chat not found"}, SendStatus.BAD_CHAT),
    ({"code": 400, "description": "Bad Request: text is too long"}, SendStatus.FAILED),
    ({"code": 500}, SendStatus.RETRY),
    ({"code": 502, "raw": True, "http_status": 502}, SendStatus.RETRY),
    ({"code": 503, "http_status": 503}, SendStatus.RETRY),
    ({"code": None, "delay": 1.0}, SendStatus.RETRY),  # the client gives up after 0.5 s
])
async def test_each_zalo_error_becomes_the_right_outcome(
    transport: ZaloTransport, fake_zalo: FakeZalo, fault: dict, expected: SendStatus,
) -> None:
    fake_zalo.fail("sendMessage", **fault)
    result = await transport.send(fake_zalo.user("5c1a7e").chat_id, Message("Nhắc lịch"))
    assert result.status is expected
    assert fake_zalo.token not in result.error


async def test_a_403_is_retried_and_never_silences_the_household(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("77aa01"))
    person_id = await registered_household(chat, database, settings, clock)
    async with database.reading() as conn:
        recipient = await recipient_for_person(conn, person_id)
    assert recipient is not None
    fake_zalo.fail("sendMessage", code=403, chat_id=chat.user.chat_id)
    await queue(database, clock, "broadcast:1:1", recipient, Message("Thông báo 1"))
    assert await sender_for(database, zalo_channel.transport, clock).drain_once() == {"retried": 1}
    async with database.reading() as conn, conn.execute("SELECT blocked_at FROM identities") as cur:
        assert (await cur.fetchone())[0] is None
    clock.advance(minutes=10)
    assert await sender_for(database, zalo_channel.transport, clock).drain_once() == {"sent": 1}
    assert fake_zalo.texts(chat.user.chat_id)[-1] == "Thông báo 1"


async def test_an_invalid_token_holds_the_zalo_outbox_without_calling_zalo_again(
    transport: ZaloTransport, client: ZaloClient, fake_zalo: FakeZalo,
) -> None:
    told: list[str] = []
    client.on_token_rejected(lambda: told.append("stop"))
    fake_zalo.reject_token()
    chat_id = fake_zalo.user("5c1a7e").chat_id
    first = await transport.send(chat_id, Message("Nhắc lịch"))
    calls = len(fake_zalo.calls)
    second = await transport.send(chat_id, Message("Nhắc lịch"))
    assert (first.status, first.retry_after) == (second.status, second.retry_after) == (SendStatus.RETRY, TOKEN_PAUSE)
    assert len(fake_zalo.calls) == calls
    assert told == ["stop"]


def test_zalo_limits_come_from_the_config(settings: Settings) -> None:
    zalo = settings.zalo.model_copy(update={"send_rate": 5.0, "max_attempts": 8})
    limits = zalo_limits(settings.model_copy(update={"zalo": zalo}))
    assert (limits.rate, limits.max_attempts) == (5.0, 8)

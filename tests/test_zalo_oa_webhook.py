"""The OA webhook: a wrong signature is refused (403, nothing processed), a right one in either shape is
acknowledged at once, a repeated event is handled once, echoes of the OA's own sends are not a household speaking,
an image is kept as a file (its URL expires), receipts mark the outbox row delivered."""

from __future__ import annotations

import os
import stat

from bot.core.clock import FrozenClock
from bot.core.i18n import t
from bot.core.types import Message
from bot.outbox.enqueue import Priority, Recipient, enqueue
from handlers.zalo_oa.channel import ZaloOAChannel
from storage import Database, media
from tests.fake_zalo_oa import FakeZaloOA, wait_for
from tests.zalo_oa_support import oa_chat, rows


async def count(database: Database, table: str) -> int:
    return (await rows(database, f"SELECT COUNT(*) FROM {table}"))[0][0]


async def test_a_wrong_signature_gets_403_and_nothing_is_processed(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database,
) -> None:
    user = fake_oa.follower("8000000000000000001")
    event = fake_oa.text_event(user, "/start")
    assert await fake_oa.push(event, secret="not-the-oa-secret") == 403
    assert await fake_oa.push(event, app_id=fake_oa.OA_ID) == 403  # signed with the OA id: not the documented input
    body, headers = fake_oa.signed(event)
    assert await fake_oa.post(body.replace(b"/start", b"/forget"), headers) == 403  # the body changed after signing
    assert await fake_oa.post(body, {"Content-Type": "application/json"}) == 403  # no signature at all
    assert await fake_oa.post(b"not json", headers) == 403
    assert fake_oa.observed == [] and fake_oa.sent == {}
    assert (await count(database, "persons"), await count(database, "processed_events")) == (0, 0)


async def test_a_signature_with_or_without_mac_prefix_is_accepted_and_acknowledged_at_once(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA,
) -> None:
    user = fake_oa.follower("8000000000000000001")
    assert await fake_oa.push(fake_oa.text_event(user, "/start"), prefix="") == 200
    event = fake_oa.text_event(user, "/help")
    assert await fake_oa.push(event) == 200
    await fake_oa.handled(event)


async def test_a_repeated_event_is_handled_once(oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA,
                                                database: Database) -> None:
    chat = oa_chat(fake_oa)
    event = fake_oa.text_event(chat.user, "/start")
    first = await fake_oa.send(event)
    assert await fake_oa.push(event) == 200
    assert await fake_oa.push(event) == 200
    await fake_oa.handled(event, times=3)
    assert len(fake_oa.sent[chat.user.id]) == len(first)
    assert await count(database, "processed_events") == 1


async def test_echoes_of_the_oas_own_sends_are_ignored(oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA,
                                                       database: Database) -> None:
    user = fake_oa.follower("8000000000000000001")
    echo = fake_oa.event(user, "oa_send_text", message={"text": "Xin chào"})
    assert await fake_oa.push(echo) == 200
    await fake_oa.handled(echo)
    assert fake_oa.observed == [(echo["message"]["msg_id"], False)]
    assert await count(database, "persons") == 0


async def test_an_image_is_kept_as_a_private_file_and_opens_after_its_url_expired(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database,
) -> None:
    chat = oa_chat(fake_oa)
    await chat.say("/start")
    await chat.tap(t("form.consent_yes"))
    await chat.say("Nguyễn Thị Bình")
    await chat.say("2")
    await chat.say("1")
    await chat.say("0912345678")
    await chat.say("1")
    await chat.say("1")
    await chat.say("1")
    await chat.send(fake_oa.image_event(chat.user, caption="Giấy chứng nhận hộ nghèo của tôi"))
    await chat.tap(t("form.submit"))
    fake_oa.media_expired = True

    [(ref, kind)] = await rows(database, "SELECT media_file_id, media_kind FROM submissions")
    assert kind == "photo" and ref.startswith("kept:")
    path = media.path_of(database, ref)
    assert path is not None and path.read_bytes().startswith(b"\x89PNG")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


async def test_a_delivery_receipt_marks_the_row_delivered(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    chat = oa_chat(fake_oa)
    await chat.say("/start")
    [(person_id,)] = await rows(database, "SELECT id FROM persons")
    async with database.transaction() as conn:
        await enqueue(conn, key="notice:1", recipient=Recipient(person_id, "zalo_oa", chat.user.id),
                      kind="notice", message=Message("Buổi đối thoại dời sang 8 giờ."), priority=Priority.NOTICE,
                      now=clock())
        await conn.execute("UPDATE outbox SET status = 'sent', platform_msg_id = 'oa77', route = 'consultation'")
    receipt = fake_oa.event(chat.user, "user_received_message", message={"msg_id": "oa77"})
    assert await fake_oa.push(receipt) == 200
    await wait_for(lambda: fake_oa.observed[-1][0] == "oa77")
    assert await rows(database, "SELECT delivered_at IS NOT NULL FROM outbox") == [(1,)]

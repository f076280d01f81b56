"""The interaction window: the outbox sends each OA message by the route the household's window allows.

Inside the window (the household wrote within 48 hours, fewer than 8 OA messages since) a reminder is a consultation
message; outside it, a ZNS template to the household's phone; with no phone (and no proactive quota) it waits, is
counted as not reachable on Zalo, and goes as soon as the household writes. Nothing is sent twice.
"""

from __future__ import annotations

from dataclasses import replace

from bot.broadcast.service import route_lines
from bot.core.clock import FrozenClock
from bot.core.i18n import t
from bot.core.types import Choice, Message
from bot.outbox.enqueue import Priority, Recipient, enqueue
from bot.outbox.sender import Sender
from handlers.zalo_oa.channel import ZaloOAChannel
from storage import Database, outbox
from tests.fake_zalo_oa import FakeZaloOA, OAChat, buttons_of
from tests.zalo_oa_support import ZNS_REMINDER, oa_chat, rows

FIELDS = {"name": "Nguyễn Thị Bình", "title": "Đối thoại chính sách giảm nghèo năm 2023",
          "time": "15 giờ 30 phút, thứ Ba, ngày 20/6/2023", "place": "Trung tâm Văn hóa xã Tân Thuận Tây"}
REMINDER = Message("🔔 Nhắc lịch: buổi đối thoại là ngày mai, 15 giờ 30.",
                   (Choice("att:1:yes", "✅ Tôi sẽ đến"), Choice("att:1:no", "❌ Không đến được")))


async def household(chat: OAChat, *, phone: bool) -> int:
    await chat.say("/start")
    await chat.tap(t("form.consent_yes"))
    await chat.say("Nguyễn Thị Bình")
    await chat.say("2")
    await chat.say("1")
    if phone:
        await chat.send(chat.fake.submit_info_event(chat.user))
    else:
        await chat.say("3")  # skip
    return 1


async def queue_reminder(database: Database, clock: FrozenClock, chat: OAChat, key: str = "reminder:w1:1") -> None:
    [(person_id,)] = await rows(database, "SELECT person_id FROM identities WHERE external_id = ?", chat.user.id)
    async with database.transaction() as conn:
        await enqueue(conn, key=key, recipient=Recipient(person_id, "zalo_oa", chat.user.id), kind="reminder",
                      message=REMINDER, priority=Priority.REMINDER, now=clock(), fields=FIELDS)


def sender(database: Database, channel: ZaloOAChannel, clock: FrozenClock) -> Sender:
    limits = replace(channel.limits, per_chat_interval=0)
    return Sender(database, {"zalo_oa": channel.transport}, clock=clock, limits={"zalo_oa": limits})


async def test_a_reminder_inside_the_window_goes_as_a_consultation_message_with_its_buttons(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    chat = oa_chat(fake_oa)
    await household(chat, phone=True)
    await queue_reminder(database, clock, chat)
    clock.advance(hours=20)
    assert (await sender(database, oa_channel, clock).drain_once()) == {"sent": 1}
    last = fake_oa.sent[chat.user.id][-1]
    assert last["text"].startswith("🔔 Nhắc lịch") and [b["title"] for b in buttons_of(last)] == [
        "✅ Tôi sẽ đến", "❌ Không đến được"]
    assert fake_oa.zns == []
    assert await rows(database, "SELECT status, route FROM outbox") == [("sent", "consultation")]

    replies = await chat.tap("✅ Tôi sẽ đến")  # the tap answers the reminder whatever the step
    assert replies


async def test_outside_the_window_a_reminder_goes_by_zns_to_the_households_phone_once(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    chat = oa_chat(fake_oa)
    await household(chat, phone=True)
    await queue_reminder(database, clock, chat)
    clock.advance(hours=72)
    assert (await sender(database, oa_channel, clock).drain_once()) == {"sent": 1}
    [zns] = fake_oa.zns
    assert zns["phone"] == "84912345678" and zns["template_id"] == ZNS_REMINDER
    assert zns["tracking_id"] == "reminder:w1:1"
    assert zns["template_data"] == {"ten": FIELDS["name"], "cuoc": FIELDS["title"], "thoi_gian": FIELDS["time"],
                                    "dia_diem": FIELDS["place"]}
    assert await rows(database, "SELECT status, route, platform_msg_id FROM outbox") == [
        ("sent", "zns", zns["msg_id"])]
    assert (await sender(database, oa_channel, clock).drain_once()) == {}
    assert len(fake_oa.zns) == 1

    receipt = fake_oa.event(chat.user, "user_received_message", message={"msg_id": zns["msg_id"],
                                                                          "tracking_id": "reminder:w1:1"})
    assert await fake_oa.push(receipt) == 200
    await fake_oa.handled(receipt)
    assert await rows(database, "SELECT delivered_at IS NOT NULL FROM outbox") == [(1,)]


async def test_outside_the_window_without_a_phone_a_reminder_waits_and_goes_when_the_household_writes(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    chat = oa_chat(fake_oa)
    await household(chat, phone=False)
    await queue_reminder(database, clock, chat)
    clock.advance(hours=72)
    before = len(fake_oa.sent[chat.user.id])
    assert (await sender(database, oa_channel, clock).drain_once()) == {"waiting": 1}
    assert fake_oa.zns == [] and len(fake_oa.sent[chat.user.id]) == before
    async with database.reading() as conn:
        assert await outbox.tally_routes(conn) == {"wait": 1}
    assert await rows(database, "SELECT status, route, attempts FROM outbox") == [("pending", "wait", 0)]

    await chat.say("Chào cán bộ")  # the household writes: its window opens, the reminder is due at once
    assert (await sender(database, oa_channel, clock).drain_once()) == {"sent": 1}
    assert fake_oa.sent[chat.user.id][-1]["text"].startswith("🔔 Nhắc lịch")
    assert await rows(database, "SELECT status, route FROM outbox") == [("sent", "consultation")]


async def test_past_the_free_messages_of_the_window_a_reminder_goes_by_zns(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    chat = oa_chat(fake_oa)
    await household(chat, phone=True)
    [(person_id, spent)] = await rows(database, "SELECT i.person_id, w.sent_since FROM outbox_windows w"
                                                " JOIN identities i ON i.chat_id = w.chat_id")
    async with database.transaction() as conn:  # the officers' answers spend the rest of the eight
        for n in range(8 - spent):
            await enqueue(conn, key=f"answer:{n}", recipient=Recipient(person_id, "zalo_oa", chat.user.id),
                          kind="answer", message=Message(f"Trả lời số {n + 1}"), priority=Priority.ANSWER,
                          now=clock())
    assert (await sender(database, oa_channel, clock).drain_once()) == {"sent": 8 - spent}
    assert await rows(database, "SELECT sent_since FROM outbox_windows") == [(8,)]
    await queue_reminder(database, clock, chat)
    assert (await sender(database, oa_channel, clock).drain_once()) == {"sent": 1}
    assert [z["tracking_id"] for z in fake_oa.zns] == ["reminder:w1:1"]
    assert [c.error for c in fake_oa.calls_to("message/cs")].count(-230) == 0  # our count agreed with Zalo's


async def test_a_consultation_refused_for_the_window_is_routed_again_not_lost(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    chat = oa_chat(fake_oa)
    await household(chat, phone=True)
    async with database.transaction() as conn:  # our count says one message is left; Zalo counts otherwise
        await conn.execute("UPDATE outbox_windows SET sent_since = 0")
    fake_oa.free_messages = 0
    await queue_reminder(database, clock, chat)
    counts = await sender(database, oa_channel, clock).drain_once()
    assert counts == {"waiting": 1, "sent": 1}
    assert [z["tracking_id"] for z in fake_oa.zns] == ["reminder:w1:1"]
    assert await rows(database, "SELECT status, route FROM outbox") == [("sent", "zns")]


async def test_the_organizers_tally_says_which_route_each_message_took_and_who_waits(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    with_phone, without = oa_chat(fake_oa, "8000000000000000001"), oa_chat(fake_oa, "8000000000000000002")
    await household(with_phone, phone=True)
    await household(without, phone=False)
    await queue_reminder(database, clock, with_phone, key="reminder:w1:a")
    await queue_reminder(database, clock, without, key="reminder:w1:b")
    async with database.transaction() as conn:
        await conn.execute("UPDATE outbox SET group_key = 'wave:1'")
    clock.advance(hours=72)
    assert (await sender(database, oa_channel, clock).drain_once()) == {"sent": 1, "waiting": 1}
    async with database.reading() as conn:
        routes = await outbox.tally_routes(conn, "wave:1")
    assert routes == {"zns": 1, "wait": 1}
    assert route_lines(routes, "vi") == [
        "Qua Zalo OA: 0 tin tư vấn, 1 tin ZNS, 0 tin chủ động.",
        "1 tin chưa gửi được qua Zalo vì bà con chưa nhắn cho xã gần đây (ngoài thời hạn 48 giờ); tin sẽ đi ngay khi"
        " bà con nhắn lại."]


async def test_a_qr_code_reaches_an_oa_chat_as_an_uploaded_image(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database,
) -> None:
    chat = oa_chat(fake_oa)
    await chat.say("/start")
    result = await oa_channel.transport.send(chat.user.id, Message("Mã vào cửa của ông/bà:", qr="DT:CHECKIN:7K3Q"))
    assert result.status == "sent"
    [upload] = fake_oa.calls_to("/v2.0/oa/upload/image")
    assert upload.body["name"] == "qr.png"
    image = fake_oa.sent[chat.user.id][-2]
    assert image["attachment"]["payload"]["elements"][0]["attachment_id"].startswith("att")


async def test_outside_the_window_without_a_phone_the_monthly_proactive_quota_is_used_then_it_waits(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    first, second = oa_chat(fake_oa, "8000000000000000001"), oa_chat(fake_oa, "8000000000000000002")
    for chat in (first, second):
        await household(chat, phone=False)
        await queue_reminder(database, clock, chat, key=f"reminder:w1:{chat.user.id}")
    clock.advance(hours=72)
    fake_oa.proactive_left = 5
    limits = replace(oa_channel.limits, per_chat_interval=0)
    limits = replace(limits, window=replace(limits.window, proactive_monthly=1))
    quota = Sender(database, {"zalo_oa": oa_channel.transport}, clock=clock, limits={"zalo_oa": limits})
    assert await quota.drain_once() == {"sent": 1, "waiting": 1}
    assert sorted(route for (route,) in await rows(database, "SELECT route FROM outbox")) == ["proactive", "wait"]


async def test_a_household_that_unfollows_is_not_written_to_until_it_writes_again(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database,
) -> None:
    chat = oa_chat(fake_oa)
    await chat.say("/start")
    gone = fake_oa.event(chat.user, "unfollow", follower={"id": chat.user.id})
    assert await fake_oa.push(gone) == 200
    await fake_oa.handled(gone)
    assert await rows(database, "SELECT blocked_at IS NOT NULL FROM identities") == [(1,)]
    await chat.send(fake_oa.event(chat.user, "follow", follower={"id": chat.user.id}))
    assert await rows(database, "SELECT blocked_at IS NOT NULL FROM identities") == [(0,)]

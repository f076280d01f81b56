"""The OA's tokens: refreshed with the single-use refresh token, the new pair stored before it is used.

An access token expiring in the middle of a broadcast is renewed once (not once per parallel send) and every message
goes once; a crash after a refresh loses nothing (the pair was stored first); a dead refresh token stops only the
OA channel, keeps its messages queued and tells the organizers what to do; no token ever reaches a log line.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest

from bot.core.clock import FrozenClock, iso
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.types import Message
from bot.outbox.enqueue import Priority, Recipient, enqueue
from bot.outbox.sender import Sender
from bot.staff import roles
from handlers.zalo_oa.channel import ZaloOAChannel
from handlers.zalo_oa.client import OAClient, Urls
from handlers.zalo_oa.tokens import TokenKeeper
from storage import Connection, Database, outbox, people, zalo_oa_tokens
from tests.fake_zalo_oa import FakeZaloOA, wait_for
from tests.zalo_oa_support import rows

HOUSEHOLDS = 24


async def followers_who_wrote(database: Database, fake: FakeZaloOA, clock: FrozenClock, count: int) -> list[int]:
    """``count`` households that wrote to the OA just now (their window is open): their person ids."""
    ids = []
    async with database.transaction() as conn:
        for n in range(count):
            user = fake.follower(f"80000000000000{n:05d}")
            user.last_wrote = clock()
            person = await people.create_person_with_identity(
                conn, channel="zalo_oa", external_id=user.id, chat_id=user.id, display_name=None, language="vi",
                now=iso(clock()))
            await outbox.note_inbound(conn, "zalo_oa", user.id, iso(clock()))
            ids.append(person.id)
    return ids


async def broadcast(database: Database, clock: FrozenClock, person_ids: list[int], fake: FakeZaloOA) -> None:
    message = Message("📢 Thông báo: buổi đối thoại năm nay tổ chức tại Trung tâm Văn hóa xã.")
    async with database.transaction() as conn:
        for person_id in person_ids:
            [(chat_id,)] = await rows_in(conn, person_id)
            await enqueue(conn, key=f"b1:{person_id}", recipient=Recipient(person_id, "zalo_oa", chat_id),
                          kind="broadcast", message=message, priority=Priority.BROADCAST, now=clock(), group_key="b1")


async def rows_in(conn: Connection, person_id: int) -> list[tuple]:
    async with conn.execute("SELECT chat_id FROM identities WHERE person_id = ?", (person_id,)) as cur:
        return [tuple(r) for r in await cur.fetchall()]


def sender(database: Database, channel: ZaloOAChannel, clock: FrozenClock) -> Sender:
    return Sender(database, {"zalo_oa": channel.transport}, clock=clock,
                  limits={"zalo_oa": replace(channel.limits, per_chat_interval=0, rate=1000)})


def no_secret_in(caplog: pytest.LogCaptureFixture, fake: FakeZaloOA, *tokens: str) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (fake.APP_SECRET, fake.SECRET_KEY, fake.FIRST_REFRESH, fake.access_token, fake.refresh_token,
                   *tokens):
        assert not secret or secret not in text


async def test_a_token_expiring_mid_broadcast_is_renewed_once_and_every_message_goes_once(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = await followers_who_wrote(database, fake_oa, clock, HOUSEHOLDS)
    await broadcast(database, clock, ids, fake_oa)
    fake_oa.expire_after_sends = 7
    fake_oa.send_delay = 0.01  # many sends in flight when the token expires

    assert (await sender(database, oa_channel, clock).drain_once()) == {"sent": HOUSEHOLDS}
    assert fake_oa.refreshes == 2  # the first grant's, and one renewal mid-broadcast
    assert sorted(len(messages) for messages in fake_oa.sent.values()) == [1] * HOUSEHOLDS
    async with database.reading() as conn:
        stored = await zalo_oa_tokens.load(conn)
    assert stored is not None and (stored.access_token, stored.refresh_token) == (fake_oa.access_token,
                                                                                  fake_oa.refresh_token)
    assert await rows(database, "SELECT route, COUNT(*) FROM outbox GROUP BY route") == [("consultation", HOUSEHOLDS)]
    no_secret_in(caplog, fake_oa, *(c.headers.get("access_token", "") for c in fake_oa.calls))


async def test_a_crash_after_the_refresh_loses_nothing_the_stored_pair_works_after_restart(
    oa_settings: Settings, oa_engine: Engine, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
) -> None:
    await followers_who_wrote(database, fake_oa, clock, 1)
    channel = ZaloOAChannel(oa_settings, clock=clock)
    await channel.prepare()
    await channel.start(oa_engine)
    user_id = next(iter(fake_oa.followers))
    assert (await channel.transport.send(user_id, Message("Chào bà con"))).status == "sent"  # the first grant used
    fake_oa.expire_access()
    fake_oa.send_delay = 30.0  # the send after the renewal hangs: the process is killed right then
    sending = asyncio.create_task(channel.transport.send(user_id, Message("Xin chào")))
    await wait_for(lambda: fake_oa.refreshes == 2 and fake_oa.calls[-1].path == "message/cs", what="the renewal")
    sending.cancel()
    await asyncio.gather(sending, return_exceptions=True)
    await channel.stop()
    fake_oa.send_delay = 0.0

    client = OAClient(Urls(fake_oa.url, fake_oa.url, fake_oa.url))
    keeper = TokenKeeper(database, client, oa_settings.zalo_oa, clock=clock)
    await keeper.load()  # the restarted bot: the pair stored before the crash is the only one that works
    assert await keeper.access_token() == fake_oa.access_token
    assert fake_oa.refreshes == 2 and not keeper.dead
    await client.aclose()


async def test_a_dead_refresh_token_stops_only_the_oa_keeps_its_messages_and_tells_the_organizers(
    oa_channel: ZaloOAChannel, fake_oa: FakeZaloOA, database: Database, clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with database.transaction() as conn:
        await roles.grant(conn, "telegram", "2002", "organizer", "Phạm Thanh Sang", iso(clock()))
        await people.create_person_with_identity(conn, channel="telegram", external_id="2002", chat_id="2002",
                                                 display_name="Sang", language="vi", now=iso(clock()))
    ids = await followers_who_wrote(database, fake_oa, clock, 3)
    await broadcast(database, clock, ids, fake_oa)
    fake_oa.revoke()
    fake_oa.expire_access()

    running = sender(database, oa_channel, clock)
    await running.start()
    await wait_for(lambda: oa_channel.stopped.is_set(), what="the OA channel to stop")
    await wait_for(lambda: running.counts.get("waiting") == 3, what="the OA's outbox to hold")
    await running.stop()
    assert running.counts == {"waiting": 3}
    assert await rows(database, "SELECT status, attempts, route, COUNT(*) FROM outbox WHERE channel = 'zalo_oa'"
                                " GROUP BY status, attempts, route") == [("pending", 0, None, 3)]
    [(text,)] = await wait_rows(database, "SELECT payload FROM outbox WHERE channel = 'telegram'")
    assert "Zalo OA" in text and "DOITHOAI_ZALO_OA_REFRESH_TOKEN" in text
    assert any("grant the app access again" in r.getMessage() for r in caplog.records)
    assert fake_oa.sent == {}
    no_secret_in(caplog, fake_oa)


async def wait_rows(database: Database, sql: str) -> list[tuple]:
    for _ in range(500):
        found = await rows(database, sql)
        if found:
            return found
        await asyncio.sleep(0.01)
    return []

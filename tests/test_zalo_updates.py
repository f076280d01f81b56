"""How updates come in from Zalo: long polling (408 = nothing yet, back-off on errors), the webhook and its secret,
redeliveries dropped (also after a restart), and an invalid token stopping Zalo while Telegram keeps serving."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock
from bot.core.config import Settings, ZaloSection
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.types import Message
from bot.outbox.enqueue import SendStatus
from handlers.zalo.channel import SECRET_HEADER, ZaloChannel
from storage import Database
from tests.fake_telegram import Chat
from tests.fake_zalo import FakeZalo
from tests.web_server import serving_webhooks

SECRET = "zalo-hook-S3cret_for-tests"


async def count(database: Database, table: str) -> int:
    async with database.reading() as conn, conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        return int((await cur.fetchone())[0])


async def start_zalo(settings: Settings, engine: Engine, **options: float) -> ZaloChannel:
    """The Zalo channel, prepared and started with ``engine`` (Zalo tells the engine nothing)."""
    channel = ZaloChannel(settings, **options)
    await channel.prepare()
    await channel.start(engine)
    return channel


def webhook_settings(settings: Settings, port: int) -> Settings:
    zalo = ZaloSection.model_validate({
        **settings.zalo.model_dump(), "token": settings.zalo.token, "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/zalo-hook", "webhook_listen": "127.0.0.1", "webhook_port": port,
        "webhook_path": "zalo-hook", "webhook_secret": SECRET,
    })
    return settings.model_copy(update={"zalo": zalo})


@pytest.fixture
async def webhook_channel(zalo_settings: Settings, engine: Engine, fake_zalo: FakeZalo,
                          unused_tcp_port: int) -> AsyncIterator[ZaloChannel]:
    channel = ZaloChannel(webhook_settings(zalo_settings, unused_tcp_port), retry_base=0.05)
    await channel.prepare()
    async with serving_webhooks(channel, unused_tcp_port):
        await channel.start(engine)
        fake_zalo.track(channel)
        await fake_zalo.wait_for(lambda: fake_zalo.webhook.get("url"), what="the webhook to be set")
        yield channel
        await channel.stop()


# ---- webhook ------------------------------------------------------------------------------------------------------


async def test_the_webhook_is_set_with_its_secret(webhook_channel: ZaloChannel, fake_zalo: FakeZalo) -> None:
    assert fake_zalo.webhook["url"].endswith("/zalo-hook")
    assert fake_zalo.webhook["secret_token"] == SECRET


async def test_the_webhook_refuses_updates_without_the_right_secret(
    webhook_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database,
) -> None:
    user = fake_zalo.user("5c1a7e")
    update = fake_zalo.send_text(user, "/start", deliver=False)
    assert await fake_zalo.push(update, secret="wrong-secret-value") == 403
    assert await fake_zalo.push(update, secret=SECRET[:-1]) == 403
    assert await fake_zalo.push(update, header=False) == 403
    assert fake_zalo.observed == []
    assert fake_zalo.calls_to("sendMessage") == []
    assert (await count(database, "persons"), await count(database, "processed_events")) == (0, 0)

    assert await fake_zalo.push(update) == 200
    replies = await fake_zalo.replies(update)
    assert "1. ✅ Tôi đồng ý" in replies[-1]


async def test_a_webhook_redelivery_is_acknowledged_and_handled_once(
    webhook_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database,
) -> None:
    user = fake_zalo.user("5c1a7e")
    update = fake_zalo.send_text(user, "/start", deliver=False)
    assert [await fake_zalo.push(update), await fake_zalo.push(update)] == [200, 200]
    await fake_zalo.processed(update, times=2)
    assert len(fake_zalo.texts(user.chat_id)) == 1
    assert (await count(database, "persons"), await count(database, "processed_events")) == (1, 1)


async def test_a_body_that_is_not_json_gets_400_and_an_oversized_one_413(
    webhook_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    hostile = (b"{not json", b'{"event_name": "\xff\xfe"}', b"[" * 200_000 + b"]" * 200_000)
    async with httpx.AsyncClient() as client:
        for body in hostile:
            response = await client.post(fake_zalo.webhook["url"], content=body, headers=headers)
            assert response.status_code == 400, body[:20]
        huge = await client.post(fake_zalo.webhook["url"], content=b" " * (2 * 1024 * 1024), headers=headers)
        assert huge.status_code == 413
    refused = [r for r in caplog.records if "not JSON was refused" in r.getMessage()]
    assert len(refused) == len(hostile), "one line each"
    assert await count(database, "persons") == 0


# ---- polling ------------------------------------------------------------------------------------------------------


async def test_polling_deletes_the_webhook_first(zalo_channel: ZaloChannel, fake_zalo: FakeZalo) -> None:
    await fake_zalo.wait_for(lambda: fake_zalo.calls_to("getUpdates"), what="the first poll")
    assert [c.method for c in fake_zalo.calls[:3]] == ["getMe", "deleteWebhook", "getUpdates"]
    assert fake_zalo.calls_to("getUpdates")[0].params["timeout"] == "1"  # the official doc types it as a string


async def test_empty_polls_are_asked_again_at_once_without_complaint(
    zalo_settings: Settings, engine: Engine, fake_zalo: FakeZalo, caplog: pytest.LogCaptureFixture,
) -> None:
    fake_zalo.max_poll_wait = 0.01
    fake_zalo.empty_results = 3
    channel = await start_zalo(zalo_settings, engine, retry_base=1.0)  # a back-off would show as a 1 s gap
    fake_zalo.track(channel)
    try:
        await fake_zalo.wait_for(lambda: len(fake_zalo.calls_to("getUpdates")) >= 12, what="a dozen polls")
        polls = fake_zalo.calls_to("getUpdates")
        assert sum(c.error is not None and c.error["error_code"] == 408 for c in polls) >= 8
        assert max(later.at - earlier.at for earlier, later in itertools.pairwise(polls)) < 0.5
        replies = await fake_zalo.say(fake_zalo.user("5c1a7e"), "/start")
        assert "1. ✅ Tôi đồng ý" in replies[-1]
    finally:
        await channel.stop()
    assert [r for r in caplog.records if r.name.startswith("handlers.zalo") and r.levelno >= logging.WARNING] == []


async def test_a_redelivered_update_is_handled_once_also_after_a_restart(
    zalo_settings: Settings, fake_zalo: FakeZalo, clock: FrozenClock, database: Database,
) -> None:
    user = fake_zalo.user("5c1a7e")
    channel = await start_zalo(zalo_settings, build_engine(zalo_settings, database, clock=clock))
    fake_zalo.track(channel)
    fake_zalo.send_text(user, "/start")
    consent = fake_zalo.send_text(user, "1")
    fake_zalo.deliver(consent)
    await fake_zalo.processed(consent, times=2)
    texts = list(fake_zalo.texts(user.chat_id))
    assert sum(t("form.ask_name") in text for text in texts) == 1  # the second "1" got no answer
    await channel.stop()
    await database.close()

    restarted_db = await Database(zalo_settings.database.path).open()
    try:
        channel = await start_zalo(zalo_settings, build_engine(zalo_settings, restarted_db, clock=clock))
        fake_zalo.track(channel)
        fake_zalo.deliver(consent)
        await fake_zalo.processed(consent, times=3)
        assert fake_zalo.texts(user.chat_id) == texts
        async with restarted_db.reading() as conn, conn.execute("SELECT step FROM conversations") as cur:
            assert [row[0] for row in await cur.fetchall()] == ["name"]
        await channel.stop()
    finally:
        await restarted_db.close()


async def test_quota_exceeded_on_polling_backs_off_then_polls_again(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, caplog: pytest.LogCaptureFixture,
) -> None:
    await fake_zalo.wait_for(lambda: fake_zalo.calls_to("getUpdates"), what="the first poll")
    fake_zalo.max_poll_wait = 0.05
    fake_zalo.fail("getUpdates", code=429)
    fake_zalo.fail("getUpdates", code=502, raw=True, http_status=502)
    user = fake_zalo.user("5c1a7e")
    update = fake_zalo.send_text(user, "/start")  # wakes the waiting poll: the faults hit the next two
    await fake_zalo.processed(update)
    await fake_zalo.wait_for(lambda: len(fake_zalo.calls_to("getUpdates")) >= 5, what="polling to go on")
    polls = fake_zalo.calls_to("getUpdates")
    refused = [i for i, c in enumerate(polls) if c.error and c.error["error_code"] in (429, 502)]
    assert len(refused) == 2
    assert all(polls[i + 1].at - polls[i].at >= 0.04 for i in refused)  # backed off (50 ms, then 100 ms)
    warnings = [r.getMessage() for r in caplog.records if r.name == "handlers.zalo.channel"]
    assert any("429" in w for w in warnings) and any("502" in w for w in warnings)
    assert all(fake_zalo.token not in r.getMessage() for r in caplog.records)


# ---- replies ------------------------------------------------------------------------------------------------------


async def test_a_reply_refused_for_quota_waits_and_goes(zalo_channel: ZaloChannel, fake_zalo: FakeZalo) -> None:
    fake_zalo.fail("sendMessage", code=429, retry_after=0.05)
    replies = await fake_zalo.say(fake_zalo.user("5c1a7e"), "/start")
    assert "1. ✅ Tôi đồng ý" in replies[-1]
    refused, sent = fake_zalo.calls_to("sendMessage")
    assert refused.error is not None and sent.at - refused.at >= 0.05


async def test_a_transient_403_on_a_reply_is_tried_again_and_the_household_stays_reachable(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database,
) -> None:
    user = fake_zalo.user("5c1a7e")
    fake_zalo.fail("sendMessage", code=403, description="Internal server error")
    replies = await fake_zalo.say(user, "/start")
    assert replies and "1. ✅ Tôi đồng ý" in replies[-1]
    async with database.reading() as conn, conn.execute("SELECT blocked_at FROM identities") as cur:
        assert (await cur.fetchone())[0] is None


# ---- an invalid token ---------------------------------------------------------------------------------------------


async def test_an_invalid_token_stops_zalo_with_one_log_line_while_telegram_keeps_serving(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, household: Chat, caplog: pytest.LogCaptureFixture,
) -> None:
    await fake_zalo.wait_for(lambda: fake_zalo.calls_to("getUpdates"), what="the first poll")
    fake_zalo.reject_token()
    await fake_zalo.wait_for(zalo_channel.stopped.is_set, what="the Zalo channel to stop")
    result = await zalo_channel.transport.send("chat-5c1a7e", Message("Nhắc lịch"))
    assert result.status is SendStatus.RETRY

    replies = await household.command("start")  # Telegram goes on
    assert any(t("form.consent") in m["text"] for m in replies)
    zalo_lines = [r for r in caplog.records if r.name.startswith("handlers.zalo") and r.levelno >= logging.WARNING]
    assert len(zalo_lines) == 1 and zalo_lines[0].levelno == logging.ERROR
    assert "DOITHOAI_ZALO_TOKEN" in zalo_lines[0].getMessage()
    assert fake_zalo.token not in zalo_lines[0].getMessage()
    polls = len(fake_zalo.calls_to("getUpdates"))
    await household.say("Nguyễn Thị Bình")
    assert len(fake_zalo.calls_to("getUpdates")) == polls


async def test_an_invalid_token_seen_by_the_outbox_stops_polling_too(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
) -> None:
    await fake_zalo.wait_for(lambda: fake_zalo.calls_to("getUpdates"), what="the first poll")
    fake_zalo.token_valid = False  # only new calls see it: the waiting poll does not
    result = await zalo_channel.transport.send(fake_zalo.user("5c1a7e").chat_id, Message("Nhắc lịch"))
    assert result.status is SendStatus.RETRY
    assert zalo_channel.stopped.is_set()

"""Webhook mode: Telegram POSTs updates to the bot, proving itself with the secret token header."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from telegram.ext import Application

from bot.core.config import Settings, TelegramSection
from bot.core.engine import Engine
from bot.core.i18n import t
from handlers.telegram.channel import TelegramChannel
from handlers.telegram.webhook import SECRET_HEADER
from storage import Database
from tests.fake_telegram import FakeTelegram
from tests.web_server import serving_webhooks

SECRET = "s3cret-Token_for-tests"


def webhook_settings(settings: Settings, port: int, secret: str | None) -> Settings:
    url = f"http://127.0.0.1:{port}/telegram-hook"
    telegram = TelegramSection.model_validate({
        **settings.telegram.model_dump(), "mode": "webhook", "webhook_url": url, "webhook_listen": "127.0.0.1",
        "webhook_port": port, "webhook_path": "telegram-hook", "webhook_secret": secret,
    })
    return settings.model_copy(update={"telegram": telegram})


@pytest.fixture
async def webhook_app(telegram_settings: Settings, engine: Engine, fake_telegram: FakeTelegram,
                      unused_tcp_port: int, request: pytest.FixtureRequest) -> AsyncIterator[Application]:
    secret = getattr(request, "param", SECRET)
    channel = TelegramChannel(webhook_settings(telegram_settings, unused_tcp_port, secret))
    await channel.prepare()
    async with serving_webhooks(channel, unused_tcp_port):
        await channel.start(engine)
        fake_telegram.track(channel.app)
        yield channel.app
        await channel.stop()


async def count_persons(database: Database) -> int:
    async with database.reading() as conn, conn.execute("SELECT COUNT(*) FROM persons") as cur:
        return int((await cur.fetchone())[0])


async def test_webhook_is_registered_with_its_secret(webhook_app: Application, fake_telegram: FakeTelegram) -> None:
    assert fake_telegram.webhook["url"].endswith("/telegram-hook")
    assert fake_telegram.webhook["secret_token"] == SECRET


async def test_webhook_refuses_updates_without_the_right_secret(
    webhook_app: Application, fake_telegram: FakeTelegram, database: Database,
) -> None:
    user = fake_telegram.user(1001)
    update = fake_telegram.send_command(user, "start", deliver=False)
    assert await fake_telegram.push(update, secret="wrong-secret") == 403
    assert await fake_telegram.push(update, header=False) == 403
    assert fake_telegram.calls_to("sendMessage") == []
    assert await count_persons(database) == 0

    assert await fake_telegram.push(update) == 200
    replies = await fake_telegram.replies(update)
    assert t("form.consent") in replies[-1]["text"]
    assert await count_persons(database) == 1


async def test_household_talks_to_the_bot_through_the_webhook(
    webhook_app: Application, fake_telegram: FakeTelegram,
) -> None:
    chat = fake_telegram.chat_with(fake_telegram.user(1001))
    await chat.command("start")  # with a webhook set, the fake pushes instead of queueing for getUpdates
    replies = await chat.press(t("form.consent_yes"))
    assert replies[-1]["text"] == t("form.ask_name")
    assert fake_telegram.calls_to("getUpdates") == []
    assert all(status == 200 for _, status in fake_telegram.pushes)


@pytest.mark.parametrize("webhook_app", [None], indirect=True)
async def test_webhook_without_a_configured_secret_gets_a_random_one(
    webhook_app: Application, fake_telegram: FakeTelegram,
) -> None:
    secret = fake_telegram.webhook["secret_token"]
    assert secret and len(secret) >= 32
    update = fake_telegram.send_command(fake_telegram.user(1001), "start", deliver=False)
    assert await fake_telegram.push(update, header=False) == 403


async def test_a_body_that_is_not_an_update_gets_400_and_an_oversized_one_413(
        webhook_app: Application, fake_telegram: FakeTelegram, database: Database,
        caplog: pytest.LogCaptureFixture) -> None:
    """Telegram retries a 5xx for ever: what cannot be an update is refused with 400 (one log line), never 500."""
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    hostile = (b"{not json", b'{"update_id": 1, "message": "\xff\xfe"}', b"[" * 200_000 + b"]" * 200_000, b"[1, 2]",
               b'{"update_id": "x", "message": {"chat": 5}}')
    async with httpx.AsyncClient() as client:
        for body in hostile:
            response = await client.post(fake_telegram.webhook["url"], content=body, headers=headers)
            assert response.status_code == 400, body[:30]
        huge = await client.post(fake_telegram.webhook["url"], content=b" " * (2 * 1024 * 1024), headers=headers)
        assert huge.status_code == 413
    assert sum("not an update was refused" in r.getMessage() for r in caplog.records) == len(hostile)
    assert await count_persons(database) == 0

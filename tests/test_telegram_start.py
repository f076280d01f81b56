"""Telegram unreachable at start: the channel tries again with back-off, one log line a try, and after its tries
gives up cleanly so that the other channels serve without it (no traceback, no exit)."""

from __future__ import annotations

import logging

import pytest

from bot.core.config import Settings
from handlers.base import Backoff, ChannelUnavailable
from handlers.telegram.channel import START_ATTEMPTS, TelegramChannel
from tests.fake_telegram import FakeTelegram

FAST = Backoff(base=0.01, cap=0.02)


async def test_a_telegram_down_for_a_moment_is_reached_on_a_later_try(
        telegram_settings: Settings, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    fake_telegram.fail("getMe", status=502, times=2)
    channel = TelegramChannel(telegram_settings, start_backoff=FAST)
    with caplog.at_level(logging.WARNING, logger="handlers.telegram.channel"):
        facts = await channel.prepare()
    await channel.stop()
    assert facts.bot_username
    tries = [r for r in caplog.records if "Telegram cannot be reached" in r.getMessage()]
    assert len(tries) == 2 and "try 1 of" in tries[0].getMessage()


async def test_a_telegram_that_stays_down_makes_the_channel_unavailable_after_its_tries(
        telegram_settings: Settings, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    fake_telegram.fail("getMe", status=502, times=START_ATTEMPTS + 5)
    channel = TelegramChannel(telegram_settings, start_backoff=FAST)
    with caplog.at_level(logging.WARNING, logger="handlers.telegram.channel"), pytest.raises(ChannelUnavailable):
        await channel.prepare()
    await channel.stop()
    assert sum("Telegram cannot be reached" in r.getMessage() for r in caplog.records) == START_ATTEMPTS
    assert not any(r.exc_info for r in caplog.records), "one line a try, no traceback"

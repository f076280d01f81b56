"""The command line knows whether a bot is running: the running bot beats into the database, and a queued
announcement is promised only when someone will send it; ``--wait`` never sits at 0 % with no bot."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.cli.heartbeat import STALE_AFTER, bot_running
from bot.cli.runtime import Services
from bot.core.clock import FrozenClock, system_clock
from bot.core.config import Settings, load_settings
from bot.core.i18n import t
from storage import Database
from tests.test_broadcast_cli import TEXT, config, queued, run  # noqa: F401 - the CLI tests' commune fixture


async def beat_now(config_path: Path) -> None:
    """What ``doithoai run`` does every 20 seconds, through its own code (Services.beat) at the real clock."""
    settings = load_settings(config_path)
    async with Database(settings.database.path) as db:
        await Services(settings, db, clock=system_clock).beat()


def test_a_broadcast_is_promised_to_the_running_bot(config: Path) -> None:  # noqa: F811
    asyncio.run(beat_now(config))
    code, output = run(config, "broadcast", "--text", TEXT, "--audience", "everyone")
    assert code == 0 and t("broadcast.cli_queued", id=1, count=8) in output


def test_wait_with_no_bot_running_says_so_and_returns(config: Path) -> None:  # noqa: F811
    code, output = run(config, "broadcast", "--text", TEXT, "--audience", "everyone", "--wait")
    assert code == 0
    assert t("broadcast.cli_queued_no_bot", id=1, count=8) in output
    assert len(queued(config)) == 8, "queued all the same: it goes out when the bot runs"


async def test_a_beat_older_than_ninety_seconds_means_no_bot(settings: Settings, tmp_path: Path) -> None:
    async with Database(tmp_path / "d.sqlite3") as db:
        clock = FrozenClock(system_clock())
        services = Services(settings, db, clock=clock)
        assert not await bot_running(db, clock())
        await services.beat()
        assert await bot_running(db, clock() + STALE_AFTER - timedelta(seconds=1))
        assert not await bot_running(db, clock() + STALE_AFTER)

"""A restart of the bot, even in a new process, loses nothing: the conversation lives in the database."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock
from bot.core.config import TOKEN_ENV, Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from handlers.base import engine_options
from handlers.telegram.channel import TelegramChannel
from storage import Database, submissions
from tests.fake_telegram import FakeTelegram, PathStep, find_button

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"

# A separate bot process: the example config with the database and the server of this test, token from the env.
BOT_PROCESS = """
import asyncio, sys
from bot.core.config import DatabaseSection, TelegramSection, load_settings
from bot.cli.wiring import build_engine
from handlers.base import engine_options
from handlers.telegram.channel import TelegramChannel
from storage import Database

async def main() -> None:
    config, db_path, base_url, base_file_url = sys.argv[1:5]
    settings = load_settings(config).model_copy(update={
        "database": DatabaseSection(path=db_path),
        "telegram": TelegramSection(base_url=base_url, base_file_url=base_file_url, poll_timeout=5),
    })
    async with Database(settings.database.path) as db:
        channel = TelegramChannel(settings)
        facts = await channel.prepare()
        await channel.start(build_engine(settings, db, **engine_options([(channel.name, facts)])))
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await channel.stop()

asyncio.run(main())
"""


async def start_telegram(settings: Settings, db: Database, **options: object) -> TelegramChannel:
    """The Telegram channel, prepared, then started with an engine built from what it learned."""
    channel = TelegramChannel(settings)
    facts = await channel.prepare()
    await channel.start(build_engine(settings, db, **options, **engine_options([(channel.name, facts)])))
    return channel


async def submission_codes(path: str) -> list[str]:
    async with Database(path) as db, db.reading() as conn:
        return [s.code for s in await submissions.all_submissions(conn)]


async def test_form_survives_a_restart_of_the_bot(
    telegram_settings: Settings, fake_telegram: FakeTelegram, clock: FrozenClock, form_path: tuple[PathStep, ...],
) -> None:
    chat = fake_telegram.chat_with(fake_telegram.user(1001), form_path)
    path = telegram_settings.database.path
    async with Database(path) as db:
        first = await start_telegram(telegram_settings, db, clock=clock)
        fake_telegram.track(first.app)
        await chat.reach("q_topic")
        await first.stop()

    async with Database(path) as db:
        second = await start_telegram(telegram_settings, db, clock=clock)
        fake_telegram.track(second.app)
        try:
            await chat.press("Nhà ở")  # a button drawn by the first bot
            await chat.say("Nhà tôi bị sập mái, xin hỗ trợ làm nhà.")
            replies = await chat.press(t("form.submit"))
            assert "DT-0001" in replies[0]["text"]
        finally:
            await second.stop()
    assert await submission_codes(path) == ["DT-0001"]


async def test_form_survives_a_new_bot_process(
    telegram_settings: Settings, fake_telegram: FakeTelegram, engine: Engine, form_path: tuple[PathStep, ...],
) -> None:
    chat = fake_telegram.chat_with(fake_telegram.user(1001), form_path)
    channel = TelegramChannel(telegram_settings)
    await channel.prepare()
    await channel.start(engine)
    fake_telegram.track(channel.app)
    await chat.reach("q_content")
    await channel.stop()

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BOT_PROCESS, str(EXAMPLE_CONFIG), telegram_settings.database.path,
        fake_telegram.base_url, fake_telegram.base_file_url,
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, TOKEN_ENV: fake_telegram.token, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        assert await asyncio.wait_for(process.stdout.readline(), 30) == b"ready\n"
        fake_telegram.send_text(chat.user, "Nhà tôi bị sập mái, xin hỗ trợ làm nhà.")
        review = await fake_telegram.wait_for(lambda: next(
            (m for m in fake_telegram.bot_messages(chat.user.id) if "sập mái" in m.get("text", "")), None),
            what="the review from the new process")
        fake_telegram.tap(chat.user, review, find_button(review, t("form.submit"))["callback_data"])
        await fake_telegram.wait_for(lambda: any("DT-0001" in text for text in chat.texts), what="the receipt")
        process.stdin.write(b"stop\n")
        await process.stdin.drain()
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert await submission_codes(telegram_settings.database.path) == ["DT-0001"]
    assert fake_telegram.unanswered_callbacks() == []

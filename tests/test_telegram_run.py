"""``run_telegram``, as the CLI calls it: a blocking bot process that opens its database and stops on Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.core.config import TOKEN_ENV, Settings
from bot.core.i18n import t
from storage import Database
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent

RUN_BOT = """
import sys
from bot.core.config import DatabaseSection, TelegramSection, load_settings
from bot.cli.wiring import build_engine
from handlers.telegram.channel import run_telegram
from storage import Database

config, db_path, base_url, base_file_url = sys.argv[1:5]
settings = load_settings(config).model_copy(update={
    "database": DatabaseSection(path=db_path),
    "telegram": TelegramSection(base_url=base_url, base_file_url=base_file_url, poll_timeout=5),
})
run_telegram(settings, build_engine(settings, Database(settings.database.path)))  # the database is not open yet
"""


async def test_run_telegram_serves_until_interrupted(telegram_settings: Settings, fake_telegram: FakeTelegram
                                                     ) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN_BOT, str(ROOT / "config.example.toml"), telegram_settings.database.path,
        fake_telegram.base_url, fake_telegram.base_file_url, cwd=ROOT,
        env={**os.environ, TOKEN_ENV: fake_telegram.token, "PYTHONPATH": str(ROOT)},
    )
    try:
        await fake_telegram.wait_for(lambda: fake_telegram.calls_to("getUpdates"), 30, "the bot to poll")
        user = fake_telegram.user(1001)
        fake_telegram.send_command(user, "start")
        await fake_telegram.wait_for(lambda: any(t("form.consent") in text for text in fake_telegram.texts(user.id)),
                                     what="the welcome")
        assert fake_telegram.commands  # post_init ran
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    async with Database(telegram_settings.database.path) as db, db.reading() as conn, \
            conn.execute("SELECT COUNT(*) FROM identities WHERE channel = 'telegram'") as cur:
        assert (await cur.fetchone())[0] == 1

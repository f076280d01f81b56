"""``doithoai run`` with Telegram alone, as the CLI starts it: a blocking bot process that opens its database and
stops on Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tomllib
from pathlib import Path

import tomli_w

from bot.core.config import TOKEN_ENV, WEBHOOK_SECRET_ENV, ZALO_TOKEN_ENV, Settings
from bot.core.i18n import t
from storage import Database
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


def write_config(path: Path, db_path: str, fake: FakeTelegram) -> Path:
    """The example config with the database and the fake server of this test; the token comes from the env."""
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = db_path
    data["telegram"].update(base_url=fake.base_url, base_file_url=fake.base_file_url, poll_timeout=5)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def test_run_telegram_serves_until_interrupted(telegram_settings: Settings, fake_telegram: FakeTelegram,
                                                     tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", telegram_settings.database.path, fake_telegram)
    env = {key: value for key, value in os.environ.items() if key not in (WEBHOOK_SECRET_ENV, ZALO_TOKEN_ENV)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(config), cwd=ROOT,
        env={**env, TOKEN_ENV: fake_telegram.token, "PYTHONPATH": str(ROOT)},
    )
    try:
        await fake_telegram.wait_for(lambda: fake_telegram.calls_to("getUpdates"), 30, "the bot to poll")
        user = fake_telegram.user(1001)
        fake_telegram.send_command(user, "start")
        await fake_telegram.wait_for(lambda: any(t("form.consent") in text for text in fake_telegram.texts(user.id)),
                                     what="the welcome")
        assert fake_telegram.commands  # the channel was prepared
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    async with Database(telegram_settings.database.path) as db, db.reading() as conn, \
            conn.execute("SELECT COUNT(*) FROM identities WHERE channel = 'telegram'") as cur:
        assert (await cur.fetchone())[0] == 1

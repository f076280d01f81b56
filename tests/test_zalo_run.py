"""``doithoai run`` serves Telegram and Zalo from one process, each household on its own channel."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tomllib
from pathlib import Path

import tomli_w

from bot.core.config import TOKEN_ENV, WEBHOOK_SECRET_ENV, ZALO_TOKEN_ENV, ZALO_WEBHOOK_SECRET_ENV
from bot.core.i18n import t
from storage import Database
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo

ROOT = Path(__file__).resolve().parent.parent


def config_for(tmp_path: Path, fake_telegram: FakeTelegram, fake_zalo: FakeZalo) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(tmp_path / "run.sqlite3")
    data["telegram"].update(base_url=fake_telegram.base_url, base_file_url=fake_telegram.base_file_url,
                            poll_timeout=1)
    data["zalo"] = {"base_url": fake_zalo.base_url, "poll_timeout": 1}
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def test_run_serves_telegram_and_zalo_at_once_until_interrupted(
    tmp_path: Path, fake_telegram: FakeTelegram, fake_zalo: FakeZalo,
) -> None:
    env = {key: value for key, value in os.environ.items()
           if key not in (TOKEN_ENV, WEBHOOK_SECRET_ENV, ZALO_TOKEN_ENV, ZALO_WEBHOOK_SECRET_ENV)}
    env.update({TOKEN_ENV: fake_telegram.token, ZALO_TOKEN_ENV: fake_zalo.token, "PYTHONPATH": str(ROOT)})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(config_for(tmp_path, fake_telegram, fake_zalo)),
        cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake_telegram.wait_for(lambda: fake_telegram.calls_to("getUpdates"), 30, "Telegram to poll")
        await fake_zalo.wait_for(lambda: fake_zalo.calls_to("getUpdates"), 30, "Zalo to poll")
        telegram_user, zalo_user = fake_telegram.user(1001), fake_zalo.user("5c1a7e")
        fake_telegram.send_command(telegram_user, "start")
        fake_zalo.send_text(zalo_user, "/start")
        await fake_telegram.wait_for(lambda: any(t("form.consent") in m for m in fake_telegram.texts(1001)),
                                     what="the welcome on Telegram")
        await fake_zalo.wait_for(lambda: any(t("form.consent") in m for m in fake_zalo.texts(zalo_user.chat_id)),
                                 what="the welcome on Zalo")
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    assert fake_zalo.token not in stderr and fake_telegram.token not in stderr
    assert "ready: channels telegram, zalo" in stderr
    async with Database(tmp_path / "run.sqlite3") as db, db.reading() as conn, \
            conn.execute("SELECT channel FROM identities ORDER BY channel") as cur:
        assert [row[0] for row in await cur.fetchall()] == ["telegram", "zalo"]

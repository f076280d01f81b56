"""``doithoai run`` serves Telegram, the Zalo Bot Platform and the Zalo OA from one process, against the fakes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import tomli_w

from bot.core.clock import FrozenClock
from bot.core.config import (
    TOKEN_ENV,
    WEBHOOK_SECRET_ENV,
    ZALO_OA_APP_SECRET_ENV,
    ZALO_OA_REFRESH_TOKEN_ENV,
    ZALO_OA_SECRET_KEY_ENV,
    ZALO_TOKEN_ENV,
    ZALO_WEBHOOK_SECRET_ENV,
)
from bot.core.i18n import t
from storage import Database
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.fake_zalo_oa import FakeZaloOA, buttons_of, wait_for

ROOT = Path(__file__).resolve().parent.parent
SECRETS = (TOKEN_ENV, WEBHOOK_SECRET_ENV, ZALO_TOKEN_ENV, ZALO_WEBHOOK_SECRET_ENV, ZALO_OA_APP_SECRET_ENV,
           ZALO_OA_SECRET_KEY_ENV, ZALO_OA_REFRESH_TOKEN_ENV)


def config_for(tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo, oa: FakeZaloOA, port: int) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(tmp_path / "run.sqlite3")
    data["telegram"].update(base_url=telegram.base_url, base_file_url=telegram.base_file_url, poll_timeout=1)
    data["zalo"] = {"base_url": zalo.base_url, "poll_timeout": 1}
    data["zalo_oa"] = {"app_id": oa.APP_ID, "oa_id": oa.OA_ID, "api_url": oa.url, "oauth_url": oa.url,
                       "zns_url": oa.url, "webhook_path": "zalo-oa"}
    data["web"] = {**data.get("web", {}), "port": port}
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def test_run_serves_telegram_the_bot_platform_and_the_oa_at_once(
    tmp_path: Path, fake_telegram: FakeTelegram, fake_zalo: FakeZalo, unused_tcp_port: int,
) -> None:
    oa = await FakeZaloOA(FrozenClock(datetime.now(UTC))).start()
    oa.clock = lambda: datetime.now(UTC)
    oa.hook = f"http://127.0.0.1:{unused_tcp_port}/zalo-oa"
    env = {key: value for key, value in os.environ.items() if key not in SECRETS}
    env.update({TOKEN_ENV: fake_telegram.token, ZALO_TOKEN_ENV: fake_zalo.token, ZALO_OA_APP_SECRET_ENV: oa.APP_SECRET,
                ZALO_OA_SECRET_KEY_ENV: oa.SECRET_KEY, ZALO_OA_REFRESH_TOKEN_ENV: oa.FIRST_REFRESH,
                "PYTHONPATH": str(ROOT), "DOITHOAI_WEB_PORT": str(unused_tcp_port)})
    config = config_for(tmp_path, fake_telegram, fake_zalo, oa, unused_tcp_port)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", "--config", str(config),
                                                   cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
    try:
        await fake_telegram.wait_for(lambda: fake_telegram.calls_to("getUpdates"), 30, "Telegram to poll")
        await fake_zalo.wait_for(lambda: fake_zalo.calls_to("getUpdates"), 30, "Zalo to poll")
        user = oa.follower("8000000000000000009")
        fake_zalo.send_text(fake_zalo.user("5c1a7e"), "/start")
        fake_telegram.send_command(fake_telegram.user(1001), "start")
        for _ in range(300):  # the one web server comes up, and answers 503 until the OA's tokens are loaded
            try:
                if await oa.push(oa.text_event(user, "/start")) == 200:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.1)
        await wait_for(lambda: oa.sent.get(user.id), 20, "the welcome on the OA")
        titles = [b["title"] for b in buttons_of(oa.sent[user.id][0])]
        assert titles[:2] == [t("form.consent_yes"), t("form.consent_no")]
        await fake_telegram.wait_for(lambda: any(t("form.consent") in m for m in fake_telegram.texts(1001)),
                                     what="the welcome on Telegram")
        await fake_zalo.wait_for(lambda: fake_zalo.texts("chat-5c1a7e"), what="the welcome on Zalo")
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await oa.stop()
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    for secret in (oa.APP_SECRET, oa.SECRET_KEY, oa.FIRST_REFRESH, oa.access_token, oa.refresh_token):
        assert secret not in stderr
    assert "ready: channels telegram, zalo, zalo_oa" in stderr
    async with Database(tmp_path / "run.sqlite3") as db, db.reading() as conn, \
            conn.execute("SELECT channel FROM identities ORDER BY channel") as cur:
        assert [row[0] for row in await cur.fetchall()] == ["telegram", "zalo", "zalo_oa"]

"""A broadcast survives a SIGKILL of the real ``doithoai run`` process: restarted, it finishes, nobody is missed and
nobody gets it twice, apart from the messages in flight at the kill, which are reported as 'uncertain'."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import tomli_w

from bot.broadcast import service as broadcast
from bot.core.config import TOKEN_ENV, load_settings
from storage import Database, outbox
from tests.fake_telegram import FakeTelegram
from tests.test_broadcast_support import add_households

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLDS = 300
FIRST_CHAT = 100_001
TEXT = "📢 Kính mời bà con dự buổi đối thoại chính sách giảm nghèo lúc 15:30 ngày 20/6/2027 tại Trung tâm VHHTCĐ xã."


def write_config(tmp_path: Path, fake: FakeTelegram) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(tmp_path / "crash.sqlite3")
    data["telegram"].update(base_url=fake.base_url, base_file_url=fake.base_file_url, poll_timeout=1, send_rate=200)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def doithoai(config: Path, fake: FakeTelegram, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, TOKEN_ENV: fake.token, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", *args, "--config", str(config),
                                                cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)


def received(fake: FakeTelegram) -> Counter[int]:
    """How many times each household got the announcement (messages the fake server really stored)."""
    return Counter(chat for chat in range(FIRST_CHAT, FIRST_CHAT + HOUSEHOLDS)
                   for text in fake.texts(chat) if text == TEXT)


async def remaining(db: Database) -> int:
    async with db.reading() as conn:
        counts = await outbox.tally(conn, "broadcast:1")
    return counts["pending"] + counts["sending"]


async def test_a_broadcast_killed_mid_way_finishes_after_a_restart_without_doubles(
    tmp_path: Path, fake_telegram: FakeTelegram,
) -> None:
    config = write_config(tmp_path, fake_telegram)
    settings = load_settings(config)
    async with Database(settings.database.path) as db:
        await add_households(db, datetime.now(UTC), FIRST_CHAT, HOUSEHOLDS)
    for chat in range(FIRST_CHAT, FIRST_CHAT + HOUSEHOLDS):
        fake_telegram.user(chat, "Hộ", str(chat))
    queueing = await doithoai(config, fake_telegram, "broadcast", "--text", TEXT, "--audience", "everyone")
    out, _ = await asyncio.wait_for(queueing.communicate(), 30)
    assert queueing.returncode == 0 and "#1" in out.decode()

    fake_telegram.slow("sendMessage", 0.2, times=HOUSEHOLDS)   # 16 calls in flight at a time, each 0.2 s
    first = await doithoai(config, fake_telegram, "run")
    try:
        await fake_telegram.wait_for(lambda: sum(received(fake_telegram).values()) >= 60, 30, "sending to start")
        first.kill()                                             # SIGKILL: no clean-up of any kind
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    killed_at = sum(received(fake_telegram).values())
    assert killed_at < HOUSEHOLDS

    fake_telegram.faults.clear()
    second = await doithoai(config, fake_telegram, "run")
    try:
        async with Database(settings.database.path) as db:
            for _ in range(300):
                if await remaining(db) == 0:
                    break
                await asyncio.sleep(0.1)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 20) == 0
    finally:
        if second.returncode is None:
            second.kill()
            await second.wait()
    logs = (await second.stderr.read()).decode()  # type: ignore[union-attr]

    async with Database(settings.database.path) as db, db.reading() as conn:
        report = await broadcast.report(conn, await broadcast.require(conn, 1))
        async with conn.execute("SELECT chat_id FROM outbox WHERE group_key = 'broadcast:1' AND status = 'uncertain'"
                                ) as cur:
            uncertain = {int(row[0]) for row in await cur.fetchall()}
    counts = received(fake_telegram)
    missing = {chat for chat in range(FIRST_CHAT, FIRST_CHAT + HOUSEHOLDS) if not counts[chat]}
    assert max(counts.values()) == 1                             # nobody got it twice
    assert missing <= uncertain                                  # nobody missed, but for the in-flight window
    assert 1 <= len(uncertain) <= 16                             # at most one per call that could be in flight
    assert report.delivered + report.uncertain == HOUSEHOLDS and report.waiting == 0
    assert sum(counts.values()) == report.delivered + len(uncertain - missing)
    tally = report.text(settings, "vi")
    assert f"❔ Chưa rõ đã nhận hay chưa: {len(uncertain)} (bot bị dừng đột ngột lúc" in tally
    assert "marked 'uncertain' and not resent" in logs

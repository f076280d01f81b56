"""The real ``doithoai run`` process: Telegram, the outbox sender and the reminders, composed as in production."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import tomli_w

from bot.core.config import TOKEN_ENV, load_settings
from bot.dialogues import service as dialogues
from bot.dialogues.service import DialogueSpec
from storage import Database, people
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
WORKER_READY = re.compile(r"worker process \d+ ready")


def write_config(tmp_path: Path, fake: FakeTelegram) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(tmp_path / "run.sqlite3")
    data["telegram"].update(base_url=fake.base_url, base_file_url=fake.base_file_url, poll_timeout=1)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def register_household_for_a_dialogue_in_an_hour(config: Path) -> None:
    settings = load_settings(config)
    now = datetime.now(UTC)
    async with Database(settings.database.path) as db, db.transaction() as conn:
        spec = DialogueSpec(id="hop-khan", title="Đối thoại bổ sung ấp Tân Hậu", starts_at=now + timedelta(hours=1),
                            place="Văn phòng ấp Tân Hậu", quotas={"tan-hau": 20}, status="open")
        dialogue = await dialogues.create(conn, settings, spec, now)
        person = await people.create_person_with_identity(
            conn, channel="telegram", external_id="1001", chat_id="1001", display_name=None, language="vi",
            now=now.isoformat())
        await people.set_consent(conn, person.id, now.isoformat())
        await people.update_profile(conn, person.id, full_name="Nguyễn Văn Bình", hamlet_id="tan-hau",
                                    category="poor")
        await dialogues.register(conn, dialogue, person.id, "tan-hau", now)


async def read_until(stream: asyncio.StreamReader, pattern: re.Pattern[str]) -> str:
    """The process's log up to and with the first line that matches ``pattern``."""
    lines: list[str] = []
    while not lines or not pattern.search(lines[-1]):
        line = await stream.readline()
        if not line:
            break
        lines.append(line.decode())
    return "".join(lines)


async def test_run_sends_a_missed_reminder_at_start_and_serves_households(tmp_path: Path,
                                                                          fake_telegram: FakeTelegram) -> None:
    config = write_config(tmp_path, fake_telegram)
    fake_telegram.user(1001, "Bình", "Nguyễn Văn")  # a chat the household opened with the bot earlier
    await register_household_for_a_dialogue_in_an_hour(config)
    env = {**os.environ, TOKEN_ENV: fake_telegram.token, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", "--config", str(config),
                                                   cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
    try:
        reminder = await fake_telegram.wait_for(
            lambda: [t for t in fake_telegram.texts(1001) if t.startswith("🔔")], 30, "the missed reminder")
        assert "Văn phòng ấp Tân Hậu" in reminder[0]
        user = fake_telegram.user(1002, "Hoa", "Trần Thị")
        fake_telegram.send_command(user, "start")
        await fake_telegram.wait_for(lambda: fake_telegram.texts(1002), 10, "the welcome")
        early = await asyncio.wait_for(read_until(process.stderr, WORKER_READY), 30)  # settled beside the households
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logs = early + (await process.stderr.read()).decode()
    assert fake_telegram.token not in logs and fake_telegram.token.split(":")[1] not in logs
    assert WORKER_READY.search(logs), "the worker process is started once the bot serves"
    assert sum(t.startswith("🔔") for t in fake_telegram.texts(1001)) == 1

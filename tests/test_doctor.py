"""``doithoai doctor`` as an IT officer runs it: the real command against the fake Bot API server, on a good setup
and on a broken one. Each problem is named with what to do, and the token never appears in the output."""

from __future__ import annotations

import asyncio
import os
import sys
import tomllib
from pathlib import Path

import tomli_w

from bot.core.config import TOKEN_ENV
from storage import Database
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


def write_config(folder: Path, fake: FakeTelegram, **telegram: object) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(folder / "data" / "doithoai.sqlite3")
    data["telegram"].update(base_url=fake.base_url, base_file_url=fake.base_file_url, **telegram)
    path = folder / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def doctor(config: Path, token: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "doctor", "--config", str(config), cwd=ROOT,
        env={**os.environ, TOKEN_ENV: token, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, output.decode()


async def a_database_with_a_backup(config: Path) -> None:
    from bot.core.clock import system_clock
    from bot.core.config import load_settings
    from bot.datacare.backups import nightly

    settings = load_settings(config)
    async with Database(settings.database.path):
        pass
    await nightly(settings.database.path, settings.backup.folder, system_clock(), settings.tz, keep_days=14)


async def test_a_good_setup_is_all_green(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    config = write_config(tmp_path, fake_telegram)
    await a_database_with_a_backup(config)

    code, output = await doctor(config, fake_telegram.token)

    assert code == 0, output
    assert "❌" not in output and "⚠️" not in output
    assert "✅ Telegram: token dùng được, bot là @doithoai_test_bot." in output
    assert "✅ Telegram: nhận tin bằng polling, không đăng ký webhook." in output
    assert "nguyên vẹn" in output and "Bản sao lưu mới nhất" in output
    assert "Kết quả: 0 lỗi cần sửa, 0 điều nên xem lại." in output


async def test_a_refused_token_a_wrong_webhook_and_a_readable_folder_are_each_named_with_the_fix(
        tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    config = write_config(tmp_path, fake_telegram)
    await a_database_with_a_backup(config)
    (tmp_path / "data").chmod(0o755)
    wrong = "999999:AAAAwrongwrongwrongwrong"

    code, output = await doctor(config, wrong)

    assert code == 1
    assert "❌ Telegram: token bị từ chối" in output and "@BotFather" in output
    assert f"chmod 700 {tmp_path / 'data'}" in output
    assert wrong not in output and fake_telegram.token not in output


async def test_a_webhook_registered_elsewhere_is_a_problem(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    config = write_config(tmp_path, fake_telegram, mode="webhook", webhook_url="https://xa.example.vn/telegram")
    await a_database_with_a_backup(config)
    fake_telegram.webhook = {"url": "https://old.example.vn/tg"}

    code, output = await doctor(config, fake_telegram.token)

    assert code == 1
    assert ("❌ Telegram: webhook đăng ký là https://old.example.vn/tg, cấu hình là https://xa.example.vn/telegram"
            in output)


async def test_a_damaged_database_and_a_missing_backup_are_reported(tmp_path: Path,
                                                                    fake_telegram: FakeTelegram) -> None:
    config = write_config(tmp_path, fake_telegram)
    (tmp_path / "data").mkdir(mode=0o700)
    database = tmp_path / "data" / "doithoai.sqlite3"
    database.write_bytes(b"this is not a database, it is a photo of a cat" * 100)
    database.chmod(0o600)

    code, output = await doctor(config, fake_telegram.token)

    assert code == 1
    assert "❌ Không đọc được cơ sở dữ liệu" in output or "❌ Cơ sở dữ liệu" in output
    assert "⚠️ Chưa có bản sao lưu nào" in output
    assert "Traceback" not in output


async def test_an_official_account_without_its_secrets_is_named(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    config = write_config(tmp_path, fake_telegram)
    oa = '\n[zalo_oa]\napp_id = "4318000000000000001"\noa_id = "2791000000000000002"\n'
    config.write_text(config.read_text(encoding="utf-8") + oa, encoding="utf-8")
    await a_database_with_a_backup(config)

    code, output = await doctor(config, fake_telegram.token)

    assert code == 1
    assert "❌ Zalo OA: thiếu zalo_oa.app_secret (DOITHOAI_ZALO_OA_APP_SECRET)" in output

"""Upgrades and nightly backups: ``doithoai migrate [--check]``, the copy taken before migrations run, a failed
migration that leaves the database as it was, ``doithoai backup --nightly`` keeping N days, and the log format."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import storage.schema
from bot.cli import main
from bot.core.config import load_settings
from bot.core.logs import setup_logging
from bot.datacare.backups import nightly
from storage import Database, DatabaseUnusable, pending_migrations
from tests.conftest import EXAMPLE_CONFIG

BROKEN = (9999, "9999_broken.sql",
          "CREATE TABLE half_done (id INTEGER);\nALTER TABLE no_such_table ADD COLUMN x TEXT;")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


async def a_household(path: Path) -> None:
    async with Database(path) as db, db.transaction() as conn:
        await conn.execute("INSERT INTO persons (created_at, full_name) VALUES ('2027-06-01T00:00:00+00:00',"
                           " 'Nguyễn Văn Bình')")


def with_broken_migration(monkeypatch: pytest.MonkeyPatch) -> None:
    """A release whose newest migration fails half-way (its first statement works, its second cannot)."""
    shipped = storage.schema.migrations()
    monkeypatch.setattr(storage.schema, "migrations", lambda: [*shipped, BROKEN])


async def test_a_failed_migration_leaves_the_database_as_it_was(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "doithoai.sqlite3"
    await a_household(path)
    with_broken_migration(monkeypatch)

    with pytest.raises(DatabaseUnusable) as failed:
        await Database(path).open()

    assert failed.value.reason == "migration_failed" and "9999_broken.sql" in failed.value.detail
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "half_done" not in tables
        assert conn.execute("SELECT MAX(number) FROM schema_migrations").fetchone()[0] < 9999
        assert conn.execute("SELECT full_name FROM persons").fetchall() == [("Nguyễn Văn Bình",)]


def test_migrate_check_names_what_would_run_and_changes_nothing(
        config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "doithoai.sqlite3"
    asyncio.run(a_household(path))
    assert pending_migrations(path) == []
    assert "đã ở phiên bản mới nhất" in CliRunner().invoke(main, ["migrate", "--check", "--config", str(config)]).output

    with_broken_migration(monkeypatch)
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["migrate", "--check", "--config", str(config)])

    assert result.exit_code == 1 and "9999_broken.sql" in result.output
    assert path.read_bytes() == before


def test_an_upgrade_copies_the_database_first_and_a_failure_stops_with_one_clear_line(
        config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "doithoai.sqlite3"
    asyncio.run(a_household(path))
    with_broken_migration(monkeypatch)

    result = CliRunner().invoke(main, ["migrate", "--config", str(config)])

    assert result.exit_code == 2
    assert "Không nâng cấp được cơ sở dữ liệu" in result.output and "9999_broken.sql" in result.output
    assert "Traceback" not in result.output
    [copy] = (tmp_path / "backups").iterdir()
    assert copy.name.startswith("before-9999_broken-") and copy.stat().st_mode & 0o077 == 0
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT full_name FROM persons").fetchall() == [("Nguyễn Văn Bình",)]


async def test_nightly_backups_keep_the_configured_days_and_nothing_else_is_touched(tmp_path: Path) -> None:
    path = tmp_path / "doithoai.sqlite3"
    await a_household(path)
    folder = tmp_path / "backups"
    now = datetime(2027, 6, 20, 19, 0, tzinfo=UTC)          # 02:00 on 21 June in Vietnam
    for days in (20, 15, 13, 1):
        await nightly(path, folder, now - timedelta(days=days), TZ, keep_days=14)
    (folder / "before-0015_web-2027-01-01-0000.sqlite3").write_bytes(b"")   # taken before an upgrade: kept
    (folder / "ghi-chu.txt").write_text("không phải bản sao lưu")

    made, removed = await nightly(path, folder, now, TZ, keep_days=14)

    assert made.name == "doithoai-2027-06-21-0200.sqlite3"
    assert [p.name for p in removed] == ["doithoai-2027-06-06-0200.sqlite3"]   # 20 days old went a night earlier
    assert sorted(p.name for p in folder.iterdir()) == [
        "before-0015_web-2027-01-01-0000.sqlite3", "doithoai-2027-06-08-0200.sqlite3",
        "doithoai-2027-06-20-0200.sqlite3", "doithoai-2027-06-21-0200.sqlite3", "ghi-chu.txt"]


def test_the_nightly_command_writes_into_the_backup_folder(config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["backup", "--nightly", "--config", str(config)])

    assert result.exit_code == 0, result.output
    [made] = (tmp_path / "backups").iterdir()
    assert made.name.startswith("doithoai-") and f"Đã sao lưu vào {made}" in result.output


def test_json_log_lines_carry_no_token(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    token = "123456:AAHsecretsecretsecret"
    monkeypatch.setenv("DOITHOAI_TELEGRAM_TOKEN", token)
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8") + '\n[logging]\nlevel = "INFO"\nformat = "json"\n',
                    encoding="utf-8")
    setup_logging(load_settings(path))
    try:
        logging.getLogger("doithoai.test").info("calling https://api.telegram.org/bot%s/getMe", token)
    finally:
        setup_logging(None)

    [line] = [line for line in capsys.readouterr().err.splitlines() if "getMe" in line]
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "doithoai.test"
    assert token not in line and entry["message"].endswith("/bot***/getMe")


@pytest.mark.parametrize("args", [["migrate", "--check"], ["migrate"]])
def test_migrate_against_a_postgresql_that_does_not_answer_says_so_in_one_line(tmp_path: Path, args: list[str]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "doithoai.sqlite3"', 'path = "doithoai.sqlite3"\n'
                                   f'url = "postgresql://doithoai@127.0.0.1:{port}/doithoai"', 1), encoding="utf-8")

    result = CliRunner().invoke(main, [*args, "--config", str(config)])

    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"Không mở được cơ sở dữ liệu postgresql://doithoai@127.0.0.1:{port}/doithoai" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1

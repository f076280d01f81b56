"""``doithoai backup`` never guesses: a missing folder or an existing file needs --force; restore names its safety
copy in local time."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.datacare import service as datacare
from storage import Database
from tests.conftest import EXAMPLE_CONFIG


@pytest.fixture
async def config(tmp_path: Path, database: Database) -> Path:
    """config.example.toml next to the test database (its relative database path resolves to it)."""
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def backup(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["backup", "--config", str(config), *args])
    return result.exit_code, result.output


def test_a_backup_into_a_missing_folder_is_refused_until_forced(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "sao-luu" / "doithoai.sqlite3"
    code, output = backup(config, str(target))
    assert code == 2 and "Chưa có thư mục" in output and not target.parent.exists()

    code, output = backup(config, str(target), "--force")
    assert code == 0, output
    assert datacare.check_backup(target) == []


def test_an_existing_backup_is_never_overwritten_without_force(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "doithoai-2027-06-20.sqlite3"
    target.write_bytes(b"an older backup")
    code, output = backup(config, str(target))
    assert code == 2 and "Đã có tệp" in output
    assert target.read_bytes() == b"an older backup"

    code, output = backup(config, str(target), "--force")
    assert code == 0, output
    assert datacare.check_backup(target) == []


def test_a_backup_folder_that_cannot_be_made_is_named_without_a_traceback(config: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be", encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8") + f'\n[backup]\nfolder = "{blocker / "backups"}"\n',
                      encoding="utf-8")

    code, output = backup(config, "--nightly")

    assert code == 1
    assert "Không ghi được bản sao lưu" in output and str(blocker / "backups") in output
    assert "Traceback" not in output


def test_a_folder_as_target_asks_for_a_file_name(config: Path, tmp_path: Path) -> None:
    code, output = backup(config, str(tmp_path), "--force")
    assert code == 2 and "là một thư mục" in output


def test_restore_keeps_the_replaced_database_under_a_local_time_name(tmp_path: Path) -> None:
    db_path = tmp_path / "live.sqlite3"
    backup_file = tmp_path / "backup.sqlite3"
    for path in (db_path, backup_file):
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (x)")
    kept = datacare.restore(backup_file, db_path, datetime(2027, 6, 20, 8, 30, 5, tzinfo=UTC),
                            ZoneInfo("Asia/Ho_Chi_Minh"))
    assert kept is not None and kept.name == "live.sqlite3.before-restore-2027-06-20-15h30m05"

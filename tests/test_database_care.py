"""The database file: created owner-only, checked at start, and a file that cannot be used ends a command with one
clear line (exit 2), never a traceback or a hang."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from storage import Database, DatabaseUnusable
from storage.db import _reason
from tests.conftest import EXAMPLE_CONFIG


def config_for(tmp_path: Path, db_path: Path, token: str = "") -> Path:
    import tomllib

    data = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["database"]["path"] = str(db_path)
    if token:
        data["telegram"]["token"] = token
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def doithoai(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60,
                          input="", env=env, check=False)


@pytest.mark.parametrize("command", [("staff", "list"), ("audit",), ("console",), ("purge", "--before", "1/1/2024"),
                                     ("run",), ("migrate",), ("migrate", "--check"), ("backup", "--nightly"),
                                     ("backup", "copy.sqlite3")])
def test_a_file_that_is_not_a_database_ends_every_command_with_one_line(tmp_path: Path, command: tuple) -> None:
    db_path = tmp_path / "doithoai.sqlite3"
    db_path.write_text("Danh sách hộ nghèo năm 2026\n" * 50, encoding="utf-8")
    config = config_for(tmp_path, db_path, token="123:not-used")  # run gets as far as the database
    args = [str(tmp_path / arg) if arg.endswith(".sqlite3") else arg for arg in command]
    result = doithoai(*args, "--config", str(config))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"Tệp {db_path} không phải cơ sở dữ liệu của bot")
    assert "doithoai restore --config" in result.stderr
    assert not list(tmp_path.rglob("*.partial")) and not (tmp_path / "copy.sqlite3").exists()  # no half copy


def test_a_damaged_database_is_refused_with_the_restore_command(tmp_path: Path) -> None:
    db_path = tmp_path / "doithoai.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE t (x TEXT)")
        db.executemany("INSERT INTO t VALUES (?)", [("Nguyễn Văn Bình " * 20,)] * 2000)
        db.execute("CREATE INDEX t_x ON t(x)")
    raw = bytearray(db_path.read_bytes())
    page = 4096
    raw[page * 20:page * 20 + 200] = b"\xff" * 200  # a page in the middle turned to garbage
    db_path.write_bytes(bytes(raw))
    result = doithoai("staff", "list", "--config", str(config_for(tmp_path, db_path)))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bị hỏng" in result.stderr and "doithoai restore" in result.stderr


async def test_a_new_database_and_its_folder_are_the_bots_users_only(tmp_path: Path) -> None:
    db_path = tmp_path / "du-lieu" / "doithoai.sqlite3"
    async with Database(db_path) as db, db.transaction() as conn:
        await conn.execute("INSERT INTO jobs_done (job_key, done_at) VALUES ('x', 'y')")
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


async def test_a_database_others_can_read_is_warned_about_at_start(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    db_path = tmp_path / "doithoai.sqlite3"
    async with Database(db_path):
        pass
    db_path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        async with Database(db_path):
            pass
    assert any(str(db_path) in r.getMessage() and "chmod 600" in r.getMessage() for r in caplog.records)


def test_sqlite_read_only_errors_are_told_as_such() -> None:
    assert _reason(sqlite3.OperationalError("attempt to write a readonly database")) == "read_only"
    assert _reason(sqlite3.OperationalError("unable to open database file")) == "read_only"
    assert _reason(sqlite3.DatabaseError("file is not a database")) == "not_a_database"


async def test_opening_a_file_that_is_not_a_database_raises_one_error_and_leaves_nothing_open(tmp_path: Path) -> None:
    db_path = tmp_path / "x.sqlite3"
    db_path.write_bytes(b"not a database" * 100)
    database = Database(db_path)
    with pytest.raises(DatabaseUnusable) as raised:
        await database.open()
    assert raised.value.reason == "not_a_database"
    with pytest.raises(RuntimeError):
        _ = database.conn

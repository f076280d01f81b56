"""``doithoai backup`` on PostgreSQL, as the nightly timer runs it: pg_dump's custom format into an owner-only file
that pg_restore reads back with the households' words in it, the old nightly ones pruned as SQLite's are; a pg_dump
that fails or is missing leaves no file and says what to do, without a traceback."""

from __future__ import annotations

import asyncio
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import storage.schema
from bot.cli import main
from bot.cli.doctor import OK, check_backups
from bot.core.config import load_settings
from bot.datacare import pg_dump as pg_dump_module
from bot.datacare.pg_dump import pg_dump_program
from storage import database_at, people, submissions
from tests.conftest import EXAMPLE_CONFIG

QUESTION = "Xin hỏi điều kiện vay vốn hộ nghèo để nuôi bò sinh sản?"
NOW = "2023-06-15T02:00:00+00:00"
LATER = (9999, "9999_later_feature.sql", "CREATE TABLE later_feature (id INTEGER PRIMARY KEY);\n")


def pg_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "config.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "doithoai.sqlite3"', f'path = "doithoai.sqlite3"\nurl = "{url}"', 1),
                      encoding="utf-8")
    return config


async def a_household_asks(url: str) -> None:
    async with database_at(url) as db, db.transaction() as conn:
        person = await people.create_person_with_identity(
            conn, channel="telegram", external_id="5001", chat_id="5001", display_name="Bình", language="vi", now=NOW)
        await submissions.create_submission(
            conn, person_id=person.id, hamlet_id="tan-hau", category="poor", kind="question", field_id="giam-ngheo",
            topic_id="vay-von", content=QUESTION, media_kind=None, media_file_id=None, channel="telegram", now=NOW)


def backup(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["backup", "--config", str(config), *args])


def restored_sql(dump: Path) -> str:
    """What pg_restore makes of the file: the SQL to rebuild the database, rows included."""
    program = pg_dump_program()
    assert program is not None
    restore = str(Path(program).with_name("pg_restore"))
    return subprocess.run([restore, "--file=-", str(dump)], capture_output=True, text=True, check=True).stdout


def test_the_nightly_backup_on_postgresql_is_a_private_dump_that_pg_restore_reads_back(tmp_path: Path,
                                                                                       pg_url: str) -> None:
    config = pg_config(tmp_path, pg_url)
    asyncio.run(a_household_asks(pg_url))
    folder = tmp_path / "backups"
    folder.mkdir(mode=0o700)
    expired = folder / "doithoai-2020-01-01-0200.dump"  # an old nightly of ours: pruned
    by_cron = folder / "doithoai-2020-01-01.dump"       # the guide's cron names its own: never ours to remove
    expired.write_bytes(b"old")
    by_cron.write_bytes(b"old")

    result = backup(config, "--nightly")

    assert result.exit_code == 0, result.output
    made = sorted(set(folder.glob("doithoai-*-*.dump")) - {by_cron})
    assert len(made) == 1 and str(made[0]) in result.output
    assert stat.S_IMODE(made[0].stat().st_mode) == 0o600
    assert QUESTION in restored_sql(made[0])
    assert not expired.exists() and by_cron.exists()
    assert not list(folder.glob("*.partial"))
    findings = [(f.level, f.key, f.values["path"]) for f in check_backups(load_settings(config))]
    assert findings == [(OK, "backup_ok", made[0])]
    assert asyncio.run(audited(pg_url)) == [("backup", made[0].name)]


async def audited(url: str) -> list[tuple[str, str]]:
    async with database_at(url) as db, db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT action, target FROM audit_log ORDER BY id")
    return [(row[0], row[1]) for row in rows]


def test_a_backup_pg_dump_cannot_make_leaves_no_file_and_says_why(tmp_path: Path, pg_url: str) -> None:
    target = tmp_path / "doithoai.dump"
    wrong = pg_config(tmp_path, pg_url.replace("/t_", "/no_such_"))

    result = backup(wrong, str(target))

    assert result.exit_code == 1
    assert "pg_dump không sao lưu được" in result.output and "no_such_" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert not target.exists() and not list(tmp_path.glob("*.partial"))

    right = pg_config(tmp_path, pg_url)
    assert backup(right, str(target)).exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.stat().st_size > 0


def test_without_pg_dump_the_backup_says_how_to_install_it(tmp_path: Path, pg_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(pg_dump_module, "DEBIAN_BINARIES", tmp_path / "no-postgresql")

    result = backup(pg_config(tmp_path, pg_url), "--nightly")

    assert result.exit_code == 2
    assert "sudo apt install postgresql-client" in result.output
    assert not list(tmp_path.glob("backups/*"))


def test_migrate_on_postgresql_keeps_a_pg_dump_copy_first(tmp_path: Path, pg_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = pg_config(tmp_path, pg_url)
    asyncio.run(a_household_asks(pg_url))  # at this version's schema, a household's question in it
    shipped = storage.schema.migrations()
    monkeypatch.setattr(storage.schema, "migrations", lambda: [*shipped, LATER])  # the next release adds one

    result = CliRunner().invoke(main, ["migrate", "--config", str(config)])

    assert result.exit_code == 0, result.output
    [copy] = (tmp_path / "backups").glob("before-9999_later_feature-*.dump")
    assert str(copy) in result.output and stat.S_IMODE(copy.stat().st_mode) == 0o600
    taken = restored_sql(copy)
    assert QUESTION in taken and "later_feature" not in taken  # the copy is of the database before the upgrade
    assert "đã ở phiên bản mới nhất" in CliRunner().invoke(main, ["migrate", "--check", "--config", str(config)]).output


def test_migrate_on_postgresql_without_pg_dump_changes_nothing(tmp_path: Path, pg_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(pg_dump_module, "DEBIAN_BINARIES", tmp_path / "no-postgresql")
    config = pg_config(tmp_path, pg_url)

    result = CliRunner().invoke(main, ["migrate", "--config", str(config)])

    assert result.exit_code == 2 and "sudo apt install postgresql-client" in result.output
    monkeypatch.undo()
    assert CliRunner().invoke(main, ["migrate", "--check", "--config", str(config)]).exit_code == 1  # still pending

"""Care of people's data: backup while the bot writes, restore, purge keeping counts, a household's own data."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import tomli_w

from bot.cli.wiring import build_engine
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.datacare import service as datacare
from bot.dialogues import service as dialogues
from bot.dialogues.service import DialogueSpec
from storage import Database
from tests.support import Household

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2023, 6, 1, 1, 0, tzinfo=UTC)


def count(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchone()[0]


async def test_backup_while_households_keep_writing_is_consistent_and_owner_only(
        engine: Engine, settings: Settings, tmp_path: Path) -> None:
    households = [Household(engine, str(n)) for n in range(30)]
    first_saved = asyncio.Event()

    async def keep_writing() -> None:
        for hh in households:
            await hh.identify(name="Nguyễn Văn Bình")
            await hh.ask("Khi nào có thẻ bảo hiểm y tế?")
            first_saved.set()

    writer = asyncio.create_task(keep_writing())
    await asyncio.wait_for(first_saved.wait(), 10)
    assert not writer.done()   # the backup below runs while households are still writing
    target = tmp_path / "backups" / "doithoai-backup.sqlite3"
    await datacare.backup(settings.database.path, target)
    await writer
    assert datacare.check_backup(target) == []
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    saved = count(target, "SELECT COUNT(*) FROM submissions")
    persons = count(target, "SELECT COUNT(*) FROM persons WHERE full_name IS NOT NULL")
    assert persons >= saved  # a whole number of committed turns: never half a household


async def test_restore_brings_back_the_backup_and_keeps_the_replaced_file(
        engine: Engine, settings: Settings, tmp_path: Path) -> None:
    binh = Household(engine, "1")
    await binh.identify()
    await binh.ask("Câu hỏi trước khi sao lưu")
    target = tmp_path / "backup.sqlite3"
    await datacare.backup(settings.database.path, target)
    await binh.tap("another")
    await binh.ask("Câu hỏi sau khi sao lưu", topic="t:nha-o")
    await engine.db.close()
    kept = datacare.restore(target, settings.database.path, NOW)
    db_path = Path(settings.database.path)
    assert count(db_path, "SELECT COUNT(*) FROM submissions") == 1
    assert kept is not None and count(kept, "SELECT COUNT(*) FROM submissions") == 2
    async with Database(db_path) as db:
        hh = Household(build_engine(settings, db), "1")
        await hh.command("myquestions")
        assert "Câu hỏi trước khi sao lưu" in hh.text and "sau khi sao lưu" not in hh.text


def test_a_file_that_is_not_a_doithoai_database_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    assert datacare.check_backup(junk)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    assert "không phải cơ sở dữ liệu của doithoai" in datacare.check_backup(other)[0]
    assert "not a doithoai database" in datacare.check_backup(other, "en")[0]


async def test_purge_removes_personal_data_of_past_dialogues_and_keeps_counts(
        engine: Engine, settings: Settings) -> None:
    async with engine.db.transaction() as conn:
        spec = DialogueSpec(id="tan-thuan-tay-2023", title="Đối thoại năm 2023",
                            starts_at=datetime(2023, 6, 20, 8, 30, tzinfo=UTC), place="Trung tâm VHHTCĐ xã",
                            quotas={"tan-hau": 20}, status="open")
        dialogue = await dialogues.create(conn, settings, spec, NOW)
    binh = Household(engine, "1")
    await binh.identify()
    await binh.ask("Nhà tôi có được hỗ trợ sửa nhà không?", topic="t:nha-o")
    async with engine.db.transaction() as conn:
        reg = await dialogues.register(conn, dialogue, 1, "tan-hau", NOW)
        await dialogues.check_in(conn, reg.code, "officer", NOW)
        await dialogues.set_status(conn, settings, dialogue.id, "held", NOW)
    report = await datacare.purge_before(engine.db, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
    assert (report.dialogues, report.registrations, report.submissions) == (1, 1, 1)
    async with engine.db.reading() as conn:
        stats = await conn.execute_fetchall("SELECT hamlet_id, registered, checked_in FROM dialogue_stats")
        subs = await conn.execute_fetchall("SELECT person_id, content, topic_id, hamlet_id FROM submissions")
        names = await conn.execute_fetchall("SELECT full_name FROM persons")
    assert [tuple(r) for r in stats] == [("tan-hau", 1, 1)]
    assert [tuple(r) for r in subs] == [(None, None, "nha-o", "tan-hau")]
    assert [tuple(r) for r in names] == [], "a household with nothing left is removed"


async def test_purge_twice_changes_nothing_more(engine: Engine) -> None:
    binh = Household(engine, "1")
    await binh.identify()
    await binh.ask("Câu hỏi cũ")
    later = datetime(2024, 2, 1, tzinfo=UTC)
    first = await datacare.purge_before(engine.db, datetime(2024, 1, 1, tzinfo=UTC), later)
    second = await datacare.purge_before(engine.db, datetime(2024, 1, 1, tzinfo=UTC), later)
    assert first.submissions == 1 and second.submissions == 0


def _config(tmp_path: Path, db_path: Path) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(db_path)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def test_export_person_gives_a_household_its_own_data_owner_only(
        engine: Engine, settings: Settings, tmp_path: Path) -> None:
    binh, hoa = Household(engine, "1"), Household(engine, "2")
    await binh.identify()
    await binh.ask("Câu hỏi của ông Bình")
    await hoa.identify(name="Trần Thị Hoa", hamlet="Tân Dân")
    await hoa.ask("Câu hỏi của bà Hoa")
    config = _config(tmp_path, Path(settings.database.path))
    out = tmp_path / "binh.json"
    command = [sys.executable, "-m", "bot.cli", "export-person", "--config", str(config), "--id", "1",
               "--out", str(out)]
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["person"]["full_name"] == "Nguyễn Văn Bình"
    assert [s["content"] for s in data["submissions"]] == ["Câu hỏi của ông Bình"]
    assert "bà Hoa" not in out.read_text(encoding="utf-8")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


async def test_backup_command_runs_while_the_database_is_in_use(engine: Engine, settings: Settings,
                                                                tmp_path: Path) -> None:
    hh = Household(engine, "1")
    await hh.identify()
    await hh.ask("Câu hỏi trong lúc sao lưu")
    config = _config(tmp_path, Path(settings.database.path))
    target = tmp_path / "b.sqlite3"
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "backup", "--config",
                                                   str(config), str(target), cwd=ROOT)
    others = [Household(engine, str(n)) for n in range(10, 20)]
    for other in others:
        await other.identify()
    assert await asyncio.wait_for(process.wait(), 60) == 0
    assert count(target, "SELECT COUNT(*) FROM submissions") == 1


async def test_exported_files_are_removed_once_sent_but_kept_while_still_queued(engine: Engine, tmp_path: Path
                                                                                ) -> None:
    import os

    from bot.core.types import Message
    from bot.outbox.enqueue import Priority, Recipient, enqueue
    from bot.reports.cleanup import remove_sent_exports

    folder = tmp_path / "exports"
    folder.mkdir()
    sent, queued = folder / "bao-cao-sent.xlsx", folder / "bao-cao-queued.xlsx"
    for path in (sent, queued):
        path.write_bytes(b"x")
        os.utime(path, (0, 0))
    async with engine.db.transaction() as conn:
        await enqueue(conn, key="report:1", recipient=Recipient(None, "telegram", "9001"), kind="report",
                      message=Message("Báo cáo", document_path=str(queued)), priority=Priority.DIGEST, now=NOW)
    assert await remove_sent_exports(engine.db, folder, NOW) == 1
    assert not sent.exists() and queued.exists()

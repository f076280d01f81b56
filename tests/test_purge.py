"""Purge touches only what is over: held or cancelled dialogues, and questions no live dialogue will report."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w

from bot.core.config import Settings
from bot.core.engine import Engine
from bot.datacare import service as datacare
from bot.dialogues import service as dialogues
from bot.dialogues.service import DialogueSpec
from tests.support import Household

ROOT = Path(__file__).resolve().parent.parent
CREATED = datetime(2023, 6, 1, 1, 0, tzinfo=UTC)
BEFORE = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 2, 1, tzinfo=UTC)
NAMES = {"1": "Nguyễn Văn Bình", "2": "Trần Thị Hoa"}


async def _dialogue(engine: Engine, settings: Settings, dialogue_id: str, hamlet: str, status: str,
                    starts_at: datetime | None) -> dialogues.Dialogue:
    async with engine.db.transaction() as conn:
        spec = DialogueSpec(id=dialogue_id, title=f"Đối thoại {dialogue_id}", starts_at=starts_at,
                            place="Hội trường xã", quotas={hamlet: 10}, status="open")
        return await dialogues.create(conn, settings, spec, CREATED)


async def _set_status(engine: Engine, settings: Settings, dialogue_id: str, status: str) -> None:
    async with engine.db.transaction() as conn:
        await dialogues.set_status(conn, settings, dialogue_id, status, CREATED)


async def _household_registered(engine: Engine, user: str, hamlet: str, dialogue: dialogues.Dialogue,
                                question: str, status: str = "open") -> None:
    """A household of the hamlet asks a question and registers; then the dialogue gets ``status``."""
    household = Household(engine, user)
    await household.identify(name=NAMES[user], hamlet=hamlet)
    await household.ask(question)
    async with engine.db.transaction() as conn:
        person = await conn.execute_fetchall("SELECT person_id FROM identities WHERE external_id = ?", (user,))
        await dialogues.register(conn, dialogue, person[0][0], _hamlet_id(engine, hamlet), CREATED)
    if status != "open":
        await _set_status(engine, engine.settings, dialogue.id, status)


def _hamlet_id(engine: Engine, name: str) -> str:
    return next(h.id for h in engine.settings.hamlets() if h.name.endswith(name))


async def _texts(engine: Engine) -> set[str]:
    async with engine.db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT content FROM submissions WHERE content IS NOT NULL")
    return {row[0] for row in rows}


async def _registrations(engine: Engine) -> list[str]:
    async with engine.db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT dialogue_id FROM registrations ORDER BY dialogue_id")
    return [row[0] for row in rows]


async def test_purge_leaves_a_live_dialogue_and_the_questions_it_will_report_untouched(
        engine: Engine, settings: Settings) -> None:
    held = await _dialogue(engine, settings, "da-to-chuc", _hamlet_id(engine, "Tân Hậu"), "held",
                           datetime(2023, 6, 20, 1, 30, tzinfo=UTC))
    # open, its time passed but nobody marked it held: the commune has not finished with it
    overdue = await _dialogue(engine, settings, "chua-xong", _hamlet_id(engine, "Tân Dân"), "open",
                              datetime(2023, 9, 1, 1, 30, tzinfo=UTC))
    await _household_registered(engine, "1", "Tân Hậu", held, "Hỏi về sửa nhà cho hộ nghèo", "held")
    await _household_registered(engine, "2", "Tân Dân", overdue, "Hỏi về vay vốn cho con đi học")

    report = await datacare.purge_before(engine.db, BEFORE, NOW)

    assert (report.dialogue_ids, report.registrations, report.submissions) == (["da-to-chuc"], 1, 1)
    assert await _registrations(engine) == ["chua-xong"]
    assert await _texts(engine) == {"Hỏi về vay vốn cho con đi học"}


async def test_purge_never_touches_a_dialogue_whose_time_is_still_ahead(engine: Engine, settings: Settings) -> None:
    """Even cancelled: its households' data stays until the day it would have been held has passed."""
    future = await _dialogue(engine, settings, "sap-toi", _hamlet_id(engine, "Tân Hậu"), "cancelled",
                             datetime(2024, 6, 20, 1, 30, tzinfo=UTC))
    await _household_registered(engine, "1", "Tân Hậu", future, "Hỏi về bảo hiểm y tế", "cancelled")

    report = await datacare.purge_before(engine.db, BEFORE, NOW)

    assert (report.dialogues, report.registrations, report.submissions) == (0, 0, 0)
    assert await _texts(engine) == {"Hỏi về bảo hiểm y tế"}


async def test_purge_refuses_a_date_still_ahead(engine: Engine) -> None:
    with pytest.raises(datacare.PurgeRefused):
        await datacare.purge_before(engine.db, datetime(2030, 1, 1, tzinfo=UTC), NOW)


async def test_a_dry_run_reports_exactly_what_a_purge_removes_and_changes_nothing(
        engine: Engine, settings: Settings) -> None:
    held = await _dialogue(engine, settings, "da-to-chuc", _hamlet_id(engine, "Tân Hậu"), "held",
                           datetime(2023, 6, 20, 1, 30, tzinfo=UTC))
    await _household_registered(engine, "1", "Tân Hậu", held, "Hỏi về sửa nhà cho hộ nghèo", "held")

    rehearsal = await datacare.purge_before(engine.db, BEFORE, NOW, dry_run=True)
    assert await _texts(engine) == {"Hỏi về sửa nhà cho hộ nghèo"} and await _registrations(engine) == ["da-to-chuc"]
    real = await datacare.purge_before(engine.db, BEFORE, NOW)
    assert rehearsal == real and real.submissions == 1


# ---- the command line ----------------------------------------------------------------------------------------


def _config(tmp_path: Path, db_path: str) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = db_path
    data.pop("dialogues", None)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def _purge(config: Path, *args: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "purge", "--config", str(config), *args],
                          input=answer, capture_output=True, text=True, timeout=60, check=False)


def _count(db_path: str, sql: str) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchone()[0]


@pytest.fixture
async def filled(engine: Engine, settings: Settings, tmp_path: Path) -> Path:
    """A database with one held dialogue of 2023 (one registration, one question); returns the config's path."""
    held = await _dialogue(engine, settings, "da-to-chuc", _hamlet_id(engine, "Tân Hậu"), "held",
                           datetime(2023, 6, 20, 1, 30, tzinfo=UTC))
    await _household_registered(engine, "1", "Tân Hậu", held, "Hỏi về sửa nhà cho hộ nghèo", "held")
    return _config(tmp_path, settings.database.path)


async def test_purge_command_refuses_a_future_date_and_changes_nothing(filled: Path, settings: Settings) -> None:
    result = _purge(filled, "--before", "1/1/2999", "--yes")
    assert result.returncode == 2
    assert "chưa tới" in result.stderr and "Traceback" not in result.stderr
    assert _count(settings.database.path, "SELECT COUNT(*) FROM registrations") == 1


async def test_purge_dry_run_prints_the_counts_and_changes_nothing(filled: Path, settings: Settings) -> None:
    result = _purge(filled, "--before", "2024-01-01", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Chạy thử" in result.stdout and "1 buổi đối thoại" in result.stdout and "da-to-chuc" in result.stdout
    assert "1 đăng ký" in result.stdout and "1 câu hỏi" in result.stdout
    assert _count(settings.database.path, "SELECT COUNT(*) FROM registrations") == 1
    assert _count(settings.database.path, "SELECT COUNT(*) FROM submissions WHERE content IS NOT NULL") == 1


async def test_purge_confirmation_shows_the_counts_and_a_no_keeps_everything(filled: Path, settings: Settings) -> None:
    result = _purge(filled, "--before", "1/1/2024", answer="n\n")
    assert result.returncode == 1
    assert "Đã dừng, chưa thay đổi gì." in result.stderr and "Aborted" not in result.stderr + result.stdout
    assert "1 buổi đối thoại" in result.stdout and "1 đăng ký" in result.stdout and "Đồng ý xóa?" in result.stdout
    assert _count(settings.database.path, "SELECT COUNT(*) FROM registrations") == 1

    done = _purge(filled, "--before", "1/1/2024", answer="có\n")
    assert done.returncode == 0, done.stderr
    assert _count(settings.database.path, "SELECT COUNT(*) FROM registrations") == 0
    assert _count(settings.database.path, "SELECT COUNT(*) FROM submissions WHERE content IS NOT NULL") == 0

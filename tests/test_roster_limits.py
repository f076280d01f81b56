"""A large or hostile roster file: refused before it costs anything, or imported in short transactions while the
bot keeps answering households."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path

import pytest

from bot.cli.wiring import build_engine
from bot.core.config import RosterSection, Settings
from bot.core.engine import Engine
from bot.dialogues.roster import BATCH, RosterError, import_roster
from storage import Database
from storage.dialogues import roster_size
from tests.support import Household
from tests.test_roster import DIALOGUE, HEADER, HOUSEHOLDS, NOW, add_dialogue, write_csv


@pytest.fixture
async def db(database: Database, settings: Settings) -> Database:
    """The test database with the roster tests' dialogue (seed 000, four hamlets)."""
    await add_dialogue(database, settings)
    return database


def limited(settings: Settings, **limits: int) -> Settings:
    return settings.model_copy(update={"roster": RosterSection(**limits)})


async def test_more_rows_than_the_limit_are_refused_and_nothing_is_imported(db: Database, settings: Settings,
                                                                            tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ds.csv", [HEADER, *HOUSEHOLDS])
    with pytest.raises(RosterError) as refused:
        await import_roster(db, limited(settings, max_rows=3), DIALOGUE, path, now=NOW)
    assert "hơn 3 hộ" in refused.value.text("vi") and "Chưa nhập dòng nào" in refused.value.text("vi")
    async with db.reading() as conn:
        assert await roster_size(conn, DIALOGUE) == 0


async def test_an_xlsx_that_unpacks_beyond_the_limit_is_refused_before_it_is_opened(
        db: Database, settings: Settings) -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<x>" + b" " * (3 * 1024 * 1024) + b"</x>")
    data = packed.getvalue()
    assert len(data) < 64 * 1024  # small on the wire, 3 MB unpacked: a zip bomb in miniature
    with pytest.raises(RosterError) as refused:
        await import_roster(db, limited(settings, max_unzipped_mb=1), DIALOGUE, data=data,
                            filename="danh sach.xlsx", now=NOW)
    assert "giải nén" in refused.value.text("vi") and "CSV" in refused.value.text("vi")


def big_roster(path: Path, count: int) -> Path:
    hamlets = ("Tân Hậu", "Tân Dân", "Tân Hùng", "Tân Chủ")
    rows = [[n, "Nguyễn Văn Bình", f"TTT-{n:06d}", hamlets[n % 4], "Hộ nghèo", f"09{n:08d}"] for n in range(count)]
    return write_csv(path, [HEADER, *rows])


async def test_progress_follows_the_rows_read_then_the_rows_written(db: Database, settings: Settings,
                                                                   tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    report = await import_roster(db, settings, DIALOGUE, big_roster(tmp_path / "ds.csv", 5000), now=NOW,
                                 progress=lambda done, total: seen.append((done, total)))
    assert report.added == 5000
    read_end = len(seen) - 1 - seen[::-1].index((5000, 5000)) - 3  # the last (5000, 5000) ends the writing
    reading, writing = seen[:read_end + 1], seen[read_end + 1:]
    assert reading[0] == (1000, 5000) and reading[-1] == (5000, 5000), "from the first rows, with the real total"
    assert [done for done, _ in reading] == sorted(done for done, _ in reading)
    assert writing == [(BATCH, 5000), (2 * BATCH, 5000), (5000, 5000)]


async def test_a_household_is_answered_while_a_large_roster_is_being_written(db: Database, settings: Settings,
                                                                             tmp_path: Path) -> None:
    engine: Engine = build_engine(settings, db)
    writing = asyncio.Event()
    read: list[bool] = []

    def progress(done: int, total: int) -> None:
        if done == total and not read:
            read.append(True)  # every row read; the writing starts
        elif read and done == BATCH:
            writing.set()  # called on the event loop, once the first batch has committed

    path = big_roster(tmp_path / "ds.csv", 20 * BATCH)
    task = asyncio.create_task(import_roster(db, settings, DIALOGUE, path, now=NOW, progress=progress))
    await asyncio.wait_for(writing.wait(), 60)
    household = Household(engine, "501")
    replies = await household.command("start")
    assert replies, "the household got its welcome"
    assert not task.done(), "the household was answered between two batches, not after the whole import"
    report = await task
    assert report.added == 20 * BATCH

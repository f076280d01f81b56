"""Slow work beside the households' turns (issue 17): a roster import in the running bot is read, checked and
written in the worker process, on its own connection: none of its writes go through the bot's connection or the
lock the turns take, and households' turns keep going while it writes."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.wiring import build_engine
from bot.core.config import DatabaseSection, Settings, load_settings
from bot.core.types import Incoming, InputKind
from bot.dialogues.roster import import_roster
from bot.dialogues.service import DialogueSpec, create
from storage import Database

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2023, 6, 1, 1, 0, tzinfo=UTC)
DIALOGUE = "tan-thuan-tay-2023"
ROWS = 20_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    example = load_settings(ROOT / "config.example.toml")
    return example.model_copy(update={"database": DatabaseSection(path=str(tmp_path / "bg.sqlite3"))})


def roster_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["STT", "Họ và tên chủ hộ", "Mã hộ", "Ấp", "Loại hộ", "Số điện thoại"])
    hamlets = ("Ấp Tân Dân", "Ấp Tân Hùng", "Ấp Tân Chủ", "Ấp Tân Hậu")
    for n in range(1, rows + 1):
        writer.writerow([n, f"Hộ gia đình {n}", f"TTT-{n:06d}", hamlets[n % 4], "Hộ nghèo",
                         f"09{n:08d}" if n % 4 == 0 else ""])
    return out.getvalue().encode()


def stored(path: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM roster_entries").fetchone()[0])


async def test_a_roster_import_writes_in_the_worker_process_while_households_go_on(settings: Settings) -> None:
    async with Database(settings.database.path) as db:
        spec = DialogueSpec(id=DIALOGUE, title="Đối thoại chính sách giảm nghèo năm 2023",
                            starts_at=datetime(2023, 6, 20, 8, 30, tzinfo=UTC), place="Nhà văn hóa ấp Tân Hậu",
                            quotas={"tan-dan": 10, "tan-hung": 10, "tan-chu": 10, "tan-hau": 20})
        async with db.transaction() as conn:
            await create(conn, settings, spec, NOW)
        engine = build_engine(settings, db)
        written_here = db.conn.total_changes
        importing = asyncio.ensure_future(
            import_roster(db, settings, DIALOGUE, data=roster_csv(ROWS), filename="danh sach.csv", now=NOW))
        turns, seen_writing, slowest = 0, set(), 0.0
        while not importing.done():
            chat = str(1000 + turns)
            started = time.perf_counter()
            replies = await engine.handle(Incoming("telegram", chat, chat, InputKind.COMMAND, command="start",
                                                   event_id=chat))
            slowest = max(slowest, time.perf_counter() - started)
            assert replies
            turns += 1
            seen_writing.add(stored(settings.database.path))
        report = await importing
        written_here = db.conn.total_changes - written_here
    assert (report.added, report.errors) == (ROWS, [])
    assert stored(settings.database.path) == ROWS
    assert written_here == 0, "the import wrote through the bot's own connection (under the turns' lock)"
    assert len(seen_writing - {0, ROWS}) >= 2, "no turn ran while the rows were being written"
    assert slowest < 1.0, f"a turn waited {slowest:.2f} s behind the import"

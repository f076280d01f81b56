"""Both seeds in the terminal channel: seed 002's four clusters with the roster, seed 000 registered and checked in
through the real ``doithoai console`` command."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w

from bot.cli.runtime import seed_dialogues
from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock
from bot.core.config import DatabaseSection, Settings, load_settings
from bot.dialogues.roster import import_roster
from bot.staff import roles
from storage import Database
from storage import dialogues as repo
from tests.support import Household

ROOT = Path(__file__).resolve().parent.parent
SEED_002 = ROOT / "docs" / "config-seed-002.toml"


@pytest.fixture
def district(tmp_path: Path) -> Settings:
    settings = load_settings(SEED_002)
    return settings.model_copy(update={"database": DatabaseSection(path=str(tmp_path / "huyen.sqlite3"))})


async def test_seed_002_four_clusters_each_with_six_seats_per_hamlet(district: Settings) -> None:
    async with Database(district.database.path) as db:
        await seed_dialogues(db, district)
        async with db.reading() as conn:
            clusters = await repo.list_dialogues(conn)
            seats = {d.id: await repo.quotas(conn, d.id) for d in clusters}
    assert [d.id for d in clusters] == ["cum-1", "cum-2", "cum-3", "cum-4"]
    assert {cid: len(q) for cid, q in seats.items()} == {"cum-1": 12, "cum-2": 8, "cum-3": 9, "cum-4": 12}
    assert {n for q in seats.values() for n in q.values()} == {6}
    assert all(d.starts_at is None and d.requires_roster for d in clusters)


async def test_seed_002_household_on_the_roster_registers_for_its_cluster_in_the_terminal(
        district: Settings) -> None:
    clock = FrozenClock(datetime(2020, 7, 1, 2, 0, tzinfo=UTC))
    async with Database(district.database.path) as db:
        await seed_dialogues(db, district, clock)
        engine = build_engine(district, db, clock=clock, button_channels=(), contact_channels=())
        hh = Household(engine, "local", channel="console")
        await hh.command("start")
        await hh.type("1")
        await hh.type("Nguyễn Văn An")
        assert "Xin chọn thị trấn / xã:" in hh.prompt.text
        await hh.type("long khanh a")
        await hh.type("Ấp 3")
        await hh.type("1")                      # hộ nghèo
        await hh.type("bo qua")                 # skip the phone, typed without accents
        await hh.command("dialogue")
        assert "cụm 3" in hh.prompt.text and "sẽ thông báo sau" in hh.prompt.text
        assert "Ủy ban nhân dân xã Long Khánh A" in hh.prompt.text
        await hh.type("1")                      # register
        assert "Xin nhập mã hộ" in hh.prompt.text
        await hh.type("LKA-3-07")
        assert "Không tìm thấy mã hộ" in hh.text and "Ban giảm nghèo xã" in hh.text
        roster = "Họ và tên,Mã hộ,Ấp,Loại hộ\nNguyễn Văn An,LKA-3-07,long-khanh-a-3,Hộ nghèo\n".encode("utf-8-sig")
        report = await import_roster(db, district, "cum-3", data=roster, filename="ds.csv", now=clock())
        assert report.added == 1 and not report.errors
        await hh.type("LKA-3-07")
        assert "Mã đăng ký" in hh.text and "[QR]" not in hh.text
        async with db.reading() as conn:
            assert await repo.count_registered(conn, "cum-3", "long-khanh-a-3") == 1


def _config(tmp_path: Path) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(tmp_path / "console.sqlite3")
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def _console(config: Path, script: str, user: str) -> str:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "console", "--config", str(config), "--user", user],
                            input=script, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_seed_000_household_registers_and_is_checked_in_from_the_terminal(tmp_path: Path) -> None:
    config = _config(tmp_path)
    out = _console(config, "\n".join(["/start", "1", "Trần Thị Hoa", "Tân Hậu", "2", "0912345678",
                                      "/menu", "2", "1"]) + "\n", user="hoa")
    assert "15 giờ 30 phút, Chủ nhật, ngày 20/6/2027" in out and "Ấp Tân Hậu còn 20/20 chỗ" in out
    code = out.split("[QR] DOITHOAI-CHECKIN:")[1].split()[0]
    async with Database(tmp_path / "console.sqlite3") as db, db.transaction() as conn:
        await roles.grant(conn, "console", "can-bo", "officer", "Võ Thị Lan", "2027-06-01T00:00:00+00:00")
    out = _console(config, f"/checkin {code}\n/checkin {code.lower()}\n/attendance\n", user="can-bo")
    assert "✅ Đã điểm danh: Trần Thị Hoa — Ấp Tân Hậu" in out
    assert "đã điểm danh lúc" in out
    assert "Ấp Tân Hậu: 1/20 hộ đăng ký, 0 chờ, 1 đã đến" in out
    with sqlite3.connect(tmp_path / "console.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM registrations WHERE checked_in_at IS NOT NULL").fetchone() == (1,)

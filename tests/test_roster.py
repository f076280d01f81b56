"""The roster of invited households (seed 002: only households expected to escape poverty this year attend).

Files are generated here (CSV with and without BOM, ';' or ',', and XLSX) with seed-000 names and hamlets, and
imported into a real SQLite file.
"""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w
from openpyxl import Workbook

from bot.core.config import Settings, load_settings
from bot.dialogues.roster import (
    MAX_BYTES,
    HamletIndex,
    ImportReport,
    MissingColumns,
    RosterError,
    import_roster,
    match_household,
)
from bot.dialogues.service import DialogueError, DialogueSpec, create
from storage import Database, database_at
from storage.dialogues import roster_size

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
NOW = datetime(2023, 6, 1, 1, 0, tzinfo=UTC)
DIALOGUE = "tan-thuan-tay-2023"
QUOTAS = {"tan-dan": 10, "tan-hung": 10, "tan-chu": 10, "tan-hau": 20}
HEADER = ["STT", "Họ và tên", "Mã hộ", "Ấp", "Loại hộ", "Số điện thoại"]
HOUSEHOLDS = [
    [1, "Nguyễn Văn Bình", "TTT-001", "Tân Hậu", "Hộ nghèo", "0912 345 678"],
    [2, "Trần Thị Hoa", "TTT-002", "Ấp Tân Dân", "cận nghèo", "+84 387 654 321"],
    [3, "Lê Văn Tư", "TTT-003", "tan hung", "mới thoát nghèo", ""],
    [4, "Phạm Thị Lan", "TTT-004", "tan-chu", "", "0703.111.222"],
]
Rows = Sequence[Sequence[object]]


@pytest.fixture
def roster_settings(settings: Settings) -> Settings:
    """The example config on this run's database (SQLite, or PostgreSQL: BOTH_BACKENDS)."""
    return settings


async def add_dialogue(db: Database, settings: Settings, dialogue_id: str = DIALOGUE,
                       quotas: dict[str, int] | None = None) -> None:
    spec = DialogueSpec(id=dialogue_id, title="Đối thoại chính sách giảm nghèo năm 2023",
                        starts_at=datetime(2023, 6, 20, 8, 30, tzinfo=UTC),
                        place="Trung tâm Văn hóa - Học tập cộng đồng xã Tân Thuận Tây", quotas=quotas or QUOTAS)
    async with db.transaction() as conn:
        await create(conn, settings, spec, NOW)


@pytest.fixture
async def db(roster_settings: Settings) -> AsyncIterator[Database]:
    database = await database_at(roster_settings.database.target, files=roster_settings.database.files).open()
    await add_dialogue(database, roster_settings)
    yield database
    await database.close()


def write_csv(path: Path, rows: Rows, *, delimiter: str = ",", bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Rows) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    book.save(path)
    return path


async def entries(db: Database, dialogue_id: str = DIALOGUE) -> list[tuple]:
    async with db.reading() as conn, conn.execute(
        "SELECT household_code, full_name, hamlet_id, category, phone, imported_at FROM roster_entries"
        " WHERE dialogue_id = ? ORDER BY household_code", (dialogue_id,),
    ) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def load(db: Database, settings: Settings, path: Path, **kwargs: object) -> ImportReport:
    kwargs.setdefault("now", NOW)
    return await import_roster(db, settings, DIALOGUE, path, **kwargs)  # type: ignore[arg-type]


async def test_good_file_imports_every_household_with_hamlet_category_and_phone_normalised(
        db: Database, roster_settings: Settings, tmp_path: Path) -> None:
    report = await load(db, roster_settings, write_csv(tmp_path / "ds.csv", [HEADER, *HOUSEHOLDS]))
    assert (report.total_rows, report.added, report.updated, report.unchanged, report.errors) == (4, 4, 0, 0, [])
    assert [row[:5] for row in await entries(db)] == [
        ("TTT-001", "Nguyễn Văn Bình", "tan-hau", "poor", "0912345678"),
        ("TTT-002", "Trần Thị Hoa", "tan-dan", "near_poor", "0387654321"),
        ("TTT-003", "Lê Văn Tư", "tan-hung", "escaped", None),
        ("TTT-004", "Phạm Thị Lan", "tan-chu", None, "0703111222"),
    ]
    assert report.summary("vi") == ("Danh sách hộ được mời: đã đọc 4 dòng — 4 hộ mới, 0 hộ thay đổi, 0 hộ không đổi,"
                                    " 0 dòng lỗi (không nhập).")


async def test_bad_row_is_reported_and_the_rest_imported(db: Database, roster_settings: Settings,
                                                         tmp_path: Path) -> None:
    rows = [
        ["DANH SÁCH HỘ DỰ KIẾN THOÁT NGHÈO NĂM 2023"],
        [],
        HEADER,
        HOUSEHOLDS[0],
        [2, "Trần Thị Hoa", "TTT-002", "Tân Dân", "cận nghèo", "0212 345 678"],
        [],
        [3, "Lê Văn Tư", "TTT-003", "Tân Thuận", "nghèo", ""],
        [4, "Phạm Thị Lan", "", "Tân Chủ", "khá giả", ""],
        HOUSEHOLDS[3],
        [6],  # a numbered template row left empty: skipped, not a bad row
    ]
    report = await load(db, roster_settings, write_xlsx(tmp_path / "ds.xlsx", rows))
    assert (report.total_rows, report.added) == (5, 2)
    assert [(e.line, e.reason) for e in report.errors] == [
        (5, "số điện thoại \"0212 345 678\" không đúng (cần số di động 10 chữ số, ví dụ 0912 345 678)"),
        (7, "không có ấp/khóm \"Tân Thuận\" trong cấu hình"),
        (8, "thiếu mã hộ; không hiểu loại hộ \"khá giả\" (ghi: hộ nghèo, cận nghèo, mới thoát nghèo, hoặc để trống)"),
    ]
    assert report.errors[0].text("vi").startswith("Dòng 5: số điện thoại")
    assert [row[0] for row in await entries(db)] == ["TTT-001", "TTT-004"]


async def test_the_documented_example_imports_without_a_bad_row(db: Database, roster_settings: Settings) -> None:
    report = await load(db, roster_settings, ROOT / "docs" / "roster-example.csv")
    assert (report.added, report.errors) == (8, [])
    assert {row[2] for row in await entries(db)} == set(QUOTAS)


async def test_reimporting_the_same_file_changes_nothing(db: Database, roster_settings: Settings,
                                                         tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ds.csv", [HEADER, *HOUSEHOLDS])
    await load(db, roster_settings, path)
    before = await entries(db)
    report = await load(db, roster_settings, path, now=datetime(2023, 6, 2, tzinfo=UTC))
    assert (report.added, report.updated, report.unchanged, report.errors) == (0, 0, 4, [])
    assert await entries(db) == before


async def test_a_changed_row_updates_and_a_new_row_is_added(db: Database, roster_settings: Settings,
                                                            tmp_path: Path) -> None:
    await load(db, roster_settings, write_csv(tmp_path / "v1.csv", [HEADER, *HOUSEHOLDS]))
    changed = [5, "Nguyễn Văn Bình", "TTT-001", "Tân Hậu", "mới thoát nghèo", "0912 345 678"]
    new = [6, "Võ Thị Mai", "TTT-005", "Tân Hùng", "hộ cận nghèo", "0987 000 111"]
    later = datetime(2023, 6, 2, tzinfo=UTC)
    report = await load(db, roster_settings, write_csv(tmp_path / "v2.csv", [HEADER, changed, *HOUSEHOLDS[1:], new]),
                        now=later)
    assert (report.added, report.updated, report.unchanged) == (1, 1, 3)
    rows = {row[0]: row for row in await entries(db)}
    assert rows["TTT-001"][3:] == ("escaped", "0912345678", "2023-06-02T00:00:00+00:00")
    assert rows["TTT-002"][5] == "2023-06-01T01:00:00+00:00"
    assert rows["TTT-005"][1:5] == ("Võ Thị Mai", "tan-hung", "near_poor", "0987000111")


@pytest.mark.parametrize("written", ["0912345678", "0912 345 678", "0912.345.678", "+84912345678", "84 912 345 678",
                                     "(+84) 912-345-678", "912345678", "912345678.0"])
async def test_phone_numbers_in_every_common_form_match(db: Database, roster_settings: Settings, tmp_path: Path,
                                                        written: str) -> None:
    row = [1, "Nguyễn Văn Bình", "TTT-001", "Tân Hậu", "nghèo", written]
    report = await load(db, roster_settings, write_csv(tmp_path / "ds.csv", [HEADER, row]))
    assert report.errors == []
    async with db.reading() as conn:
        for typed in ("0912 345 678", "+84 912 345 678", "0912.345.678"):
            found = await match_household(conn, DIALOGUE, phone=typed)
            assert found is not None and found.household_code == "TTT-001"
        assert (await match_household(conn, DIALOGUE, household_code=" ttt-001 ")).full_name == "Nguyễn Văn Bình"
        assert await match_household(conn, DIALOGUE, phone="0987 654 321") is None


async def test_xlsx_phone_typed_as_a_number_loses_no_digit(db: Database, roster_settings: Settings,
                                                           tmp_path: Path) -> None:
    row = [1, "Nguyễn Văn Bình", 1001, "Tân Hậu", "nghèo", 912345678]
    await load(db, roster_settings, write_xlsx(tmp_path / "ds.xlsx", [HEADER, row]))
    assert (await entries(db))[0][:5] == ("1001", "Nguyễn Văn Bình", "tan-hau", "poor", "0912345678")


async def test_missing_columns_import_nothing_and_name_them(db: Database, roster_settings: Settings,
                                                            tmp_path: Path) -> None:
    rows = [["STT", "Họ tên chủ hộ", "Địa chỉ", "SĐT"], [1, "Nguyễn Văn Bình", "Tân Hậu", "0912345678"]]
    with pytest.raises(MissingColumns) as caught:
        await load(db, roster_settings, write_csv(tmp_path / "ds.csv", rows))
    text = caught.value.text("vi")
    assert text.startswith("Thiếu cột: Mã hộ, Ấp/Khóm. Dòng tiêu đề (dòng 1) có các cột: \"STT\", \"Họ tên chủ hộ\",")
    assert "\"Địa chỉ\"" in text and "Chưa nhập dòng nào" in text
    assert caught.value.text("en").startswith("Missing columns: Household code, Hamlet.")
    async with db.reading() as conn:
        assert await roster_size(conn, DIALOGUE) == 0


async def test_missing_columns_are_named_from_the_row_that_looks_most_like_a_header(
        db: Database, roster_settings: Settings, tmp_path: Path) -> None:
    rows = [["DANH SÁCH HỘ DỰ KIẾN THOÁT NGHÈO NĂM 2023"], ["STT", "Họ và tên", "Địa chỉ", "SĐT"], [1, "Bình", "x", ""]]
    with pytest.raises(MissingColumns) as caught:
        await load(db, roster_settings, write_xlsx(tmp_path / "ds.xlsx", rows))
    assert caught.value.text("vi").startswith("Thiếu cột: Mã hộ, Ấp/Khóm. Dòng tiêu đề (dòng 2) có các cột: \"STT\",")


async def test_xlsx_and_csv_with_bom_import_alike(db: Database, roster_settings: Settings, tmp_path: Path) -> None:
    first = await load(db, roster_settings, write_xlsx(tmp_path / "ds.xlsx", [HEADER, *HOUSEHOLDS]))
    from_xlsx = await entries(db)
    header = ["Mã số hộ", "HỌ VÀ TÊN", "Ấp/Khóm", "Phân loại", "Điện thoại"]  # other aliases, other order
    rows = [header, *([r[2], r[1], r[3], r[4], r[5]] for r in HOUSEHOLDS)]
    second = await load(db, roster_settings, write_csv(tmp_path / "ds.csv", rows, delimiter=";", bom=True))
    assert (first.added, second.added, second.updated, second.unchanged) == (4, 0, 0, 4)
    assert await entries(db) == from_xlsx


async def test_duplicate_phone_in_file_is_reported(db: Database, roster_settings: Settings, tmp_path: Path) -> None:
    twin = [5, "Trần Văn Hùng", "TTT-009", "Tân Hậu", "nghèo", "+84 912 345 678"]
    report = await load(db, roster_settings, write_csv(tmp_path / "ds.csv", [HEADER, *HOUSEHOLDS, twin]))
    assert [(e.line, e.reason) for e in report.errors] == [
        (6, "số điện thoại 0912 345 678 trùng với dòng 2 (mỗi hộ một số riêng, vì hộ được nhận ra qua số điện thoại)"),
    ]
    assert report.added == 4


async def test_duplicate_household_code_in_file_reports_the_second(db: Database, roster_settings: Settings,
                                                                   tmp_path: Path) -> None:
    again = [5, "Nguyễn Văn Bình", "ttt-001", "Tân Hậu", "nghèo", ""]
    report = await load(db, roster_settings, write_csv(tmp_path / "ds.csv", [HEADER, *HOUSEHOLDS, again]))
    assert [(e.line, e.reason) for e in report.errors] == [(6, "mã hộ \"ttt-001\" trùng với dòng 2")]


async def test_phone_of_another_household_already_on_the_roster_is_a_bad_row(
        db: Database, roster_settings: Settings, tmp_path: Path) -> None:
    await load(db, roster_settings, write_csv(tmp_path / "v1.csv", [HEADER, *HOUSEHOLDS]))
    other = [1, "Đỗ Văn Sáu", "TTT-006", "Tân Chủ", "nghèo", "0912.345.678"]
    report = await load(db, roster_settings, write_csv(tmp_path / "v2.csv", [HEADER, other]))
    assert [(e.line, e.reason) for e in report.errors] == [
        (2, "số điện thoại 0912 345 678 đã thuộc hộ mã \"TTT-001\" trong danh sách đã nhập trước"),
    ]
    assert report.imported == 0


async def test_households_may_swap_phones_in_one_file(db: Database, roster_settings: Settings,
                                                      tmp_path: Path) -> None:
    await load(db, roster_settings, write_csv(tmp_path / "v1.csv", [HEADER, *HOUSEHOLDS]))
    a, b = list(HOUSEHOLDS[0]), list(HOUSEHOLDS[1])
    a[5], b[5] = b[5], a[5]
    report = await load(db, roster_settings, write_csv(tmp_path / "v2.csv", [HEADER, a, b]))
    assert (report.updated, report.errors) == (2, [])
    assert [row[4] for row in (await entries(db))[:2]] == ["0387654321", "0912345678"]


async def test_hamlet_outside_the_dialogue_is_a_bad_row(db: Database, roster_settings: Settings,
                                                        tmp_path: Path) -> None:
    await add_dialogue(db, roster_settings, "tan-hau-2023", {"tan-hau": 20})
    path = write_csv(tmp_path / "ds.csv", [HEADER, *HOUSEHOLDS[:2]])
    report = await import_roster(db, roster_settings, "tan-hau-2023", path, now=NOW, lang="en")
    assert [(e.line, e.reason) for e in report.errors] == [
        (3, "hamlet \"Ấp Tân Dân\" (tan-dan) does not take part in this dialogue"),
    ]
    assert report.summary("en") == ("Roster of invited households: read 2 rows — 1 new, 0 changed, 0 unchanged,"
                                    " 1 bad rows (not imported).")


def test_hamlet_is_found_by_id_or_name_with_or_without_prefix_and_accents(roster_settings: Settings) -> None:
    index = HamletIndex(roster_settings.hamlets(), QUOTAS)
    for written in ("Tân Hậu", "tan hau", "Ấp Tân Hậu", "ẤP TÂN HẬU", "tan-hau", "Ta\u0302n Ha\u0323\u0302u"):
        assert index.find(written) == ("tan-hau", None, []), written
    assert index.find("Tân Thuận")[1] == "roster.row_unknown_hamlet"


@pytest.mark.parametrize(("name", "content", "key"), [
    ("ds.csv", b"", "roster.empty"),
    ("ds.csv", "Họ và tên,Mã hộ,Ấp\n".encode(), "roster.no_rows"),
    ("ds.csv", "Họ và tên,Mã hộ,Ấp\nBình,1,Tân Dân\n".encode("cp1258", "replace"), "roster.not_utf8"),
    ("ds.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "roster.old_excel"),
    ("ds.pdf", b"%PDF-1.4", "roster.unsupported"),
    ("ds.xlsx", b"PK\x03\x04 this is not a workbook", "roster.not_a_workbook"),
])
async def test_a_file_that_cannot_be_used_imports_nothing_and_says_why(
        db: Database, roster_settings: Settings, name: str, content: bytes, key: str) -> None:
    with pytest.raises(RosterError) as caught:
        await import_roster(db, roster_settings, DIALOGUE, data=content, filename=name, now=NOW)
    assert caught.value.key == key
    assert caught.value.text("vi") and caught.value.text("en")
    async with db.reading() as conn:
        assert await roster_size(conn, DIALOGUE) == 0


async def test_a_file_over_twenty_megabytes_is_refused(db: Database, roster_settings: Settings) -> None:
    with pytest.raises(RosterError) as caught:
        await import_roster(db, roster_settings, DIALOGUE, data=b"x" * (MAX_BYTES + 1), filename="ds.csv", now=NOW)
    assert caught.value.text("vi") == "Tệp quá lớn (20 MB); tối đa 20 MB. Chưa nhập dòng nào."


async def test_uploaded_bytes_import_like_a_file(db: Database, roster_settings: Settings, tmp_path: Path) -> None:
    data = write_xlsx(tmp_path / "ds.xlsx", [HEADER, *HOUSEHOLDS]).read_bytes()
    report = await import_roster(db, roster_settings, DIALOGUE, data=data, filename="danh sach.xlsx", now=NOW)
    assert report.added == 4


async def test_unknown_dialogue_is_refused(db: Database, roster_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(DialogueError):
        await import_roster(db, roster_settings, "khong-co", write_csv(tmp_path / "ds.csv", [HEADER]), now=NOW)


async def test_fifty_thousand_rows_import_whole_with_progress(db: Database, roster_settings: Settings,
                                                              tmp_path: Path) -> None:
    """How fast is measured, not asserted (a loaded machine is no failure): see the closing notes."""
    hamlets = ["Tân Dân", "Tân Hùng", "Tân Chủ", "Tân Hậu"]
    rows = [[i, f"Nguyễn Văn Bình {i}", f"TTT-{i:05d}", hamlets[i % 4], "nghèo", f"09{i:08d}"] for i in range(50_000)]
    path = write_csv(tmp_path / "big.csv", [HEADER, *rows])
    seen: list[tuple[int, int]] = []
    report = await load(db, roster_settings, path, progress=lambda done, total: seen.append((done, total)))
    assert (report.added, report.errors) == (50_000, [])
    async with db.reading() as conn:
        assert await roster_size(conn, DIALOGUE) == 50_000
    assert seen[-1] == (50_000, 50_000) and len(seen) > 10


# ---- the command line ------------------------------------------------------------------------------------------


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "import-roster", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


async def test_cli_imports_prints_bad_rows_and_exits_by_what_happened(tmp_path: Path) -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["database"]["path"] = str(tmp_path / "cli.sqlite3")
    config = tmp_path / "config.toml"
    config.write_text(tomli_w.dumps(data), encoding="utf-8")
    async with Database(tmp_path / "cli.sqlite3") as database:
        await add_dialogue(database, load_settings(config))

    bad = [5, "Trần Văn Hùng", "TTT-009", "Tân Hậu", "nghèo", "12345"]
    good = cli(config, str(write_csv(tmp_path / "ds.csv", [HEADER, *HOUSEHOLDS, bad])), "--dialogue", DIALOGUE)
    assert good.returncode == 0, good.stderr
    assert "4 hộ mới" in good.stdout and "Dòng 6: số điện thoại \"12345\" không đúng" in good.stdout
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM roster_entries").fetchone()[0] == 4

    no_columns = write_csv(tmp_path / "bad.csv", [["Tên", "Ghi chú"], ["a", "b"]])
    missing = cli(config, str(no_columns), "--dialogue", DIALOGUE)
    assert missing.returncode == 1 and "Thiếu cột: Họ và tên, Mã hộ, Ấp/Khóm" in missing.stderr
    unknown = cli(config, str(tmp_path / "ds.csv"), "--dialogue", "khong-co")
    assert unknown.returncode == 1 and "khong-co" in unknown.stderr

    config.write_text(config.read_text(encoding="utf-8").replace("[bot]", "[bot]\nwrong_key = 1"), encoding="utf-8")
    assert cli(config, str(tmp_path / "ds.csv"), "--dialogue", DIALOGUE).returncode == 2

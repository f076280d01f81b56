"""``doithoai export``: the report files from the command line; an unknown dialogue is a clear error, exit 1."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main
from bot.core.config import Settings
from storage import Database
from tests.conftest import EXAMPLE_CONFIG
from tests.test_report_data import DIALOGUE, Commune


@pytest.fixture
async def config(tmp_path: Path, database: Database, settings: Settings) -> Path:
    """config.example.toml next to the test database (its relative database path resolves to it), with entries."""
    await Commune(database, settings).setup()
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_export_all_writes_the_three_files_into_the_private_exports_folder(config: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--dialogue", DIALOGUE, "--config", str(config)])

    assert result.exit_code == 0, result.output
    written = sorted(p for p in (config.parent / "exports").iterdir() if p.is_file())
    assert [p.suffix for p in written] == [".csv", ".docx", ".xlsx"]
    assert all(f"Đã ghi {p}" in result.output for p in written)
    assert stat.S_IMODE((config.parent / "exports").stat().st_mode) == 0o700


def test_export_of_one_format_goes_to_the_file_named(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "bao-cao.xlsx"

    result = CliRunner().invoke(main, ["export", "--dialogue", DIALOGUE, "--format", "xlsx", "--out", str(out),
                                       "--config", str(config)])

    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out)["Chi tiết"].iter_rows(values_only=True))
    assert len(rows) == 6 and rows[1][2] == "Nguyễn Văn Bình"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_export_of_an_unknown_dialogue_says_so_and_exits_1(config: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--dialogue", "khong-co", "--config", str(config)])

    assert result.exit_code == 1
    assert 'Không có buổi đối thoại mã "khong-co"' in result.output
    assert not any((config.parent / "exports").glob("*.docx"))

"""Temporary files with people's data stay in the private exports folder, and a killed export's are removed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.core.config import Settings
from bot.reports.report_files import exports_dir, use_private_temp

KILLED_EXPORT = """
import os, sys
from bot.core.config import DatabaseSection, load_settings
from bot.reports.report_files import use_private_temp
from openpyxl import Workbook

settings = load_settings(sys.argv[1]).model_copy(update={"database": DatabaseSection(path=sys.argv[2])})
use_private_temp(settings)
book = Workbook(write_only=True)
sheet = book.create_sheet()
for n in range(2000):
    sheet.append(["Nguyễn Văn Bình", f"09{n:08d}"])
os._exit(9)  # killed before the workbook was saved
"""


def test_a_killed_export_leaves_nothing_in_the_system_temp_folder_and_its_leftovers_go_at_the_next_start(
        settings: Settings, tmp_path: Path) -> None:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    config = Path(__file__).resolve().parent.parent / "config.example.toml"
    env = {**os.environ, "TMPDIR": str(system_tmp)}
    result = subprocess.run([sys.executable, "-c", KILLED_EXPORT, str(config), settings.database.path],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 9, result.stderr

    assert list(system_tmp.iterdir()) == []
    private = exports_dir(settings) / "tmp"
    leftovers = [p for folder in private.iterdir() for p in folder.iterdir()]
    assert leftovers, "the spreadsheet library's temporary file was written in the private folder"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700

    before = tempfile.tempdir
    try:
        mine = use_private_temp(settings)  # the next start
        assert all(not p.exists() for p in leftovers)
        assert [p.name for p in private.iterdir()] == [str(os.getpid())] and tempfile.gettempdir() == str(mine)
    finally:
        tempfile.tempdir = before

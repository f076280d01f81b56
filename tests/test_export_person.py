"""``doithoai export-person``: a document the household reads (Vietnamese labels, names, local dates) and the JSON."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.core.engine import Engine
from tests.conftest import EXAMPLE_CONFIG
from tests.support import Household


@pytest.fixture
async def config(engine: Engine, tmp_path: Path) -> Path:
    binh, hoa = Household(engine, "1"), Household(engine, "2")
    await binh.identify()
    await binh.ask("Nhà tôi dột nát, có được hỗ trợ sửa nhà không?", topic="t:nha-o")
    await hoa.identify(name="Trần Thị Hoa", hamlet="Tân Dân")
    await hoa.ask("Câu hỏi của bà Hoa")
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_the_household_reads_its_data_with_vietnamese_labels_and_nothing_internal(config: Path) -> None:
    result = CliRunner().invoke(main, ["export-person", "--config", str(config), "--id", "1"])

    assert result.exit_code == 0, result.output
    document = result.output
    assert "Họ và tên: Nguyễn Văn Bình" in document and "Ấp (khóm): Ấp Tân Hậu" in document
    assert "Diện hộ: Hộ nghèo" in document
    assert "Nhà tôi dột nát, có được hỗ trợ sửa nhà không?" in document and "Trạng thái: Đã tiếp nhận" in document
    assert "15/6/2023" in document  # the day it was sent, as Vietnamese write it
    assert "bà Hoa" not in document
    for internal in ('"step"', "version", '"category"', "poor", "tan-hau", "null"):
        assert internal not in document


def test_out_writes_the_document_and_the_json_beside_it_owner_only(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "binh.txt"
    result = CliRunner().invoke(main, ["export-person", "--config", str(config), "--id", "1", "--out", str(out)])

    assert result.exit_code == 0, result.output
    raw = tmp_path / "binh.json"
    assert "Họ và tên: Nguyễn Văn Bình" in out.read_text(encoding="utf-8")
    assert json.loads(raw.read_text(encoding="utf-8"))["person"]["full_name"] == "Nguyễn Văn Bình"
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (out, raw))

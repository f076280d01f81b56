"""The terminal channel, as the README runs it: piped standard input, one message per line."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import tomli_w

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
SCRIPT = "\n".join([
    "/start", "1", "Nguyễn Văn Bình", "Tân Hậu", "1", "0912 345 678",
    "1", "Giảm nghèo", "1", "Khi nào phúc tra hộ nghèo năm nay?", "1", "/myquestions",
]) + "\n"


def config_in(tmp_path: Path) -> Path:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["database"]["path"] = str(tmp_path / "console.sqlite3")
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def console(config: Path, script: str) -> str:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "console", "--config", str(config)],
                            input=script, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_piped_household_submits_a_question_and_sees_it(tmp_path: Path) -> None:
    out = console(config_in(tmp_path), SCRIPT)
    assert "1. ✅ Tôi đồng ý" in out
    assert "Mã phiếu: DT-0001" in out
    assert "Khi nào phúc tra hộ nghèo năm nay?" in out.split("Các phiếu ông/bà đã gửi")[1]
    with sqlite3.connect(tmp_path / "console.sqlite3") as db:
        assert db.execute("SELECT topic_id, hamlet_id FROM submissions").fetchall() == [("phuc-tra", "tan-hau")]


def test_console_resumes_after_a_restart(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    console(config, "/start\n1\nTrần Thị Hoa\n")
    out = console(config, "/start\nTân Dân\n")
    assert "Ông/bà đang điền dở phiếu" in out
    assert "Hộ của ông/bà thuộc loại nào?" in out


def test_household_that_types_the_words_instead_of_numbers_goes_through_the_form(tmp_path: Path) -> None:
    words = ["/start", "đồng ý", "bỏ qua", "Nguyễn Văn Bình", "tan hau", "hộ nghèo", "bỏ qua", "câu hỏi", "giam ngheo",
             "phúc tra", "Khi nào phúc tra hộ nghèo năm nay?", "gửi phiếu"]
    out = console(config_in(tmp_path), "\n".join(words) + "\n")
    assert "Bước này không bỏ qua được: cần họ tên để nhận phiếu." in out
    assert "Mã phiếu: DT-0001" in out
    with sqlite3.connect(tmp_path / "console.sqlite3") as db:
        assert db.execute("SELECT topic_id, hamlet_id FROM submissions").fetchall() == [("phuc-tra", "tan-hau")]
        assert db.execute("SELECT full_name FROM persons").fetchall() == [("Nguyễn Văn Bình",)]

"""A config mistake is told once, in the language the config asks for, with what the right name may be."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

from bot.core.config import ConfigError, load_settings, parse_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def example() -> dict:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def check(tmp_path: Path, data: dict | bytes) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.toml"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "bot.cli", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_misspelt_key_is_named_once_in_vietnamese_with_the_right_spelling(tmp_path: Path) -> None:
    data = example()
    data["bot"]["timezne"] = data["bot"].pop("timezone")
    result = check(tmp_path, data)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]], "one line, not the same error twice"
    assert "bot.timezne" in lines[0] and "Có phải là timezone?" in lines[0] and "Traceback" not in result.stderr


def test_the_error_is_told_in_english_when_the_config_asks_for_english(tmp_path: Path) -> None:
    data = example()
    data["bot"]["language"] = "en"
    data["bot"]["timezone"] = "Mars/Olympus"
    result = check(tmp_path, data)
    assert result.returncode == 2
    assert result.stderr.strip() == 'Config error at key bot.timezone: unknown time zone "Mars/Olympus" ' \
        "(e.g. Asia/Ho_Chi_Minh)."


def test_an_unknown_unit_in_a_dialogue_suggests_the_closest_and_lists_the_valid_ids() -> None:
    data = example()
    data["dialogues"] = [{"id": "d1", "title": "Đối thoại", "place": "Hội trường", "quotas": {"tan-hua": 10}}]
    with pytest.raises(ConfigError) as raised:
        parse_settings(data)
    text = raised.value.text()
    assert 'đơn vị "tan-hua" không có' in text and "Có phải là tan-hau?" in text
    assert "tan-dan, tan-hung, tan-chu, tan-hau" in text and raised.value.key == "dialogues[0]"


def test_a_missing_config_file_is_a_file_problem_not_a_key(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check", "--config", str(tmp_path / "khong-co.toml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "Lỗi tệp cấu hình" in result.stderr and "không có tệp này" in result.stderr
    assert "khóa" not in result.stderr


def test_a_config_saved_by_notepad_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    assert load_settings(path).bot.timezone == "Asia/Ho_Chi_Minh"

"""``doithoai export --out``: a file name writes that one file in its format; ``all`` wants a folder."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from docx import Document

from bot.cli import main
from tests.test_report_cli import config  # noqa: F401 - the report tests' commune and its config
from tests.test_report_data import DIALOGUE


def export(config: Path, *args: str) -> tuple[int, str]:  # noqa: F811
    result = CliRunner().invoke(main, ["export", "--dialogue", DIALOGUE, *args, "--config", str(config)])
    return result.exit_code, result.output


def test_the_readme_example_writes_one_word_file_named_as_asked(config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "bao-cao.docx"
    code, output = export(config, "--out", str(out))
    assert code == 0, output
    assert out.is_file() and "BÁO CÁO" in "\n".join(p.text for p in Document(out).paragraphs)
    assert f"Đã ghi {out}" in output


def test_all_formats_into_a_file_name_is_refused_and_nothing_is_made(config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "bao-cao.docx"
    code, output = export(config, "--format", "all", "--out", str(out))
    assert code == 2
    assert "cần một thư mục" in output and not out.exists()


def test_a_format_that_disagrees_with_the_file_suffix_is_refused(config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "x.xlsx"
    code, output = export(config, "--format", "csv", "--out", str(out))
    assert code == 2
    assert "không khớp định dạng csv" in output and not out.exists()


def test_all_formats_into_a_new_folder(config: Path, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "bao-cao"
    code, output = export(config, "--out", str(folder))
    assert code == 0, output
    assert sorted(p.suffix for p in folder.iterdir()) == [".csv", ".docx", ".xlsx"]


def test_an_unknown_agency_lists_the_agencies_and_writes_nothing(config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "ngan-hang.docx"
    code, output = export(config, "--agency", "Sở Sao Hỏa", "--out", str(out))
    assert code == 1 and 'Không có cơ quan "Sở Sao Hỏa"' in output and "Ngân hàng Chính sách xã hội" in output
    assert not out.exists()

"""The committee report as an official sees it: the Word file rendered to PDF by LibreOffice, page by page.

Needs LibreOffice (``soffice``) and poppler (``pdftotext``, ``pdfimages``): skipped with the reason where they are
missing, a failure in CI (``CI=true``), whose ``.ci/run`` installs them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.config import DatabaseSection, load_settings
from bot.reports.build import build_report
from bot.reports.report_files import exports_dir
from storage import Database
from tests.conftest import EXAMPLE_CONFIG
from tests.test_report_data import DIALOGUE, ENTRIES, NOW, Commune, Entry

TOOLS = ("soffice", "pdftotext", "pdfimages")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
if MISSING and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI needs {', '.join(MISSING)} (.ci/run installs LibreOffice and poppler-utils)")
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)} to render the report")

NAMES = ("Nguyễn Văn An", "Trần Thị Bé", "Lê Văn Cường", "Phạm Thị Dung", "Võ Văn Em", "Huỳnh Thị Giàu")
TEXTS = {"y-te": "Khi nào có thẻ bảo hiểm y tế cho hộ cận nghèo?",
         "nha-o": "Nhà tôi dột nát, có được hỗ trợ sửa không?",
         "vay-ho-ngheo": "Vay vốn hộ nghèo cần những giấy tờ gì?",
         "xuat-khau-lao-dong": "Con tôi muốn đi làm việc ở Nhật thì vay vốn ở đâu?"}
HAMLETS = ("tan-hau", "tan-dan", "tan-hung", "tan-chu")
A4_TEXT_HEIGHT_IN = (297 - 20 - 20) / 25.4


def render(document: Path) -> list[str]:
    """The PDF's pages as text laid out as printed (pdftotext -layout), one string per page. The PDF is made in a
    folder named after the document's type (a report's .docx and .xlsx share their name)."""
    folder = document.parent / document.suffix.lstrip(".")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(folder), str(document)],
                   check=True, capture_output=True, timeout=180,
                   env={**os.environ, "HOME": str(document.parent)})  # a private LibreOffice profile
    pdf = folder / document.with_suffix(".pdf").name
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


@dataclass(frozen=True)
class Printed:
    pages: list[str]          # the text of each page, laid out as printed
    codes: dict[str, str]     # receipt code by household name
    pdf: Path
    sheets: list[str]         # the Excel workbook's printed pages

    def image_pages(self) -> set[int]:
        listing = subprocess.run(["pdfimages", "-list", str(self.pdf)], check=True, capture_output=True, text=True)
        return {int(row.split()[0]) for row in listing.stdout.splitlines()[2:] if row.split()}


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """A report of 5 + 120 entries over 4 topics and 4 hamlets, rendered once for the module."""
    folder = tmp_path_factory.mktemp("report")
    settings = load_settings(EXAMPLE_CONFIG).model_copy(
        update={"database": DatabaseSection(path=str(folder / "doithoai.sqlite3"))})

    async def build() -> tuple[Path, dict[str, str]]:
        async with Database(settings.database.path) as database:
            commune = await Commune(database, settings).setup()
            codes = dict(commune.codes)
            for n in range(120):
                topic = list(TEXTS)[n % 4]
                entry = Entry(NAMES[n % 6], HAMLETS[n % 4], topic, TEXTS[topic])
                codes[f"extra-{n}"] = await commune.add(100 + n, entry)
            files = await build_report(database, settings, DIALOGUE, now=NOW, folder=exports_dir(settings),
                                       formats=("docx", "xlsx"))
            return files.paths["docx"], codes

    docx, codes = asyncio.run(build())
    return Printed(render(docx), codes, docx.parent / "docx" / docx.with_suffix(".pdf").name,
                   render(docx.with_suffix(".xlsx")))


def lines(page: str) -> list[str]:
    return [" ".join(line.split()) for line in page.splitlines() if line.strip()]


def test_the_heading_keeps_each_line_whole_and_the_number_level_with_the_date(printed: Printed) -> None:
    first = lines(printed.pages[0])
    assert first[0].startswith("ỦY BAN NHÂN DÂN") and first[0].endswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert first[1].startswith("XÃ TÂN THUẬN TÂY") and first[1].endswith("Độc lập - Tự do - Hạnh phúc")
    assert any(line.startswith("Số: .../BC-UBND") and line.endswith("Tân Thuận Tây, ngày 10 tháng 6 năm 2027")
               for line in first[2:5])


def test_pages_are_numbered_from_page_2_at_the_top_and_none_is_blank(printed: Printed) -> None:
    assert len(printed.pages) >= 3
    assert not lines(printed.pages[0])[0].isdigit()
    with_images = printed.image_pages()
    for number, page in enumerate(printed.pages[1:], start=2):
        assert lines(page)[0] == str(number), f"page {number} starts with its number"
        assert len(lines(page)) > 1 or number in with_images, f"page {number} is blank"


def body_and_papers(printed: Printed) -> tuple[list[str], list[str]]:
    """The report's own pages, then the agencies' working papers (appendices, each from a new page)."""
    first = next(i for i, page in enumerate(printed.pages) if "PHỤ LỤC 1:" in page)
    return printed.pages[:first], printed.pages[first:]


def test_the_signature_block_stays_on_one_page(printed: Printed) -> None:
    body, _ = body_and_papers(printed)
    last = "\n".join(lines(body[-1]))
    assert "Nơi nhận:" in last and "TM. ỦY BAN NHÂN DÂN" in last and "Phạm Thanh Sang" in last
    assert "Trên đây là tổng hợp" in last


def codes_in(pages: list[str]) -> list[str]:
    return re.findall(r"DT-\s?(\d{4})", re.sub(r"\s+", " ", " ".join(pages)))


def test_every_submission_is_in_the_report_exactly_once_and_in_its_agencies_papers(printed: Printed) -> None:
    body, _ = body_and_papers(printed)
    withdrawn = {e.name for e in ENTRIES if e.status == "withdrawn"}
    reported = {code.removeprefix("DT-") for name, code in printed.codes.items() if name not in withdrawn}
    assert sorted(codes_in(body)) == sorted(reported)
    raw = subprocess.run(["pdftotext", "-raw", str(printed.pdf), "-"], check=True, capture_output=True,
                         text=True).stdout.split("\f")  # content order: a code wrapped in a table cell stays whole
    in_papers = set(codes_in(raw[len(body):]))
    assert in_papers == reported, f"every household in its agency's paper; missing {sorted(reported - in_papers)}"
    flat = [" ".join(page.split()) for page in raw[len(body):]]
    bank = next(page for page in flat if "thẩm quyền trả lời của Ngân hàng Chính sách xã hội" in page)
    assert "Trả lời / hướng giải quyết" in bank


def test_the_chart_fits_inside_the_page(printed: Printed) -> None:
    listing = subprocess.run(["pdfimages", "-list", str(printed.pdf)], check=True, capture_output=True, text=True)
    images = [row.split() for row in listing.stdout.splitlines()[2:] if row.split()]
    assert images, "the chart is in the report"
    for image in images:
        height_px, y_ppi = int(image[4]), int(image[13])
        assert height_px / y_ppi <= A4_TEXT_HEIGHT_IN


def test_the_hamlet_by_topic_table_keeps_each_topic_on_at_most_two_lines(printed: Printed) -> None:
    page = next(p for p in printed.pages if "Nội dung về" in p)
    table = lines(page.split("Nội dung về", 1)[1].split("Tổng cộng 31", 1)[0])
    topics = [line for line in table if re.match(r"^\d+ ", line)]
    assert len(topics) == 5 and "1 Y tế, thẻ bảo hiểm y tế 1 0 1 31 33" in topics
    assert len(table) <= 2 * len(topics) + 2, "a topic name wraps over two lines at most (the grid gives it room)"


def test_before_the_dialogue_the_report_has_no_unanswered_section(printed: Printed) -> None:
    assert "CHƯA TRẢ LỜI" not in " ".join(printed.pages)


def test_the_workbook_prints_one_page_wide_with_the_header_on_every_detail_page(printed: Printed) -> None:
    detail = [page for page in printed.sheets if "Mã phiếu" in page]
    assert detail, "the detail sheet is printed"
    for page in detail:
        header = next(line for line in lines(page) if line.startswith("Mã phiếu"))
        assert header.endswith("Trả lời"), "every column on the page: the sheet prints one page wide"
    printed_codes = re.findall(r"DT-\d{4}", " ".join(detail))
    assert len(printed_codes) == len(set(printed_codes)) == len(printed.codes) - 1  # one withdrawn

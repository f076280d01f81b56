"""The paper invitations as the hamlet head prints them: the Word file rendered to PDF by LibreOffice.

Skipped with the reason where LibreOffice or poppler is missing, a failure in CI (``CI=true``), as the report's
page tests (whose ``render`` this module uses).
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.config import DatabaseSection, load_settings
from bot.reports.invitation import make_invitations
from storage import Database
from tests.conftest import EXAMPLE_CONFIG
from tests.test_report_data import DIALOGUE, Commune
from tests.test_report_pages import MISSING, lines, render

pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)} to render the invitations")

HAMLETS = ("ẤP TÂN DÂN", "ẤP TÂN HÙNG", "ẤP TÂN CHỦ", "ẤP TÂN HẬU")
BOT = "doithoai_tantt_bot"


@dataclass(frozen=True)
class Printed:
    pages: list[str]
    pdf: Path

    def images(self) -> list[list[str]]:
        listing = subprocess.run(["pdfimages", "-list", str(self.pdf)], check=True, capture_output=True, text=True)
        return [row.split() for row in listing.stdout.splitlines()[2:] if row.split()]


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    folder = tmp_path_factory.mktemp("invitations")
    settings = load_settings(EXAMPLE_CONFIG).model_copy(
        update={"database": DatabaseSection(path=str(folder / "doithoai.sqlite3"))})
    document = folder / "giay-moi.docx"

    async def build() -> None:
        async with Database(settings.database.path) as database:
            await Commune(database, settings).setup()
            await make_invitations(database, settings, DIALOGUE, document, hamlet_id=None, bot_username=BOT,
                                   now=datetime(2027, 5, 1, 2, 0, tzinfo=UTC))

    asyncio.run(build())
    return Printed(render(document), folder / "docx" / "giay-moi.pdf")


def test_each_hamlet_gets_exactly_one_page_and_none_is_blank(printed: Printed) -> None:
    assert len(printed.pages) == len(HAMLETS)
    for page, hamlet in zip(printed.pages, HAMLETS, strict=True):
        text = "\n".join(lines(page))
        assert text.count("GIẤY MỜI") == 1 and f"BAN NHÂN DÂN {hamlet}" in text


def test_the_heading_keeps_each_line_whole_and_the_number_level_with_the_date(printed: Printed) -> None:
    for page, hamlet in zip(printed.pages, HAMLETS, strict=True):
        first = lines(page)
        assert first[0].startswith("UBND XÃ TÂN THUẬN TÂY") and first[0].endswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        assert first[1].startswith(f"BAN NHÂN DÂN {hamlet}") and first[1].endswith("Độc lập - Tự do - Hạnh phúc")
        assert any(line.startswith("Số: .../GM-BND") and line.endswith("Tân Thuận Tây, ngày 01 tháng 5 năm 2027")
                   for line in first[2:5])


def test_no_page_carries_a_page_number(printed: Printed) -> None:
    assert all(not lines(page)[0].isdigit() for page in printed.pages)


def test_time_place_what_to_bring_and_the_signature_are_on_each_page(printed: Printed) -> None:
    for page in printed.pages:
        text = "\n".join(lines(page))
        assert "Thời gian: 15 giờ 30 phút, Chủ nhật, ngày 20/6/2027." in text
        assert "Khi đi, xin mang theo:" in text and "- Căn cước công dân." in text
        assert "Nơi nhận:" in text and "TM. BAN NHÂN DÂN ẤP" in text and "TRƯỞNG ẤP" in text


def test_each_page_has_its_qr_code_printed_large_enough_to_scan(printed: Printed) -> None:
    images = printed.images()
    assert [int(image[0]) for image in images] == [1, 2, 3, 4]
    for image in images:
        width_px, x_ppi = int(image[3]), int(image[12])
        assert 25.4 * width_px / x_ppi >= 30, "a QR code at least 3 cm wide"
    for page, hamlet_id in zip(printed.pages, ("tan-dan", "tan-hung", "tan-chu", "tan-hau"), strict=True):
        assert f"t.me/{BOT}?start={hamlet_id}" in page.replace(" ", "")

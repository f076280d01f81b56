"""The report files re-opened with openpyxl, csv and python-docx: what an officer opens must hold every entry once,
with its Vietnamese intact, laid out as an administrative document."""

from __future__ import annotations

import csv
import io
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from bot.core.config import ReportSection, Settings
from bot.reports.build import FORMATS, ReportFiles, build_report
from bot.reports.report_files import exports_dir
from bot.reports.report_xlsx import Sheet, Strong, write_workbook
from storage import Database
from tests.test_report_data import DIALOGUE, ENTRIES, NOW, Commune

REPORTED = [e for e in ENTRIES if e.status != "withdrawn"]
AFTER_DIALOGUE = datetime(2027, 6, 21, 3, 0, tzinfo=UTC)  # the day after the dialogue of 20/6/2027


async def write(database: Database, settings: Settings, *formats: str, now: datetime = NOW,
                ) -> tuple[ReportFiles, Commune]:
    commune = await Commune(database, settings).setup()
    files = await build_report(database, settings, DIALOGUE, now=now, folder=exports_dir(settings),
                               formats=formats or FORMATS)
    return files, commune


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


# ---- Excel -------------------------------------------------------------------------------------------------------


async def test_the_detail_sheet_has_every_entry_once_with_its_vietnamese_and_a_real_date(
        database: Database, settings: Settings) -> None:
    files, commune = await write(database, settings, "xlsx")

    sheet = load_workbook(files.paths["xlsx"])["Chi tiết"]
    header, *rows = list(sheet.iter_rows(values_only=True))

    assert header == ("Mã phiếu", "Ngày gửi", "Họ tên", "Ấp", "Loại hộ", "Số điện thoại", "Loại", "Lĩnh vực",
                      "Nội dung về", "Cơ quan trả lời", "Nội dung", "Tệp đính kèm", "Trạng thái", "Trả lời")
    assert sorted(row[0] for row in rows) == sorted(commune.codes[e.name] for e in REPORTED)
    binh = next(row for row in rows if row[2] == "Nguyễn Văn Bình")
    assert binh[1] == datetime(2027, 6, 2, 8, 30)
    assert binh[3:11] == ("Ấp Tân Hậu", "Hộ nghèo", "0912345601", "Câu hỏi", "Giảm nghèo", "Y tế, thẻ bảo hiểm y tế",
                          "Phòng Y tế; Bảo hiểm xã hội", "Xin hỏi khi nào được cấp thẻ bảo hiểm y tế ạ?")
    kiet = next(row for row in rows if row[2] == "Võ Văn Kiệt")
    assert kiet[10:] == ("=1+2 tôi muốn học nghề sửa xe máy", f"[Hình ảnh — mã {commune.codes['Võ Văn Kiệt']}]",
                         "Đã trả lời", "Đăng ký tại Trung tâm Giáo dục nghề nghiệp huyện.")
    assert "Đỗ Thị Mai" not in {row[2] for row in rows}


async def test_the_detail_header_row_is_frozen_bold_and_filtered(database: Database, settings: Settings) -> None:
    files, _ = await write(database, settings, "xlsx")

    sheet = load_workbook(files.paths["xlsx"])["Chi tiết"]

    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:N{len(REPORTED) + 1}"
    assert sheet["A1"].font.bold
    assert sheet["B2"].number_format == "dd/mm/yyyy hh:mm"
    assert sheet["K2"].data_type == "s" and abs(sheet.column_dimensions["K"].width - 70) < 1


async def test_the_detail_sheet_prints_one_page_wide_with_the_header_on_every_page_and_whole_questions(
        database: Database, settings: Settings) -> None:
    files, _ = await write(database, settings, "xlsx")

    sheet = load_workbook(files.paths["xlsx"])["Chi tiết"]

    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9   # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0  # 1 wide is the default
    assert sheet.print_title_rows.replace("$", "") == "1:1"
    assert sheet["K2"].alignment.wrap_text, "a long question wraps instead of being cut off"
    assert sheet["A1"].font.name == "Calibri" and sheet["A1"].font.bold


async def test_the_summary_sheet_counts_each_topic_and_hamlet(database: Database, settings: Settings) -> None:
    files, _ = await write(database, settings, "xlsx")

    rows = list(load_workbook(files.paths["xlsx"])["Tổng hợp"].iter_rows(values_only=True))
    first = {row[0]: row[1:] for row in rows if row and row[0]}

    assert rows[0][0] == "Báo cáo tổng hợp ý kiến, kiến nghị của hộ nghèo, hộ cận nghèo"
    assert first["Số ý kiến, kiến nghị"][0] == 5 and first["Số hộ đã gửi"][0] == 5
    assert first["Số nội dung hộ dân đã rút (không đưa vào báo cáo)"][0] == 1
    assert first["Ấp Tân Hậu"][:2] == (2, 2)
    matrix = rows[[r[0] for r in rows].index("Số ý kiến theo nội dung và ấp") + 1:]
    assert matrix[0][:6] == ("Nội dung về", "Ấp Tân Dân", "Ấp Tân Hùng", "Ấp Tân Chủ", "Ấp Tân Hậu", "Tổng cộng")
    health = next(r for r in matrix if r[0] == "Y tế, thẻ bảo hiểm y tế")
    assert health[1:6] == (1, 0, 1, 1, 3)
    assert next(r for r in matrix if r[0] == "Tổng cộng")[1:6] == (1, 1, 1, 2, 5)


def test_a_workbook_keeps_words_as_words_and_drops_what_excel_cannot_store(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "y-kien.xlsx", [Sheet("Ý kiến", [
        ["Họ tên", "Nội dung"], ["Nguyễn Văn Bình", "=HYPERLINK(\"http://x\")"], [Strong("Tổng\x07"), 2]])])

    sheet = load_workbook(path)["Ý kiến"]

    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Họ tên", "Nội dung"], ["Nguyễn Văn Bình", '=HYPERLINK("http://x")'], ["Tổng", 2]]
    assert sheet["B2"].data_type == "s" and sheet["A3"].font.bold and not sheet["A2"].font.bold
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_workbook_keeps_markup_and_odd_sheet_names_intact_and_prints_its_header_on_every_page(
        tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "x.xlsx", [Sheet("Ấp Tân Hậu & 'Ông' <1>", [
        ["Mã phiếu", "Nội dung"], ["DT-0001", "Tôi hỏi <b>nhà</b> & đất, \"tiền\" 5%"]], (12, 60))])

    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]

    assert sheet.title == "Ấp Tân Hậu & 'Ông' <1>"
    assert sheet["B2"].value == 'Tôi hỏi <b>nhà</b> & đất, "tiền" 5%' and sheet["B2"].alignment.wrap_text
    assert sheet.print_title_rows == "$1:$1" and sheet.freeze_panes == "A2"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1


# ---- CSV ---------------------------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    """As Excel reads "Unicode Text": UTF-16 with its BOM, TAB between columns."""
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-16"), newline=""), delimiter="\t"))


async def test_the_csv_opens_in_any_excel_and_has_every_entry_once(database: Database, settings: Settings) -> None:
    files, commune = await write(database, settings, "csv")

    raw = files.paths["csv"].read_bytes()
    header, *rows = read_csv(files.paths["csv"])

    assert raw.startswith(b"\xff\xfe")   # UTF-16 LE: Excel's own "Unicode Text", whatever the list separator
    assert header[:4] == ["Mã phiếu", "Ngày gửi", "Họ tên", "Ấp"]
    assert sorted(row[0] for row in rows) == sorted(commune.codes[e.name] for e in REPORTED)
    binh = next(row for row in rows if row[2] == "Nguyễn Văn Bình")
    assert binh[1] == "2027-06-02 08:30" and binh[3] == "Ấp Tân Hậu" and "bảo hiểm y tế" in binh[10]
    assert binh[5] == "0912 345 601", "the phone keeps its leading 0 (text, as Vietnamese write it)"


async def test_text_that_looks_like_a_formula_stays_text(database: Database, settings: Settings) -> None:
    files, _ = await write(database, settings, "csv", "xlsx")

    rows = read_csv(files.paths["csv"])
    cell = next(c for c in load_workbook(files.paths["xlsx"])["Chi tiết"]["K"] if str(c.value).startswith("=1+2"))

    assert next(r for r in rows if r[2] == "Võ Văn Kiệt")[10] == "'=1+2 tôi muốn học nghề sửa xe máy"
    assert cell.data_type == "s"


# ---- Word --------------------------------------------------------------------------------------------------------


async def test_the_word_report_has_the_national_heading_times_new_roman_and_a4_margins(
        database: Database, settings: Settings) -> None:
    files, _ = await write(database, settings)

    doc = Document(str(files.paths["docx"]))
    heading = doc.tables[0]
    normal = doc.styles["Normal"]
    fonts = normal.element.rPr.rFonts
    section = doc.sections[0]

    # NĐ 30: the issuing body in full (the example config's "UBND XÃ ..." is spelled out), the number level with
    # the place and date
    assert [p.text for p in heading.cell(0, 0).paragraphs[:2]] == ["ỦY BAN NHÂN DÂN", "XÃ TÂN THUẬN TÂY"]
    assert heading.cell(1, 0).paragraphs[0].text == "Số: .../BC-UBND"
    national, motto = heading.cell(0, 1).paragraphs
    assert national.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and national.runs[0].bold
    assert motto.text == "Độc lập - Tự do - Hạnh phúc" and motto.runs[0].bold and motto.runs[0].underline
    place = heading.cell(1, 1).paragraphs[0]
    assert place.text == "Tân Thuận Tây, ngày 10 tháng 6 năm 2027" and place.runs[0].italic
    assert normal.font.name == "Times New Roman" and normal.font.size.pt == 13
    assert {fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "eastAsia", "cs")} == {"Times New Roman"}
    assert all(run.font.name in (None, "Times New Roman") for p in doc.paragraphs for run in p.runs)
    page = (section.page_width, section.page_height, section.top_margin, section.bottom_margin,
            section.left_margin, section.right_margin)
    assert [round(length.mm) for length in page] == [210, 297, 20, 20, 30, 15]
    title = next(p for p in doc.paragraphs if p.text == "BÁO CÁO")
    assert title.runs[0].bold and title.alignment == 1    # centred


async def test_similar_questions_are_merged_and_every_topics_count_adds_up(
        database: Database, settings: Settings) -> None:
    files, commune = await write(database, settings)

    text = docx_text(files.paths["docx"])
    topics = re.split(r"\n\d+\. ", text.split("I. GIẢM NGHÈO", 1)[1].split("III. BẢNG", 1)[0])[1:]
    counted = {}
    for block in topics:
        name = block.split("\n", 1)[0]
        stated = int(re.search(r"Số ý kiến: (\d+)", block).group(1))  # type: ignore[union-attr]
        counted[name] = (stated, sum(int(n) for n in re.findall(r"\((\d+) ý kiến;", block)))

    assert counted == {"Y tế, thẻ bảo hiểm y tế": (3, 3), "Vay vốn hộ nghèo, hộ cận nghèo": (1, 1),
                       "Đào tạo nghề, giải quyết việc làm": (1, 1)}
    assert "(2 ý kiến; Câu hỏi; Ấp Tân Hậu, Ấp Tân Dân)" in text
    binh, lan = commune.codes["Nguyễn Văn Bình"], commune.codes["Trần Thị Lan"]
    assert f"Hộ gửi: Nguyễn Văn Bình (Ấp Tân Hậu, {binh}); Trần Thị Lan (Ấp Tân Dân, {lan})" in text
    assert "Cơ quan trả lời: Ngân hàng Chính sách xã hội" in text
    assert "Đỗ Thị Mai" not in text and "Ngoài ra có 1 nội dung hộ dân đã rút lại" in text


async def test_voice_messages_and_photos_are_listed_by_code_so_officers_can_ask_for_them(
        database: Database, settings: Settings) -> None:
    files, commune = await write(database, settings)

    text = docx_text(files.paths["docx"])

    assert "- [Tin nhắn thoại] (1 ý kiến;" in text
    assert f"Phạm Thị Hoa (Ấp Tân Chủ, {commune.codes['Phạm Thị Hoa']}, tin nhắn thoại)" in text
    assert f"Võ Văn Kiệt (Ấp Tân Hậu, {commune.codes['Võ Văn Kiệt']}, hình ảnh)" in text


async def test_the_word_report_has_the_summary_table_chart_unanswered_list_and_signature(
        database: Database, settings: Settings) -> None:
    files, commune = await write(database, settings, now=AFTER_DIALOGUE)

    doc = Document(str(files.paths["docx"]))
    matrix = [[c.text for c in row.cells] for row in doc.tables[1].rows]
    text = docx_text(files.paths["docx"])
    signature = next(tb for tb in doc.tables if tb.cell(0, 0).paragraphs[0].text == "Nơi nhận:")

    assert matrix[0] == ["TT", "Nội dung về", "Ấp Tân Dân", "Ấp Tân Hùng", "Ấp Tân Chủ", "Ấp Tân Hậu", "Tổng cộng"]
    assert matrix[-1] == ["", "Tổng cộng", "1", "1", "1", "2", "5"]
    assert len(doc.inline_shapes) == 1
    unanswered = text.split("IV. CÁC NỘI DUNG CHƯA TRẢ LỜI", 1)[1]
    assert "Có 4 nội dung chưa được trả lời" in unanswered
    assert f"{commune.codes['Lê Văn Tám']} — Lê Văn Tám (Ấp Tân Hùng)" in unanswered
    bank = unanswered.index("Ngân hàng Chính sách xã hội")  # by the agency that answers, then the topic
    assert bank < unanswered.index("Vay vốn hộ nghèo, hộ cận nghèo", bank) < unanswered.index("Lê Văn Tám")
    assert "(Sẽ trả lời sau)" in unanswered and "Võ Văn Kiệt" not in unanswered.split("Trên đây")[0]
    assert signature.cell(0, 0).paragraphs[0].text == "Nơi nhận:"
    signer = settings.report.signer_title.split("\n")[0] if settings.report.signer_title else "CHỦ TỊCH"
    assert [p.text for p in signature.cell(0, 1).paragraphs[:2]] == ["TM. ỦY BAN NHÂN DÂN", signer]


async def test_the_issuer_and_signer_come_from_the_config_when_given(database: Database, settings: Settings) -> None:
    report = ReportSection(issuer="ỦY BAN NHÂN DÂN\nXÃ TÂN THUẬN TÂY", signer_title="KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
                           signer_name="Phạm Thanh Sang", place="Tân Thuận Tây",
                           recipients=["- UBND huyện Đầm Dơi;", "- Lưu: VT."])
    configured = settings.model_copy(update={"report": report})
    files, _ = await write(database, configured)

    doc = Document(str(files.paths["docx"]))
    table = next(tb for tb in doc.tables if tb.cell(0, 0).paragraphs[0].text == "Nơi nhận:")
    signature = [p.text for p in table.cell(0, 1).paragraphs if p.text]

    assert [p.text for p in doc.tables[0].cell(0, 0).paragraphs[:2]] == ["ỦY BAN NHÂN DÂN", "XÃ TÂN THUẬN TÂY"]
    assert signature == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Phạm Thanh Sang"]
    assert "- UBND huyện Đầm Dơi;" in [p.text for p in table.cell(0, 0).paragraphs]


async def test_a_dialogue_without_entries_still_gives_a_report_that_opens(
        database: Database, settings: Settings) -> None:
    await Commune(database, settings).setup(entries=())

    files = await build_report(database, settings, DIALOGUE, now=NOW, folder=exports_dir(settings))

    assert "Chưa có ý kiến, kiến nghị nào." in docx_text(files.paths["docx"])
    assert len(list(load_workbook(files.paths["xlsx"])["Chi tiết"].iter_rows())) == 1


# ---- the files themselves -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_report_files_are_readable_by_the_bots_user_only(
        database: Database, settings: Settings, fmt: str) -> None:
    files, _ = await write(database, settings, fmt)

    path = files.paths[fmt]

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.parent == Path(settings.database.path).parent / "exports"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]


async def test_each_agency_gets_its_working_paper_sheet_with_every_household_and_an_answer_column(
        database: Database, settings: Settings) -> None:
    files, commune = await write(database, settings, "xlsx")

    book = load_workbook(files.paths["xlsx"])
    papers = [name for name in book.sheetnames if name.startswith("CQ ")]
    bank = next(book[name] for name in papers if "Ngân hàng Chính sách" in name)
    rows = list(bank.iter_rows(values_only=True))

    assert rows[0] == ("TT", "Nội dung về", "Ý kiến, kiến nghị (gộp các ý giống nhau)", "Số hộ gửi",
                       "Hộ gửi (ấp, mã phiếu)", "Trả lời / hướng giải quyết")
    assert [r[1] for r in rows[1:]] == ["Vay vốn hộ nghèo, hộ cận nghèo"]
    assert f"Lê Văn Tám (Ấp Tân Hùng, {commune.codes['Lê Văn Tám']})" in rows[1][4] and rows[1][5] is None
    assert len(papers) == len(set(papers)) >= 3  # one sheet per agency that has something to answer


async def test_export_for_one_agency_keeps_only_what_it_answers(database: Database, settings: Settings) -> None:
    await Commune(database, settings).setup()
    files = await build_report(database, settings, DIALOGUE, now=NOW, folder=exports_dir(settings),
                               formats=("csv",), agency="ngân hàng")
    rows = list(csv.reader(io.StringIO(files.paths["csv"].read_bytes().decode("utf-16"), newline=""),
                           delimiter="\t"))
    assert [r[2] for r in rows[1:]] == ["Lê Văn Tám"]

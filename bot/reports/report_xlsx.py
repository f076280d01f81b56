"""Excel files with xlsxwriter in constant-memory mode (50,000 rows stream to disk, row by row, in seconds).

``write_workbook`` is the reusable part (the daily digest uses it too): sheets of rows, a bold, frozen and
filtered header row, column widths, wrapped long text, real dates, and a print setup (A4 landscape, one page wide,
the header row repeated on every page). ``write_report_xlsx`` lays out the committee report with it.

xlsxwriter's temporary files go to the private temporary folder of the process (``report_files.use_private_temp``
sets ``tempfile.tempdir``; xlsxwriter is given it explicitly): never readable by others, removed with the process.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.reports.report_data import Progress, ReportData, no_progress
from bot.reports.report_files import private_output
from bot.reports.report_rows import WIDTHS, detail_headers, detail_rows
from bot.reports.working_papers import PaperLine, households, papers

DATE_FORMAT = "dd/mm/yyyy hh:mm"
FONT = "Calibri"
WRAP_FROM = 30           # columns this wide or wider wrap their text (a long question reads whole)
_PROGRESS_EVERY = 500
_BAD_TITLE = str.maketrans({ch: " " for ch in "[]:*?/\\"})
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XML cannot store these; input is cleaned, rare here


@dataclass(frozen=True, slots=True)
class Strong:
    """A cell shown in bold (a heading inside a sheet)."""

    value: object


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    rows: Iterable[Sequence[object]]
    widths: Sequence[float] = ()
    header: bool = True      # the first row is a header: bold, frozen, filtered and repeated on printed pages


def write_workbook(path: Path, sheets: Sequence[Sheet], progress: Progress = no_progress, total: int = 0) -> Path:
    """Write the sheets to ``path`` (0600). ``progress(done, total)`` is called as rows are written.

    Values: ``datetime``/``date`` become real Excel dates; text is always written as text (never a formula:
    households' words are data); characters Excel cannot store are dropped.
    """
    from xlsxwriter import Workbook

    done = 0
    with private_output(path) as handle:
        workbook = Workbook(handle, {"constant_memory": True, "tmpdir": tempfile.gettempdir(),
                                     "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
        formats = _Formats(workbook)
        titles: set[str] = set()
        for sheet in sheets:
            worksheet = workbook.add_worksheet(_unique(sheet.title.translate(_BAD_TITLE)[:31], titles))
            done = _fill(worksheet, sheet, formats, done, lambda n: progress(n, total))
        workbook.close()
    progress(done, total)
    return path


def _unique(title: str, taken: set[str]) -> str:
    """A sheet title not used yet (Excel refuses two alike, case aside; long names are cut to 31 characters)."""
    candidate, number = title, 2
    while candidate.casefold() in taken:
        suffix = f" ({number})"
        candidate, number = title[:31 - len(suffix)] + suffix, number + 1
    taken.add(candidate.casefold())
    return candidate


class _Formats:
    """The few cell formats a sheet uses, made once per workbook."""

    def __init__(self, workbook: Any) -> None:
        base = {"font_name": FONT, "font_size": 11, "valign": "top"}
        self.plain = workbook.add_format(base)
        self.wrap = workbook.add_format({**base, "text_wrap": True})
        self.bold = workbook.add_format({**base, "bold": True})
        self.header = workbook.add_format({**base, "bold": True, "text_wrap": True, "bg_color": "#DDEBF7",
                                           "border": 1})
        self.when = workbook.add_format({**base, "num_format": DATE_FORMAT})
        self.day = workbook.add_format({**base, "num_format": "dd/mm/yyyy"})


def _fill(worksheet: Any, sheet: Sheet, formats: _Formats, done: int, report: Any) -> int:
    for index, width in enumerate(sheet.widths):
        worksheet.set_column(index, index, width, formats.wrap if width >= WRAP_FROM else formats.plain)
    wrapped = {index for index, width in enumerate(sheet.widths) if width >= WRAP_FROM}
    _print_setup(worksheet, sheet)
    rows = widest = 0
    for number, row in enumerate(sheet.rows):
        heading = sheet.header and number == 0
        for column, value in enumerate(row):
            _write(worksheet, number, column, value, formats, heading, column in wrapped)
        rows, widest = rows + 1, max(widest, len(row))
        done += 1
        if done % _PROGRESS_EVERY == 0:
            report(done)
    if sheet.header and rows:
        worksheet.autofilter(0, 0, rows - 1, max(widest, 1) - 1)
    return done


def _print_setup(worksheet: Any, sheet: Sheet) -> None:
    """A4 landscape, one page wide (as many pages down as needed), the header row on every page."""
    worksheet.set_paper(9)
    worksheet.set_landscape()
    worksheet.fit_to_pages(1, 0)
    worksheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    if sheet.header:
        worksheet.freeze_panes(1, 0)
        worksheet.repeat_rows(0)


def _write(worksheet: Any, row: int, column: int, value: object, formats: _Formats, heading: bool,
           wrapped: bool) -> None:
    if isinstance(value, Strong):
        _write(worksheet, row, column, value.value, formats, True, wrapped)
        return
    if value is None or value == "":
        if heading:
            worksheet.write_blank(row, column, None, formats.header)
        return
    style = formats.header if heading else None
    if isinstance(value, str):
        text = _ILLEGAL.sub("", value)
        worksheet.write_string(row, column, text, style or (formats.wrap if wrapped else formats.plain))
    elif isinstance(value, datetime):
        worksheet.write_datetime(row, column, value, style or formats.when)
    elif isinstance(value, date):
        worksheet.write_datetime(row, column, datetime(value.year, value.month, value.day), style or formats.day)
    elif isinstance(value, bool | int | float):
        worksheet.write_number(row, column, value, style or formats.plain)
    else:
        worksheet.write_string(row, column, _ILLEGAL.sub("", str(value)), style or formats.plain)


# ---- the committee report ----------------------------------------------------------------------------------------


def write_report_xlsx(data: ReportData, path: Path, progress: Progress = no_progress) -> Path:
    """A "Tổng hợp" sheet (counts per field/topic, per hamlet, topic × hamlet) and a "Chi tiết" sheet (every entry)."""
    detail = Sheet(data.t("sheet_detail"), _detail(data), WIDTHS)
    summary_rows = list(_summary(data))
    summary = Sheet(data.t("sheet_summary"), summary_rows, (52, 16, 24, 34, *(16,) * len(data.hamlet_ids)),
                    header=False)
    agency_sheets = [Sheet(data.t("paper_sheet", number=n) + f" - {agency}", _paper_rows(data, agency, lines),
                           PAPER_WIDTHS)
                     for n, (agency, lines) in enumerate(papers(data).items(), start=1)]
    total = len(summary_rows) + len(data.rows) + 1
    return write_workbook(path, [summary, detail, *agency_sheets], progress, total=total)


PAPER_WIDTHS = (6, 26, 60, 8, 60, 50)


def _paper_rows(data: ReportData, agency: str, lines: list[PaperLine]) -> Iterator[Sequence[object]]:
    """An agency's working paper: one row per grouped question, every household, an empty answer column."""
    yield [data.t(c) for c in ("col_no", "col_topic", "col_question", "col_households", "col_who", "col_reply")]
    for number, line in enumerate(lines, start=1):
        yield [number, data.topic_name(line.topic_id), line.question, len(line.rows), households(data, line), ""]


def _detail(data: ReportData) -> Iterator[Sequence[object]]:
    yield detail_headers(data)
    yield from detail_rows(data)


def _summary(data: ReportData) -> Iterator[Sequence[object]]:
    yield [Strong(data.t("doc_title"))]
    yield [data.t("summary_dialogue"), data.dialogue.title]
    yield [data.t("summary_when"), data.when()]
    yield [data.t("summary_where"), data.where()]
    yield [data.t("summary_generated"), data.generated_at.astimezone(data.settings.tz).replace(tzinfo=None)]
    yield [data.t("summary_submissions"), len(data.rows)]
    yield [data.t("summary_households"), data.households]
    yield [data.t("summary_withdrawn"), data.withdrawn]
    yield from _by_topic(data)
    yield from _by_hamlet(data)
    yield from _matrix(data)


def _by_topic(data: ReportData) -> Iterator[Sequence[object]]:
    yield []
    yield [Strong(data.t("summary_by_topic"))]
    yield [Strong(data.t(c)) for c in ("col_topic", "col_count", "col_field", "col_agency")]
    for field_id, topics in data.topic_order:
        for topic in topics:
            yield [data.topic_name(topic), data.per_topic[topic], data.field_name(field_id), data.agency(topic)]
    yield [Strong(data.t("col_total")), Strong(len(data.rows))]


def _by_hamlet(data: ReportData) -> Iterator[Sequence[object]]:
    yield []
    yield [Strong(data.t("summary_by_hamlet"))]
    yield [Strong(data.t(c)) for c in ("col_hamlet", "col_count", "col_households")]
    for hamlet in data.hamlet_ids:
        yield [data.hamlet_name(hamlet), data.per_hamlet[hamlet], data.households_per_hamlet[hamlet]]
    yield [Strong(data.t("col_total")), Strong(len(data.rows)), Strong(data.households)]


def _matrix(data: ReportData) -> Iterator[Sequence[object]]:
    yield []
    yield [Strong(data.t("summary_matrix"))]
    yield [Strong(data.t("col_topic")), *(Strong(data.hamlet_name(h)) for h in data.hamlet_ids),
           Strong(data.t("col_total"))]
    for _, topics in data.topic_order:
        for topic in topics:
            counts = [data.matrix[(topic, hamlet)] for hamlet in data.hamlet_ids]
            yield [data.topic_name(topic), *counts, data.per_topic[topic]]
    totals = [data.per_hamlet[hamlet] for hamlet in data.hamlet_ids]
    yield [Strong(data.t("col_total")), *(Strong(n) for n in totals), Strong(len(data.rows))]

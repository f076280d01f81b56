"""Excel files with openpyxl in write-only mode (50,000 rows stream to disk instead of sitting in memory).

``write_workbook`` is the reusable part (the daily digest uses it too): sheets of rows, a bold, frozen and
filtered header row, column widths, real dates. ``write_report_xlsx`` lays out the committee report with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.reports.report_data import Progress, ReportData, no_progress
from bot.reports.report_files import private_output
from bot.reports.report_rows import WIDTHS, detail_headers, detail_rows

DATE_FORMAT = "dd/mm/yyyy hh:mm"
_PROGRESS_EVERY = 500
_BAD_TITLE = str.maketrans({ch: " " for ch in "[]:*?/\\"})


@dataclass(frozen=True, slots=True)
class Strong:
    """A cell shown in bold (a heading inside a sheet)."""

    value: object


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    rows: Iterable[Sequence[object]]
    widths: Sequence[float] = ()
    header: bool = True      # the first row is a header: bold, frozen and with an autofilter


def write_workbook(path: Path, sheets: Sequence[Sheet], progress: Progress = no_progress, total: int = 0) -> Path:
    """Write the sheets to ``path`` (0600). ``progress(done, total)`` is called as rows are written.

    Values: ``datetime``/``date`` become real Excel dates; text starting with "=" stays text (never a formula:
    households' words are data); characters Excel cannot store are dropped.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    cells = _CellMaker()
    done = 0
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet.title.translate(_BAD_TITLE)[:31])
        done = _fill(worksheet, sheet, cells, done, lambda n: progress(n, total))
    with private_output(path) as handle:
        workbook.save(handle)
    progress(done, total)
    return path


def _fill(worksheet: Any, sheet: Sheet, cells: _CellMaker, done: int, report: Any) -> int:
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(sheet.widths, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = width
    if sheet.header:
        worksheet.freeze_panes = "A2"
    rows = widest = 0
    for number, row in enumerate(sheet.rows):
        worksheet.append(cells.row(worksheet, row, bold=sheet.header and number == 0))
        rows, widest = rows + 1, max(widest, len(row))
        done += 1
        if done % _PROGRESS_EVERY == 0:
            report(done)
    if sheet.header and rows:
        worksheet.auto_filter.ref = f"A1:{get_column_letter(max(widest, 1))}{rows}"
    return done


class _CellMaker:
    """Plain values go in as they are (fast); only dates, bold cells and formula-like text need a styled cell."""

    def __init__(self) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font

        self._cell_class = WriteOnlyCell
        self._illegal = ILLEGAL_CHARACTERS_RE
        self._bold = Font(bold=True)

    def row(self, worksheet: Any, values: Sequence[object], *, bold: bool) -> list[object]:
        # one search per row: characters Excel cannot store are rare (input is cleaned on the way in)
        clean = not self._illegal.search(" ".join(v for v in values if isinstance(v, str)))
        return [self._cell(worksheet, value, bold, clean) for value in values]

    def _cell(self, worksheet: Any, value: object, bold: bool, clean: bool = False) -> object:
        if isinstance(value, Strong):
            return self._cell(worksheet, value.value, True)
        if isinstance(value, str):
            if not value and not bold:
                return None       # an empty cell costs nothing to write
            if not clean:
                value = self._illegal.sub("", value)
            if not (bold or value.startswith("=")):
                return value
            cell = self._cell_class(worksheet, value)
            cell.data_type = "s"
        elif isinstance(value, datetime | date):
            cell = self._cell_class(worksheet, value)
            cell.number_format = DATE_FORMAT if isinstance(value, datetime) else "dd/mm/yyyy"
        elif bold:
            cell = self._cell_class(worksheet, value)
        else:
            return value
        if bold:
            cell.font = self._bold
        return cell


# ---- the committee report ----------------------------------------------------------------------------------------


def write_report_xlsx(data: ReportData, path: Path, progress: Progress = no_progress) -> Path:
    """A "Tổng hợp" sheet (counts per field/topic, per hamlet, topic × hamlet) and a "Chi tiết" sheet (every entry)."""
    detail = Sheet(data.t("sheet_detail"), _detail(data), WIDTHS)
    summary_rows = list(_summary(data))
    summary = Sheet(data.t("sheet_summary"), summary_rows, (46, 16, 24, 34, *(16,) * len(data.hamlet_ids)),
                    header=False)
    return write_workbook(path, [summary, detail], progress, total=len(summary_rows) + len(data.rows) + 1)


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

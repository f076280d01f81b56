"""Excel files: the committee report's workbook, and ``write_workbook`` (the daily digest uses it too).

``write_workbook`` takes sheets of rows and writes them through ``bot.reports.xlsx_stream`` (50,000 rows in about a
second, memory flat): a bold, frozen and filtered header row, column widths, wrapped long text, real dates, and a
print setup (A4 landscape, one page wide, the header row repeated on every page).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.reports.report_data import Progress, ReportData, no_progress
from bot.reports.report_files import private_output
from bot.reports.report_rows import WIDTHS, detail_headers, detail_rows
from bot.reports.working_papers import PaperLine, households, papers
from bot.reports.xlsx_stream import BOLD, Cell, SheetSpec, write_xlsx

WRAP_FROM = 30           # columns this wide or wider wrap their text (a long question reads whole)
_PROGRESS_EVERY = 500
_BAD_TITLE = str.maketrans({ch: " " for ch in "[]:*?/\\"})


def Strong(value: object) -> Cell:
    """A cell shown in bold (a heading inside a sheet)."""
    return Cell(value, BOLD)


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    rows: Iterable[Sequence[object]]
    widths: Sequence[float] = ()
    header: bool = True      # the first row is a header: bold, frozen, filtered and repeated on printed pages


def write_workbook(path: Path, sheets: Sequence[Sheet], progress: Progress = no_progress, total: int = 0, *,
                   title: str = "", author: str = "") -> Path:
    """Write the sheets to ``path`` (0600). ``progress(done, total)`` is called as rows are written.

    Values: ``datetime``/``date`` become real Excel dates; text is always written as text (never a formula:
    households' words are data); characters Excel cannot store are dropped.
    """
    done = 0

    def counted() -> None:
        nonlocal done
        done += 1
        if done % _PROGRESS_EVERY == 0:
            progress(done, total)

    titles: set[str] = set()
    specs = [SheetSpec(_unique(sheet.title.translate(_BAD_TITLE)[:31], titles), sheet.rows, sheet.widths,
                       WRAP_FROM, sheet.header) for sheet in sheets]
    with private_output(path) as handle:
        write_xlsx(handle, specs, counted, title=title, author=author)
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
    return write_workbook(path, [summary, detail, *agency_sheets], progress, total=total,
                          title=data.t("doc_title"), author=data.settings.units[0].name)


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

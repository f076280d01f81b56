"""The detail table shared by the Excel "Chi tiết" sheet and the CSV file: one row per submission, every field."""

from __future__ import annotations

from collections.abc import Iterator

from bot.reports.report_data import ReportData

COLUMNS = ("code", "date", "name", "hamlet", "category", "phone", "kind", "field", "topic", "agency", "content",
           "attachment", "status", "answer")
WIDTHS = (10, 17, 24, 15, 15, 13, 11, 20, 30, 30, 70, 18, 20, 40)


def detail_headers(data: ReportData) -> list[str]:
    return [data.t(f"col_{column}") for column in COLUMNS]


def detail_rows(data: ReportData) -> Iterator[list[object]]:
    """Values in ``COLUMNS`` order; the date is a local ``datetime`` (each writer formats it its own way)."""
    for row in data.rows:
        yield [
            row.code, data.local_time(row.created_at), data.person(row), data.hamlet_name(row.hamlet_id),
            data.category_label(row.category), row.phone or "", data.kind_label(row.kind),
            data.field_name(row.field_id), data.topic_name(row.topic_id), data.agency(row.topic_id),
            row.content or "", data.media_marker(row), data.status_label(row.status), row.answer or "",
        ]

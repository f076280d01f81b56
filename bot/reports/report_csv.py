"""The detail table as CSV: UTF-8 with a BOM (so Excel shows "Nguyễn Văn Bình", not mojibake), one row per entry.

Text a spreadsheet would run as a formula ("=...", "+...", "-...", "@...") gets a leading apostrophe: households'
words are data, never commands (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from bot.reports.report_data import Progress, ReportData, no_progress
from bot.reports.report_files import private_output
from bot.reports.report_rows import detail_headers, detail_rows

DATE_FORMAT = "%d/%m/%Y %H:%M"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PROGRESS_EVERY = 1000


def csv_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_report_csv(data: ReportData, path: Path, progress: Progress = no_progress) -> Path:
    total = len(data.rows)
    with private_output(path) as handle, io.TextIOWrapper(handle, encoding="utf-8-sig", newline="") as text:
        writer = csv.writer(text)
        writer.writerow(detail_headers(data))
        for done, row in enumerate(detail_rows(data), start=1):
            writer.writerow([csv_value(v) for v in row])
            if done % _PROGRESS_EVERY == 0:
                progress(done, total)
    progress(total, total)
    return path

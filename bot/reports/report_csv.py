"""The detail table as CSV, made to open right in Excel under any regional settings and in LibreOffice.

What we chose, and why:
- UTF-16 (little-endian, with its BOM) and TAB between columns: the form Excel itself calls "Unicode Text". Excel
  reads it right whatever the computer's list separator (Vietnamese Windows uses ";", so a comma file opens as one
  column) and never garbles "Nguyễn Văn Bình"; LibreOffice recognises it and offers the same columns. A UTF-8 file
  with a "sep=" line would fix the separator but makes Excel ignore the BOM, garbling every accent.
- Dates as ISO "2027-06-02 08:30": every Excel and LibreOffice reads it as a date whatever its regional settings
  ("02/06/2027" turns into text, or into 6 February, under others).
- Phones written as Vietnamese write them, "0912 345 678": a spreadsheet keeps it as text, so the leading 0 stays
  (0912345678 would open as the number 912345678).
- Text a spreadsheet would run as a formula ("=...", "+...", "-...", "@...") gets a leading apostrophe: households'
  words are data, never commands (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from bot.core.phone import display_phone
from bot.reports.report_data import Progress, ReportData, no_progress
from bot.reports.report_files import private_output
from bot.reports.report_rows import COLUMNS, detail_headers, detail_rows

DATE_FORMAT = "%Y-%m-%d %H:%M"
ENCODING = "utf-16-le"
BOM = "\ufeff"
DELIMITER = "\t"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PROGRESS_EVERY = 1000
_PHONE = COLUMNS.index("phone")


def csv_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_report_csv(data: ReportData, path: Path, progress: Progress = no_progress) -> Path:
    total = len(data.rows)
    with private_output(path) as handle, io.TextIOWrapper(handle, encoding=ENCODING, newline="") as text:
        text.write(BOM)
        writer = csv.writer(text, delimiter=DELIMITER)
        writer.writerow(detail_headers(data))
        for done, row in enumerate(detail_rows(data), start=1):
            if row[_PHONE]:
                row[_PHONE] = display_phone(str(row[_PHONE]))
            writer.writerow([csv_value(v) for v in row])
            if done % _PROGRESS_EVERY == 0:
                progress(done, total)
    progress(total, total)
    return path

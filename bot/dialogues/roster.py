"""The eligibility roster (danh sách hộ dự kiến thoát nghèo, hộ được mời) imported from CSV or Excel.

Seed 002: only households on the local list of those expected to escape poverty this year attend. The commune
keeps that list in a spreadsheet; this module reads it (CSV in UTF-8 with ``,`` or ``;``, or the first sheet of an
.xlsx), checks every row, and upserts the good rows on (dialogue, household code). Bad rows are reported with the
row number the spreadsheet shows and a reason; the rest are imported. Importing the same file twice changes nothing.
Phones are normalised because a household is matched to the roster by its phone.

Why short transactions: the running bot shares the database, and a household's turn must never wait long behind an
import. In the bot the whole import runs in the worker process (``bot/core/workers.py``): reading and checking,
the existing roster read in one snapshot, and the rows written on the worker's own connection in batches of a few
hundred, each its own short transaction (a few milliseconds), with a pause after each so the turns, which wait for
SQLite's lock asynchronously, get it in between; only the report comes back. An import killed half-way
leaves some rows in; importing the file again completes it (upserts change nothing twice). The number of rows and
the unpacked size of an .xlsx are capped (``[roster]``) so a hostile file is refused before it costs anything.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from xml.etree.ElementTree import ParseError

from bot.core.clock import iso
from bot.core.config import Settings, Unit
from bot.core.i18n import t
from bot.core.phone import display_phone, normalize_phone
from bot.core.text import fold, one_line
from bot.core.workers import in_process
from bot.dialogues.service import DialogueError, require
from storage import Connection, Database
from storage import dialogues as repo
from storage.backends import database_at, is_postgres, read_snapshot
from storage.connection import LoopConnection
from storage.dialogues import RosterEntry

MAX_BYTES = 20 * 1024 * 1024
BATCH = 2000  # rows read or written per transaction: each holds the database a few milliseconds
WORKER_BATCH = 100  # rows per transaction in the worker process: each holds SQLite's write lock ~1-2 ms, so a
# turn, which waits up to 2 ms inside SQLite before backing off, mostly gets the lock at once (250 rows held it ~5 ms:
# turns backed off, queued behind one another, and p99 during a 200,000-row import went from 9 ms to 41 ms)
WORKER_PAUSE_S = 0.002
WORKER_BUSY_TIMEOUT_MS = 5000  # the worker may block waiting for the lock: it is not the event loop
HEADER_SEARCH_ROWS = 20  # a title row ("DANH SÁCH HỘ DỰ KIẾN THOÁT NGHÈO...") may come before the header
FIELDS = ("name", "code", "hamlet", "category", "phone")
REQUIRED = ("name", "code", "hamlet")
ALIASES: dict[str, tuple[str, ...]] = {  # folded header texts (see bot.text.fold)
    "name": ("ho va ten", "ho ten", "ho va ten chu ho", "ho ten chu ho", "ten chu ho", "chu ho", "full name",
             "name", "ho ten nguoi dai dien", "nguoi dai dien"),
    "code": ("ma ho", "ma so ho", "ma ho gia dinh", "ma hgd", "ma so", "household code", "household id", "code"),
    "hamlet": ("ap", "ap khom", "khom ap", "khom", "ten ap", "thon", "thon ap", "to dan pho", "khu pho", "hamlet"),
    "category": ("loai ho", "phan loai", "phan loai ho", "doi tuong", "category"),
    "phone": ("so dien thoai", "sdt", "so dt", "dien thoai", "so dien thoai lien he", "dien thoai lien he",
              "phone", "phone number", "mobile"),
}
CATEGORIES = {
    "ngheo": "poor", "hn": "poor", "poor": "poor",
    "can ngheo": "near_poor", "hcn": "near_poor", "near poor": "near_poor", "near_poor": "near_poor",
    "moi thoat ngheo": "escaped", "thoat ngheo": "escaped", "escaped": "escaped",
}
HAMLET_PREFIXES = sorted(("ap", "khom", "thon", "xom", "ban", "buon", "to", "to dan pho", "khu pho", "khu"),
                         key=len, reverse=True)
Progress = Callable[[int, int], None]
T = TypeVar("T")
_FLOAT_ZERO = re.compile(r"(?<=\d)\.0$")  # 912345678.0: a number column exported as float


class RosterError(Exception):
    """A problem with the whole file: nothing is imported. ``text(lang)`` explains it to the officer."""

    def __init__(self, key: str, **values: object) -> None:
        self.key = key
        self.values = values
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.values)


class MissingColumns(RosterError):
    def __init__(self, missing: Sequence[str], found: Sequence[str], line: int) -> None:
        self.missing, self.found, self.line = tuple(missing), tuple(found), line
        super().__init__("roster.missing_columns")

    def text(self, lang: str) -> str:
        names = ", ".join(t(f"roster.column_{name}", lang) for name in self.missing)
        found = ", ".join(f"\"{h}\"" for h in self.found if h) or t("roster.nothing_found", lang)
        return t(self.key, lang, missing=names, found=found, line=self.line)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str

    def text(self, lang: str) -> str:
        return t("roster.row_error", lang, line=self.line, reason=self.reason)


@dataclass(slots=True)
class ImportReport:
    total_rows: int
    added: int
    updated: int
    unchanged: int
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.added + self.updated + self.unchanged

    def summary(self, lang: str) -> str:
        return t("roster.summary", lang, total=self.total_rows, added=self.added, updated=self.updated,
                 unchanged=self.unchanged, bad=len(self.errors))

    def text(self, lang: str, max_errors: int = 20) -> str:
        """The summary and the first bad rows, short enough for one chat message."""
        lines = [self.summary(lang), *(e.text(lang) for e in self.errors[:max_errors])]
        if len(self.errors) > max_errors:
            lines.append(t("roster.more_errors", lang, count=len(self.errors) - max_errors))
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Record:
    """A data row as read: its row number in the spreadsheet and the text of each known column."""

    line: int
    cells: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.cells.get(name, "")


@dataclass(slots=True)
class _Row:
    line: int
    code: str
    name: str
    hamlet_id: str
    category: str | None
    phone: str | None

    @property
    def key(self) -> str:
        return self.code.casefold()

    @property
    def values(self) -> tuple[str, str, str | None, str | None]:
        return self.name, self.hamlet_id, self.category, self.phone


# --- reading the file -------------------------------------------------------------------------------------------


def _load(path: Path | None, data: bytes | None, name: str) -> bytes:
    if data is None:
        if path is None:
            raise ValueError("import_roster needs a path or data")
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise RosterError("roster.too_large", size=_mb(size), limit=_mb(MAX_BYTES))
            data = path.read_bytes()
        except OSError as exc:
            raise RosterError("roster.unreadable", name=name, detail=exc.strerror or exc) from None
    if len(data) > MAX_BYTES:
        raise RosterError("roster.too_large", size=_mb(len(data)), limit=_mb(MAX_BYTES))
    if not data.strip():
        raise RosterError("roster.empty", name=name)
    return data


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


def _kind(data: bytes, name: str) -> str:
    suffix = Path(name).suffix.casefold()
    if suffix == ".xls" or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterError("roster.old_excel", name=name)
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt", ".tsv", ""):
        return "xlsx" if data.startswith(b"PK\x03\x04") else "csv"
    raise RosterError("roster.unsupported", name=name)


def _csv_table(data: bytes, name: str) -> tuple[Iterator[Sequence[object]], int]:
    """The rows as they are parsed (progress moves from the first one), and the number of lines as the total."""
    try:
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError("roster.not_utf8") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count) if any(d in first for d in ";,\t") else ","

    def rows() -> Iterator[Sequence[object]]:
        try:
            yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        except csv.Error as exc:
            raise RosterError("roster.unreadable", name=name, detail=exc) from None

    return rows(), text.count("\n") + (not text.endswith("\n"))


def _check_unzipped_size(data: bytes, name: str, limit_mb: int) -> None:
    """An .xlsx is a zip: refuse one that unpacks to more than the limit before a library opens it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise RosterError("roster.not_a_workbook", name=name) from None
    if unpacked > limit_mb * 1024 * 1024:
        raise RosterError("roster.unzipped_too_large", name=name, size=_mb(unpacked), limit=limit_mb)


def _xlsx_table(data: bytes, name: str, max_unzipped_mb: int) -> tuple[Iterator[Sequence[object]], int]:
    from openpyxl import load_workbook

    _check_unzipped_size(data, name, max_unzipped_mb)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except (zipfile.BadZipFile, KeyError, IndexError, OSError, ValueError, ParseError) as exc:
        raise RosterError("roster.unreadable", name=name, detail=exc) from None
    size = sheet.max_row or 0
    sheet.reset_dimensions()  # some programs write a wrong used range; read every row that is there

    def rows() -> Iterator[Sequence[object]]:
        try:
            yield from sheet.iter_rows(values_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, ParseError) as exc:
            raise RosterError("roster.unreadable", name=name, detail=exc) from None
        finally:
            book.close()

    return rows(), size


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone or code typed as a number: 912345678.0
    if isinstance(value, datetime | date):
        value = value.strftime("%d/%m/%Y")
    text = str(value)
    if text.isprintable() and "  " not in text and unicodedata.is_normalized("NFC", text):
        return text.strip()  # already clean: what one_line would return, without its cost (50,000 rows)
    return one_line(text)


def _header(cells: list[str]) -> dict[str, int]:
    """Which column holds which field: exact alias first, then a header that starts with an alias."""
    keys = [fold(c) for c in cells]
    found: dict[str, int] = {}
    for name in FIELDS:
        exact = [i for i, k in enumerate(keys) if k in ALIASES[name] and i not in found.values()]
        loose = [i for i, k in enumerate(keys) if i not in found.values()
                 and any(k.startswith(a + " ") for a in ALIASES[name])]
        if exact or loose:
            found[name] = (exact or loose)[0]
    return found


class _HeaderSearch:
    """The header is the first row naming the required columns; a title row or two may come before it."""

    def __init__(self) -> None:
        self.first_line = 0
        self.best: tuple[int, int, list[str]] | None = None  # (columns recognised, line, cells)

    def offer(self, line: int, cells: list[str]) -> dict[str, int] | None:
        header = _header(cells)
        if all(name in header for name in REQUIRED):
            return header
        self.first_line = self.first_line or line
        if self.best is None or len(header) > self.best[0]:
            self.best = (len(header), line, cells)
        if line - self.first_line >= HEADER_SEARCH_ROWS:
            self.fail()
        return None

    def fail(self) -> NoReturn:
        if self.best is None:
            raise RosterError("roster.no_rows")
        _, line, cells = self.best
        found = _header(cells)
        raise MissingColumns([n for n in REQUIRED if n not in found], cells, line)


def _records(rows: Iterable[Sequence[object]], size: int, progress: Progress | None, max_rows: int) -> list[Record]:
    """The rows after the header row; empty rows are skipped; more than ``max_rows`` households is refused."""
    search = _HeaderSearch()
    header: dict[str, int] | None = None
    records: list[Record] = []
    for line, raw in enumerate(rows, start=1):
        if header is None:
            texts = [_cell(v) for v in raw]
            header = search.offer(line, texts) if any(texts) else None
            size -= line if header is not None else 0
            continue
        cells = {f: _cell(raw[i]) for f, i in header.items() if i < len(raw)}
        if any(cells.values()):  # a row with only its number (STT) filled in is an unused template row
            if len(records) == max_rows:
                raise RosterError("roster.too_many_rows", limit=f"{max_rows:,}".replace(",", "."))
            records.append(Record(line, cells))
            if progress and len(records) % 1000 == 0:
                progress(len(records), max(size, len(records)))
    if header is None:
        search.fail()
    if not records:
        raise RosterError("roster.no_rows")
    return records


def read_records(data: bytes, name: str, progress: Progress | None = None, *, max_rows: int = 200_000,
                 max_unzipped_mb: int = 200) -> list[Record]:
    """The data rows of a roster file (no database); raises RosterError for a file that cannot be used."""
    rows, size = _xlsx_table(data, name, max_unzipped_mb) if _kind(data, name) == "xlsx" else _csv_table(data, name)
    with closing(rows):
        return _records(rows, size, progress, max_rows)


# --- checking rows ----------------------------------------------------------------------------------------------


def _strip_prefix(key: str) -> str:
    for prefix in HAMLET_PREFIXES:
        if key.startswith(prefix + " ") and len(key) > len(prefix) + 1:
            return key[len(prefix) + 1:]
    return key


class HamletIndex:
    """Finds a hamlet by id or name, accent-insensitive, with or without "Ấp"/"Khóm"."""

    def __init__(self, hamlets: list[Unit], taking_part: Iterable[str]) -> None:
        self.taking_part = set(taking_part)
        self.exact: dict[str, set[str]] = {}
        self.loose: dict[str, set[str]] = {}
        for unit in hamlets:
            for key in {unit.id, fold(unit.id), fold(unit.name)}:
                self.exact.setdefault(key, set()).add(unit.id)
            self.loose.setdefault(_strip_prefix(fold(unit.name)), set()).add(unit.id)
        self._found: dict[str, tuple[str | None, str | None, list[str]]] = {}

    def find(self, text: str) -> tuple[str | None, str | None, list[str]]:
        """(hamlet id, None, []) or (None, catalogue key of the problem, the hamlet ids it could be)."""
        if text not in self._found:  # the same few names, thousands of times
            self._found[text] = self._find(text)
        return self._found[text]

    def _find(self, text: str) -> tuple[str | None, str | None, list[str]]:
        key = fold(text)
        found = self.exact.get(text.strip().casefold()) or self.exact.get(key) or self.loose.get(_strip_prefix(key))
        if not found:
            return None, "roster.row_unknown_hamlet", []
        ours = found & self.taking_part
        if not ours:
            return None, "roster.row_hamlet_not_in_dialogue", sorted(found)
        if len(ours) > 1:
            return None, "roster.row_ambiguous_hamlet", sorted(ours)
        return next(iter(ours)), None, []


@lru_cache(maxsize=256)
def _category(text: str) -> tuple[str | None, bool]:
    if not text:
        return None, True
    key = fold(text).removeprefix("ho ").strip()
    found = CATEGORIES.get(key) or CATEGORIES.get(fold(text))
    return found, found is not None


def _problems(record: Record, hamlets: HamletIndex, lang: str) -> tuple[list[str], _Row]:
    """What is wrong with a row (in ``lang``) and the row as it would be imported."""
    problems = [t(key, lang) for key, name in (("roster.row_no_code", "code"), ("roster.row_no_name", "name"))
                if not record[name]]
    hamlet_id, problem, ids = hamlets.find(record["hamlet"]) if record["hamlet"] else (None, "roster.row_no_hamlet", [])
    if problem:
        problems.append(t(problem, lang, hamlet=record["hamlet"], ids=", ".join(ids)))
    category, ok = _category(record["category"])
    if not ok:
        problems.append(t("roster.row_bad_category", lang, category=record["category"]))
    phone = normalize_phone(_FLOAT_ZERO.sub("", record["phone"])) if record["phone"] else None
    if record["phone"] and phone is None:
        problems.append(t("roster.row_bad_phone", lang, phone=record["phone"]))
    return problems, _Row(record.line, record["code"], record["name"], hamlet_id or "", category, phone)


def check_rows(records: list[Record], hamlets: HamletIndex, lang: str) -> tuple[list[_Row], list[RowError]]:
    """Good rows and bad rows; a household code or a phone seen on an earlier row makes a later row bad."""
    rows: list[_Row] = []
    errors: list[RowError] = []
    code_lines: dict[str, int] = {}
    phone_lines: dict[str, int] = {}
    for record in records:
        problems, row = _problems(record, hamlets, lang)
        first_code = code_lines.setdefault(row.key, row.line) if row.code else row.line
        if problems:
            errors.append(RowError(row.line, "; ".join(problems)))
        elif first_code != row.line:
            errors.append(RowError(row.line, t("roster.row_duplicate_code", lang, code=row.code, first=first_code)))
        elif row.phone and phone_lines.setdefault(row.phone, row.line) != row.line:
            errors.append(RowError(row.line, t("roster.row_duplicate_phone", lang, phone=display_phone(row.phone),
                                               first=phone_lines[row.phone])))
        else:
            rows.append(row)
    return rows, errors


def _phones_taken(rows: list[_Row], existing: dict[str, RosterEntry], lang: str,
                  ) -> tuple[list[_Row], list[RowError]]:
    """Rows whose phone stays with another household already on the roster (one not re-imported now)."""
    good = {row.key: row for row in rows}
    errors: list[RowError] = []
    while True:
        kept = {e.phone: e.household_code for key, e in existing.items() if e.phone and key not in good}
        taken = [row for row in good.values() if row.phone in kept]
        if not taken:
            return list(good.values()), errors
        for row in taken:
            del good[row.key]
            errors.append(RowError(row.line, t("roster.row_phone_taken", lang, phone=display_phone(row.phone or ""),
                                               code=kept[row.phone])))


# --- writing ----------------------------------------------------------------------------------------------------


async def _existing(db: Database, dialogue_id: str) -> dict[str, RosterEntry]:
    """The dialogue's roster by household code, case folded, read in short reads of ``BATCH`` entries."""
    found: dict[str, RosterEntry] = {}
    after = 0
    while True:
        async with db.reading() as conn:
            page = await repo.roster_page(conn, dialogue_id, after, BATCH)
        found.update((e.household_code.casefold(), e) for e in page)
        if len(page) < BATCH:
            return found
        after = page[-1].id


RosterValues = tuple[str, str, str, str | None, str | None]


def _changes(rows: list[_Row], existing: dict[str, RosterEntry]) -> tuple[list[RosterValues], int, int]:
    """(rows to write, how many of them are new, unchanged rows); a row equal to what is stored is not written."""
    added: list[RosterValues] = []
    changed: list[RosterValues] = []
    unchanged = 0
    for row in rows:
        old = existing.get(row.key)
        if old is None:
            added.append((row.code, *row.values))
        elif (old.full_name, old.hamlet_id, old.category, old.phone) == row.values:
            unchanged += 1
        else:
            changed.append((old.household_code, *row.values))
    return added + changed, len(added), unchanged


async def _write(db: Database, dialogue_id: str, rows: list[RosterValues], now: datetime,
                 progress: Progress | None) -> None:
    """Upsert the rows, ``BATCH`` per transaction; the dialogue is checked again in each (it may be deleted)."""
    for start in range(0, len(rows), BATCH):
        async with db.transaction() as conn:
            await require(conn, dialogue_id)
            await repo.upsert_roster(conn, dialogue_id, rows[start:start + BATCH], iso(now))
        if progress:
            progress(min(start + BATCH, len(rows)), len(rows))


async def import_roster(
    db: Database, settings: Settings, dialogue_id: str, path: Path | None = None, *, data: bytes | None = None,
    filename: str = "", now: datetime, progress: Progress | None = None, lang: str = "vi",
) -> ImportReport:
    """Read a roster file and upsert its good rows into the dialogue's roster, in short transactions.

    ``progress(done, total)`` follows the rows read, then the rows written. Raises DialogueError for an unknown
    dialogue and RosterError when the file cannot be used at all (nothing is imported then).
    """
    name = filename or (path.name if path else "")
    async with db.reading() as conn:
        await require(conn, dialogue_id)
        taking_part = await repo.quotas(conn, dialogue_id)
    raw = _load(path, data, name)
    limits = (settings.roster.max_rows, settings.roster.max_unzipped_mb)
    hamlets = HamletIndex(settings.hamlets(), taking_part)
    if progress is None and db.path != ":memory:":  # the bot: all of it in the worker process, on its connection
        return _unless_refused(await in_process(_import_in_worker, db.path, dialogue_id, raw, name, limits, hamlets,
                                                lang, iso(now)))
    if progress is None:  # an in-memory database has no second connection: read and check in the worker process
        existing = await _existing(db, dialogue_id)
        count, plan = _unless_refused(await in_process(_read_and_plan, raw, name, limits, hamlets, existing, lang))
    else:  # the command line shows its progress as it reads
        records = await asyncio.to_thread(read_records, raw, name, progress, max_rows=limits[0],
                                          max_unzipped_mb=limits[1])
        progress(len(records), len(records))
        existing = await _existing(db, dialogue_id)
        count, plan = len(records), await asyncio.to_thread(_plan, records, hamlets, existing, lang)
    await _write(db, dialogue_id, plan.writes, now, progress)
    return ImportReport(count, plan.added, len(plan.writes) - plan.added, plan.unchanged, plan.errors)


Refused = tuple[str, tuple[Any, ...], dict[str, Any]]  # a RosterError across the process boundary


def _read_or_refuse(raw: bytes, name: str, limits: tuple[int, int]) -> list[Record] | Refused:
    """The file's records; a refusal as plain values (an exception with its own constructor does not survive
    pickling)."""
    try:
        return read_records(raw, name, None, max_rows=limits[0], max_unzipped_mb=limits[1])
    except MissingColumns as exc:
        return "missing", (exc.missing, exc.found, exc.line), {}
    except RosterError as exc:
        return "error", (exc.key,), dict(exc.values)


def _read_and_plan(raw: bytes, name: str, limits: tuple[int, int], hamlets: HamletIndex,
                   existing: dict[str, RosterEntry], lang: str) -> tuple[int, _Plan] | Refused:
    """In the worker process: read the file and plan the writes (a refusal as ``_read_or_refuse`` gives it)."""
    records = _read_or_refuse(raw, name, limits)
    if isinstance(records, tuple):
        return records
    return len(records), _plan(records, hamlets, existing, lang)


def _import_in_worker(path: str, dialogue_id: str, raw: bytes, name: str, limits: tuple[int, int],
                      hamlets: HamletIndex, lang: str, at: str) -> ImportReport | Refused:
    """In the worker process, the whole import: read and check the file, read the roster (one snapshot), plan, and
    write on the worker's own connection in short paced transactions. Only the report comes back: neither the
    200,000 rows nor the roster cross the process boundary, the event loop never unpickles them, and no write holds
    the bot's turn lock (a turn waits for SQLite's lock a few milliseconds at most, see ``_write_paced``)."""
    records = _read_or_refuse(raw, name, limits)
    if isinstance(records, tuple):
        return records
    plan = _plan(records, hamlets, read_snapshot(path, _whole_roster, dialogue_id), lang)
    try:
        asyncio.run(_write_paced(path, dialogue_id, plan.writes, at))
    except DialogueError as exc:  # deleted meanwhile
        return "dialogue", (exc.key,), dict(exc.values)
    return ImportReport(len(records), plan.added, len(plan.writes) - plan.added, plan.unchanged, plan.errors)


async def _whole_roster(conn: Connection, dialogue_id: str) -> dict[str, RosterEntry]:
    """The dialogue's roster by household code, case folded (in the worker's snapshot)."""
    found: dict[str, RosterEntry] = {}
    after = 0
    while page := await repo.roster_page(conn, dialogue_id, after, BATCH):
        found.update((e.household_code.casefold(), e) for e in page)
        after = page[-1].id
    return found


async def _write_paced(path: str, dialogue_id: str, rows: list[RosterValues], at: str) -> None:
    """Upsert ``WORKER_BATCH`` rows per transaction, the dialogue checked in each (it may be deleted), then leave
    SQLite's write lock free at least as long as the batch held it, so the bot's turns (which wait for it a few
    milliseconds at a time) get it between two batches. On PostgreSQL the batches are transactions of their own
    beside the workers' turns (no lock to leave free)."""
    if is_postgres(path):
        async with database_at(path) as db:
            for start in range(0, len(rows), WORKER_BATCH):
                async with db.transaction() as pg:
                    await require(pg, dialogue_id)
                    await repo.upsert_roster(pg, dialogue_id, rows[start:start + WORKER_BATCH], at)
        return
    conn = LoopConnection.open(path, WORKER_BUSY_TIMEOUT_MS)
    try:
        for start in range(0, len(rows), WORKER_BATCH):
            began = time.perf_counter()
            conn.raw.execute("BEGIN IMMEDIATE")
            try:
                await require(conn, dialogue_id)  # type: ignore[arg-type]  # the same face as Connection
                await repo.upsert_roster(conn, dialogue_id, rows[start:start + WORKER_BATCH], at)  # type: ignore[arg-type]
            except BaseException:
                conn.raw.execute("ROLLBACK")
                raise
            conn.raw.execute("COMMIT")
            await asyncio.sleep(max(WORKER_PAUSE_S, time.perf_counter() - began))  # the worker's own loop
    finally:
        conn.close()


def _unless_refused(outcome: T | Refused) -> T:
    if isinstance(outcome, tuple) and outcome[0] == "missing":
        raise MissingColumns(*outcome[1])  # type: ignore[misc]
    if isinstance(outcome, tuple) and outcome[0] == "error":
        raise RosterError(*outcome[1], **outcome[2])  # type: ignore[misc]
    if isinstance(outcome, tuple) and outcome[0] == "dialogue":
        raise DialogueError(*outcome[1], **outcome[2])  # type: ignore[misc]
    return outcome  # type: ignore[return-value]


@dataclass(slots=True)
class _Plan:
    writes: list[RosterValues]
    added: int
    unchanged: int
    errors: list[RowError]


def _plan(records: list[Record], hamlets: HamletIndex, existing: dict[str, RosterEntry], lang: str) -> _Plan:
    """Every check and comparison, off the event loop: what to write, and the bad rows in file order."""
    rows, errors = check_rows(records, hamlets, lang)
    rows, taken = _phones_taken(rows, existing, lang)
    writes, added, unchanged = _changes(rows, existing)
    return _Plan(writes, added, unchanged, sorted(errors + taken, key=lambda e: e.line))


async def match_household(conn: Connection, dialogue_id: str, *, phone: str | None = None,
                          household_code: str | None = None) -> RosterEntry | None:
    """The roster entry of a household, by phone (any common form) or else by household code."""
    normalized = normalize_phone(phone) if phone else None
    if normalized:
        found = await repo.roster_match(conn, dialogue_id, phone=normalized)
        if found:
            return found
    code = one_line(household_code) if household_code else ""
    return await repo.roster_match(conn, dialogue_id, household_code=code) if code else None


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A tqdm bar on stderr (hidden when stderr is not a terminal), fed by import_roster's progress callback."""
    from tqdm import tqdm

    with tqdm(desc=label, unit=" dòng", disable=None, leave=False) as bar:

        def update(done: int, total: int) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        yield update

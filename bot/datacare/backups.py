"""Backups kept in a folder: one each night (``doithoai backup --nightly``, run by a timer), one before each upgrade,
the nightly ones older than ``backup.keep_days`` pruned. Files are owner-only; names say when they were made."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.datacare.pg_dump import dump
from bot.datacare.service import backup
from storage.backends import is_postgres

NIGHTLY = re.compile(r"^doithoai-(\d{4}-\d{2}-\d{2}-\d{4})\.(?:sqlite3|dump)$")  # SQLite's copies, pg_dump's files
FOLDER_MODE = 0o700


def _folder(path: str | Path) -> Path:
    folder = Path(path)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    return folder


async def copy_to(source: str | Path, target: Path) -> int:
    """Copy the database ``source`` names to ``target``, owner-only, never half-written; returns its size in bytes.
    A SQLite file by SQLite's online backup, a PostgreSQL URL by pg_dump (its custom format)."""
    if is_postgres(str(source)):
        return await dump(str(source), target)
    return await backup(source, target)


def _suffix(source: str | Path) -> str:
    return ".dump" if is_postgres(str(source)) else ".sqlite3"


async def nightly(source: str | Path, folder: str | Path, now: datetime, tz: ZoneInfo,
                  keep_days: int) -> tuple[Path, list[Path]]:
    """Write ``doithoai-<local date>-<HHMM>.sqlite3`` (``.dump`` for PostgreSQL) into ``folder``, then remove the
    nightly backups older than ``keep_days`` (never the one just made, never a file of another name). Returns (the
    new file, removed)."""
    local = now.astimezone(tz)
    target = _folder(folder) / f"doithoai-{local:%Y-%m-%d-%H%M}{_suffix(source)}"
    await copy_to(source, target)
    return target, prune(target.parent, now, tz, keep_days, keep=target)


def prune(folder: Path, now: datetime, tz: ZoneInfo, keep_days: int, *, keep: Path | None = None) -> list[Path]:
    cutoff = now.astimezone(tz).replace(tzinfo=None) - timedelta(days=keep_days)
    removed = []
    for path in sorted(folder.iterdir()):
        match = NIGHTLY.match(path.name)
        if match and path != keep and datetime.strptime(match.group(1), "%Y-%m-%d-%H%M") < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


async def before_upgrade(source: str | Path, folder: str | Path, first_pending: str, now: datetime,
                         tz: ZoneInfo) -> Path:
    """A copy taken before migrations run (``before-0015_web-2027-06-20-1530.sqlite3``, ``.dump`` for PostgreSQL);
    never pruned."""
    stem = first_pending.removesuffix(".sql")
    target = _folder(folder) / f"before-{stem}-{now.astimezone(tz):%Y-%m-%d-%H%M%S}{_suffix(source)}"
    await copy_to(source, target)
    return target


def latest(folder: str | Path, suffix: str = ".sqlite3") -> Path | None:
    """The newest backup in the folder (nightly or before an upgrade), by modification time. ``suffix``: ".dump"
    for PostgreSQL's, which pg_dump writes there (docs/van-hanh.md)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix == suffix]
    return max(files, key=lambda p: p.stat().st_mtime, default=None)

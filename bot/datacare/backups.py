"""Backups kept in a folder: one each night (``doithoai backup --nightly``, run by a timer), one before each upgrade,
the nightly ones older than ``backup.keep_days`` pruned. Files are owner-only; names say when they were made."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.datacare.pg_dump import dump
from bot.datacare.service import backup

NIGHTLY = re.compile(r"^doithoai-(\d{4}-\d{2}-\d{2}-\d{4})\.(?:sqlite3|dump)$")  # SQLite's copies, pg_dump's files
FOLDER_MODE = 0o700


def _folder(path: str | Path) -> Path:
    folder = Path(path)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    return folder


async def nightly(db_path: str | Path, folder: str | Path, now: datetime, tz: ZoneInfo,
                  keep_days: int) -> tuple[Path, list[Path]]:
    """Write ``doithoai-<local date>-<HHMM>.sqlite3`` into ``folder``, then remove the nightly backups older than
    ``keep_days`` (never the one just made, never a file of another name). Returns (the new file, removed)."""
    local = now.astimezone(tz)
    target = _folder(folder) / f"doithoai-{local:%Y-%m-%d-%H%M}.sqlite3"
    await backup(db_path, target)
    return target, prune(target.parent, now, tz, keep_days, keep=target)


async def nightly_dump(url: str, folder: str | Path, now: datetime, tz: ZoneInfo,
                       keep_days: int) -> tuple[Path, list[Path]]:
    """PostgreSQL's nightly: ``doithoai-<local date>-<HHMM>.dump`` by pg_dump into ``folder``, then the same
    pruning. Returns (the new file, removed)."""
    local = now.astimezone(tz)
    target = _folder(folder) / f"doithoai-{local:%Y-%m-%d-%H%M}.dump"
    await dump(url, target)
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


async def before_upgrade(db_path: str | Path, folder: str | Path, first_pending: str, now: datetime,
                         tz: ZoneInfo) -> Path:
    """A copy taken before migrations run (``before-0015_web-2027-06-20-1530.sqlite3``); never pruned."""
    stem = first_pending.removesuffix(".sql")
    target = _folder(folder) / f"before-{stem}-{now.astimezone(tz):%Y-%m-%d-%H%M%S}.sqlite3"
    await backup(db_path, target)
    return target


async def before_upgrade_dump(url: str, folder: str | Path, first_pending: str, now: datetime,
                              tz: ZoneInfo) -> Path:
    """PostgreSQL's copy before migrations run, by pg_dump (``before-0015_web-2027-06-20-1530.dump``); never pruned."""
    stem = first_pending.removesuffix(".sql")
    target = _folder(folder) / f"before-{stem}-{now.astimezone(tz):%Y-%m-%d-%H%M%S}.dump"
    await dump(url, target)
    return target


def latest(folder: str | Path, suffix: str = ".sqlite3") -> Path | None:
    """The newest backup in the folder (nightly or before an upgrade), by modification time. ``suffix``: ".dump"
    for PostgreSQL's, which pg_dump writes there (docs/van-hanh.md)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix == suffix]
    return max(files, key=lambda p: p.stat().st_mtime, default=None)

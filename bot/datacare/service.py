"""Care of people's data (Nghị định 13/2023): a person's own data, purging past dialogues, backup and restore.

Purging keeps anonymous counts (submissions by hamlet, topic and kind; seats and arrivals per hamlet) so the
commune's reports still add up, and removes names, phones, texts, voice notes, answers and the chat ids.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from bot.core.clock import iso
from bot.core.i18n import t
from bot.datacare import media
from storage import Connection, Database
from storage import datacare as repo
from storage.db import unusable


class PurgeRefused(Exception):
    """A purge that must not run (a date in the future): nothing was touched."""


class _DryRun(Exception):
    """Not an error: the signal that rolls a dry-run purge back while keeping its report."""

    def __init__(self, report: PurgeReport) -> None:
        self.report = report


@dataclass(slots=True)
class PurgeReport:
    dialogue_ids: list[str] = field(default_factory=list)
    dialogues: int = 0
    registrations: int = 0
    roster_entries: int = 0
    submissions: int = 0
    persons: int = 0
    outbox_rows: int = 0


async def find_person(conn: Connection, *, channel: str | None = None, external_id: str | None = None,
                      phone: str | None = None) -> int | None:
    if channel and external_id:
        return await repo.person_by_identity(conn, channel, external_id)
    if phone:
        return await repo.person_by_phone(conn, phone)
    return None


async def person_data(conn: Connection, person_id: int) -> dict[str, Any] | None:
    """Everything the bot holds about one person, as plain data (for ``doithoai export-person``)."""
    return await repo.person_data(conn, person_id)


async def purge_before(db: Database, before: datetime, now: datetime, *, dry_run: bool = False) -> PurgeReport:
    """Remove the personal data of dialogues held or cancelled before ``before`` and of older submissions that no
    open or future dialogue will report. A date in the future is refused. ``dry_run`` does all of it in one
    transaction and rolls it back, so the report says exactly what would go."""
    if before > now:
        raise PurgeRefused(before)
    try:
        async with db.transaction() as conn:
            report = await _purge(conn, iso(before), iso(now))
            if dry_run:
                raise _DryRun(report)
    except _DryRun as rolled_back:
        return rolled_back.report
    await media.sweep(db, now, before=before)
    return report


async def _purge(conn: Connection, cutoff: str, now: str) -> PurgeReport:
    report = PurgeReport(dialogue_ids=await repo.dialogues_before(conn, cutoff, now))
    report.dialogues = len(report.dialogue_ids)
    for dialogue_id in report.dialogue_ids:
        await repo.keep_counts(conn, dialogue_id, now)
        report.registrations += await repo.delete_registrations(conn, dialogue_id)
        report.roster_entries += await repo.delete_roster(conn, dialogue_id)
    report.submissions = await repo.anonymise_submissions(conn, cutoff, now)
    report.outbox_rows = await repo.delete_outbox_before(conn, cutoff)
    report.persons = await repo.delete_idle_persons(conn, cutoff)
    return report


def backup_refusal(target: Path) -> str | None:
    """Why a backup must not be written to ``target`` without ``--force`` (a catalogue key), or None.

    A folder that does not exist is usually a typing mistake, and an existing file is usually an older backup."""
    if target.is_dir():
        return "cli.backup_is_folder"
    if not target.parent.is_dir():
        return "cli.backup_no_folder"
    if target.exists():
        return "cli.backup_exists"
    return None


async def backup(db_path: str | Path, target: str | Path) -> int:
    """Copy the live database with SQLite's online backup (safe while the bot runs); returns its size in bytes."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(_backup_sync, str(db_path), target)
    return target.stat().st_size


def _backup_sync(source: str, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)  # owner-only from the first byte
    os.close(fd)
    try:
        with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
            src.backup(dst, pages=1024)
    except sqlite3.DatabaseError as exc:  # the database itself cannot be read: no half copy is left behind
        partial.unlink(missing_ok=True)
        raise unusable(source, exc) from exc
    os.replace(partial, target)


def check_backup(path: str | Path, lang: str = "vi") -> list[str]:
    """Problems that make a file unfit to restore, in ``lang`` (empty when it is a sound doithoai database)."""
    path = Path(path)
    if not path.is_file():
        return [t("cli.backup_missing", lang, path=path)]
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            integrity = repo.integrity(conn)
            tables = repo.table_names(conn)
    except sqlite3.DatabaseError:
        return [t("cli.backup_not_sqlite", lang, path=path)]
    problems = [] if integrity == "ok" else [t("cli.backup_damaged", lang, problem=integrity)]
    missing = {"persons", "submissions", "schema_migrations"} - tables
    if missing:
        problems.append(t("cli.backup_not_ours", lang, tables=", ".join(sorted(missing))))
    return problems


def restore(backup_file: str | Path, db_path: str | Path, now: datetime, tz: tzinfo = UTC) -> Path | None:
    """Put a backup in place of the database (the bot must be stopped). The current file, if any, is kept aside
    as ``<name>.before-restore-<local date and time>`` (``...-2027-06-20-15h30m05``); returns that path."""
    db_path = Path(db_path)
    kept = None
    if db_path.exists():
        stamp = now.astimezone(tz).strftime("%Y-%m-%d-%Hh%Mm%S")
        kept = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
        _backup_sync(str(db_path), kept)
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    temporary = db_path.with_name(db_path.name + ".restoring")
    shutil.copyfile(backup_file, temporary)
    os.chmod(temporary, 0o600)
    os.replace(temporary, db_path)
    return kept

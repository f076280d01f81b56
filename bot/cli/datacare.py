"""``doithoai backup | restore | purge | export-person``: care of people's data from the command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import click

from bot.cli.common import CONFIG_OPTION, confirm, load_or_exit
from bot.core.clock import system_clock
from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.phone import normalize_phone
from bot.core.vntime import parse_vn_datetime
from bot.datacare import service as datacare
from bot.datacare.backups import copy_to
from bot.datacare.person_document import person_document
from bot.staff import audit
from storage import database_at

T = TypeVar("T")


@click.command()
@CONFIG_OPTION
@click.argument("target", type=click.Path(path_type=Path), required=False)
@click.option("--force", is_flag=True, help="Create missing folders and replace an existing file.")
@click.option("--nightly", is_flag=True,
              help="Into the backup folder as doithoai-<date>-<time>.sqlite3 (.dump on PostgreSQL), pruning those "
                   "older than keep_days.")
def backup(config_path: Path, target: Path | None, force: bool, nightly: bool) -> None:
    """Copy the database to TARGET while the bot keeps running (SQLite's online backup, or pg_dump's custom format
    on PostgreSQL; an owner-only file)."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    if nightly:
        _nightly(settings)
        return
    if target is None:
        click.echo(t("cli.backup_needs_target", lang), err=True)
        sys.exit(2)
    refusal = datacare.backup_refusal(target)
    if refusal == "cli.backup_is_folder" or (refusal and not force):
        click.echo(t(refusal, lang, path=target, folder=target.parent), err=True)
        sys.exit(2)

    async def go() -> int:
        size = await copy_to(settings.database.target, target)
        async with database_at(settings.database.target, files=settings.database.files) as db:
            await audit.record_cli(db, "backup", target.name, size=size)
        return size

    size = backing_up(settings, go)
    click.echo(t("cli.backup_done", lang, path=target, size=f"{size / 1024:,.0f}"))


def backing_up(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run a backup; pg_dump missing or failing, or a folder that cannot be written, is said plainly (exit 2, 1, 1),
    never as a traceback."""
    from bot.datacare.pg_dump import DumpFailed, DumpUnavailable

    try:
        return asyncio.run(work())
    except DumpUnavailable:
        click.echo(t("cli.pg_dump_missing", settings.bot.language), err=True)
        sys.exit(2)
    except DumpFailed as exc:
        click.echo(t("cli.pg_dump_failed", settings.bot.language, detail=exc), err=True)
        sys.exit(1)
    except OSError as exc:  # the backup folder cannot be made or written (a path through a file, a full disk)
        detail = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
        click.echo(t("cli.backup_unwritable", settings.bot.language, detail=detail), err=True)
        sys.exit(1)


def pg_restore_instead(settings: Settings) -> None:
    """On PostgreSQL, restores are pg_restore's, with every worker stopped: say how (docs/van-hanh.md), exit 2."""
    if settings.database.is_postgres:
        click.echo(t("cli.restore_postgres", settings.bot.language, url=settings.database.url), err=True)
        sys.exit(2)


def _nightly(settings: Settings) -> None:
    from bot.datacare.backups import nightly

    async def go() -> tuple[Path, list[Path]]:
        made = await nightly(settings.database.target, settings.backup.folder, system_clock(), settings.tz,
                             settings.backup.keep_days)
        async with database_at(settings.database.target, files=settings.database.files) as db:
            await audit.record_cli(db, "backup", made[0].name, nightly=True, pruned=len(made[1]))
        return made

    made, removed = backing_up(settings, go)
    click.echo(t("cli.backup_nightly_done", settings.bot.language, path=made, pruned=len(removed),
                 days=settings.backup.keep_days))


@click.command()
@CONFIG_OPTION
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(config_path: Path, backup_file: Path, yes: bool) -> None:
    """Replace the database with BACKUP_FILE. Stop the bot first; the current file is kept aside."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    pg_restore_instead(settings)
    problems = datacare.check_backup(backup_file, lang)
    if problems:
        click.echo(t("cli.restore_bad", lang, problems="; ".join(problems)), err=True)
        sys.exit(1)
    if not yes:
        confirm(t("cli.restore_confirm", lang, db=settings.database.path), lang)
    kept = datacare.restore(backup_file, settings.database.path, system_clock(), settings.tz)

    async def note() -> None:
        async with database_at(settings.database.target, files=settings.database.files) as db:
            await audit.record_cli(db, "restore", backup_file.name, kept=kept.name if kept else "")

    asyncio.run(note())
    click.echo(t("cli.restore_done", lang, db=settings.database.path, kept=kept or "—"))


@click.command()
@CONFIG_OPTION
@click.option("--before", "before_text", required=True,
              help='A past date: "1/1/2024" or "2024-01-01" (local time, start of the day).')
@click.option("--dry-run", is_flag=True, help="Only print what would be removed; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(config_path: Path, before_text: str, dry_run: bool, yes: bool) -> None:
    """Remove personal data of dialogues held or cancelled before the date, and of older questions that no open or
    future dialogue will report; keep anonymous counts."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    before = _start_of_day(before_text, settings.tz)
    if before is None:
        raise click.BadParameter(t("cli.bad_date", lang, text=before_text), param_hint="--before")

    async def go(rehearse: bool) -> datacare.PurgeReport:
        async with database_at(settings.database.target, files=settings.database.files) as db:
            report = await datacare.purge_before(db, before.astimezone(UTC), system_clock(), dry_run=rehearse)
            if not rehearse:
                await audit.record_cli(db, "purge", before_text, dialogues=report.dialogues,
                                       submissions=report.submissions, persons=report.persons)
            return report

    try:
        preview = asyncio.run(go(True))
    except datacare.PurgeRefused:
        click.echo(t("cli.purge_future", lang, date=before_text), err=True)
        sys.exit(2)
    if dry_run:
        click.echo(t("cli.purge_would", lang, **_counts(preview)))
        return
    if not yes:
        confirm(t("cli.purge_confirm", lang, date=before_text, **_counts(preview)), lang)
    report = asyncio.run(go(False))
    click.echo(t("cli.purge_done", lang, **_counts(report)))


def _start_of_day(text: str, tz: ZoneInfo) -> datetime | None:
    """A date as Vietnamese write it ("1/1/2024") or ISO ("2024-01-01"), at 0:00 local time; a time may follow."""
    return (parse_vn_datetime(f"0:00 {text}", tz) or parse_vn_datetime(f"{text} 0:00", tz)
            or parse_vn_datetime(text, tz))


def _counts(report: datacare.PurgeReport) -> dict[str, object]:
    return {"dialogues": report.dialogues, "ids": ", ".join(report.dialogue_ids) or "—",
            "registrations": report.registrations, "roster": report.roster_entries,
            "submissions": report.submissions, "persons": report.persons, "outbox": report.outbox_rows}


@click.command("export-person")
@CONFIG_OPTION
@click.option("--channel", type=click.Choice(["telegram", "zalo", "console"]), default="telegram", show_default=True)
@click.option("--id", "external_id", default=None, help="The person's user id on that channel.")
@click.option("--phone", default=None, help="Or their phone number, in any common form.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the document here (name.txt, owner-only) with the JSON beside it (name.json), instead of "
                   "printing the document.")
def export_person(config_path: Path, channel: str, external_id: str | None, phone: str | None,
                  out: Path | None) -> None:
    """Everything the bot holds about one household: a document it can read, and the JSON (its right of access)."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language

    async def go() -> dict | None:
        async with database_at(settings.database.target, files=settings.database.files) as db, db.reading() as conn:
            person_id = await datacare.find_person(conn, channel=channel, external_id=external_id,
                                                   phone=normalize_phone(phone or "") if phone else None)
            data = await datacare.person_data(conn, person_id) if person_id else None
        if data is not None:
            async with database_at(settings.database.target, files=settings.database.files) as db:
                await audit.record_cli(db, "export_person", f"person:{person_id}")
        return data

    data = asyncio.run(go())
    if data is None:
        click.echo(t("cli.person_unknown", lang), err=True)
        sys.exit(1)
    document = person_document(data, settings, lang)
    if out is None:
        click.echo(document)
        return
    readable, raw = out.with_suffix(".txt"), out.with_suffix(".json")
    _write_private(readable, document)
    _write_private(raw, json.dumps(data, ensure_ascii=False, indent=2))
    click.echo(t("cli.person_written", lang, path=readable, json=raw))


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by the bot's user only, from its first byte."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


COMMANDS = (backup, restore, purge, export_person)

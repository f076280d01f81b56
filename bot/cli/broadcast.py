"""``doithoai broadcast``, ``doithoai broadcasts`` and ``doithoai radio``: announcements from the command line.

The CLI writes the broadcast and its outbox messages to the database; the running bot (``doithoai run``) sends
them (it looks at the outbox at least every 30 seconds) and releases scheduled ones when due.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.broadcast import radio
from bot.broadcast import service as broadcast
from bot.broadcast.service import Audience, BroadcastError
from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.cli.heartbeat import bot_running
from bot.core.clock import system_clock
from bot.core.config import Settings
from bot.core.errors import Refusal
from bot.core.i18n import t
from bot.core.vntime import parse_vn_datetime, vn_datetime
from bot.staff import audit
from storage import Database, database_at
from storage import broadcasts as repo

AUDIENCE_HELP = ("everyone | dialogue:ID | waitlist[:ID] | hamlet:ID | category:poor|near_poor|escaped|other"
                 " | no-question")


@click.command("broadcast")
@CONFIG_OPTION
@click.option("--text", "text", default=None, help="The announcement, exactly as households will read it.")
@click.option("--text-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Read the announcement from a UTF-8 file instead.")
@click.option("--audience", required=True, help=AUDIENCE_HELP)
@click.option("--photo", type=click.Path(path_type=Path), default=None, help="A photo to send with it (≤ 10 MB).")
@click.option("--document", type=click.Path(path_type=Path), default=None, help="A file to send with it (≤ 50 MB).")
@click.option("--at", "at", default=None, help='Send later, local time: "15:30 20/6/2027".')
@click.option("--dry-run", is_flag=True, help="Show who would get it and how it looks; send nothing.")
@click.option("--wait", is_flag=True, help="Show a progress bar until the running bot has sent it.")
def broadcast_command(config_path: Path, text: str | None, text_file: Path | None, audience: str,
                      photo: Path | None, document: Path | None, at: str | None, dry_run: bool, wait: bool) -> None:
    """Send an announcement to a group of households (the running bot delivers it)."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    raw = text_file.read_text(encoding="utf-8") if text_file else (text or "")
    try:
        draft = _Draft(broadcast.check_text(raw), Audience.parse(audience),
                       broadcast.check_file(photo, photo=True) if photo else None,
                       broadcast.check_file(document, photo=False) if document else None, _when(settings, at))
        found = asyncio.run(_preview(settings, draft) if dry_run else _send(settings, draft, wait))
    except Refusal as exc:
        click.echo(exc.text(lang), err=True)
        sys.exit(1)
    click.echo(found)


@click.command("broadcasts")
@CONFIG_OPTION
@click.option("--id", "broadcast_id", type=int, default=None, help="The full tally of one broadcast.")
def broadcasts_command(config_path: Path, broadcast_id: int | None) -> None:
    """The latest announcements with how they went (delivered, blocked, failed with reasons, unknown)."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language

    async def go() -> str:
        async with database_at(settings.database.target, files=settings.database.files) as db, db.reading() as conn:
            if broadcast_id is not None:
                return (await broadcast.report(conn, await broadcast.require(conn, broadcast_id))).text(settings, lang)
            rows = await repo.recent(conn, 20)
            items = [broadcast.summary(row, await broadcast.report(conn, row), settings, lang) for row in rows]
        return "\n\n".join(items) or t("broadcast.none_yet", lang)

    try:
        click.echo(asyncio.run(go()))
    except Refusal as exc:
        click.echo(exc.text(lang), err=True)
        sys.exit(1)


@click.command("radio")
@CONFIG_OPTION
@click.option("--dialogue", "dialogue_id", default=None, help="Announce a dialogue: title, time, place, meaning.")
@click.option("--broadcast", "broadcast_id", type=int, default=None, help="Read a broadcast's text aloud.")
@click.option("--out", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write it to a file.")
def radio_command(config_path: Path, dialogue_id: str | None, broadcast_id: int | None, output: Path | None) -> None:
    """The script for the commune loudspeaker, numbers, times and dates written out as they are read."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    if (dialogue_id is None) == (broadcast_id is None):
        click.echo(t("broadcast.cli_radio_which", lang), err=True)
        sys.exit(2)

    async def go() -> str:
        async with database_at(settings.database.target, files=settings.database.files) as db, db.reading() as conn:
            if broadcast_id is not None:
                return radio.broadcast_script(settings, (await broadcast.require(conn, broadcast_id)).text)
            return await radio.dialogue_script(conn, settings, dialogue_id or "")

    try:
        script = asyncio.run(go())
    except Refusal as exc:
        click.echo(exc.text(lang), err=True)
        sys.exit(1)
    if output is None:
        click.echo(script)
        return
    output.write_text(script + "\n", encoding="utf-8")
    click.echo(t("broadcast.cli_written", lang, path=output))


def register(group: click.Group) -> None:
    for command in (broadcast_command, broadcasts_command, radio_command):
        group.add_command(command)


# ---- doing it -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Draft:
    text: str
    audience: Audience
    photo: Path | None
    document: Path | None
    when: datetime | None

    def values(self) -> dict[str, object]:
        return {"text": self.text, "photo_path": str(self.photo or ""), "document_path": str(self.document or ""),
                "document_name": self.document.name if self.document else ""}

    def digest(self) -> str:
        return broadcast.content_hash(self.text, str(self.photo or ""), str(self.document or ""),
                                      self.document.name if self.document else "")


def _when(settings: Settings, text: str | None) -> datetime | None:
    if text is None:
        return None
    parsed = parse_vn_datetime(text, settings.tz)
    if parsed is None:
        raise BroadcastError("broadcast.cli_bad_time", text=text)
    return parsed.astimezone(UTC)


async def _preview(settings: Settings, draft: _Draft) -> str:
    lang = settings.bot.language
    async with database_at(settings.database.target, files=settings.database.files) as db, db.reading() as conn:
        counts = broadcast.count(await broadcast.households(conn, settings, draft.audience, draft.digest()))
    when = vn_datetime(draft.when, settings.tz) if draft.when else t("broadcast.now", lang)
    lines = [t("broadcast.preview", lang, text=draft.text, count=counts.recipients, when=when,
               audience=broadcast.audience_label(settings, draft.audience, lang))]
    if draft.photo:
        lines.append(t("broadcast.attached", lang, what=t("broadcast.with_photo", lang)))
    elif draft.document:
        lines.append(t("broadcast.attached", lang, what=t("broadcast.with_document", lang, name=draft.document.name)))
    if counts.already or counts.blocked:
        lines.append(t("broadcast.preview_excluded", lang, already=counts.already, blocked=counts.blocked))
    if not counts.recipients:
        lines.append(t("broadcast.nobody", lang))
    return "\n".join([*lines, t("broadcast.cli_dry_run", lang)])


async def _send(settings: Settings, draft: _Draft, wait: bool) -> str:
    lang, now = settings.bot.language, system_clock()
    async with database_at(settings.database.target, files=settings.database.files) as db:
        async with db.transaction() as conn:
            broadcast_id = await broadcast.new_draft(conn, created_by="cli", creator_person_id=None, now=now)
            await broadcast.edit(conn, broadcast_id, **draft.values())
            await broadcast.set_audience(conn, settings, broadcast_id, draft.audience)
            await broadcast.set_time(conn, broadcast_id, draft.when, now)
            row = await broadcast.confirm(conn, settings, broadcast_id, now)
            await audit.record(conn, audit.cli_actor(), "broadcast", f"#{row.id}", recipients=row.recipients,
                               audience=draft.audience.code)
        if row.status == "scheduled" and row.scheduled_at is not None:
            return t("broadcast.cli_scheduled", lang, id=row.id, when=vn_datetime(row.scheduled_at, settings.tz))
        running = await bot_running(db, system_clock())
        click.echo(t("broadcast.cli_queued" if running else "broadcast.cli_queued_no_bot", lang, id=row.id,
                     count=row.recipients))
        if wait and running:
            await _follow(db, row.id, row.recipients, lang)
        async with db.reading() as conn:
            return (await broadcast.report(conn, await broadcast.require(conn, row.id))).text(settings, lang)


async def _follow(db: Database, broadcast_id: int, total: int, lang: str) -> None:
    """A progress bar fed by the tally until nothing of the broadcast is waiting, or the bot stops beating."""
    from tqdm import tqdm

    with tqdm(total=total, desc=t("broadcast.cli_progress", lang), unit=" hộ") as bar:
        while True:
            async with db.reading() as conn:
                found = await broadcast.report(conn, await broadcast.require(conn, broadcast_id))
            bar.update(found.handled - bar.n)
            if not found.waiting:
                return
            if not await bot_running(db, system_clock()):
                click.echo(t("broadcast.cli_bot_stopped", lang), err=True)
                return
            await asyncio.sleep(0.5)

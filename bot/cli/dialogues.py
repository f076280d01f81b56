"""``doithoai dialogue ...``: organizers manage dialogues from the command line (the same rules as the chat)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import TypeVar

import click

from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.core.clock import system_clock
from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.vntime import parse_offset, parse_vn_datetime
from bot.dialogues import service as dialogues
from bot.dialogues.service import DialogueError, DialogueSpec
from bot.staff import audit
from storage import Connection, Database, database_at
from storage import dialogues as repo

T = TypeVar("T")
LATER_WORDS = {"sau", "later", "tba", "thong bao sau", "thông báo sau"}


def _write(settings: Settings, change: Callable[[Connection], Awaitable[T]], dialogue_id: str = "",
           what: str = "") -> T:
    """Apply one change to the dialogues in one transaction, audited (actor ``cli:<os user>``)."""
    async def go() -> T:
        async with database_at(settings.database.target, files=settings.database.files) as db:
            await _seed(db, settings)
            async with db.transaction() as conn:
                result = await change(conn)
                if what:  # a change, not a listing
                    await audit.record(conn, audit.cli_actor(), "dialogue", dialogue_id, change=what)
                return result

    try:
        return asyncio.run(go())
    except DialogueError as exc:
        click.echo(exc.text(settings.bot.language), err=True)
        sys.exit(1)


async def _seed(db: Database, settings: Settings) -> None:
    async with db.transaction() as conn:
        await dialogues.seed_from_config(conn, settings, system_clock())


def parse_time_or_exit(settings: Settings, text: str):
    if text.strip().lower() in LATER_WORDS:
        return None
    parsed = parse_vn_datetime(text, settings.tz)
    if parsed is None:
        click.echo(t("dialogues.bad_time", settings.bot.language, text=text), err=True)
        sys.exit(1)
    return parsed.astimezone(UTC)


@click.group()
def dialogue() -> None:
    """Create and manage dialogues (time, place, quotas, status)."""


@dialogue.command("list")
@CONFIG_OPTION
def list_(config_path: Path) -> None:
    """Every dialogue with its status, time, place and seats."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language

    async def show(conn: Connection) -> str:
        blocks = []
        for d in await repo.list_dialogues(conn):
            counts = await dialogues.seats(conn, d.id)
            blocks.append(f"[{d.id}] ({t(f'dialogues.status_{d.status}', lang)})\n"
                          + dialogues.details(d, settings, lang) + "\n" + dialogues.seats_table(counts, settings, lang))
        return "\n\n".join(blocks) or "—"

    click.echo(_write(settings, show))


@dialogue.command()
@CONFIG_OPTION
@click.argument("dialogue_id")
@click.option("--title", required=True)
@click.option("--time", "time_text", default="sau", help='"15:30 20/6/2027", or "sau" (to be announced).')
@click.option("--place", default="")
@click.option("--map-url", default=None)
@click.option("--quota", "quotas", multiple=True, help="HAMLET=N, repeatable (e.g. --quota tan-hau=20).")
@click.option("--deadline-days", default=5, show_default=True, type=click.IntRange(0, 60))
@click.option("--reminders", default="3d,1d,2h", show_default=True)
@click.option("--requires-roster", is_flag=True)
@click.option("--contact", default="")
@click.option("--open", "open_now", is_flag=True, help="Open registration at once.")
def create(config_path: Path, dialogue_id: str, title: str, time_text: str, place: str, map_url: str | None,
           quotas: tuple[str, ...], deadline_days: int, reminders: str, requires_roster: bool, contact: str,
           open_now: bool) -> None:
    """Create a dialogue (as a draft unless --open)."""
    settings = load_or_exit(config_path)
    seats: dict[str, int] = {}
    for item in quotas:
        hamlet, _, number = item.partition("=")
        if not number.strip().lstrip("-").isdigit():
            raise click.BadParameter(f"{item!r}: write HAMLET=N", param_hint="--quota")
        seats[hamlet.strip()] = int(number)
    try:
        minutes = [parse_offset(r) for r in reminders.split(",") if r.strip()]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reminders") from None
    spec = DialogueSpec(id=dialogue_id, title=title, starts_at=parse_time_or_exit(settings, time_text), place=place,
                        quotas=seats, map_url=map_url, status="open" if open_now else "draft",
                        deadline_days=deadline_days, reminder_minutes=minutes, requires_roster=requires_roster,
                        contact=contact)
    _write(settings, lambda conn: dialogues.create(conn, settings, spec, system_clock()), spec.id, "create")
    click.echo(t("cli.dialogue_saved", settings.bot.language, id=dialogue_id))


@dialogue.command("set-time")
@CONFIG_OPTION
@click.argument("dialogue_id")
@click.argument("when", nargs=-1, required=True)
def set_time(config_path: Path, dialogue_id: str, when: tuple[str, ...]) -> None:
    """Set the time ("15:30 20/6/2027") or "sau" (to be announced); registered households are told."""
    settings = load_or_exit(config_path)
    starts_at = parse_time_or_exit(settings, " ".join(when))
    _write(settings, lambda conn: dialogues.set_time(conn, settings, dialogue_id, starts_at, system_clock()),
           dialogue_id, "time")
    click.echo(t("cli.dialogue_saved", settings.bot.language, id=dialogue_id))


@dialogue.command("set-place")
@CONFIG_OPTION
@click.argument("dialogue_id")
@click.argument("place")
@click.option("--map-url", default=None)
def set_place(config_path: Path, dialogue_id: str, place: str, map_url: str | None) -> None:
    """Set the place (and a map link); registered households are told."""
    settings = load_or_exit(config_path)
    _write(settings, lambda conn: dialogues.set_place(conn, settings, dialogue_id, place, map_url, system_clock()),
           dialogue_id, "place")
    click.echo(t("cli.dialogue_saved", settings.bot.language, id=dialogue_id))


@dialogue.command("set-quota")
@CONFIG_OPTION
@click.argument("dialogue_id")
@click.argument("hamlet")
@click.argument("quota", type=int)
def set_quota(config_path: Path, dialogue_id: str, hamlet: str, quota: int) -> None:
    """Set a hamlet's number of seats (households on its waitlist move up if seats free)."""
    settings = load_or_exit(config_path)
    _write(settings, lambda conn: dialogues.set_quota(conn, settings, dialogue_id, hamlet, quota, system_clock()),
           dialogue_id, "quota")
    click.echo(t("cli.dialogue_saved", settings.bot.language, id=dialogue_id))


def _status_command(name: str, status: str, help_text: str) -> None:
    @dialogue.command(name, help=help_text)
    @CONFIG_OPTION
    @click.argument("dialogue_id")
    def command(config_path: Path, dialogue_id: str) -> None:
        settings = load_or_exit(config_path)
        _write(settings, lambda conn: dialogues.set_status(conn, settings, dialogue_id, status, system_clock()),
               dialogue_id, status)
        click.echo(t("cli.dialogue_saved", settings.bot.language, id=dialogue_id))


_status_command("open", "open", "Open registration.")
_status_command("close", "closed", "Close registration.")
_status_command("cancel", "cancelled", "Cancel the dialogue (households are told).")
_status_command("held", "held", "Mark the dialogue as held.")

"""``doithoai staff ...``: give or take the organizer/officer role (administrators are listed in the config)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import click

from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.core.clock import iso, system_clock
from bot.core.errors import Refusal
from bot.core.i18n import t
from bot.staff import audit, roles
from bot.staff.invites import parse_request
from storage import database_at
from storage import staff as staff_repo

CHANNELS = click.Choice(["telegram", "zalo", "console"])
USER_IDS = {  # what a user id looks like on each channel: a typo is refused, not granted a role
    "telegram": re.compile(r"^[1-9]\d{0,14}$"),
    "zalo": re.compile(r"^[A-Za-z0-9_-]{1,64}$"),
    "console": re.compile(r"^\S{1,64}$"),
}


def checked_id(channel: str, external_id: str, lang: str) -> str:
    """The id without spaces, or exit 2 saying what an id on that channel looks like."""
    external_id = external_id.strip()
    if not USER_IDS[channel].match(external_id):
        click.echo(t(f"cli.staff_bad_id_{channel}", lang, id=external_id), err=True)
        sys.exit(2)
    return external_id


@click.group()
def staff() -> None:
    """Organizers and officers who may use the staff commands."""


@staff.command()
@CONFIG_OPTION
@click.option("--channel", type=CHANNELS, default="telegram", show_default=True)
@click.option("--id", "external_id", required=True, help="The person's user id on that channel.")
@click.option("--role", type=click.Choice(["organizer", "officer"]), required=True)
@click.option("--name", "full_name", default=None)
@click.option("--scope", "scope_text", default="",
              help='What an officer sees, as in /invite: "linh-vuc=giam-ngheo ap=tan-hau,tan-dan" (default: all).')
def grant(config_path: Path, channel: str, external_id: str, role: str, full_name: str | None,
          scope_text: str) -> None:
    """Give a person the organizer or officer role (an officer may be limited to fields, topics and hamlets)."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    external_id = checked_id(channel, external_id, lang)
    try:
        scope = parse_request(settings, f"{role} {scope_text}").scope
    except Refusal as exc:
        click.echo(exc.text(lang), err=True)
        sys.exit(2)

    async def go() -> None:
        async with database_at(settings.database.target, files=settings.database.files) as db, db.transaction() as conn:
            await roles.grant(conn, channel, external_id, role, full_name, iso(system_clock()), scope)
            await audit.record(conn, audit.cli_actor(), "grant", f"{channel}:{external_id}", role=role,
                               scope=scope.to_json())

    asyncio.run(go())
    click.echo(t("cli.staff_granted", lang, id=external_id, role=t(f"cli.role_{role}", lang), channel=channel,
                 scope=roles.describe_scope(scope, settings, lang)))


@staff.command()
@CONFIG_OPTION
@click.option("--channel", type=CHANNELS, default="telegram", show_default=True)
@click.option("--id", "external_id", required=True)
def revoke(config_path: Path, channel: str, external_id: str) -> None:
    """Take the role away."""
    settings = load_or_exit(config_path)
    external_id = checked_id(channel, external_id, settings.bot.language)

    async def go() -> bool:
        async with database_at(settings.database.target, files=settings.database.files) as db, db.transaction() as conn:
            revoked = await roles.revoke(conn, channel, external_id)
            if revoked:
                await audit.record(conn, audit.cli_actor(), "revoke", f"{channel}:{external_id}")
            return revoked

    key = "cli.staff_revoked" if asyncio.run(go()) else "cli.staff_unknown"
    click.echo(t(key, settings.bot.language, id=external_id, channel=channel))


@staff.command("list")
@CONFIG_OPTION
def list_(config_path: Path) -> None:
    """Everyone with a role."""
    settings = load_or_exit(config_path)

    async def go() -> list[tuple[str, str, str, str | None]]:
        async with database_at(settings.database.target, files=settings.database.files) as db, db.reading() as conn:
            return await staff_repo.list_by_role(conn)

    lang = settings.bot.language
    for admin in settings.bot.admins:
        click.echo(f"telegram:{admin}\t{t('cli.role_admin', lang)}\t{t('cli.role_in_config', lang)}")
    for channel, external_id, role, name in asyncio.run(go()):
        click.echo(f"{channel}:{external_id}\t{t(f'cli.role_{role}', lang)}\t{name or ''}")

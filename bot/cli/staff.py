"""``doithoai staff ...``: give or take the organizer/officer role (administrators are listed in the config)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.core.clock import iso, system_clock
from bot.core.i18n import t
from bot.staff import roles
from storage import Database
from storage import staff as staff_repo

CHANNELS = click.Choice(["telegram", "zalo", "console"])


@click.group()
def staff() -> None:
    """Organizers and officers who may use the staff commands."""


@staff.command()
@CONFIG_OPTION
@click.option("--channel", type=CHANNELS, default="telegram", show_default=True)
@click.option("--id", "external_id", required=True, help="The person's user id on that channel.")
@click.option("--role", type=click.Choice(["organizer", "officer"]), required=True)
@click.option("--name", "full_name", default=None)
def grant(config_path: Path, channel: str, external_id: str, role: str, full_name: str | None) -> None:
    """Give a person the organizer or officer role."""
    settings = load_or_exit(config_path)

    async def go() -> None:
        async with Database(settings.database.path) as db, db.transaction() as conn:
            await roles.grant(conn, channel, external_id.strip(), role, full_name, iso(system_clock()))

    asyncio.run(go())
    click.echo(t("cli.staff_granted", settings.bot.language, id=external_id, role=role, channel=channel))


@staff.command()
@CONFIG_OPTION
@click.option("--channel", type=CHANNELS, default="telegram", show_default=True)
@click.option("--id", "external_id", required=True)
def revoke(config_path: Path, channel: str, external_id: str) -> None:
    """Take the role away."""
    settings = load_or_exit(config_path)

    async def go() -> bool:
        async with Database(settings.database.path) as db, db.transaction() as conn:
            return await roles.revoke(conn, channel, external_id.strip())

    key = "cli.staff_revoked" if asyncio.run(go()) else "cli.staff_unknown"
    click.echo(t(key, settings.bot.language, id=external_id, channel=channel))


@staff.command("list")
@CONFIG_OPTION
def list_(config_path: Path) -> None:
    """Everyone with a role."""
    settings = load_or_exit(config_path)

    async def go() -> list[tuple[str, str, str, str | None]]:
        async with Database(settings.database.path) as db, db.reading() as conn:
            return await staff_repo.list_by_role(conn)

    for admin in settings.bot.admins:
        click.echo(f"telegram:{admin}\tadmin\t(config)")
    for channel, external_id, role, name in asyncio.run(go()):
        click.echo(f"{channel}:{external_id}\t{role}\t{name or ''}")

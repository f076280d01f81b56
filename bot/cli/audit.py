"""``doithoai audit``: the last entries of the audit log, one readable line each, in local time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.core.i18n import t
from bot.staff.audit import format_entry
from storage import database_at
from storage.audit import AuditEntry, last_entries


@click.command()
@CONFIG_OPTION
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="How many of the newest entries to show.")
def audit(config_path: Path, limit: int) -> None:
    """Who did what: commands, answers, status changes, views, invites, roles, check-ins, exports, data care."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language

    async def read() -> list[AuditEntry]:
        async with database_at(settings.database.target, files=settings.database.files) as db, db.reading() as conn:
            return await last_entries(conn, limit)

    entries = asyncio.run(read())
    if not entries:
        click.echo(t("roles.audit_empty", lang))
    for entry in entries:
        click.echo(format_entry(entry, settings, lang))

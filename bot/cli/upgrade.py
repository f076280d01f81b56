"""Upgrades: ``doithoai migrate [--check]``, and the backup taken before migrations run at start.

A new version may bring migrations. ``doithoai run`` (and ``migrate``) first copy the database into the backup
folder when any is pending, then apply them all in one transaction: one that fails leaves the database as it was,
and the bot stops with exit status 2 and a line saying which migration failed and where the copy is (systemd's
``RestartPreventExitStatus=2`` keeps it stopped instead of restarting it in a loop).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from bot.cli.common import CONFIG_OPTION, database_unusable, load_or_exit
from bot.cli.datacare import backing_up
from bot.core.clock import system_clock
from bot.core.config import Settings
from bot.core.i18n import t
from storage import DatabaseUnusable, database_at, pending_migrations

log = logging.getLogger(__name__)


def to_protect(settings: Settings) -> list[str]:
    """The pending migrations of an existing, non-empty SQLite database (empty: nothing to copy first). PostgreSQL
    changes its schema in one transaction too; ``doithoai run`` takes no copy of it (several workers start at once),
    ``doithoai migrate`` dumps it first."""
    if settings.database.is_postgres:
        return []
    path = Path(settings.database.path)
    if not path.exists() or path.stat().st_size == 0:
        return []
    return pending_migrations(path)


async def backup_before_upgrade(settings: Settings, pending: list[str]) -> Path | None:
    """A copy of the database before ``pending`` migrations run (None when there are none)."""
    from bot.datacare.backups import before_upgrade

    if not pending:
        return None
    copy = await before_upgrade(settings.database.target, settings.backup.folder, pending[0], system_clock(),
                                settings.tz)
    log.info("%d migration(s) to apply; the database was copied to %s first", len(pending), copy)
    return copy


@click.command()
@CONFIG_OPTION
@click.option("--check", is_flag=True, help="Only say which migrations would run; change nothing.")
def migrate(config_path: Path, check: bool) -> None:
    """Bring the database to this version's schema (a copy is kept in the backup folder first)."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    try:
        pending = pending_migrations(settings.database.target)
    except DatabaseUnusable as exc:  # PostgreSQL down, or a wrong address or password: one clear line
        database_unusable(exc)
    if check or not pending:
        if pending:
            click.echo(t("cli.migrate_pending", lang, count=len(pending), names=", ".join(pending)))
            sys.exit(1)
        click.echo(t("cli.migrate_none", lang, path=settings.database.path))
        return

    protect = pending if settings.database.is_postgres else to_protect(settings)  # pg_dump's copy, here only

    async def go() -> Path | None:
        copy = await backup_before_upgrade(settings, protect)
        async with database_at(settings.database.target, files=settings.database.files):
            pass
        return copy

    try:
        copy = backing_up(settings, go)  # no pg_dump, or a failing one: said plainly, and nothing is migrated
    except DatabaseUnusable as exc:
        database_unusable(exc)
    click.echo(t("cli.migrate_done", lang, count=len(pending), copy=copy or "—"))

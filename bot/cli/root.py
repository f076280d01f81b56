"""The ``doithoai`` command: the composition root, the only place that wires handlers, bot and storage together."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.core.config import Settings
from bot.core.i18n import t
from storage import database_at

if TYPE_CHECKING:
    from handlers.base import Channel


log = logging.getLogger(__name__)
BUTTON_CHANNELS = ("telegram", "zalo_oa")   # choices as buttons (elsewhere a numbered list)
CONTACT_CHANNELS = ("telegram", "zalo_oa")  # the phone step offers "share my number" in one tap


@click.group()
@click.version_option(package_name="doithoai")
def main() -> None:
    """doithoai — đối thoại chính sách giảm nghèo, lao động, việc làm."""


@main.command()
@CONFIG_OPTION
def check(config_path: Path) -> None:
    """Validate the config and print what it sets up."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    click.echo(t("cli.config_ok", lang, path=config_path, hamlets=len(settings.hamlets()),
                 topics=sum(len(f.topics) for f in settings.fields), db=settings.database.path))
    missing = settings.zalo_oa.missing()
    if missing:
        click.echo(t("zalo_oa.check_missing", lang, missing=", ".join(missing)), err=True)
        sys.exit(2)
    if settings.zalo_oa.configured:
        click.echo(t("zalo_oa.check_ok", lang, oa_id=settings.zalo_oa.oa_id, templates=len(settings.zalo_oa.zns),
                     path=settings.zalo_oa.webhook_path))


@main.command()
@CONFIG_OPTION
@click.option("--user", "user_id", default="local", show_default=True, help="Who you are in this terminal chat.")
def console(config_path: Path, user_id: str) -> None:
    """Chat with the bot in the terminal as a household (one message per line; piped input works)."""
    from bot.cli.runtime import seed_dialogues
    from bot.cli.wiring import build_engine
    from handlers.console import chat, stdin_lines

    settings = load_or_exit(config_path)
    interactive = sys.stdin.isatty()

    async def session() -> None:
        async with database_at(settings.database.target, files=settings.database.files) as db:
            await seed_dialogues(db, settings)
            engine = build_engine(settings, db, button_channels=(), contact_channels=())
            if interactive:
                click.echo(t("cli.console_intro", settings.bot.language))
            await chat(engine, stdin_lines(), user_id=user_id, greet=interactive, prompt="> " if interactive else "")

    asyncio.run(session())


@main.command()
@CONFIG_OPTION
def run(config_path: Path) -> None:
    """Start the configured channels (Telegram, Zalo), the outbox sender and the reminders."""
    from bot.cli.upgrade import to_protect
    from bot.core.logs import setup_logging

    settings = load_or_exit(config_path)
    setup_logging(settings)
    if not settings.telegram.resolved_token() and not settings.zalo.configured and not settings.zalo_oa.configured:
        click.echo(t("cli.no_channel", settings.bot.language), err=True)
        sys.exit(2)
    asyncio.run(serve(settings, to_protect(settings)))


async def serve(settings: Settings, pending: list[str] | None = None) -> None:
    """Run every configured channel in this one process until SIGINT or SIGTERM; a SIGKILL loses nothing either
    (every change is committed as it happens).

    The order: open the database, prepare each channel (Telegram learns its username), build the engine from what
    they learned, start the channels with it, then the sender and the schedules. Stops in reverse."""
    import signal
    from contextlib import AsyncExitStack

    from bot.cli.runtime import Services
    from bot.cli.settle import settle
    from bot.cli.upgrade import backup_before_upgrade
    from handlers.base import ChannelUnavailable, engine_options

    await backup_before_upgrade(settings, pending or [])
    db = database_at(settings.database.target, files=settings.database.files)
    services = Services(settings, db, button_channels=BUTTON_CHANNELS)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(services.db.close)
        await services.open()
        channels, facts = [], []
        for channel in _configured_channels(settings):
            stack.push_async_callback(channel.stop)
            try:
                facts.append((channel.name, await channel.prepare()))
            except ChannelUnavailable:
                log.error("%s could not be reached at start: the other channels serve without it", channel.name)
                continue
            channels.append(channel)
        if not channels:
            click.echo(t("cli.no_channel_reached", settings.bot.language), err=True)
            sys.exit(1)
        engine = services.build_engine(**engine_options(facts), contact_channels=CONTACT_CHANNELS)
        stack.push_async_callback(services.stop)
        webhooks = [route for c in channels for route in c.webhook_routes()]
        states = lambda: {c.name: _state(c) for c in channels}  # noqa: E731
        if webhooks:  # served before the channels register them at their platforms
            await services.start_web(webhooks, states)
        for channel in channels:
            await channel.start(engine)
            routes = ", ".join(route.url_path for route in channel.webhook_routes())
            log.info("channel %s started (%s)", channel.name, f"webhook {routes}" if routes else "polling")
        await services.start({c.name: c.transport for c in channels}, {c.name: c.limits for c in channels})
        if not webhooks:  # households first: the desk's web stack loads once the channels serve
            await services.start_web([], states)
        settling = asyncio.create_task(settle(), name="settle")  # beside the households: a stop need not wait
        stack.callback(settling.cancel)
        await stop.wait()


def _state(channel: Channel) -> str:
    """A channel's state for /healthz: a channel that stopped on its own (Zalo's rejected token) says so."""
    stopped = getattr(channel, "stopped", None)
    return "stopped" if isinstance(stopped, asyncio.Event) and stopped.is_set() else "running"


def _configured_channels(settings: Settings) -> list[Channel]:
    """Telegram if its token is set, the Zalo Bot Platform and the Zalo OA if configured; built, not prepared."""
    channels: list[Channel] = []
    if settings.telegram.resolved_token():
        from handlers.telegram.channel import TelegramChannel

        channels.append(TelegramChannel(settings))
    if settings.zalo.configured:
        from handlers.zalo.channel import ZaloChannel

        channels.append(ZaloChannel(settings))
    if settings.zalo_oa.configured:
        from handlers.zalo_oa.channel import ZaloOAChannel

        channels.append(ZaloOAChannel(settings))
    return channels


def _register_groups() -> None:
    from bot.cli.audit import audit
    from bot.cli.broadcast import register as register_broadcast
    from bot.cli.datacare import COMMANDS as DATACARE
    from bot.cli.dialogues import dialogue
    from bot.cli.doctor import doctor
    from bot.cli.export import export
    from bot.cli.invitation import invitation
    from bot.cli.migrate_db import migrate_db
    from bot.cli.staff import staff
    from bot.cli.upgrade import migrate

    main.add_command(audit)
    main.add_command(dialogue)
    for command in DATACARE:
        main.add_command(command)
    main.add_command(staff)
    main.add_command(export)
    main.add_command(invitation)
    main.add_command(migrate)
    main.add_command(migrate_db)
    main.add_command(doctor)
    register_broadcast(main)


_register_groups()


@main.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dialogue", "dialogue_id", required=True, help="The dialogue id, e.g. tan-thuan-tay-2023.")
@CONFIG_OPTION
def import_roster_command(file: Path, dialogue_id: str, config_path: Path) -> None:
    """Import the roster of invited households (CSV or XLSX); bad rows are listed, the rest imported."""
    from bot.core.clock import system_clock
    from bot.dialogues.roster import ImportReport, RosterError, import_roster, progress_bar
    from bot.dialogues.service import DialogueError
    from bot.staff.audit import record_cli

    settings = load_or_exit(config_path)
    lang = settings.bot.language

    async def load() -> ImportReport:
        async with database_at(settings.database.target, files=settings.database.files) as db:
            with progress_bar(t("roster.progress", lang)) as progress:
                report = await import_roster(db, settings, dialogue_id, file, now=system_clock(), progress=progress,
                                             lang=lang)
            await record_cli(db, "import_roster", dialogue_id, imported=report.imported, bad=len(report.errors))
            return report

    try:
        report = asyncio.run(load())
    except (RosterError, DialogueError) as exc:
        click.echo(exc.text(lang), err=True)
        sys.exit(1)
    click.echo(report.summary(lang))
    for error in report.errors:
        click.echo(error.text(lang))
    sys.exit(0 if report.imported else 1)


if __name__ == "__main__":
    main()

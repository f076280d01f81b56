"""The ``doithoai`` command: the composition root, the only place that wires handlers, bot and storage together."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from bot.config import ConfigError, Settings, load_settings
from bot.i18n import t

CONFIG_OPTION = click.option(
    "--config", "config_path", envvar="DOITHOAI_CONFIG", required=True,
    type=click.Path(dir_okay=False, path_type=Path), help="The TOML config file (or env DOITHOAI_CONFIG).",
)


def load_or_exit(path: Path) -> Settings:
    """Load the config or stop with one message naming the key, exit status 2."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        click.echo(t("cli.config_error", "vi", key=exc.key, problem=exc.problem), err=True)
        click.echo(t("cli.config_error", "en", key=exc.key, problem=exc.problem), err=True)
        sys.exit(2)


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


@main.command()
@CONFIG_OPTION
@click.option("--user", "user_id", default="local", show_default=True, help="Who you are in this terminal chat.")
def console(config_path: Path, user_id: str) -> None:
    """Chat with the bot in the terminal as a household (one message per line; piped input works)."""
    from bot.engine import Engine
    from handlers.console import chat, stdin_lines
    from storage import Database

    settings = load_or_exit(config_path)
    interactive = sys.stdin.isatty()

    async def session() -> None:
        async with Database(settings.database.path) as db:
            engine = Engine(settings, db, button_channels=(), contact_channels=())
            if interactive:
                click.echo(t("cli.console_intro", settings.bot.language))
            await chat(engine, stdin_lines(), user_id=user_id, greet=interactive, prompt="> " if interactive else "")

    asyncio.run(session())


@main.command()
@CONFIG_OPTION
def run(config_path: Path) -> None:
    """Start the configured channels (Telegram)."""
    from bot.engine import Engine
    from bot.logs import setup_logging
    from storage import Database

    settings = load_or_exit(config_path)
    setup_logging(settings)
    if not settings.telegram.resolved_token():
        click.echo(t("cli.no_channel", settings.bot.language), err=True)
        sys.exit(2)
    from handlers.telegram import run_telegram

    run_telegram(settings, Engine(settings, Database(settings.database.path)))


def _register_groups() -> None:
    from bot.cli_dialogues import dialogue

    main.add_command(dialogue)


_register_groups()

if __name__ == "__main__":
    main()

"""What every CLI command shares: the --config option, loading the config or exiting with status 2, and asking
for a confirmation in the configured language."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from bot.core.config import ConfigError, Settings, load_settings
from bot.core.i18n import t
from storage import DatabaseUnusable

CONFIG_OPTION = click.option(
    "--config", "config_path", envvar="DOITHOAI_CONFIG", required=True,
    type=click.Path(dir_okay=False, path_type=Path), help="The TOML config file (or env DOITHOAI_CONFIG).",
)


YES = frozenset({"c", "co", "có", "y", "yes", "đồng ý", "dong y"})


def confirm(text: str, lang: str) -> None:
    """Ask yes/no in ``lang`` ("c" or "có" is yes in Vietnamese, "y" always); anything else, Ctrl+C or no input
    stops the command with exit 1 and says so in ``lang`` (click's own confirm speaks English only)."""
    try:
        answer = click.prompt(f"{text} {t('cli.yes_no', lang)}", default="", show_default=False, err=False)
    except click.Abort:
        answer = ""
    if answer.strip().casefold() not in YES:
        click.echo(t("cli.aborted", lang), err=True)
        sys.exit(1)


@dataclass(slots=True)
class Loaded:
    """The config this run loaded: errors the command did not foresee are still told in its language."""

    language: str = "vi"
    config: Path | None = None


LOADED = Loaded()


def load_or_exit(path: Path) -> Settings:
    """Load the config or stop with one message naming the key, exit status 2."""
    try:
        settings = load_settings(path)
        LOADED.language, LOADED.config = settings.bot.language, path
        return settings
    except ConfigError as exc:
        click.echo(exc.text(), err=True)  # once, in the language the config asks for
        sys.exit(2)


def database_unusable(exc: DatabaseUnusable) -> NoReturn:
    """One clear line for a database that cannot be used (with the restore command where a backup helps), exit 2."""
    config = LOADED.config or "config.toml"
    click.echo(t(f"cli.database_{exc.reason}", LOADED.language, path=exc.path, detail=exc.detail,
                 folder=Path(exc.path).parent, config=config), err=True)
    sys.exit(2)

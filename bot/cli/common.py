"""What every CLI command shares: the --config option, loading the config or exiting with status 2, and asking
for a confirmation in the configured language."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.core.config import ConfigError, Settings, load_settings
from bot.core.i18n import t

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


def load_or_exit(path: Path) -> Settings:
    """Load the config or stop with one message naming the key, exit status 2."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        click.echo(exc.text(), err=True)  # once, in the language the config asks for
        sys.exit(2)

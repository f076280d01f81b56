"""What every CLI command shares: the --config option and loading the config or exiting with status 2."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.core.config import ConfigError, Settings, load_settings

CONFIG_OPTION = click.option(
    "--config", "config_path", envvar="DOITHOAI_CONFIG", required=True,
    type=click.Path(dir_okay=False, path_type=Path), help="The TOML config file (or env DOITHOAI_CONFIG).",
)


def load_or_exit(path: Path) -> Settings:
    """Load the config or stop with one message naming the key, exit status 2."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        click.echo(exc.text(), err=True)  # once, in the language the config asks for
        sys.exit(2)

"""The ``doithoai`` command line and the composition root: the only place that wires handlers, bot and storage."""

from bot.cli.common import database_unusable
from bot.cli.root import main
from storage import DatabaseUnusable


def entry() -> None:
    """The ``doithoai`` program: every command, and a database that cannot be used told in one line (exit 2)."""
    try:
        main()
    except DatabaseUnusable as exc:
        database_unusable(exc)


__all__ = ["entry", "main"]

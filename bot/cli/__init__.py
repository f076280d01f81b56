"""The ``doithoai`` command line and the composition root: the only place that wires handlers, bot and storage."""

from bot.cli.root import main

__all__ = ["main"]

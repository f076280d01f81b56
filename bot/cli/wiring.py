"""Building the engine: the capabilities it serves and the channels' facts it needs, all given up front.

Tests, benchmarks and the CLI build an engine here; nothing sets attributes on it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.answers import capability as answers
from bot.broadcast import capability as broadcast
from bot.core.clock import Clock, system_clock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.events import Events
from bot.core.registry import Registry
from bot.core.turn import FileFetcher
from bot.dialogues import capability as dialogues
from bot.digest import capability as digest
from bot.form import capability as form
from bot.linking import capability as linking
from bot.reports import capability as reports
from bot.staff import capability as staff
from storage import Database

CAPABILITIES = (form, dialogues, staff, linking, answers, broadcast, digest, reports)  # the one list


def build_registry() -> Registry:
    """Every capability's steps, commands and hooks."""
    registry = Registry()
    for capability in CAPABILITIES:
        capability.register(registry)
    return registry


def build_engine(
    settings: Settings,
    db: Database,
    *,
    clock: Clock = system_clock,
    events: Events | None = None,
    button_channels: Iterable[str] = ("telegram",),
    contact_channels: Iterable[str] = ("telegram",),
    file_fetchers: Mapping[str, FileFetcher] | None = None,
    bot_username: str = "",
) -> Engine:
    """An engine serving every capability of the application."""
    return Engine(settings, db, build_registry(), clock=clock, events=events, button_channels=button_channels,
                  contact_channels=contact_channels, file_fetchers=file_fetchers, bot_username=bot_username)

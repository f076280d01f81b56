"""What every page of the desk is given: the running bot's services, never a copy of their logic."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.core.clock import Clock, system_clock
from bot.core.config import Settings
from bot.core.events import Events
from bot.core.turn import FileFetcher
from storage import Database


@dataclass(slots=True)
class Desk:
    settings: Settings
    db: Database
    events: Events
    clock: Clock = system_clock
    file_fetchers: Mapping[str, FileFetcher] = field(default_factory=dict)
    channel_states: Callable[[], Mapping[str, str]] = dict   # channel → "running" / "stopped" (for /healthz)
    bot_username: str = ""                                    # invitation links are t.me links when known
    heartbeat_name: str = "bot"                               # the running bot's heartbeat row

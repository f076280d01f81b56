"""Running the bot: the engine, the outbox sender and the reminder scheduler, started and stopped together.

Channels (handlers/) are started by the composition root around it and hand in their transports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from bot import dialogues
from bot.broadcast_jobs import BroadcastJobs
from bot.clock import Clock, iso, system_clock
from bot.config import Settings
from bot.digest import DigestScheduler
from bot.engine import Engine
from bot.events import Events
from bot.outbox import Transport
from bot.reminders import ReminderScheduler
from bot.sender import ChannelLimits, Sender
from storage import Database
from storage.conversations import forget_events_before

log = logging.getLogger(__name__)
EVENT_MEMORY = timedelta(days=7)


async def seed_dialogues(db: Database, settings: Settings, clock: Clock = system_clock) -> list[str]:
    """Create the dialogues planned in the config that the database does not have yet."""
    async with db.transaction() as conn:
        created = await dialogues.seed_from_config(conn, settings, clock())
    if created:
        log.info("dialogues created from the config: %s", ", ".join(created))
    return created


def channel_limits(settings: Settings) -> dict[str, ChannelLimits]:
    tg = settings.telegram
    return {"telegram": ChannelLimits(rate=tg.send_rate, per_chat_interval=tg.per_chat_interval,
                                      max_attempts=tg.max_attempts)}


class Services:
    """Everything but the channels: build, ``await start(transports)``, ``await stop()``."""

    def __init__(self, settings: Settings, db: Database, *, clock: Clock = system_clock,
                 button_channels: tuple[str, ...] = ("telegram",)) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.events = Events()
        self.engine = Engine(settings, db, clock=clock, events=self.events, button_channels=button_channels)
        self.reminders = ReminderScheduler(db, settings, self.events, clock=clock)
        self.digests = DigestScheduler(db, settings, self.events, clock=clock)
        self.broadcasts = BroadcastJobs(db, settings, self.events, clock=clock)
        self.sender: Sender | None = None

    async def open(self) -> None:
        await self.db.open()
        await seed_dialogues(self.db, self.settings, self.clock)

    async def start(self, transports: Mapping[str, Transport], limits: Mapping[str, ChannelLimits] | None = None,
                    ) -> None:
        await self.open()
        self.sender = Sender(self.db, transports, clock=self.clock, events=self.events,
                             limits=limits if limits is not None else channel_limits(self.settings))
        await self.sender.start()
        await self.reminders.start()
        await self.digests.start()
        await self.broadcasts.start()
        await self.prune_events()
        self.reminders.scheduler.add_job(self.prune_events, "interval", hours=6, id="prune-events",
                                         replace_existing=True)
        log.info("ready: channels %s", ", ".join(transports) or "none")

    async def prune_events(self) -> int:
        """Forget the ids of platform updates handled more than a week ago (redeliveries come within minutes)."""
        async with self.db.transaction() as conn:
            pruned = await forget_events_before(conn, iso(self.clock() - EVENT_MEMORY))
        if pruned:
            log.info("forgot %d handled update ids", pruned)
        return pruned

    async def stop(self) -> None:
        self.digests.shutdown()
        self.reminders.shutdown()
        await self.broadcasts.stop()
        if self.sender is not None:
            await self.sender.stop()

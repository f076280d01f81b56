"""Running the bot: the database, the engine, the outbox sender and the reminder scheduler, started and stopped
together. Channels (handlers/) are started by the composition root around it."""

from __future__ import annotations

import logging

from bot import dialogues
from bot.clock import Clock, system_clock
from bot.config import Settings
from storage import Database

log = logging.getLogger(__name__)


async def seed_dialogues(db: Database, settings: Settings, clock: Clock = system_clock) -> list[str]:
    """Create the dialogues planned in the config that the database does not have yet."""
    async with db.transaction() as conn:
        created = await dialogues.seed_from_config(conn, settings, clock())
    if created:
        log.info("dialogues created from the config: %s", ", ".join(created))
    return created

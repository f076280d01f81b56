"""The running bot's side of broadcasts: release the scheduled ones when due, follow the ones being sent.

The database decides what is due, as for reminders: ``tick`` releases every scheduled broadcast whose time has come
(its status moves in the transaction that queues its messages, so a restart never queues it twice) and tells each
sending broadcast's organizer the progress, then the tally. The loop only wakes ``tick``: every few seconds while a
broadcast is being sent, at the next scheduled time otherwise, at once when a broadcast changes in this process,
and at least every ``idle_recheck`` seconds (a broadcast queued by the CLI in another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from bot.broadcast import service as broadcast
from bot.broadcast.service import BROADCAST_CHANGED
from bot.core.clock import Clock, system_clock
from bot.core.config import Settings
from bot.core.events import OUTBOX_QUEUED, Events
from storage import Database
from storage import broadcasts as repo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tick:
    released: int = 0   # scheduled broadcasts queued now
    queued: int = 0     # their messages queued
    finished: int = 0   # broadcasts that are done now
    sending: int = 0    # broadcasts still being sent


class BroadcastJobs:
    def __init__(self, db: Database, settings: Settings, events: Events, clock: Clock = system_clock, *,
                 follow_every: float = 3.0, idle_recheck: float = 30.0) -> None:
        self.db = db
        self.settings = settings
        self.events = events
        self.clock = clock
        self.follow_every = follow_every
        self.idle_recheck = idle_recheck
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        events.subscribe(BROADCAST_CHANGED, self.wake)

    def wake(self, *_: object) -> None:
        self._wakeup.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="broadcasts")

    async def stop(self) -> None:
        """Stop waking up; a tick under way is cancelled (its transaction is all or nothing)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> Tick:
        """Release what is due and follow what is being sent, in one transaction."""
        now = self.clock()
        released = queued = finished = 0
        async with self.db.transaction() as conn:
            before = conn.total_changes
            for row in await repo.with_status(conn, "scheduled"):
                if row.scheduled_at is not None and row.scheduled_at <= now:
                    queued += await broadcast.release(conn, self.settings, row, now)
                    released += 1
            sending = await repo.with_status(conn, "sending")
            for row in sending:
                finished += await broadcast.follow(conn, self.settings, row, now)
            changed = conn.total_changes != before  # a broadcast queued, a notice, a status moved
        if released or finished:
            log.info("broadcasts: %d released (%d messages queued), %d finished", released, queued, finished)
        if changed:
            await self.events.emit(OUTBOX_QUEUED)
        return Tick(released, queued, finished, len(sending) - finished)

    async def _loop(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                delay = await self._next_delay(await self.tick())
            except Exception:
                log.exception("following broadcasts failed; trying again in %.0f s", self.idle_recheck)
                delay = self.idle_recheck
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)

    async def _next_delay(self, tick: Tick) -> float:
        if tick.sending:
            return self.follow_every
        async with self.db.reading() as conn:
            due = await repo.next_scheduled(conn)
        until_due = (due - self.clock()).total_seconds() if due else self.idle_recheck
        return max(0.05, min(self.idle_recheck, until_due))


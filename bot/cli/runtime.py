"""Running the bot: the database, the engine, the outbox sender and the schedules, started and stopped together.

The order (``bot.cli.root.serve``): open the database, prepare the channels (handlers/), build the engine from
what they learned, start the channels with it, then the sender with their transports. The database is opened
here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.broadcast.jobs import BroadcastJobs
from bot.cli.heartbeat import BEAT_EVERY, NAME, STALE_AFTER
from bot.cli.wiring import build_engine
from bot.core.clock import Clock, iso, system_clock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.events import Events
from bot.dialogues import service as dialogues
from bot.dialogues.reminders import ReminderScheduler
from bot.digest.service import DigestScheduler
from bot.outbox.enqueue import Transport
from bot.outbox.sender import ChannelLimits, Sender
from bot.reports.cleanup import remove_sent_exports
from bot.reports.delivery import send_deadline_reports
from bot.reports.report_files import exports_dir
from storage import Database, heartbeat, web_sessions
from storage.conversations import events_handled_before, forget_events

if TYPE_CHECKING:
    from handlers.base import WebhookRoute
    from handlers.web.server import WebServer

log = logging.getLogger(__name__)
LEAD_CHECK = timedelta(seconds=float(os.environ.get("DOITHOAI_LEAD_CHECK_SECONDS", "10")))  # takeover time
EVENT_MEMORY = timedelta(days=7)
PRUNE_BATCH = 500  # handled-update ids forgotten per transaction


async def seed_dialogues(db: Database, settings: Settings, clock: Clock = system_clock) -> list[str]:
    """Create the dialogues planned in the config that the database does not have yet."""
    async with db.transaction() as conn:
        created = await dialogues.seed_from_config(conn, settings, clock())
    if created:
        log.info("dialogues created from the config: %s", ", ".join(created))
    return created


class Services:
    """Everything but the channels: ``await open()``, ``build_engine(**channel facts)``, ``await start(transports)``,
    ``await stop()``; closing the database is the caller's (after the channels stopped)."""

    def __init__(self, settings: Settings, db: Database, *, clock: Clock = system_clock,
                 button_channels: tuple[str, ...] = ("telegram",)) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.button_channels = button_channels
        self.events = Events()
        self.engine: Engine | None = None
        self.scheduler = AsyncIOScheduler(timezone=settings.tz)  # one for the process: it only wakes the bot up
        self.reminders = ReminderScheduler(db, settings, self.events, clock=clock, scheduler=self.scheduler)
        self.digests = DigestScheduler(db, settings, self.events, clock=clock, scheduler=self.scheduler)
        self.broadcasts = BroadcastJobs(db, settings, self.events, clock=clock)
        self.sender: Sender | None = None
        self.web: WebServer | None = None
        self.leadership = db.leadership()
        self.leading = False
        self._watch: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.db.open()
        await seed_dialogues(self.db, self.settings, self.clock)

    def build_engine(self, **channel_options: Any) -> Engine:
        """The engine, complete: built once the channels told what it needs (``file_fetchers``, ``bot_username``)."""
        self.engine = build_engine(self.settings, self.db, clock=self.clock, events=self.events,
                                   button_channels=self.button_channels, **channel_options)
        return self.engine

    async def start_web(self, webhooks: Sequence[WebhookRoute], channel_states: Callable[[], Mapping[str, str]]
                        ) -> WebServer | None:
        """The one HTTP server (``[web]``): the desk, the channels' webhooks, /healthz; before the channels start,
        so a webhook is served the moment it is registered. None when the desk is off and no channel needs it."""
        if not self.settings.web.enabled and not webhooks:
            return None
        from handlers.web.app import build_app
        from handlers.web.desk import Desk
        from handlers.web.server import WebServer

        engine = self.engine
        desk = Desk(self.settings, self.db, self.events, self.clock,
                    file_fetchers=engine.file_fetchers if engine is not None else {}, channel_states=channel_states,
                    bot_username=engine.bot_username if engine is not None else "", heartbeat_name=NAME)
        web = self.settings.web
        self.web = WebServer(build_app(desk, webhooks), web.listen, web.resolved_port())
        await self.web.start()
        return self.web

    async def start(self, transports: Mapping[str, Transport], limits: Mapping[str, ChannelLimits]) -> None:
        """The outbox sender on the started channels' transports (paced by their limits), then the schedules."""
        self.sender = Sender(self.db, transports, clock=self.clock, events=self.events, limits=limits)
        await self.sender.start()
        await self.beat()
        self.scheduler.add_job(self.beat, "interval", seconds=BEAT_EVERY.total_seconds(), id="heartbeat",
                               replace_existing=True)
        if not self.scheduler.running:
            self.scheduler.start()
        if await self.leadership.try_lead():
            await self._lead()
        if self.db.worker is not None:  # several workers may share this database: one leads, the others wait
            self._watch = asyncio.create_task(self._keep_watch(), name="leadership")
        log.info("ready: channels %s", ", ".join(transports) or "none")

    async def _lead(self) -> None:
        """This worker runs the schedules: reminders, digests, broadcasts, deadline reports, housekeeping (one
        worker among several on PostgreSQL; always the only one on SQLite)."""
        self.leading = True
        if self.db.worker is not None:
            log.info("this worker (%s) leads: it runs the schedules", self.db.worker)
        await self.reminders.start()
        await self.digests.start()
        await self.broadcasts.start()
        await self.housekeeping()
        await self.deadline_reports()
        jobs = self.scheduler
        jobs.add_job(self.housekeeping, "interval", hours=1, id="housekeeping", replace_existing=True)
        jobs.add_job(self.deadline_reports, "interval", minutes=5, id="deadline-reports", replace_existing=True)
        if self.db.worker is not None and self.sender is not None:  # a killed worker's rows in flight: reported
            jobs.add_job(self.sender.recover, "interval", minutes=1, id="recover-in-flight", replace_existing=True)

    async def _follow(self) -> None:
        """The lead was lost (the database connection that held it broke): stop the schedules; the watch takes
        the lead again when it can."""
        self.leading = False
        log.warning("this worker (%s) lost the lead: its schedules stop until it leads again", self.db.worker)
        self.digests.shutdown()
        self.reminders.shutdown()
        await self.broadcasts.stop()
        for job_id in ("housekeeping", "deadline-reports", "recover-in-flight"):
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)

    async def _keep_watch(self) -> None:
        """Every few seconds: a leader checks it still leads; a follower tries to lead (the leader died)."""
        while True:
            await asyncio.sleep(LEAD_CHECK.total_seconds())
            try:
                if self.leading and not await self.leadership.holds():
                    await self._follow()
                if not self.leading and await self.leadership.try_lead():
                    await self._lead()
            except Exception:
                log.exception("the leadership watch failed; it looks again in %s", LEAD_CHECK)

    async def deadline_reports(self) -> int:
        """The committee report to organizers once a dialogue's submission deadline has passed (once each)."""
        try:
            return await send_deadline_reports(self.db, self.settings, self.clock(), self.events)
        except Exception:
            log.exception("sending the deadline reports failed; will try again in 5 minutes")
            return 0

    async def beat(self) -> None:
        """The heartbeat the command line reads to know a bot is running (and will send what it queues)."""
        try:
            async with self.db.transaction() as conn:
                await heartbeat.beat(conn, NAME, iso(self.clock()), os.getpid())
        except Exception:
            log.exception("writing the heartbeat failed")

    async def housekeeping(self) -> None:
        await self.prune_events()
        async with self.db.transaction() as conn:  # the desk's sign-in links and sessions past their time
            await web_sessions.forget_before(conn, iso(self.clock()))
        await remove_sent_exports(self.db, exports_dir(self.settings), self.clock())

    async def prune_events(self) -> int:
        """Forget the ids of platform updates handled more than a week ago (redeliveries come within minutes): found
        in a snapshot, then forgotten a few hundred per transaction, so that turns never wait long behind it."""
        old = await self.db.snapshot(partial(events_handled_before, before=iso(self.clock() - EVENT_MEMORY)))
        pruned = 0
        for start in range(0, len(old), PRUNE_BATCH):
            async with self.db.transaction() as conn:
                pruned += await forget_events(conn, old[start:start + PRUNE_BATCH])
        if pruned:
            log.info("forgot %d handled update ids", pruned)
        return pruned

    async def stop(self) -> None:
        try:
            async with self.db.transaction() as conn:
                await heartbeat.stop(conn, NAME, os.getpid())
        except Exception:
            log.warning("could not clear the heartbeat; it ages out in %s", STALE_AFTER)
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        self.digests.shutdown()
        self.reminders.shutdown()
        await self.leadership.close()  # another worker may lead from now on
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.broadcasts.stop()
        if self.sender is not None:
            await self.sender.stop()
        if self.web is not None:
            await self.web.stop()

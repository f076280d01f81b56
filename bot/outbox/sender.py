"""The one sender that drains the outbox, within each platform's limits (no platform imports here).

How it keeps its promises, per channel:

- **Rates and priority**: a pump takes a slot from an ``AsyncLimiter`` (a bucket of one: sends evenly spaced at
  ``rate`` per second, no bursts) and only then claims the single most urgent due row. A row is therefore picked
  at the moment it can go out, so a reminder queued in the middle of a 10,000-message broadcast is the very next
  one sent. At most ``max_in_flight`` platform calls run at once (a slow call never stalls the rest).
- **Per chat**: a chat with a message in flight, or written to less than ``per_chat_interval`` ago, is left out
  of the claim: its rows wait, other chats go ahead.
- **Flood control**: a retry-after answer (Telegram 429) pauses the whole channel, because the limit is per bot.
- **Never twice**: the claim marks the row 'sending' and the platform call follows at once. Rows found 'sending'
  at start were under way when the process died: they become 'uncertain' and are not resent. Stopping lets calls
  under way finish (up to ``stop_grace`` seconds); nothing else is held, so nothing else is lost.

Due times come from the injected clock; pacing uses the event loop's monotonic time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter

from bot.core.clock import Clock, iso, system_clock
from bot.core.events import OUTBOX_QUEUED, Events
from bot.core.types import Message
from bot.outbox.enqueue import Envelope, Route, SendResult, SendStatus, Transport
from bot.outbox.window import WindowPolicy, choose_route
from storage import Connection, outbox, people
from storage.db import Database
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)
IDLE_RECHECK = 30.0  # seconds: an idle pump looks at the table again at least this often
# Workers sharing one line space their sends a little wider than the rate: the moments they reserve are kept to
# within the time a claim and a request take, which varies from worker to worker (never above the platform's rate).
SHARED_MARGIN = 0.9
ERROR_PAUSE = 5.0    # seconds: after the database failed, before trying again


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    rate: float = 30.0              # messages per second for the whole bot on this channel
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    max_attempts: int = 5
    base_backoff: float = 2.0       # seconds before the 2nd attempt; doubles each time, ±25 % jitter
    max_backoff: float = 300.0
    window: WindowPolicy | None = None  # a channel with an interaction window (the Zalo OA): routes per message


class _Channel:
    def __init__(self, name: str, transport: Transport, limits: ChannelLimits) -> None:
        self.name = name
        self.transport = transport
        self.limits = limits
        self.limiter = AsyncLimiter(1, 1 / limits.rate)
        self.paused_until = 0.0                  # loop time until which flood control holds every send
        self.chat_ready: dict[str, float] = {}   # chat id → loop time of its next allowed send
        self.tasks: dict[asyncio.Task[None], OutboxRow] = {}
        self.proactive_reserved: set[int] = set()  # rows going out as proactive messages, not yet recorded
        self.wakeup = asyncio.Event()
        self.idle = False
        self.claiming = False                    # inside the claim transaction: not to be cancelled
        self.pump: asyncio.Task[None] | None = None


class Sender:
    def __init__(
        self, db: Database, transports: Mapping[str, Transport], *, clock: Clock = system_clock,
        limits: Mapping[str, ChannelLimits] | None = None, events: Events | None = None, max_in_flight: int = 16,
        stop_grace: float = 10.0, rng: random.Random | None = None,
    ) -> None:
        limits = limits or {}
        self._db = db
        self._clock = clock
        self._channels = {name: _Channel(name, t, limits.get(name, ChannelLimits())) for name, t in transports.items()}
        self._max_in_flight = max_in_flight
        self._stop_grace = stop_grace
        self._rng = rng or random.Random()
        self._idle = asyncio.Event()
        self._stopping = False
        self._running = False
        self._counts: Counter[str] = Counter()
        # Several workers share a PostgreSQL database: one rate for all of them, and what another worker queued is
        # looked for every second (it wakes only its own sender).
        self._shared_pace = db.worker is not None
        self._recheck = 1.0 if self._shared_pace else IDLE_RECHECK
        self._reported: dict[str, int] = {}
        if events is not None:
            events.subscribe(OUTBOX_QUEUED, self.wake)

    # ---- public ---------------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    async def start(self) -> None:
        """Recover what a crashed run left 'sending', then drain in the background until ``stop()``."""
        if self._running:
            return
        await self.recover()
        self._begin()
        for channel in self._channels.values():
            channel.pump = asyncio.create_task(self._pump(channel, until_idle=False), name=f"outbox-{channel.name}")

    async def stop(self) -> None:
        if not self._running:
            return
        self._stopping = True
        pumps = [ch.pump for ch in self._channels.values() if ch.pump is not None]
        for channel in self._channels.values():
            channel.wakeup.set()
            if channel.pump is not None and not channel.claiming:
                channel.pump.cancel()  # it holds no row outside the claim: safe to interrupt
        await asyncio.gather(*pumps, return_exceptions=True)
        await self._finish_in_flight()
        self._running = False
        self._idle.set()

    def wake(self, *_: object) -> None:
        """Something was queued (or became due): look at the table now. An OUTBOX_QUEUED listener."""
        self._idle.clear()
        for channel in self._channels.values():
            channel.idle = False
            channel.wakeup.set()

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109 - returns False instead of raising
        """True once the running sender has nothing in flight and nothing due; False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def drain_once(self) -> dict[str, int]:
        """Send everything due now (retries scheduled for later stay queued); counts by outcome.

        Does not recover rows left 'sending' (another process may be sending them): call ``recover()`` first
        when no other sender can be running.
        """
        if self._running:
            raise RuntimeError("the sender is running; use wait_idle()")
        self._begin()
        self._counts, self._reported = Counter(), {}
        try:
            await asyncio.gather(*(self._pump(ch, until_idle=True) for ch in self._channels.values()))
        finally:
            self._running = False
        return self.counts

    async def recover(self) -> int:
        """Rows a crashed run left 'sending' become 'uncertain' (reported, never resent); returns how many."""
        async with self._db.transaction() as conn:
            window = await outbox.in_flight_window(conn)
            count = await outbox.recover_in_flight(conn)
        if count and window:
            log.warning("%d outbox messages were being sent when the bot stopped (claimed %s .. %s): marked"
                        " 'uncertain' and not resent", count, window[0], window[1])
        return count

    def _log_batch(self) -> None:
        """One line per run of sends that emptied the queue: what happened since the last such line."""
        now = dict(self._counts)
        delta = {k: v - self._reported.get(k, 0) for k, v in now.items() if v - self._reported.get(k, 0)}
        self._reported = now
        if delta:
            log.info("outbox: queue empty; since the last report %s",
                     ", ".join(f"{count} {outcome}" for outcome, count in sorted(delta.items())))

    @property
    def counts(self) -> dict[str, int]:
        """Outcomes since start (or of the last drain_once): sent, retried, failed, blocked, skipped."""
        return {outcome: count for outcome, count in self._counts.items() if count}

    # ---- the pump: one per channel --------------------------------------------------------------------------------

    def _begin(self) -> None:
        self._running = True
        self._stopping = False
        self._idle.clear()
        for channel in self._channels.values():
            channel.idle = False

    async def _pump(self, channel: _Channel, *, until_idle: bool) -> None:
        while not self._stopping:
            channel.wakeup.clear()
            try:
                idle, delay = await self._step(channel)
            except Exception:
                if until_idle:
                    raise
                log.exception("outbox sender (%s): database error, trying again in %.0f s", channel.name,
                              ERROR_PAUSE)
                idle, delay = False, ERROR_PAUSE
            if idle is None:
                continue
            if idle and until_idle:
                return
            self._set_idle(channel, idle)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(channel.wakeup.wait(), delay)

    async def _step(self, channel: _Channel) -> tuple[bool | None, float | None]:
        """Send one row if one can go; else (idle, seconds to sleep unless woken). (None, _): go on at once."""
        if len(channel.tasks) >= self._max_in_flight:
            return False, None  # a finishing call wakes the pump
        await self._gate(channel)
        if await self._claim(channel):
            return None, None
        return await self._plan(channel)

    async def _gate(self, channel: _Channel) -> None:
        """Wait for a rate slot, and past any flood-control pause (then queue for a slot again: no burst). With
        several workers on one database, the slot is taken on the channel's shared line (one rate for all)."""
        while True:
            await channel.limiter.acquire()
            if self._shared_pace:
                async with self._db.transaction() as conn:
                    wait = await outbox.take_send_slot(conn, channel.name, 1 / (channel.limits.rate * SHARED_MARGIN))
                if wait > 0:
                    await asyncio.sleep(wait)
            pause = channel.paused_until - self._loop_time()
            if pause <= 0:
                return
            await asyncio.sleep(pause)

    async def _claim(self, channel: _Channel) -> int:
        """Claim the most urgent row that may go now and start sending it; returns rows handled."""
        busy = self._busy_chats(channel, self._loop_time())
        channel.claiming = True
        try:
            async with self._db.transaction() as conn:
                claim = await outbox.claim_due(conn, now=iso(self._clock()), limit=1, channel=channel.name,
                                               read=read_message, busy=busy, worker=self._db.worker)
            for row, message in claim.rows:
                self._spawn(channel, row, message)
        finally:
            channel.claiming = False
        self._counts["skipped"] += claim.skipped
        self._counts["failed"] += claim.broken
        return len(claim.rows) + claim.skipped + claim.broken

    async def _plan(self, channel: _Channel) -> tuple[bool, float]:
        """Nothing could be claimed: (idle, how long to sleep). Idle: nothing in flight, nothing due now."""
        async with self._db.reading() as conn:
            due = await outbox.next_due(conn, channel.name)
        until_due = None if due is None else (due - self._clock()).total_seconds()
        release = self._next_release(channel, self._loop_time())
        idle = not channel.tasks and (until_due is None or until_due > 0)
        waits = [self._recheck, *(w for w in (release, until_due) if w is not None and w > 0)]
        if until_due is not None and until_due <= 0 and release is None and not channel.tasks:
            waits.append(0.05)  # due, yet not claimable a moment ago (it became due in between): look again
        return idle, min(waits)

    def _set_idle(self, channel: _Channel, idle: bool) -> None:
        channel.idle = idle
        if idle and all(ch.idle for ch in self._channels.values()):
            if not self._idle.is_set():
                self._log_batch()
            self._idle.set()
        elif not idle:
            self._idle.clear()

    def _busy_chats(self, channel: _Channel, now: float) -> set[str]:
        busy = {row.chat_id for row in channel.tasks.values()}
        for chat_id, ready in list(channel.chat_ready.items()):
            if ready <= now:
                del channel.chat_ready[chat_id]
            else:
                busy.add(chat_id)
        return busy

    @staticmethod
    def _next_release(channel: _Channel, now: float) -> float | None:
        """Seconds until a paced chat may be written to again."""
        times = [t for t in channel.chat_ready.values() if t > now]
        return min(times) - now if times else None

    def _spawn(self, channel: _Channel, row: OutboxRow, message: Message) -> None:
        channel.chat_ready[row.chat_id] = self._loop_time() + channel.limits.per_chat_interval
        task = asyncio.create_task(self._deliver(channel, row, message), name=f"outbox-row-{row.id}")
        channel.tasks[task] = row
        task.add_done_callback(lambda done: self._done(channel, done))

    def _done(self, channel: _Channel, task: asyncio.Task[None]) -> None:
        row = channel.tasks.pop(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox row %d: recording the result failed (%s); it will be reported as uncertain",
                      row.id, type(task.exception()).__name__)
        channel.wakeup.set()

    # ---- one message ----------------------------------------------------------------------------------------------

    async def _deliver(self, channel: _Channel, row: OutboxRow, message: Message) -> None:
        try:
            result = await self._attempt(channel, row, message)
            now = self._clock()
            if result.status in (SendStatus.RETRY, SendStatus.WAIT) and result.retry_after is not None:
                self._pause(channel, row, result.retry_after)
            async with self._db.transaction() as conn:
                outcome = await self._apply(conn, channel, row, result, now)
        finally:
            channel.proactive_reserved.discard(row.id)  # now counted in the database, or not sent at all
        self._counts[outcome] += 1

    async def _attempt(self, channel: _Channel, row: OutboxRow, message: Message) -> SendResult:
        try:
            routed = getattr(channel.transport, "send_routed", None)
            if channel.limits.window is not None and routed is not None:
                envelope = await self._envelope(channel.limits.window, row)
                if envelope.route is Route.WAIT:
                    return SendResult(SendStatus.WAIT, error="outside the window", route=Route.WAIT)
                return await routed(row.chat_id, message, envelope)
            return await channel.transport.send(row.chat_id, message)
        except Exception as exc:  # a transport bug or an unmapped error: retry, never crash the sender
            name = type(exc).__name__
            log.warning("outbox row %d to %s chat %s: transport raised %s", row.id, row.channel, row.chat_id, name)
            return SendResult(SendStatus.RETRY, error=name)

    async def _envelope(self, policy: WindowPolicy, row: OutboxRow) -> Envelope:
        """The route of one row on a windowed channel, from the window, the household's phone and the quota."""
        now = self._clock()
        async with self._db.reading() as conn:
            window = await outbox.window(conn, row.channel, row.chat_id)
            person = await people.get_person(conn, row.person_id) if row.person_id is not None else None
            used = await outbox.count_route_since(conn, row.channel, Route.PROACTIVE, iso(policy.month_start(now)))
        phone = person.phone if person is not None and person.phone else ""
        reserved = self._channels[row.channel].proactive_reserved
        # proactive messages in flight count too: two sends at once must not both take the month's last one
        route = choose_route(policy, window, now, kind=row.kind, phone=phone, proactive_used=used + len(reserved))
        if route is Route.PROACTIVE:
            reserved.add(row.id)
        return Envelope(route, row.dedupe_key, row.kind, phone, _fields(row.fields))

    async def _apply(
        self, conn: Connection, channel: _Channel, row: OutboxRow, result: SendResult, now: datetime,
    ) -> str:
        status, error = result.status, result.error
        if status is SendStatus.SENT:
            await outbox.mark_sent(conn, row.id, iso(now), route=result.route or None,
                                   platform_msg_id=result.platform_id or None)
            if result.route == Route.CONSULTATION:
                await outbox.note_sent(conn, row.channel, row.chat_id, result.parts)
            return "sent"
        if status is SendStatus.WAIT:
            return await self._wait(conn, channel, row, result, now)
        if status is SendStatus.BLOCKED:
            await outbox.mark_blocked(conn, row.id, error or "blocked")
            await people.mark_blocked(conn, row.channel, row.chat_id, iso(now))
            return "blocked"
        if status is SendStatus.RETRY and row.attempts < channel.limits.max_attempts:
            delay = result.retry_after if result.retry_after is not None else self._backoff(channel, row.attempts)
            await outbox.mark_retry(conn, row.id, iso(_ceil_second(now + timedelta(seconds=delay))), error or "retry")
            return "retried"
        if status is SendStatus.BAD_CHAT:
            error = error or "chat not found"
        await outbox.mark_failed(conn, row.id, error or str(status))
        return "failed"

    @staticmethod
    async def _wait(conn: Connection, channel: _Channel, row: OutboxRow, result: SendResult, now: datetime) -> str:
        """The row cannot go now and no attempt is spent. A consultation the platform refused for the window spends
        the window: the row is routed again at once (ZNS, proactive). A row with no route waits for the household
        to write (or the recheck). A channel held as a whole (a dead token: ``retry_after``, no route) waits that
        long, its rows kept as they were."""
        policy = channel.limits.window or WindowPolicy()
        route: str | None = Route.WAIT
        if result.route == Route.CONSULTATION:
            await outbox.close_window(conn, row.channel, row.chat_id, policy.free_messages)
            again = now
        elif not result.route and result.retry_after is not None:
            route, again = None, now + timedelta(seconds=result.retry_after)
        else:
            again = now + timedelta(seconds=policy.recheck)
        await outbox.mark_waiting(conn, row.id, iso(_ceil_second(again)), result.error or "outside the window",
                                  route=route)
        return "waiting"

    def _pause(self, channel: _Channel, row: OutboxRow, seconds: float) -> None:
        until = self._loop_time() + seconds
        if until > channel.paused_until:
            log.warning("%s flood control: pausing every send for %.1f s (outbox row %d)", row.channel, seconds,
                        row.id)
            channel.paused_until = until

    def _backoff(self, channel: _Channel, attempts: int) -> float:
        limits = channel.limits
        delay = min(limits.max_backoff, limits.base_backoff * 2 ** (attempts - 1))
        return min(limits.max_backoff, delay * self._rng.uniform(0.75, 1.25))

    async def _finish_in_flight(self) -> None:
        tasks = [task for channel in self._channels.values() for task in channel.tasks]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self._stop_grace)
        for task in late:  # stuck in the platform call: left 'sending', reported as uncertain at the next start
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    def _loop_time() -> float:
        return asyncio.get_running_loop().time()


def read_message(payload: str) -> Message | None:
    """The message a row carries, or None when its payload cannot be read (the row is then marked failed)."""
    try:
        return Message.from_json(payload)
    except (ValueError, TypeError):
        return None


def _fields(raw: str | None) -> dict[str, str]:
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _ceil_second(moment: datetime) -> datetime:
    """Stored times have whole seconds; round a retry time up so it is never early."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment

"""The one sender that drains the outbox, within each platform's limits (no platform imports here).

How it keeps its promises:

- **Priority**: rows are claimed a few at a time (never more than ``max_in_flight`` wait in memory), most urgent
  first, so a reminder queued in the middle of a 10,000-message broadcast waits for at most the handful already
  claimed — well under a second at 30 messages/s.
- **Rates**: per channel, an ``AsyncLimiter`` with a bucket of one spaces sends evenly at ``rate`` per second (no
  bursts); a chat written to less than ``per_chat_interval`` ago, or with a message in flight, is left out of the
  claim, so it never holds up the others.
- **Flood control**: a retry-after answer (Telegram 429) pauses the whole channel, because the limit is per bot.
- **Never twice**: a row is marked 'sending' before it goes out; rows found in that state at start were being sent
  when the process died, and are marked 'uncertain' rather than resent. Stopping gives rows that had not yet
  reached the platform back to the queue.

Due times come from the injected clock; pacing uses the event loop's monotonic time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite
from aiolimiter import AsyncLimiter

from bot.clock import Clock, iso, system_clock
from bot.events import OUTBOX_QUEUED, Events
from bot.outbox import SendResult, SendStatus, Transport
from storage import outbox, people
from storage.db import Database
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)
IDLE_RECHECK = 30.0  # seconds: an idle sender looks at the table again at least this often


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    rate: float = 30.0              # messages per second for the whole bot on this channel
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    max_attempts: int = 5
    base_backoff: float = 2.0       # seconds before the 2nd attempt; doubles each time, ±25 % jitter
    max_backoff: float = 300.0


class _Channel:
    def __init__(self, transport: Transport, limits: ChannelLimits) -> None:
        self.transport = transport
        self.limits = limits
        self.limiter = AsyncLimiter(1, 1 / limits.rate)
        self.paused_until = 0.0                  # loop time until which flood control holds every send
        self.chat_ready: dict[str, float] = {}   # chat id → loop time of its next allowed send


class Sender:
    def __init__(
        self, db: Database, transports: Mapping[str, Transport], *, clock: Clock = system_clock,
        limits: Mapping[str, ChannelLimits] | None = None, events: Events | None = None, max_in_flight: int = 16,
        stop_grace: float = 10.0, rng: random.Random | None = None,
    ) -> None:
        limits = limits or {}
        self._db = db
        self._clock = clock
        self._channels = {name: _Channel(t, limits.get(name, ChannelLimits())) for name, t in transports.items()}
        self._max_in_flight = max_in_flight
        self._stop_grace = stop_grace
        self._rng = rng or random.Random()
        self._tasks: dict[asyncio.Task[None], OutboxRow] = {}
        self._started: set[int] = set()   # ids of rows handed to a transport (past the rate gates)
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._counts: Counter[str] = Counter()
        if events is not None:
            events.subscribe(OUTBOX_QUEUED, self.wake)

    # ---- public ---------------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._runner is not None and not self._runner.done()

    async def start(self) -> None:
        if self.running:
            return
        await self.recover()
        self._stopping = False
        self._idle.clear()
        self._runner = asyncio.create_task(self._pump(until_idle=False), name="outbox-sender")

    async def stop(self) -> None:
        """Stop claiming; rows still waiting for a rate slot go back to the queue, sends under way may finish."""
        if self._runner is None:
            return
        self._stopping = True
        self._wakeup.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._runner
        self._runner = None
        await self._finish_in_flight()
        self._idle.set()

    def wake(self) -> None:
        """Something was queued (or became due): look at the table now."""
        self._idle.clear()
        self._wakeup.set()

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
        if self.running:
            raise RuntimeError("the sender is running; use wait_idle()")
        self._counts = Counter()
        self._stopping = False
        await self._pump(until_idle=True)
        return dict(self._counts)

    async def recover(self) -> int:
        """Rows a crashed run left 'sending' become 'uncertain' (reported, never resent); returns how many."""
        async with self._db.transaction() as conn:
            window = await outbox.in_flight_window(conn)
            count = await outbox.recover_in_flight(conn)
        if count and window:
            log.warning("%d outbox messages were being sent when the bot stopped (claimed %s .. %s): marked"
                        " 'uncertain' and not resent", count, window[0], window[1])
        return count

    @property
    def counts(self) -> dict[str, int]:
        """Outcomes since start (or of the last drain_once): sent, retried, failed, blocked, skipped."""
        return dict(self._counts)

    # ---- the loop -------------------------------------------------------------------------------------------------

    async def _pump(self, *, until_idle: bool) -> None:
        while not self._stopping:
            self._wakeup.clear()
            if await self._fill():
                continue
            idle, delay = await self._plan()
            if idle:
                if until_idle:
                    return
                self._idle.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)

    async def _fill(self) -> int:
        """Claim as many due rows as there are free slots and start sending them; returns rows handled."""
        free = self._max_in_flight - len(self._tasks)
        now = self._loop_time()
        channels = [name for name, ch in self._channels.items() if ch.paused_until <= now]
        if free <= 0 or not channels:
            return 0
        async with self._db.transaction() as conn:
            claim = await outbox.claim_due(conn, now=self._clock(), limit=free, channels=channels,
                                           busy=self._busy_chats(now))
        self._counts["skipped"] += claim.skipped
        self._counts["failed"] += claim.broken
        for row in claim.rows:
            self._idle.clear()
            self._spawn(row)
        return len(claim.rows) + claim.skipped + claim.broken

    async def _plan(self) -> tuple[bool, float | None]:
        """(idle, how long to sleep unless woken). Idle: nothing in flight, nothing due now."""
        if len(self._tasks) >= self._max_in_flight:
            return False, None  # a finishing send wakes the loop
        async with self._db.reading() as conn:
            due = await outbox.next_due(conn, list(self._channels))
        until_due = None if due is None else (due - self._clock()).total_seconds()
        release = self._next_release(self._loop_time())
        idle = not self._tasks and (until_due is None or until_due > 0)
        waits = [IDLE_RECHECK, *(w for w in (release, until_due) if w is not None and w > 0)]
        if until_due is not None and until_due <= 0 and release is None and not self._tasks:
            waits.append(0.05)  # due but not claimable a moment ago (a row became due in between): look again
        return idle, min(waits)

    def _busy_chats(self, now: float) -> set[tuple[str, str]]:
        busy = {row.chat for row in self._tasks.values()}
        for name, channel in self._channels.items():
            for chat_id, ready in list(channel.chat_ready.items()):
                if ready <= now:
                    del channel.chat_ready[chat_id]
                else:
                    busy.add((name, chat_id))
        return busy

    def _next_release(self, now: float) -> float | None:
        """Seconds until the first paced chat or paused channel may be sent to again."""
        times = [t for ch in self._channels.values() for t in (ch.paused_until, *ch.chat_ready.values()) if t > now]
        return min(times) - now if times else None

    def _spawn(self, row: OutboxRow) -> None:
        task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
        self._tasks[task] = row
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        row = self._tasks.pop(task)
        self._started.discard(row.id)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox row %d: recording the result failed (%s); it will be reported as uncertain",
                      row.id, type(task.exception()).__name__)
        self._wakeup.set()

    # ---- one message ----------------------------------------------------------------------------------------------

    async def _deliver(self, row: OutboxRow) -> None:
        channel = self._channels[row.channel]
        await self._gate(channel)  # cancelled here by stop(): the row is given back (see _finish_in_flight)
        self._started.add(row.id)
        channel.chat_ready[row.chat_id] = self._loop_time() + channel.limits.per_chat_interval
        result = await self._attempt(channel, row)
        await self._record(channel, row, result)

    async def _gate(self, channel: _Channel) -> None:
        """Wait for a rate slot, and past any flood-control pause (then queue for a slot again: no burst)."""
        while True:
            await channel.limiter.acquire()
            pause = channel.paused_until - self._loop_time()
            if pause <= 0:
                return
            await asyncio.sleep(pause)

    async def _attempt(self, channel: _Channel, row: OutboxRow) -> SendResult:
        try:
            return await channel.transport.send(row.chat_id, row.message)
        except Exception as exc:  # a transport bug or an unmapped error: retry, never crash the sender
            name = type(exc).__name__
            log.warning("outbox row %d to %s chat %s: transport raised %s", row.id, row.channel, row.chat_id, name)
            return SendResult(SendStatus.RETRY, error=name)

    async def _record(self, channel: _Channel, row: OutboxRow, result: SendResult) -> None:
        now = self._clock()
        if result.status is SendStatus.RETRY and result.retry_after is not None:
            self._pause(channel, row, result.retry_after)
        async with self._db.transaction() as conn:
            outcome = await self._apply(conn, channel, row, result, now)
        self._counts[outcome] += 1

    async def _apply(
        self, conn: aiosqlite.Connection, channel: _Channel, row: OutboxRow, result: SendResult, now: datetime,
    ) -> str:
        status, error = result.status, result.error
        if status is SendStatus.SENT:
            await outbox.mark_sent(conn, row.id, now)
            return "sent"
        if status is SendStatus.BLOCKED:
            await outbox.mark_blocked(conn, row.id, error or "blocked")
            await people.mark_blocked(conn, row.channel, row.chat_id, iso(now))
            return "blocked"
        if status is SendStatus.RETRY and row.attempts < channel.limits.max_attempts:
            delay = result.retry_after if result.retry_after is not None else self._backoff(channel, row.attempts)
            await outbox.mark_retry(conn, row.id, _ceil_second(now + timedelta(seconds=delay)), error or "retry")
            return "retried"
        if status is SendStatus.BAD_CHAT:
            error = error or "chat not found"
        await outbox.mark_failed(conn, row.id, error or str(status))
        return "failed"

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
        waiting = {task: row.id for task, row in self._tasks.items() if row.id not in self._started}
        for task in waiting:
            task.cancel()
        pending = set(self._tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=self._stop_grace)
            for task in late:  # stuck in the platform call: left 'sending', reported as uncertain next start
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if waiting:
            async with self._db.transaction() as conn:
                await outbox.release(conn, list(waiting.values()))

    @staticmethod
    def _loop_time() -> float:
        return asyncio.get_running_loop().time()


def _ceil_second(moment: datetime) -> datetime:
    """Stored times have whole seconds; round a retry time up so it is never early."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment

"""The outbox sender against a real SQLite file and a recording fake of the platform."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import sys
import textwrap
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.clock import FrozenClock, iso
from bot.core.events import OUTBOX_QUEUED, Events
from bot.core.types import Message
from bot.outbox.enqueue import Priority, Recipient, SendResult, SendStatus, enqueue, recipient_for_person
from bot.outbox.sender import ChannelLimits, Sender
from storage import outbox
from storage.db import Database
from storage.people import create_person_with_identity
from tests.waiting import until

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2023, 6, 15, 2, 0, tzinfo=UTC)
FAST = ChannelLimits(rate=1000, per_chat_interval=0.0)
SENT = SendResult(SendStatus.SENT)


@dataclass(frozen=True, slots=True)
class Delivery:
    at: float       # event loop time of the call
    chat_id: str
    text: str


class RecordingTransport:
    """The platform, faked: records every call; ``script`` gives per-chat results (or exceptions) in order."""

    channel = "telegram"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[Delivery] = []
        self.script: dict[str, deque[SendResult | Exception]] = {}
        self.arrived: dict[str, asyncio.Event] = {}
        self.held: dict[str, asyncio.Event] = {}

    def answer(self, chat_id: str, *results: SendResult | Exception) -> None:
        self.script.setdefault(chat_id, deque()).extend(results)

    def hold(self, chat_id: str) -> asyncio.Event:
        """Sends to ``chat_id`` hang (a slow platform) until the returned event is set."""
        return self.held.setdefault(chat_id, asyncio.Event())

    async def send(self, chat_id: str, message: Message) -> SendResult:
        self.calls.append(Delivery(asyncio.get_running_loop().time(), chat_id, message.text))
        self.arrival(chat_id).set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if chat_id in self.held:
            await self.held[chat_id].wait()
        queued = self.script.get(chat_id)
        result = queued.popleft() if queued else SENT
        if isinstance(result, Exception):
            raise result
        return result

    def arrival(self, chat_id: str) -> asyncio.Event:
        return self.arrived.setdefault(chat_id, asyncio.Event())

    def chats(self) -> list[str]:
        return [call.chat_id for call in self.calls]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "outbox.sqlite3").open()
    yield database
    await database.close()


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


def make_sender(db: Database, transport: RecordingTransport, clock: FrozenClock, **kwargs: object) -> Sender:
    limits = kwargs.pop("limits", FAST)
    return Sender(db, {"telegram": transport}, clock=clock, limits={"telegram": limits},  # type: ignore[arg-type]
                  rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


async def queue(db: Database, clock: FrozenClock, key: str, chat_id: str, text: str = "Xin chào", *,
                priority: Priority = Priority.BROADCAST, group: str | None = None, person_id: int | None = None,
                not_before: datetime | None = None) -> bool:
    async with db.transaction() as conn:
        return await enqueue(conn, key=key, recipient=Recipient(person_id, "telegram", chat_id), kind="test",
                             message=Message(text), priority=priority, now=clock(), not_before=not_before,
                             group_key=group)


async def status(db: Database, key: str) -> tuple[str, int, str | None]:
    async with db.reading() as conn:
        found = await outbox.get_row_status(conn, key)
    assert found is not None, key
    return found


async def not_before(db: Database, key: str) -> datetime:
    async with db.reading() as conn, conn.execute("SELECT not_before FROM outbox WHERE dedupe_key = ?",
                                                 (key,)) as cur:
        (value,) = await cur.fetchone()
    return datetime.fromisoformat(value)


async def tally(db: Database, group: str | None = None) -> dict[str, int]:
    async with db.reading() as conn:
        return await outbox.tally(conn, group)


async def household(db: Database, clock: FrozenClock, chat_id: str) -> int:
    async with db.transaction() as conn:
        person = await create_person_with_identity(conn, channel="telegram", external_id=chat_id, chat_id=chat_id,
                                                   display_name="Bình", language="vi", now=iso(clock()))
    return person.id


# ---- delivery and bookkeeping ---------------------------------------------------------------------------------------


async def test_same_key_queued_twice_is_sent_once(db: Database, transport: RecordingTransport,
                                                  clock: FrozenClock) -> None:
    assert await queue(db, clock, "reminder:d1:p1:24h", "1001", "Nhắc lịch đối thoại")
    assert not await queue(db, clock, "reminder:d1:p1:24h", "1001", "Nhắc lịch đối thoại")

    counts = await make_sender(db, transport, clock).drain_once()
    assert not await queue(db, clock, "reminder:d1:p1:24h", "1001", "Nhắc lịch đối thoại")
    again = await make_sender(db, transport, clock).drain_once()

    assert transport.chats() == ["1001"]
    assert counts == {"sent": 1} and again == {}
    assert (await status(db, "reminder:d1:p1:24h"))[:2] == ("sent", 1)


async def test_rows_go_out_most_urgent_first_then_oldest(db: Database, transport: RecordingTransport,
                                                         clock: FrozenClock) -> None:
    await queue(db, clock, "b1", "1", "broadcast", priority=Priority.BROADCAST)
    await queue(db, clock, "r1", "2", "reminder", priority=Priority.REMINDER)
    await queue(db, clock, "n1", "3", "notice", priority=Priority.NOTICE)
    await queue(db, clock, "r0", "4", "older reminder", priority=Priority.REMINDER,
                not_before=START - timedelta(minutes=5))

    await make_sender(db, transport, clock, max_in_flight=1).drain_once()

    assert [c.text for c in transport.calls] == ["notice", "older reminder", "reminder", "broadcast"]


async def test_tallies_count_a_broadcast_by_status(db: Database, transport: RecordingTransport,
                                                   clock: FrozenClock) -> None:
    for n in range(5):
        await queue(db, clock, f"bc:7:{n}", str(100 + n), group="broadcast:7")
    await queue(db, clock, "other", "999", group="broadcast:8")
    transport.answer("102", SendResult(SendStatus.BAD_CHAT, error="Bad Request: chat not found"))
    transport.answer("103", SendResult(SendStatus.BLOCKED, error="Forbidden: bot was blocked by the user"))

    await make_sender(db, transport, clock).drain_once()

    assert await tally(db, "broadcast:7") == {"pending": 0, "sending": 0, "sent": 3, "failed": 1, "blocked": 1,
                                              "uncertain": 0, "skipped": 0}
    async with db.reading() as conn:
        groups = await outbox.tally_by_group(conn)
    assert groups["broadcast:8"]["sent"] == 1 and (await tally(db))["sent"] == 4


async def test_future_rows_wait_for_their_time_and_a_queued_event_wakes_the_sender(
    db: Database, transport: RecordingTransport, clock: FrozenClock,
) -> None:
    events = Events()
    sender = make_sender(db, transport, clock, events=events)
    await sender.start()
    try:
        await queue(db, clock, "later", "1001", "sau", not_before=START + timedelta(minutes=10))
        await events.emit(OUTBOX_QUEUED)
        assert await sender.wait_idle(2)
        assert transport.calls == []

        await queue(db, clock, "now", "1002", "ngay")
        await events.emit(OUTBOX_QUEUED)
        assert await sender.wait_idle(2)
        assert transport.chats() == ["1002"]

        clock.advance(minutes=10)
        sender.wake()
        assert await sender.wait_idle(2)
        assert transport.chats() == ["1002", "1001"]
    finally:
        await sender.stop()


async def test_stop_lets_sends_under_way_finish_and_leaves_nothing_claimed(db: Database, clock: FrozenClock) -> None:
    transport = RecordingTransport(delay=0.2)
    for n in range(6):
        await queue(db, clock, f"k{n}", str(n))
    sender = make_sender(db, transport, clock, limits=ChannelLimits(rate=10, per_chat_interval=0.0))
    await sender.start()
    await transport.arrival("0").wait()
    await sender.stop()

    counts = await tally(db)
    assert counts["sent"] == len(transport.calls) < 6
    assert counts["pending"] == 6 - counts["sent"] and counts["sending"] == 0


# ---- failures -------------------------------------------------------------------------------------------------------


async def test_429_retry_after_is_honoured(db: Database, transport: RecordingTransport, clock: FrozenClock) -> None:
    await queue(db, clock, "a", "1001", "first", priority=Priority.NOTICE)
    await queue(db, clock, "b", "1002", "second")
    transport.answer("1001", SendResult(SendStatus.RETRY, retry_after=0.4, error="Too Many Requests: retry after 1"))
    sender = make_sender(db, transport, clock, max_in_flight=1)

    counts = await sender.drain_once()

    first, second = transport.calls
    assert second.at - first.at >= 0.4          # flood control is per bot: the other chat waited too
    assert counts == {"retried": 1, "sent": 1}
    assert await status(db, "a") == ("pending", 1, "Too Many Requests: retry after 1")
    assert await not_before(db, "a") == START + timedelta(seconds=1)   # 0.4 s, rounded up to whole seconds

    clock.advance(seconds=1)
    assert await sender.drain_once() == {"sent": 1}
    assert (await status(db, "a"))[:2] == ("sent", 2)


async def test_transient_errors_retry_with_backoff_then_give_up(
    db: Database, transport: RecordingTransport, clock: FrozenClock, caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "Mã check-in bí mật 4711"
    await queue(db, clock, "k", "1001", secret)
    transport.answer("1001", ConnectionResetError("peer reset"), SendResult(SendStatus.RETRY, error="Bad Gateway"),
                     TimeoutError())
    limits = ChannelLimits(rate=1000, per_chat_interval=0.0, max_attempts=3, base_backoff=2.0)
    sender = make_sender(db, transport, clock, limits=limits)
    waits = []
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            before = clock()
            await sender.drain_once()
            state, attempts, error = await status(db, "k")
            if state == "pending":
                waits.append((await not_before(db, "k") - before).total_seconds())
                clock.advance(seconds=waits[-1])

    assert len(transport.calls) == 3
    assert 2 * 0.75 <= waits[0] <= 2 * 1.25 + 1 and 4 * 0.75 <= waits[1] <= 4 * 1.25 + 1   # doubling, jittered
    assert (state, attempts, error) == ("failed", 3, "TimeoutError")
    assert "ConnectionResetError" in caplog.text and "1001" in caplog.text
    assert secret not in caplog.text and "peer reset" not in caplog.text


async def test_backoff_is_capped(db: Database, clock: FrozenClock) -> None:
    sender = Sender(db, {}, clock=clock)
    channel = type("C", (), {"limits": ChannelLimits(base_backoff=2.0, max_backoff=300.0)})()
    assert all(sender._backoff(channel, n) <= 300.0 for n in range(1, 30))  # type: ignore[arg-type]


async def test_blocked_household_is_marked_and_skipped_next_time(
    db: Database, transport: RecordingTransport, clock: FrozenClock,
) -> None:
    person_id = await household(db, clock, "1001")
    await queue(db, clock, "notice", "1001", "Thông báo", priority=Priority.NOTICE, person_id=person_id)
    await queue(db, clock, "reminder", "1001", "Nhắc lịch", priority=Priority.REMINDER, person_id=person_id)
    await queue(db, clock, "neighbour", "1002", "Nhắc lịch", priority=Priority.REMINDER)
    transport.answer("1001", SendResult(SendStatus.BLOCKED, error="Forbidden: bot was blocked by the user"))

    counts = await make_sender(db, transport, clock).drain_once()

    assert transport.chats().count("1001") == 1
    assert counts == {"blocked": 1, "skipped": 1, "sent": 1}
    assert (await status(db, "notice"))[0] == "blocked"
    assert await status(db, "reminder") == ("skipped", 0, "blocked")
    async with db.reading() as conn:
        async with conn.execute("SELECT blocked_at FROM identities WHERE chat_id = '1001'") as cur:
            assert (await cur.fetchone())[0] == iso(START)
        assert await recipient_for_person(conn, person_id) is None


async def test_bad_chat_and_permanent_errors_fail_without_retry(
    db: Database, transport: RecordingTransport, clock: FrozenClock,
) -> None:
    await queue(db, clock, "gone", "1001")
    await queue(db, clock, "broken", "1002")
    transport.answer("1001", SendResult(SendStatus.BAD_CHAT))
    transport.answer("1002", SendResult(SendStatus.FAILED, error="Bad Request: can't parse entities"))

    assert await make_sender(db, transport, clock).drain_once() == {"failed": 2}
    assert await status(db, "gone") == ("failed", 1, "chat not found")
    assert await status(db, "broken") == ("failed", 1, "Bad Request: can't parse entities")
    assert len(transport.calls) == 2


async def test_crash_mid_send_marks_row_uncertain_and_never_resends(
    db: Database, transport: RecordingTransport, clock: FrozenClock, caplog: pytest.LogCaptureFixture,
) -> None:
    await queue(db, clock, "reminder", "1001", "Nhắc lịch", priority=Priority.REMINDER)
    await queue(db, clock, "broadcast", "1002", "Thông báo chung")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_SENDER, db.path, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(child.stdout.readline(), 15)  # type: ignore[union-attr]
        assert line.decode().split() == ["sending", "1001"]
    finally:
        child.kill()   # SIGKILL: no clean-up runs, like a power cut
        await child.wait()

    sender = make_sender(db, transport, clock)
    with caplog.at_level(logging.WARNING):
        await sender.start()
        assert await sender.wait_idle(5)
        await sender.stop()

    assert transport.chats() == ["1002"]
    assert await status(db, "reminder") == ("uncertain", 1, "interrupted while sending")
    assert "1 outbox messages were being sent" in caplog.text
    assert (await tally(db))["uncertain"] == 1 and await sender.recover() == 0


CRASHING_SENDER = textwrap.dedent("""
    import asyncio, sys
    from bot.outbox.sender import ChannelLimits, Sender
    from storage.db import Database

    class Hanging:
        channel = "telegram"
        async def send(self, chat_id, message):
            print("sending", chat_id, flush=True)
            await asyncio.sleep(3600)

    async def main(path):
        db = await Database(path).open()
        sender = Sender(db, {"telegram": Hanging()}, max_in_flight=1)
        await sender.start()
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1]))
""")


# ---- rates and fairness ---------------------------------------------------------------------------------------------


async def test_overall_and_per_chat_rates_are_respected(db: Database, transport: RecordingTransport,
                                                        clock: FrozenClock) -> None:
    rate, interval = 40.0, 0.25
    for n in range(5):
        await queue(db, clock, f"busy:{n}", "busy", f"busy {n}", priority=Priority.NOTICE)
    for n in range(40):
        await queue(db, clock, f"bc:{n}", str(2000 + n))
    sender = make_sender(db, transport, clock, limits=ChannelLimits(rate=rate, per_chat_interval=interval))

    assert await sender.drain_once() == {"sent": 45}

    times = [call.at for call in transport.calls]
    for window in (0.25, 1.0):                                        # never above the rate, in any window
        assert max(sum(t0 <= t < t0 + window for t in times) for t0 in times) <= window * rate + 1
    achieved = 39 / (times[39] - times[0])                            # while there was plenty to send
    assert 0.8 * rate <= achieved <= rate * 1.01                      # close to the limit, never above
    busy = [call.at for call in transport.calls if call.chat_id == "busy"]
    assert [c.text for c in transport.calls if c.chat_id == "busy"] == [f"busy {n}" for n in range(5)]
    assert min(b - a for a, b in itertools.pairwise(busy)) >= interval - 0.002
    between = [c for c in transport.calls if busy[0] < c.at < busy[1]]
    assert len(between) >= 5                                          # the paced chat never held up the others


async def test_a_slow_send_does_not_hold_up_other_chats(db: Database, transport: RecordingTransport,
                                                        clock: FrozenClock) -> None:
    slow = transport.hold("slow")
    await queue(db, clock, "slow", "slow", priority=Priority.NOTICE)
    for n in range(20):
        await queue(db, clock, f"bc:{n}", str(n))
    sender = make_sender(db, transport, clock, max_in_flight=4)
    drained = asyncio.create_task(sender.drain_once())
    await until(lambda: len(transport.calls) == 21, what="the 20 other chats served while one send hangs")
    assert transport.chats()[0] == "slow" and not drained.done()
    slow.set()
    assert await drained == {"sent": 21}


async def test_reminder_overtakes_a_large_broadcast(db: Database, transport: RecordingTransport,
                                                    clock: FrozenClock) -> None:
    payload, now = Message("Thông báo chung").to_json(), iso(clock())
    async with db.transaction() as conn:   # the rows enqueue() writes, in bulk (10,000 enqueue calls take ~2 s)
        await conn.executemany(
            "INSERT INTO outbox (dedupe_key, channel, chat_id, kind, priority, payload, not_before, group_key,"
            " created_at) VALUES (?, 'telegram', ?, 'broadcast', ?, ?, ?, 'broadcast:1', ?)",
            [(f"broadcast:1:{n}", str(100_000 + n), int(Priority.BROADCAST), payload, now, now) for n in range(10_000)],
        )
    events = Events()
    sender = Sender(db, {"telegram": transport}, clock=clock, events=events)   # Telegram's limits: 30/s, 1/s a chat
    loop = asyncio.get_running_loop()
    await sender.start()
    try:
        await until(lambda: len(transport.calls) >= 5, what="the broadcast under way")
        await queue(db, clock, "reminder:d1:p9:1h", "9", "Nhắc lịch: 1 giờ nữa", priority=Priority.REMINDER)
        queued_at = loop.time()
        await events.emit(OUTBOX_QUEUED)
        await asyncio.wait_for(transport.arrival("9").wait(), 3)
    finally:
        await sender.stop()

    reminder = next(call for call in transport.calls if call.chat_id == "9")
    assert reminder.at - queued_at < 0.5                              # measured: 2-12 ms
    counts = await tally(db, "broadcast:1")
    assert counts["sending"] == 0                                     # stopping gave unsent claims back
    assert counts["sent"] == len(transport.calls) - 1 < 100
    assert counts["pending"] == 10_000 - counts["sent"]

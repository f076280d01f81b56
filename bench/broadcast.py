"""``python -m bench broadcast``: one announcement to N households against a Bot API that enforces a rate limit.

The real pieces do the work: ``bot.broadcast.service`` queues it (audience: everyone, one ``enqueue_many``), the outbox
``Sender`` paces it (``ChannelLimits(rate=L)``), ``TelegramTransport`` sends each message through
python-telegram-bot over HTTP to the tests' fake Bot API server, extended here to enforce the limit: over L
messages/s overall (a token bucket holding one second of messages) or over one message a second to one chat, it answers
429 with ``retry_after`` as Telegram does. The server runs in a process of its own, as Telegram does not share the
bot's event loop. The default is Telegram's own limit (~30 messages/s) with 1,200 households (40 s at the limit);
``--rate 300 --recipients 3000`` is the stress run, which shows the ceiling of one bot process.

Reported: how close the sender came to the limit (``rate_ratio`` = achieved / limit, measured at the server over
the accepted sends), how many 429s it drew, and, counted at the server, households that got the message twice
(``duplicates``) or never (``missing``).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.broadcast import service as broadcast
from bot.broadcast.service import Audience
from bot.core.clock import iso, system_clock
from bot.core.config import DatabaseSection, load_settings
from bot.outbox.sender import ChannelLimits, Sender
from handlers.telegram.transport import TelegramTransport
from storage import Database, outbox
from tests.fake_telegram import DEFAULT_TOKEN, ApiError, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.example.toml"
FIRST_CHAT = 200_000_001
TEXT = "📢 Kính mời bà con dự buổi đối thoại chính sách giảm nghèo, lao động, việc làm lúc 15:30 ngày 20/6/2027."
GOALS = {"rate_ratio": 0.95, "duplicates": 0, "missing": 0}


class RateLimitedTelegram(FakeTelegram):
    """The fake Bot API, refusing a send over ``rate`` per second overall (a token bucket holding one second of
    messages: a late request may catch up, a sender going faster than ``rate`` is refused within a second), or one
    to the same chat less than ``per_chat`` seconds after the last."""

    def __init__(self, rate: float, per_chat: float = 1.0) -> None:
        super().__init__()
        self.rate, self.per_chat = rate, per_chat
        self.tokens = rate
        self.refilled = time.monotonic()
        self.last_send: dict[int, float] = {}
        self.accepted: list[float] = []
        self.refused = 0

    def admit(self, chat_id: int) -> None:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        last = self.last_send.get(chat_id)
        if self.tokens < 1 or (last is not None and now - last < self.per_chat):
            self.refused += 1
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self.tokens -= 1
        self.last_send[chat_id] = now
        self.accepted.append(now)

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        self.admit(int(params["chat_id"]))
        return await super()._api_sendmessage(params)

    async def _api_getbenchstats(self, params: dict[str, Any]) -> dict[str, Any]:
        """Not a Bot API method: what this server saw, for the benchmark's figures."""
        received = [call.chat_id for call in self.calls_to("sendMessage") if call.ok]
        return {"accepted": self.accepted, "refused": self.refused, "received": received}


async def add_households(db: Database, count: int) -> None:
    """N consented households on Telegram, written in bulk (the audience "everyone")."""
    now = iso(datetime.now(UTC))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO persons (id, created_at, language, consent_at, full_name, hamlet_id, category)"
            " VALUES (?, ?, 'vi', ?, ?, 'tan-hau', 'poor')",
            [(n + 1, now, now, f"Hộ {n + 1}") for n in range(count)])
        await conn.executemany(
            "INSERT INTO identities (channel, external_id, person_id, chat_id, created_at) VALUES"
            " ('telegram', ?, ?, ?, ?)",
            [(str(FIRST_CHAT + n), n + 1, str(FIRST_CHAT + n), now) for n in range(count)])


async def queue(db: Database, settings: Any) -> tuple[int, float]:
    """The organizer's broadcast to everyone; returns (messages queued, seconds the transaction took)."""
    started = time.perf_counter()
    async with db.transaction() as conn:
        now = system_clock()
        broadcast_id = await broadcast.new_draft(conn, created_by="bench", creator_person_id=None, now=now)
        await broadcast.edit(conn, broadcast_id, text=TEXT)
        await broadcast.set_audience(conn, settings, broadcast_id, Audience("everyone"))
        row = await broadcast.confirm(conn, settings, broadcast_id, now)
    return row.recipients, time.perf_counter() - started


async def drain(db: Database, server: Server, rate: float, give_up_after: float,
                ) -> tuple[dict[str, int], float, float]:
    """Run the sender until nothing of the broadcast waits; (its outcome counts, seconds, CPU seconds of the bot)."""
    request = HTTPXRequest(connection_pool_size=32, read_timeout=10.0)
    async with Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url,
                   request=request) as bot:
        sender = Sender(db, {"telegram": TelegramTransport(bot)},
                        limits={"telegram": ChannelLimits(rate=rate, per_chat_interval=1.0)})
        started, cpu = time.perf_counter(), time.process_time()
        await sender.start()
        try:
            while time.perf_counter() < started + give_up_after:
                async with db.reading() as conn:
                    counts = await outbox.tally(conn, "broadcast:1")
                if counts["pending"] + counts["sending"] == 0:
                    break
                await asyncio.sleep(0.25)
        finally:
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            await sender.stop()
        return sender.counts, elapsed, cpu


# ---- the server, in a process of its own (as Telegram is: it does not share the bot's event loop) -----------------


@dataclass(frozen=True, slots=True)
class Server:
    port: int
    token: str = DEFAULT_TOKEN

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.base_url}{self.token}/getBenchStats", timeout=30)
        return answer.json()["result"]


def _serve(rate: float, first: int, count: int, ready: Any) -> None:
    async def main() -> None:
        fake = await RateLimitedTelegram(rate).start()
        for n in range(count):
            fake.user(first + n, "Hộ", str(n))
        ready.put(fake.port)
        await asyncio.Event().wait()

    asyncio.run(main())


@contextmanager
def server_process(rate: float, count: int) -> Iterator[Server]:
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    process = context.Process(target=_serve, args=(rate, FIRST_CHAT, count, ready), daemon=True)
    process.start()
    try:
        yield Server(ready.get(timeout=60))
    finally:
        process.terminate()
        process.join(10)


async def bench_broadcast(args: argparse.Namespace) -> dict[str, Any]:
    count, rate = args.recipients, args.rate
    with server_process(rate, count) as server, tempfile.TemporaryDirectory(prefix="doithoai-bench-") as tmp:
        settings = load_settings(DEFAULT_CONFIG).model_copy(
            update={"database": DatabaseSection(path=str(Path(tmp) / "bench.sqlite3"))})
        async with Database(settings.database.path) as db:
            await add_households(db, count)
            queued, queue_s = await queue(db, settings)
            outcomes, seconds, cpu = await drain(db, server, rate, give_up_after=count / rate * 5 + 30)
        stats = await server.stats()
    got = Counter(stats["received"])
    accepted = stats["accepted"]
    achieved = (len(accepted) - 1) / (accepted[-1] - accepted[0]) if len(accepted) > 1 else 0.0
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    missing = count - len(got)
    return {
        "recipients": count,
        "queued": queued,
        "queue_ms": round(queue_s * 1000, 1),
        "limit_per_s": rate,
        "achieved_per_s": round(achieved, 1),
        "rate_ratio": round(achieved / rate, 3),
        "http_429": stats["refused"],
        "duplicates": duplicates,
        "missing": missing,
        "seconds": round(seconds, 2),
        "bot_cpu_ms_per_message": round(cpu / max(queued, 1) * 1000, 2),
        "sender": outcomes,
        "python": platform.python_version(),
        "nproc": os.cpu_count(),
        "loadavg_1m_before": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "goals": {"rate_ratio": achieved / rate >= GOALS["rate_ratio"], "duplicates": duplicates == 0,
                  "missing": missing == 0},
        "work_done": queued == count and missing == 0,
    }


def report(result: dict[str, Any]) -> str:
    mark = {True: "met", False: "MISSED"}
    goals = result["goals"]
    return "\n".join([
        f"broadcast benchmark: {result['recipients']:,} households, limit {result['limit_per_s']:,.0f} messages/s"
        f" overall and 1/s per chat, Python {result['python']}",
        f"queued in one transaction: {result['queued']:,} messages in {result['queue_ms']:,.0f} ms",
        f"sent in {result['seconds']:.1f} s: {result['achieved_per_s']:,.1f} messages/s accepted by the server,"
        f" rate ratio {result['rate_ratio']:.3f} (goal ≥ {GOALS['rate_ratio']}: {mark[goals['rate_ratio']]})",
        f"HTTP 429 drawn: {result['http_429']}; duplicates {result['duplicates']} ({mark[goals['duplicates']]}),"
        f" missing {result['missing']} ({mark[goals['missing']]}); sender: {result['sender']}",
        f"bot process CPU: {result['bot_cpu_ms_per_message']:.2f} ms per message (the server runs in its own process);"
        f" machine: {result['nproc']} CPU, load average {result['loadavg_1m_before']} before the run",
    ])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipients", type=_positive, default=1200, help="households (default 1,200)")
    parser.add_argument("--rate", type=float, default=30.0,
                        help="the limit the server enforces and the sender is given, messages/s (default 30, "
                             "Telegram's; --rate 300 --recipients 3000 is the stress run)")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number

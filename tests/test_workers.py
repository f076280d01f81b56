"""Several workers on one PostgreSQL: three real ``doithoai run`` processes behind a load balancer, Telegram's
webhook deliveries spread over them, households filling in the form, an announcement and a wave of reminders, and
the leader SIGKILLed mid-way.

After it all: every question is stored once; every reminder and every announcement reached its household exactly
once (a missing one only where the outbox reports it in flight at the kill: 'uncertain'); the shared send rate was
never exceeded by the three workers together; another worker took the lead. ``DOITHOAI_WORKERS_HOUSEHOLDS`` scales
it up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import tomli_w
from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.core.config import TOKEN_ENV, WEB_PORT_ENV, WEBHOOK_SECRET_ENV, load_settings
from storage.pg import LEADER_LOCK
from tests.test_crash import (
    FIRST_REMINDED,
    WatchedTelegram,
    drive,
    question_of,
    register_reminded_households,
)

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLDS = int(os.environ.get("DOITHOAI_WORKERS_HOUSEHOLDS", "300"))
WORKERS = 3
SEND_RATE = 30.0   # messages per second for the whole bot (Telegram's): the three workers share it
REMINDED = 100     # households registered for a dialogue within the hour: the leader reminds them
ANNOUNCEMENT = "📢 Kính mời bà con dự buổi đối thoại chính sách giảm nghèo lúc 15:30 ngày 20/6/2027 tại nhà văn hóa."
SECRET = "bi-mat-cua-webhook-42"
STEPS = 11         # updates a household sends to fill in the form (consent ... submit)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Balancer:
    """nginx's part: each delivery to the next worker in turn; a worker that does not answer (killed), or answers
    5xx, is skipped for the next one, as ``proxy_next_upstream error http_502 http_503`` does."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0
        self.failovers = 0
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.url = ""

    async def start(self) -> Balancer:
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._session = ClientSession(timeout=ClientTimeout(total=60))
        self.url = f"http://127.0.0.1:{port}/telegram"
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body, headers = await request.read(), {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        assert self._session is not None
        for _ in range(len(self.ports) * 2):
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            try:
                async with self._session.post(f"http://127.0.0.1:{port}/telegram", data=body,
                                              headers={**headers, "Content-Type": "application/json"}) as answer:
                    if answer.status < 500:
                        return web.Response(status=answer.status)
            except (ClientError, OSError):
                pass
            self.failovers += 1
        return web.Response(status=502)


class Worker:
    def __init__(self, config: Path, fake: WatchedTelegram, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.args = [sys.executable, "-m", "bot.cli", "run", "--config", str(config)]
        self.env = {**os.environ, TOKEN_ENV: fake.token, WEB_PORT_ENV: str(port), WEBHOOK_SECRET_ENV: SECRET,
                    "PYTHONPATH": str(ROOT), "DOITHOAI_LEAD_CHECK_SECONDS": "2"}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(*self.args, cwd=ROOT, env=self.env, stdout=out,
                                                                stderr=out)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def ready(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        async with ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as answer:
                        if answer.status == 200:
                            return
                except (ClientError, OSError):
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"worker {self.port} did not start: {self.log.read_text()[-2000:]}")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


def write_config(tmp_path: Path, fake: WatchedTelegram, url: str, balancer: Balancer) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"].update(path=str(tmp_path / "files" / "unused.sqlite3"), url=url)
    data["telegram"].update(base_url=fake.base_url, base_file_url=fake.base_file_url, mode="webhook",
                            webhook_url=balancer.url, webhook_path="telegram", send_rate=SEND_RATE)
    data.setdefault("digest", {})["enabled"] = False
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def leader_pid(url: str) -> int | None:
    """The OS process id of the worker holding the leader's lock (its connection's name carries it)."""
    raw = await asyncpg.connect(url)
    try:
        name = await raw.fetchval(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = ($1::bigint & 4294967295)::oid",
            LEADER_LOCK)
    finally:
        await raw.close()
    return int(name.split(":")[2]) if name else None


async def new_leader_of(url: str, old: int | None, timeout: float) -> tuple[int, float]:  # noqa: ASYNC109
    """The leader's pid once it is another than ``old``, and how long that took."""
    started = time.monotonic()
    while time.monotonic() < started + timeout:
        found = await leader_pid(url)
        if found is not None and found != old:
            return found, time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"no worker took the lead within {timeout:.0f} s")


async def rows(url: str, sql: str) -> list[Any]:
    raw = await asyncpg.connect(url)
    try:
        return list(await raw.fetch(sql))
    finally:
        await raw.close()


async def announce(config: Path, fake: WatchedTelegram) -> str:
    env = {**os.environ, TOKEN_ENV: fake.token, "PYTHONPATH": str(ROOT)}
    cli = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "broadcast", "--text", ANNOUNCEMENT,
                                               "--audience", "everyone", "--config", str(config), cwd=ROOT, env=env,
                                               stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0, err.decode()
    return out.decode()


async def settled(url: str, timeout: float) -> dict[str, int]:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = dict((r[0], r[1]) for r in await rows(url, "SELECT status, COUNT(*) FROM outbox GROUP BY status"))
        if not statuses.get("pending") and not statuses.get("sending"):
            return statuses
        await asyncio.sleep(0.5)
    raise AssertionError(f"the outbox did not drain: {statuses}")


def busiest_window(times: list[float], seconds: float = 1.0) -> int:
    """The most sends in any window of ``seconds`` (sliding over the moments the fake server received them)."""
    times, most, first = sorted(times), 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_three_workers_share_one_postgresql_without_losing_or_doubling_anything(
    tmp_path: Path, pg_url: str,
) -> None:
    fake = await WatchedTelegram().start()
    ports = [free_port() for _ in range(WORKERS)]
    balancer = await Balancer(ports).start()
    config = write_config(tmp_path, fake, pg_url, balancer)
    settings = load_settings(config)
    await register_reminded_households(config, fake, REMINDED)  # a dialogue within the hour: the leader reminds them
    workers = [Worker(config, fake, port, tmp_path / f"worker-{n}.log") for n, port in enumerate(ports)]
    started = time.monotonic()
    try:
        for worker in workers:
            await worker.start()
        await asyncio.gather(*(worker.ready() for worker in workers))
        first_leader = await leader_pid(pg_url)
        assert first_leader in {worker.pid for worker in workers}

        deadline = time.monotonic() + 400
        households = asyncio.gather(*(drive(fake, i, deadline) for i in range(HOUSEHOLDS)))
        expected = HOUSEHOLDS * STEPS
        await fake.wait_for(lambda: len(fake.pushes) >= expected // 3, 300, "a third of the households' updates")
        await announce(config, fake)   # while the households write: every worker sends, at one shared rate
        await fake.wait_for(lambda: _announced(fake) >= 20, 120, "the announcement to start going out")
        leader = next(worker for worker in workers if worker.pid == first_leader)
        await leader.kill()            # SIGKILL mid-way: the leader, while households write and messages go out
        takeover = asyncio.create_task(new_leader_of(pg_url, first_leader, 60))
        await households
        new_leader, taken_over = await takeover
        statuses = await settled(pg_url, 120)
    finally:
        codes = [await worker.stop() for worker in workers]
        await balancer.stop()
        await fake.stop()
    elapsed = time.monotonic() - started

    stored = [r[0] for r in await rows(pg_url, "SELECT content FROM submissions")]
    assert sorted(stored) == sorted(question_of(i) for i in range(HOUSEHOLDS)), "each question exactly once"
    reminders = [sum(text.startswith("🔔") for text in fake.texts(FIRST_REMINDED + j)) for j in range(_reminded())]
    announced = {int(r[0]): r[1] for r in await rows(
        pg_url, "SELECT chat_id, status FROM outbox WHERE group_key = 'broadcast:1'")}
    received = Counter(chat for chat in announced for text in fake.texts(chat) if text == ANNOUNCEMENT)
    uncertain = statuses.get("uncertain", 0)
    missing = reminders.count(0) + sum(1 for chat, status in announced.items() if not received[chat])
    doubles = sum(n > 1 for n in reminders) + sum(n > 1 for n in received.values())
    outbox_sends = [call.at for call in fake.calls if call.method == "sendMessage" and call.ok
                    and (call.params.get("text") or "").startswith(("🔔", "📢"))]
    busiest, busiest_two = busiest_window(outbox_sends), busiest_window(outbox_sends, 2.0)
    print(f"\nworkers: {WORKERS} on PostgreSQL, {HOUSEHOLDS} households, {len(announced)} announced, "
          f"{len(reminders)} reminded, {elapsed:.1f} s; leader {first_leader} killed, {new_leader} took over in "
          f"{taken_over:.1f} s; busiest second {busiest}, busiest two seconds {busiest_two} sends "
          f"(rate {SEND_RATE:g}); {doubles} doubles, "
          f"{missing} missing, {uncertain} uncertain; {balancer.failovers} deliveries failed over")
    assert doubles == 0
    assert missing <= uncertain, "a message may be missing only if the outbox reports it in flight"
    assert len(announced) >= HOUSEHOLDS // 3 and len(reminders) == REMINDED
    assert new_leader != first_leader and taken_over < 60
    # Counted over two seconds: the fake server shares two cores with three workers and PostgreSQL, and its event
    # loop, when starved, takes arrivals late and in bunches (one second then reads its hiccups: 31 seen once in CI
    # with the line at 25.5/s). The line's own spacing is exact in test_postgres_workers; three workers each at the
    # rate would send about 160 in two seconds.
    assert busiest_two <= 2 * SEND_RATE, "the three workers together kept to the one send rate"
    assert [code for code in codes if code is not None] == [0] * (WORKERS - 1)
    assert settings.database.is_postgres


def _announced(fake: WatchedTelegram) -> int:
    return sum(1 for call in fake.calls if call.method == "sendMessage" and call.params.get("text") == ANNOUNCEMENT)


def _reminded() -> int:
    return REMINDED

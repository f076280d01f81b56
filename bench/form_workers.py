"""``python -m bench form --db postgresql://... --workers 1,2,4``: the form on PostgreSQL, by one or more worker
processes sharing the database, against the same households on SQLite in the same run.

Each worker is a process of its own (as ``doithoai run`` workers are) with the bot's real application, engine and
a ``PgDatabase``, driving its share of the households through the whole form with ``process_update`` (the same
updates, prompts, keyboards and Bot API calls as ``bench form``). Every run gets a fresh database created on the
server (the URL's user needs CREATEDB) and dropped after. Updates/s is all the workers' updates over the time from
the first one's start to the last one's end.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.fakebot import FakeRequest
from bench.form import (
    FIRST_USER_ID,
    Timing,
    UpdateFactory,
    _stop,
    app_under_test,
    bench_settings,
    drive,
    household_script,
)
from bot.core.config import DatabaseSection
from storage import database_at


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create(url: str, name: str) -> None:
    raw = await asyncpg.connect(url)
    try:
        await raw.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await raw.execute(f'CREATE DATABASE "{name}"')
    finally:
        await raw.close()


async def _drop(url: str, name: str) -> None:
    raw = await asyncpg.connect(url)
    try:
        await raw.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await raw.close()


async def _one_worker(config: str, url: str, first: int, count: int, start_at: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="doithoai-bench-worker-") as tmp:
        settings = bench_settings(Path(config), Path(tmp) / "unused.sqlite3")
        settings = settings.model_copy(update={"database": DatabaseSection(path=str(Path(tmp) / "x"), url=url)})
        fake = FakeRequest()
        async with database_at(url, files=tmp) as db:
            app = await app_under_test(settings, db, fake)
            factory = UpdateFactory(fake, settings.bot.language, first_update_id=1 + first * 1000)
            scripts = [household_script(settings, first + i) for i in range(count)]
            users = [FIRST_USER_ID + first + i for i in range(count)]

            def updates() -> Iterator[dict[str, Any]]:
                for step in range(len(scripts[0])):
                    for user_id, script in zip(users, scripts, strict=True):
                        yield factory.build(user_id, script[step])

            await asyncio.sleep(max(0.0, start_at - time.time()))  # every worker starts at the same moment
            began = time.time()
            try:
                timing: Timing = await drive(app, updates())
            finally:
                await _stop(app)
            ended = time.time()
    return {"began": began, "ended": ended, "latencies": timing.latencies, "updates": timing.updates,
            "cpu_s": timing.cpu_s}


def _worker_process(args: tuple[str, str, int, int, float]) -> dict[str, Any]:
    return asyncio.run(_one_worker(*args))


def run_workers(config: str, url: str, households: int, workers: int) -> Timing:
    """``workers`` processes share ``households`` on the database at ``url``; their timings as one."""
    share = [households // workers + (1 if n < households % workers else 0) for n in range(workers)]
    firsts = [sum(share[:n]) for n in range(workers)]
    start_at = time.time() + 3.0 + 0.5 * workers  # time for every process to start and prepare its application
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.map(_worker_process, [(config, url, firsts[n], share[n], start_at) for n in range(workers)])
    timing = Timing()
    timing.latencies = [latency for result in results for latency in result["latencies"]]
    timing.wall_s = max(r["ended"] for r in results) - min(r["began"] for r in results)
    timing.cpu_s = sum(r["cpu_s"] for r in results)
    return timing


async def count_submissions(url: str) -> int:
    raw = await asyncpg.connect(url)
    try:
        return int(await raw.fetchval("SELECT COUNT(*) FROM submissions"))
    finally:
        await raw.close()


async def bench_form_workers(config: str, url: str, households: int, counts: list[int],
                             sqlite_timing: Timing, progress: Any) -> dict[str, Any]:
    """The form on PostgreSQL for each number of workers, against ``sqlite_timing`` (the same households)."""
    by_workers: dict[str, Any] = {}
    for workers in counts:
        name = f"doithoai_bench_{os.getpid()}_{workers}"
        await _create(url, name)
        scratch = _with_database(url, name)
        try:
            async with database_at(scratch):  # migrated once, before the workers start
                pass
            timing = await asyncio.to_thread(run_workers, config, scratch, households, workers)
            stored = await count_submissions(scratch)
        finally:
            await _drop(url, name)
        progress(f"postgresql, {workers} worker(s): {timing.updates:,} updates in {timing.wall_s:.2f} s")
        by_workers[str(workers)] = {
            "updates_per_s": round(timing.updates_per_s, 1),
            "p50_ms": round(timing.percentile_ms(0.50), 3),
            "p99_ms": round(timing.percentile_ms(0.99), 3),
            "cpu_us_per_update": round(timing.cpu_us_per_update, 1),
            "ratio_to_sqlite": round(timing.updates_per_s / sqlite_timing.updates_per_s, 3)
            if sqlite_timing.updates_per_s else 0.0,
            "submissions_stored": stored,
            "work_done": stored == households,
        }
    return by_workers

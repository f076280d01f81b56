"""``python -m bench startup``: from starting ``doithoai run`` to serving (its first poll of the Bot API).

Measured against the fake Bot API server on 127.0.0.1, several times, median; the baseline is a bare
python-telegram-bot application started the same way. Goal: ≤ 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

ROOT = Path(__file__).resolve().parent.parent
BARE = """
import sys
from telegram.ext import Application
app = Application.builder().token(sys.argv[1]).base_url(sys.argv[2]).build()
app.run_polling(poll_interval=0, timeout=1)
"""


async def _time_to_first_poll(args: list[str], fake: Any, env: dict[str, str]) -> float:
    polls = len(fake.calls_to("getUpdates"))
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*args, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)
    try:
        while len(fake.calls_to("getUpdates")) == polls:
            if process.returncode is not None:
                raise RuntimeError(f"{args[2:4]} exited with {process.returncode}")
            await asyncio.sleep(0.005)
        return time.perf_counter() - started
    finally:
        process.terminate()
        await process.wait()


async def bench_startup(args: argparse.Namespace) -> dict[str, Any]:
    from tests.fake_telegram import FakeTelegram

    runs = getattr(args, "runs", 5)
    fake = await FakeTelegram().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
            data["database"]["path"] = f"{folder}/startup.sqlite3"
            data["telegram"].update(base_url=fake.base_url, base_file_url=fake.base_file_url, poll_timeout=1)
            config = Path(folder) / "config.toml"
            config.write_text(tomli_w.dumps(data), encoding="utf-8")
            env = {**os.environ, "DOITHOAI_TELEGRAM_TOKEN": fake.token, "PYTHONPATH": str(ROOT)}
            ours = [await _time_to_first_poll([sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
                                              fake, env) for _ in range(runs)]
            bare = [await _time_to_first_poll([sys.executable, "-c", BARE, fake.token, fake.base_url], fake, env)
                    for _ in range(runs)]
    finally:
        await fake.stop()
    median, base = statistics.median(ours), statistics.median(bare)
    return {"runs": runs, "startup_s": round(median, 3), "startup_max_s": round(max(ours), 3),
            "baseline_startup_s": round(base, 3), "ratio": round(median / base, 2), "goal_s": 2.0,
            "goal_met": median <= 2.0, "work_done": True}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="starts to time (default 5; the median is reported)")


def report(result: dict[str, Any]) -> str:
    return (f"startup: doithoai run → first poll in {result['startup_s']} s (median of {result['runs']}, max "
            f"{result['startup_max_s']} s); bare python-telegram-bot {result['baseline_startup_s']} s; "
            f"ratio {result['ratio']}; goal ≤ 2 s {'met' if result['goal_met'] else 'MISSED'}")

"""``python -m bench engine``: the conversation engine alone (no platform), households through the whole form.

What one turn costs in the application and its database, without python-telegram-bot's objects or HTTP.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.cli.wiring import build_engine
from bot.core.config import DatabaseSection, load_settings
from bot.core.types import Incoming, InputKind
from storage import Database

ROOT = Path(__file__).resolve().parent.parent
SCRIPT: list[tuple[InputKind, str]] = [
    (InputKind.COMMAND, "start"), (InputKind.CHOICE, "yes"), (InputKind.TEXT, "Nguyễn Văn Bình"),
    (InputKind.CHOICE, "u:tan-hau"), (InputKind.CHOICE, "c:poor"), (InputKind.CHOICE, "skip"),
    (InputKind.CHOICE, "k:question"), (InputKind.CHOICE, "f:giam-ngheo"), (InputKind.CHOICE, "t:y-te"),
    (InputKind.TEXT, "Khi nào hộ cận nghèo được cấp thẻ bảo hiểm y tế?"), (InputKind.CHOICE, "submit"),
]


async def bench_engine(args: argparse.Namespace) -> dict[str, Any]:
    households = getattr(args, "households", 1000)
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(ROOT / "config.example.toml")
        settings = settings.model_copy(update={"database": DatabaseSection(path=f"{folder}/engine.sqlite3")})
        async with Database(settings.database.path) as db:
            engine = build_engine(settings, db)
            versions = [0] * households
            latencies: list[float] = []
            cpu, wall = time.process_time(), time.perf_counter()
            for kind, value in SCRIPT:
                for i in range(households):
                    msg = Incoming("telegram", str(10_000 + i), str(10_000 + i), kind, text=value,
                                   command=value if kind is InputKind.COMMAND else "",
                                   choice=value if kind is InputKind.CHOICE else "", version=versions[i])
                    started = time.perf_counter()
                    replies = await engine.handle(msg)
                    latencies.append(time.perf_counter() - started)
                    versions[i] = replies[-1].version
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            async with db.reading() as conn:
                stored = (await conn.execute_fetchall("SELECT COUNT(*) FROM submissions"))[0][0]
    turns = len(latencies)
    latencies.sort()
    return {"households": households, "turns": turns, "turns_per_s": round(turns / wall),
            "p50_ms": round(statistics.median(latencies) * 1000, 3),
            "p99_ms": round(latencies[int(turns * .99)] * 1000, 3),
            "cpu_us_per_turn": round(cpu / turns * 1e6), "submissions_stored": stored,
            "work_done": stored == households}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--households", type=int, default=1000, help="households (default 1,000)")


def report(result: dict[str, Any]) -> str:
    return (f"engine alone: {result['turns']:,} turns, {result['turns_per_s']:,} turns/s, p50 {result['p50_ms']} ms, "
            f"p99 {result['p99_ms']} ms, {result['cpu_us_per_turn']} µs CPU per turn; "
            f"{result['submissions_stored']:,} submissions stored")

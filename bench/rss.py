"""``python -m bench rss``: memory of the bot with 10,000 households stopped half-way through the form.

State lives in SQLite, so memory should not grow with the number of open conversations. Each figure comes from a
fresh process (``VmHWM``, see bench/memory.py), the baseline being a process that imports the same libraries and
does nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

CHILD = r"""
import asyncio, json, sys, tempfile, time
import bot.cli.runtime, handlers.telegram.channel, handlers.zalo.channel  # what `doithoai run` loads
from bot.core.config import DatabaseSection, load_settings
from bot.cli.wiring import build_engine
from bot.core.types import Incoming, InputKind as K
from storage import Database

from bench.memory import peak_rss_mb as rss_mb

async def main(households):
    settings = load_settings("config.example.toml")
    folder = tempfile.mkdtemp()
    settings = settings.model_copy(update={"database": DatabaseSection(path=f"{folder}/rss.sqlite3")})
    async with Database(settings.database.path) as db:
        engine = build_engine(settings, db)
        before = rss_mb()
        started = time.perf_counter()
        versions = {}
        async def say(i, **kw):
            replies = await engine.handle(Incoming("telegram", str(i), str(i), **kw))
            versions[i] = replies[-1].version
        steps = [dict(kind=K.COMMAND, command="start"), "yes", dict(kind=K.TEXT, text="Nguyễn Văn Bình"),
                 "u:tan-hau", "c:poor", "skip", "k:question", "f:giam-ngheo", "t:y-te"]
        for step in steps:
            for i in range(households):
                if isinstance(step, str):
                    await say(i, kind=K.CHOICE, choice=step, version=versions[i])
                else:
                    await say(i, **step)
        elapsed = time.perf_counter() - started
        async with db.reading() as conn:
            mid = (await conn.execute_fetchall("SELECT COUNT(*) FROM conversations WHERE step = 'q_content'"))[0][0]
    print(json.dumps({"rss_mb": rss_mb(), "rss_before_mb": before, "mid_form": mid, "seconds": elapsed}))

if sys.argv[1] == "baseline":
    print(json.dumps({"rss_mb": rss_mb()}))
else:
    asyncio.run(main(int(sys.argv[1])))
"""


def _child(arg: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", CHILD, arg], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_rss(args: argparse.Namespace) -> dict[str, Any]:
    households = getattr(args, "households", 10_000)
    run = _child(str(households))
    base = _child("baseline")
    return {
        "households": households, "mid_form": run["mid_form"], "rss_mb": round(run["rss_mb"], 1),
        "baseline_rss_mb": round(base["rss_mb"], 1), "growth_mb": round(run["rss_mb"] - base["rss_mb"], 1),
        "seconds": round(run["seconds"], 1), "goal_rss_mb": 150, "goal_met": run["rss_mb"] <= 150,
        "work_done": run["mid_form"] == households,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--households", type=int, default=10_000, help="households left mid-form (default 10,000)")


def report(result: dict[str, Any]) -> str:
    return (f"rss: {result['mid_form']:,} households mid-form: peak RSS {result['rss_mb']} MB "
            f"(the same imports alone: {result['baseline_rss_mb']} MB, growth {result['growth_mb']} MB; "
            f"goal ≤ 150 MB {'met' if result['goal_met'] else 'MISSED'}); driven in {result['seconds']} s")

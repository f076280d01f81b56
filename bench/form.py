"""``python -m bench form``: N simulated households fill in the whole request form through the Telegram adapter.

Every update goes through ``Application.process_update`` of the real application (``handlers.telegram.channel``), whose
bot talks to an in-process fake Bot API (``bench.fakebot``) and whose engine writes a real SQLite file on disk.
Households are interleaved step by step (everyone's /start, then everyone's consent...), so the database sees
1,000 open conversations at once. Buttons are tapped by reading the keyboard the fake Bot API really received,
so the callback data carries the version the engine stamped.

Then the same households go through the same form built as a python-telegram-bot developer would build it
(``bench/form_peers.py``: ConversationHandler + PicklePersistence, flushed only at shutdown; ConversationHandler + a
small SQLite persistence committed after every update), with the same prompts, keyboards and Bot API calls; the
ratios ``peer_pickle_ratio`` and ``peer_sqlite_ratio`` are our updates/s over theirs. The very same updates also go
through a bare echo application (``ratio``). At the end the submissions are counted, ours in the database and the
peers' in their user data: a benchmark that did not do the work is worthless.

Every contender runs ``--rounds`` times (3), interleaved (ours, the peers, the echo, then again), and is judged by
its best round: this machine's speed drifts by a third within minutes, and a slow spell should not fall on one
contender only.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import telegram
from pydantic import SecretStr
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bench.fakebot import FakeRequest
from bench.form_peers import peer_submissions, pickle_peer, sqlite_peer
from bot.cli.settle import settle
from bot.cli.wiring import build_engine
from bot.core.config import DatabaseSection, Settings, TelegramSection, load_settings
from bot.core.i18n import t
from bot.core.types import decode_callback
from handlers.base import engine_options
from handlers.telegram.channel import TelegramChannel, TelegramConversation
from storage import Database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.example.toml"
TOKEN = "123:bench"
FIRST_USER_ID = 100_000_000
GOALS = {"updates_per_s": 2400.0, "peer_pickle_ratio": 1.0, "peer_sqlite_ratio": 1.5, "p99_ms": 5.0}

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng")
MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hoa", "Lan", "Mai", "Nam", "Phúc", "Tâm", "Thảo", "Vy")
CATEGORIES = ("poor", "near_poor", "escaped", "other")
KINDS = ("question", "opinion", "petition", "proposal")
CONTENT = (
    "Nhà tôi thuộc hộ cận nghèo, xin hỏi thủ tục làm thẻ bảo hiểm y tế cho con đang đi học.",
    "Xin hỏi điều kiện vay vốn hộ nghèo để nuôi bò sinh sản, mức vay tối đa bao nhiêu?",
    "Đề nghị xã sửa đoạn đường đất vào ấp, mùa mưa lầy lội học sinh đi học rất khó khăn.",
    "Tôi muốn học nghề may công nghiệp, xin hỏi có lớp miễn phí nào gần nhà không?",
)


class BenchError(RuntimeError):
    """The simulated household could not go on: the bot did not offer what the form should offer."""


# -- the households' script -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a household does: type ``text`` (or a /command), or tap the button whose value is ``value``."""

    text: str = ""
    value: str = ""
    label_key: str = ""  # the label of the button, if it turns out to be a reply-keyboard button

    @property
    def is_tap(self) -> bool:
        return bool(self.value)


def household_script(settings: Settings, index: int) -> list[Action]:
    """The full form for household ``index``: consent, identification, one question, submit."""
    hamlets = settings.hamlets()
    fld = settings.fields[index % len(settings.fields)]
    topic = fld.topics[(index // len(settings.fields)) % len(fld.topics)]
    name = f"{FAMILY[index % len(FAMILY)]} {MIDDLE[index // 7 % len(MIDDLE)]} {GIVEN[index // 3 % len(GIVEN)]}"
    return [
        Action(text="/start"),
        Action(value="yes", label_key="form.consent_yes"),
        Action(text=name),
        Action(value=f"u:{hamlets[index % len(hamlets)].id}"),
        Action(value=f"c:{CATEGORIES[index % len(CATEGORIES)]}"),
        Action(value="skip", label_key="form.skip"),
        Action(value=f"k:{KINDS[index % len(KINDS)]}"),
        Action(value=f"f:{fld.id}"),
        Action(value=f"t:{topic.id}"),
        Action(text=CONTENT[index % len(CONTENT)]),
        Action(value="submit", label_key="form.submit"),
    ]


class UpdateFactory:
    """Builds update dicts as Telegram would send them, tapping buttons the fake Bot API really delivered."""

    def __init__(self, fake: FakeRequest, language: str, first_update_id: int = 1) -> None:
        self.fake = fake
        self.language = language
        self._update_id = first_update_id  # several workers' factories: each its own range, as Telegram's are one
        self._message_id = 1_000_000_000  # the users' messages, apart from the bot's

    @staticmethod
    def user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"Hộ {user_id - FIRST_USER_ID + 1}",
                "language_code": "vi"}

    def _next_update_id(self) -> int:
        self._update_id += 1
        return self._update_id - 1

    def message(self, user_id: int, text: str) -> dict[str, Any]:
        self._message_id += 1
        message: dict[str, Any] = {
            "message_id": self._message_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": f"Hộ {user_id - FIRST_USER_ID + 1}"},
            "from": self.user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ", 1)[0])}]
        return {"update_id": self._next_update_id(), "message": message}

    def tap(self, user_id: int, action: Action) -> dict[str, Any]:
        shown = self.fake.last_keyboard.get(user_id)
        if shown is not None:
            for row in shown["reply_markup"]["inline_keyboard"]:
                for button in row:
                    data = button.get("callback_data")
                    decoded = decode_callback(data) if isinstance(data, str) else None
                    if decoded is not None and decoded[1] == action.value:
                        return {"update_id": self._next_update_id(), "callback_query": {
                            "id": str(self._update_id), "from": self.user(user_id), "chat_instance": str(user_id),
                            "data": data, "message": shown,
                        }}
        keyboard = self.fake.last_reply_keyboard.get(user_id)
        if keyboard is not None and action.label_key:
            label = t(action.label_key, self.language)
            if any(_button_text(b) == label for row in keyboard["keyboard"] for b in row):
                return self.message(user_id, label)
        offered = [b.get("callback_data") for row in (shown or {}).get("reply_markup", {}).get("inline_keyboard", [])
                   for b in row]
        raise BenchError(f"household {user_id}: no button {action.value!r} on offer (inline: {offered})")

    def build(self, user_id: int, action: Action) -> dict[str, Any]:
        return self.tap(user_id, action) if action.is_tap else self.message(user_id, action.text)


def _button_text(button: object) -> str:
    return button if isinstance(button, str) else str(button.get("text", "")) if isinstance(button, dict) else ""


# -- timing ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Timing:
    """Per-update latencies of ``process_update`` and the wall time, not counting the simulated users' own work."""

    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0     # first update to last, minus harness_s
    harness_s: float = 0.0  # building the updates (tapping the right button, Update.de_json): the users, not the bot
    cpu_s: float = 0.0      # CPU time of the process (every thread, so SQLite's too), minus the harness's

    @property
    def updates(self) -> int:
        return len(self.latencies)

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.wall_s if self.wall_s else 0.0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else 0.0

    @property
    def in_handler_s(self) -> float:
        return sum(self.latencies)

    @property
    def cpu_us_per_update(self) -> float:
        """Less sensitive than wall time to other processes competing for the CPUs."""
        return self.cpu_s / self.updates * 1e6 if self.updates else 0.0


async def drive(app: Application, updates: Iterable[dict[str, Any]]) -> Timing:
    """Feed the updates one at a time to ``app.process_update``; ``updates`` may build each one lazily."""
    timing = Timing()
    source = iter(updates)
    clock, cpu = time.perf_counter, time.process_time
    harness_cpu = 0.0
    started, cpu_started = clock(), cpu()
    while True:
        before, cpu_before = clock(), cpu()
        data = next(source, None)
        if data is None:
            timing.harness_s += clock() - before
            harness_cpu += cpu() - cpu_before
            break
        update = Update.de_json(data, app.bot)
        harness_cpu += cpu() - cpu_before
        built = clock()
        timing.harness_s += built - before
        await app.process_update(update)
        timing.latencies.append(clock() - built)
    timing.wall_s = clock() - started - timing.harness_s
    timing.cpu_s = cpu() - cpu_started - harness_cpu
    return timing


async def _start(app: Application) -> None:
    await app.initialize()


async def _stop(app: Application) -> None:
    await app.shutdown()


# -- the two applications -------------------------------------------------------------------------------------------


def bench_settings(config: Path, db_path: Path) -> Settings:
    settings = load_settings(config)
    return settings.model_copy(update={
        "database": DatabaseSection(path=str(db_path)),
        "telegram": TelegramSection(token=SecretStr(TOKEN)),
    })


async def app_under_test(settings: Settings, db: Database, fake: FakeRequest) -> Application:
    """The bot's application, prepared as ``doithoai run`` prepares it and given an engine built from what it
    learned, then settled as ``doithoai run`` settles once it serves (``bot.cli.settle``); its handlers are
    registered but nothing polls: the bench hands it the updates."""
    channel = TelegramChannel(settings, request=fake, get_updates_request=FakeRequest())
    facts = await channel.prepare()
    engine = build_engine(settings, db, **engine_options([(channel.name, facts)]))
    TelegramConversation(settings, engine, channel.replies).register(channel.app)
    await settle()
    return channel.app


async def _echo_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_chat is not None and update.effective_message is not None:
        await context.bot.send_message(update.effective_chat.id, update.effective_message.text or "?")


async def _echo_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    await query.answer()
    await context.bot.send_message(update.effective_chat.id, query.data or "?")


def baseline_app(fake: FakeRequest) -> Application:
    """A bare python-telegram-bot application: one echo for messages, one for button taps."""
    app = ApplicationBuilder().token(TOKEN).request(fake).get_updates_request(FakeRequest()).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo_message))
    app.add_handler(CallbackQueryHandler(_echo_tap))
    return app


# -- the runs -------------------------------------------------------------------------------------------------------


async def run_form(settings: Settings, db: Database, households: int,
                   progress: Callable[[str], None]) -> tuple[Timing, list[dict[str, Any]], dict[str, int]]:
    """Drive every household through the form, step by step round-robin; returns the timing and the updates sent."""
    fake = FakeRequest()
    app = await app_under_test(settings, db, fake)
    factory = UpdateFactory(fake, settings.bot.language)
    scripts = [household_script(settings, i) for i in range(households)]
    users = [FIRST_USER_ID + i for i in range(households)]
    sent: list[dict[str, Any]] = []

    def updates() -> Iterator[dict[str, Any]]:
        for step in range(len(scripts[0])):
            for user_id, script in zip(users, scripts, strict=True):
                sent.append(factory.build(user_id, script[step]))  # reads the keyboard the bot just sent
                yield sent[-1]

    fake.reset_counts()
    try:
        timing = await drive(app, updates())
    finally:
        await _stop(app)
    progress(f"form: {timing.updates:,} updates in {timing.wall_s:.2f} s (+ {timing.harness_s:.2f} s building them)")
    return timing, sent, dict(fake.calls)


async def run_baseline(updates: list[dict[str, Any]], progress: Callable[[str], None]) -> tuple[Timing, int]:
    fake = FakeRequest()
    app = baseline_app(fake)
    await _start(app)
    fake.reset_counts()
    try:
        timing = await drive(app, updates)
    finally:
        await _stop(app)
    progress(f"baseline: {timing.updates:,} updates in {timing.wall_s:.2f} s (+ {timing.harness_s:.2f} s building)")
    return timing, fake.total_calls


async def run_peer(kind: str, settings: Settings, households: int, folder: Path,
                   progress: Callable[[str], None]) -> tuple[Timing, int, dict[str, int]]:
    """The same households through a python-telegram-bot peer (``bench/form_peers.py``), tapping what it sent."""
    fake = FakeRequest()
    build = pickle_peer if kind == "pickle" else sqlite_peer
    app = build(settings, fake, FakeRequest(), TOKEN, folder)
    await _start(app)
    factory = UpdateFactory(fake, settings.bot.language)
    scripts = [household_script(settings, i) for i in range(households)]
    users = [FIRST_USER_ID + i for i in range(households)]

    def updates() -> Iterator[dict[str, Any]]:
        for step in range(len(scripts[0])):
            for user_id, script in zip(users, scripts, strict=True):
                yield factory.build(user_id, script[step])

    fake.reset_counts()
    try:
        timing = await drive(app, updates())
        stored = peer_submissions(app)
    finally:
        await _stop(app)
    progress(f"peer {kind}: {timing.updates:,} updates in {timing.wall_s:.2f} s")
    return timing, stored, dict(fake.calls)


def count_rows(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as conn:
        return {table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("persons", "submissions")}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


async def bench_form(args: argparse.Namespace) -> dict[str, Any]:
    households: int = args.households
    rounds: int = getattr(args, "rounds", 1)
    quiet: bool = getattr(args, "json", False)

    def progress(line: str) -> None:
        if not quiet:
            print(f"  … {line}", flush=True)

    load_before = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    driver = getattr(args, "turn_driver", "both")
    runs: dict[str, list[Any]] = {"ours": [], "other": [], "pickle": [], "sqlite": [], "echo": []}
    for number in range(1, rounds + 1):  # interleaved: a slow spell of the machine falls on every contender alike
        if rounds > 1:
            progress(f"round {number} of {rounds}")
        with tempfile.TemporaryDirectory(prefix="doithoai-bench-", dir=args.db_dir) as tmp:
            db_path = Path(tmp) / "bench.sqlite3"
            settings = bench_settings(Path(args.config), db_path)
            async with Database(db_path, hot_turn=driver != "aiosqlite") as db:
                form, updates, calls = await run_form(settings, db, households, progress)
            runs["ours"].append((form, updates, calls, count_rows(db_path)))
            if driver == "both":
                runs["other"].append(await run_other_driver(settings, households, Path(tmp), progress))
            runs["pickle"].append(await run_peer("pickle", settings, households, Path(tmp), progress))
            runs["sqlite"].append(await run_peer("sqlite", settings, households, Path(tmp), progress))
        runs["echo"].append(await run_baseline(updates, progress))
    form, updates, calls, rows = _best(runs["ours"])
    other = _best(runs["other"]) if runs["other"] else None
    pickle, pickle_stored, pickle_calls = _best(runs["pickle"])
    sqlite, sqlite_stored, sqlite_calls = _best(runs["sqlite"])
    base, base_calls = _best(runs["echo"])
    postgres = await _on_postgres(args, households, form, progress) if getattr(args, "db", "") else {}
    ratio = form.updates_per_s / base.updates_per_s if base.updates_per_s else 0.0
    pickle_ratio = form.updates_per_s / pickle.updates_per_s if pickle.updates_per_s else 0.0
    sqlite_ratio = form.updates_per_s / sqlite.updates_per_s if sqlite.updates_per_s else 0.0
    return {
        "households": households,
        "rounds": rounds,
        "turn_driver": "aiosqlite" if driver == "aiosqlite" else "loop",
        **_other_driver_figures(form, other),
        "updates": form.updates,
        "updates_per_s": round(form.updates_per_s, 1),
        "p50_ms": round(form.percentile_ms(0.50), 3),
        "p99_ms": round(form.percentile_ms(0.99), 3),
        "max_ms": round(max(form.latencies, default=0.0) * 1000, 3),
        "peer_pickle_updates_per_s": round(pickle.updates_per_s, 1),
        "peer_pickle_p99_ms": round(pickle.percentile_ms(0.99), 3),
        "peer_pickle_cpu_us_per_update": round(pickle.cpu_us_per_update, 1),
        "peer_sqlite_updates_per_s": round(sqlite.updates_per_s, 1),
        "peer_sqlite_p99_ms": round(sqlite.percentile_ms(0.99), 3),
        "peer_sqlite_cpu_us_per_update": round(sqlite.cpu_us_per_update, 1),
        "peer_pickle_ratio": round(pickle_ratio, 3),
        "peer_sqlite_ratio": round(sqlite_ratio, 3),
        "peer_submissions_stored": {"pickle": pickle_stored, "sqlite": sqlite_stored},
        "peer_bot_api_calls": {"pickle": dict(sorted(pickle_calls.items())),
                               "sqlite": dict(sorted(sqlite_calls.items()))},
        "baseline_updates_per_s": round(base.updates_per_s, 1),
        "baseline_p50_ms": round(base.percentile_ms(0.50), 3),
        "baseline_p99_ms": round(base.percentile_ms(0.99), 3),
        "ratio": round(ratio, 3),
        "wall_s": round(form.wall_s, 3),
        "baseline_wall_s": round(base.wall_s, 3),
        "harness_s": round(form.harness_s, 3),
        "baseline_harness_s": round(base.harness_s, 3),
        "in_process_update_s": round(form.in_handler_s, 3),
        "baseline_in_process_update_s": round(base.in_handler_s, 3),
        "cpu_us_per_update": round(form.cpu_us_per_update, 1),
        "baseline_cpu_us_per_update": round(base.cpu_us_per_update, 1),
        "submissions_stored": rows["submissions"],
        "persons_stored": rows["persons"],
        "work_done": all(run[3]["submissions"] == households for run in runs["ours"])
        and all(run[1] == households for run in runs["pickle"] + runs["sqlite"] + runs["other"]),
        "bot_api_calls": dict(sorted(calls.items())),
        "baseline_bot_api_calls": base_calls,
        "goals": {key: _goal_met(key, value) for key, value in (
            ("updates_per_s", form.updates_per_s), ("peer_pickle_ratio", pickle_ratio),
            ("peer_sqlite_ratio", sqlite_ratio), ("p99_ms", form.percentile_ms(0.99)))},
        "python": platform.python_version(),
        "ptb_version": telegram.__version__,
        "nproc": _nproc(),
        "loadavg_1m_before": load_before,
        "cpu": cpu_model(),
        **postgres,
    }


async def _on_postgres(args: argparse.Namespace, households: int, sqlite: Timing,
                       progress: Callable[[str], None]) -> dict[str, Any]:
    """The same households on PostgreSQL by 1..N workers; the top-level figures become the last count's, the SQLite
    ones are kept beside them (``sqlite_*``)."""
    from bench.form_workers import bench_form_workers

    counts = [int(n) for n in str(args.workers).split(",") if n.strip()]
    by_workers = await bench_form_workers(args.config, args.db, households, counts, sqlite, progress)
    last = by_workers[str(counts[-1])]
    return {
        "db": "postgresql", "workers": counts[-1], "by_workers": by_workers,
        "sqlite_updates_per_s": round(sqlite.updates_per_s, 1), "sqlite_p99_ms": round(sqlite.percentile_ms(0.99), 3),
        "updates_per_s": last["updates_per_s"], "p50_ms": last["p50_ms"], "p99_ms": last["p99_ms"],
        "cpu_us_per_update": last["cpu_us_per_update"], "submissions_stored": last["submissions_stored"],
    }


async def run_other_driver(settings: Settings, households: int, folder: Path,
                           progress: Callable[[str], None]) -> tuple[Timing, int]:
    """The same form with every turn through aiosqlite (its thread, one hop per statement), in a fresh file: the
    figure that justifies running the turn's SQL on the event loop's own ``sqlite3`` connection."""
    db_path = folder / "bench-aiosqlite.sqlite3"
    async with Database(db_path, hot_turn=False) as db:
        timing, _, _ = await run_form(settings, db, households, lambda line: progress(f"aiosqlite turn, {line}"))
    return timing, count_rows(db_path)["submissions"]


def _other_driver_figures(form: Timing, other: tuple[Timing, int] | None) -> dict[str, Any]:
    if other is None:
        return {}
    timing, stored = other
    return {
        "aiosqlite_turn_updates_per_s": round(timing.updates_per_s, 1),
        "aiosqlite_turn_p50_ms": round(timing.percentile_ms(0.50), 3),
        "aiosqlite_turn_p99_ms": round(timing.percentile_ms(0.99), 3),
        "aiosqlite_turn_cpu_us_per_update": round(timing.cpu_us_per_update, 1),
        "aiosqlite_turn_submissions_stored": stored,
        "loop_over_aiosqlite_ratio": round(form.updates_per_s / timing.updates_per_s, 3) if timing.updates_per_s
        else 0.0,
    }


def _best(runs: list[Any]) -> Any:
    """The run (a tuple whose first item is its ``Timing``) with the most updates/s: each contender is judged by its
    best round, as ``timeit`` takes the best of its repeats (the machine only ever slows a run down)."""
    return max(runs, key=lambda run: run[0].updates_per_s)


def _goal_met(key: str, value: float) -> bool:
    return value <= GOALS[key] if key.endswith("_ms") else value >= GOALS[key]


def _nproc() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def report(result: dict[str, Any]) -> str:
    """The human-readable summary of one ``bench_form`` result."""
    mark = {True: "met", False: "MISSED"}
    goals = result["goals"]
    calls = ", ".join(f"{name} {count:,}" for name, count in result["bot_api_calls"].items())
    lines = [
        f"form benchmark: {result['households']:,} households, {result['updates']:,} updates, best of"
        f" {result.get('rounds', 1)} interleaved rounds "
        f"(Python {result['python']}, python-telegram-bot {result['ptb_version']}, "
        f"{result['nproc']} CPU, {result['cpu']})",
        "",
        f"{'':12}{'updates/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'CPU µs/update':>16}",
        f"{'doithoai':12}{result['updates_per_s']:>12,.0f}{result['p50_ms']:>10.2f}{result['p99_ms']:>10.2f}"
        f"{result['cpu_us_per_update']:>16,.0f}",
        *_aiosqlite_line(result),
        f"{'PTB+pickle':12}{result['peer_pickle_updates_per_s']:>12,.0f}{'':>10}{result['peer_pickle_p99_ms']:>10.2f}"
        f"{result['peer_pickle_cpu_us_per_update']:>16,.0f}",
        f"{'PTB+sqlite':12}{result['peer_sqlite_updates_per_s']:>12,.0f}{'':>10}{result['peer_sqlite_p99_ms']:>10.2f}"
        f"{result['peer_sqlite_cpu_us_per_update']:>16,.0f}",
        f"{'PTB echo':12}{result['baseline_updates_per_s']:>12,.0f}{result['baseline_p50_ms']:>10.2f}"
        f"{result['baseline_p99_ms']:>10.2f}{result['baseline_cpu_us_per_update']:>16,.0f}",
        "",
        f"ratios doithoai / PTB+pickle {result['peer_pickle_ratio']:.2f}, "
        f"/ PTB+sqlite {result['peer_sqlite_ratio']:.2f},"
        f" / echo {result['ratio']:.2f}   (load average before the run: {result['loadavg_1m_before']})",
        f"goals: ≥ {GOALS['updates_per_s']:,.0f} updates/s {mark[goals['updates_per_s']]}, "
        f"≥ {GOALS['peer_pickle_ratio']}× pickle peer {mark[goals['peer_pickle_ratio']]}, "
        f"≥ {GOALS['peer_sqlite_ratio']}× sqlite peer {mark[goals['peer_sqlite_ratio']]}, "
        f"p99 ≤ {GOALS['p99_ms']:.0f} ms {mark[goals['p99_ms']]}",
        f"peers' Bot API calls: {result['peer_bot_api_calls']['pickle']}",
        f"Bot API calls: {calls}",
        f"stored: {result['submissions_stored']:,} submissions from {result['persons_stored']:,} households"
        + ("" if result["work_done"] else f" — EXPECTED {result['households']:,}: the form did not complete"),
    ]
    if result.get("db") == "postgresql":
        lines += ["", f"on PostgreSQL (the first row above is the last worker count; SQLite alone: "
                      f"{result['sqlite_updates_per_s']:,.0f} updates/s, p99 {result['sqlite_p99_ms']:.2f} ms):",
                  f"{'workers':>8}{'updates/s':>12}{'p99 ms':>10}{'× SQLite':>10}{'stored':>9}"]
        lines += [f"{n:>8}{r['updates_per_s']:>12,.0f}{r['p99_ms']:>10.2f}{r['ratio_to_sqlite']:>10.2f}"
                  f"{r['submissions_stored']:>9,}" for n, r in result["by_workers"].items()]
    return "\n".join(lines)


def _aiosqlite_line(result: dict[str, Any]) -> list[str]:
    """The row of the same form with its turns through aiosqlite (when the run measured it)."""
    if "aiosqlite_turn_updates_per_s" not in result:
        return []
    return [f"{'  via aiosql':12}{result['aiosqlite_turn_updates_per_s']:>12,.0f}"
            f"{result['aiosqlite_turn_p50_ms']:>10.2f}{result['aiosqlite_turn_p99_ms']:>10.2f}"
            f"{result['aiosqlite_turn_cpu_us_per_update']:>16,.0f}"
            f"   (turn through aiosqlite; sqlite3 on the loop is {result['loop_over_aiosqlite_ratio']:.2f}× it)"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--households", type=_positive, default=1000, help="simulated households (default 1000)")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="the config to use (default: the example)")
    parser.add_argument("--rounds", type=_positive, default=3,
                        help="rounds of every contender, interleaved; each is judged by its best (default 3)")
    parser.add_argument("--db", default="", help="postgresql://... : also run the form on PostgreSQL (a scratch"
                        " database is created there and dropped), by --workers processes")
    parser.add_argument("--workers", default="1", help="with --db: worker processes, one count or a list (1,2,4)")
    parser.add_argument("--db-dir", default=None, help="where the temporary SQLite file goes (default: the temp dir)")
    parser.add_argument("--turn-driver", choices=("both", "loop", "aiosqlite"), default="both",
                        help="the chat turn's SQL on the event loop's sqlite3 connection (loop, ours), through"
                             " aiosqlite's thread, or both in this run (default: both; the headline is loop)")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number

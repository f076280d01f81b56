"""``python -m bench digest``: the evening digests of 20 staff over 2,000 new questions.

A real SQLite file holds 2,000 new submissions of the seed 000 commune, their texts drawn from the labelled set of
household questions and its typed variants (``bench.grouping``: no diacritics, greetings, typos), so that grouping
works as hard as on real days. Twenty staff: 4 organizers and administrators (everything), 8 hamlet officers (two
per hamlet) and 8 officers of one field or two topics. Then ``send_digests`` runs as the scheduler runs it: per
person a consistent read, the text with grouped questions, a chart and the Excel list (off the event loop), and one
transaction queueing the messages.

Baseline, in the same process: the same 20 reads and texts without the chart and the workbook (what a text-only
digest would cost), so the ratio says what the files add. JSON keys: ``seconds``, ``staff``, ``questions``,
``per_staff_ms``, ``text_only_seconds``, ``ratio``, ``goal_seconds``, ``work_done``.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.export import fill_database, load_settings_for
from bench.grouping import generated, load_labelled

GOAL_SECONDS = 5.0
NOW = datetime(2027, 6, 10, 10, 0, tzinfo=UTC)      # 17:00 local, the digest's time
HAMLETS = ("tan-dan", "tan-hung", "tan-chu", "tan-hau")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--questions", type=int, default=2_000, help="new questions (default 2,000)")
    parser.add_argument("--staff", type=int, default=20, help="staff members (default 20)")


async def bench_digest(args: argparse.Namespace) -> dict[str, Any]:
    questions: int = getattr(args, "questions", 2_000)
    staff: int = getattr(args, "staff", 20)
    with tempfile.TemporaryDirectory(prefix="doithoai-bench-digest-") as tmp:
        db_path = Path(tmp) / "bench.sqlite3"
        settings = load_settings_for(db_path)
        await asyncio.to_thread(_fill, db_path, settings, questions)
        await _staff(db_path, settings, staff)
        _cold()
        text_only = await _text_only(db_path, settings)
        _cold()
        seconds, sent, queued = await _digests(db_path, settings)
    return {
        "questions": questions, "staff": staff, "seconds": round(seconds, 2),
        "per_staff_ms": round(1000 * seconds / staff, 1), "text_only_seconds": round(text_only, 2),
        "ratio": round(seconds / text_only, 2) if text_only else None, "goal_seconds": GOAL_SECONDS,
        "messages_queued": queued, "work_done": sent == staff and queued >= 3 * staff,
    }


def _cold() -> None:
    """Forget what an earlier run cached (wordings already read, topics already grouped): each run starts cold."""
    from bot.digest import service
    from bot.digest.grouping import comparison_key

    comparison_key.cache_clear()
    service.grouped_cache_clear()


def _fill(db_path: Path, settings: Any, questions: int) -> None:
    """The export bench's commune, then every text replaced by a realistic, varied household question."""
    fill_database(db_path, settings, questions)
    topic_field = {topic.id: field.id for field in settings.fields for topic in field.topics}
    rows = [(topic, label, text) for topic, label, text in load_labelled() if topic in topic_field]
    texts = generated(rows, questions)
    with sqlite3.connect(db_path) as conn:
        conn.executemany("UPDATE submissions SET content = ?, topic_id = ?, field_id = ?, status = 'new',"
                         " media_kind = NULL, media_file_id = NULL WHERE id = ?",
                         [(text, topic, topic_field[topic], number)
                          for number, (topic, _, text) in enumerate(texts, start=1)])


async def _staff(db_path: Path, settings: Any, count: int) -> None:
    from bot.staff.roles import Scope, grant
    from storage import Database

    fields = [field.id for field in settings.fields]
    topics = [topic.id for field in settings.fields for topic in field.topics]
    scopes: list[tuple[str, Scope]] = []
    for n in range(count):
        if n % 5 == 0:
            scopes.append(("organizer" if n % 10 else "admin", Scope()))
        elif n % 5 in (1, 2):
            scopes.append(("officer", Scope(hamlets=(HAMLETS[n % 4],))))
        elif n % 5 == 3:
            scopes.append(("officer", Scope(fields=(fields[n % len(fields)],))))
        else:
            scopes.append(("officer", Scope(topics=(topics[n % len(topics)], topics[(n + 3) % len(topics)]))))
    async with Database(db_path) as db, db.transaction() as conn:
        for n, (role, scope) in enumerate(scopes):
            await grant(conn, "telegram", str(70_000 + n), role, f"Cán bộ {n}", "2027-06-01T00:00:00+00:00", scope)


async def _text_only(db_path: Path, settings: Any) -> float:
    from bot.digest.service import daily_text, new_entries, staff_members
    from storage import Database

    async with Database(db_path) as db:
        started = time.perf_counter()
        async with db.reading() as conn:
            members = await staff_members(conn, settings)
        for member in members:
            async with db.reading() as conn:
                found = await new_entries(conn, settings, member.channel, member.external_id)
            await asyncio.to_thread(daily_text, found, settings, member.language, NOW)
        return time.perf_counter() - started


async def _digests(db_path: Path, settings: Any) -> tuple[float, int, int]:
    from bot.core.events import Events
    from bot.digest.service import send_digests
    from storage import Database

    async with Database(db_path) as db:
        started = time.perf_counter()
        sent = await send_digests(db, settings, NOW, Events())
        seconds = time.perf_counter() - started
        async with db.reading() as conn:
            async with conn.execute("SELECT COUNT(*) FROM outbox WHERE kind LIKE 'digest%'") as cur:
                queued = (await cur.fetchone())[0]
    return seconds, sent, queued


def report(result: dict[str, Any]) -> str:
    met = "met" if result["seconds"] <= GOAL_SECONDS else "MISSED"
    return "\n".join([
        f"digest: {result['staff']} staff, {result['questions']:,} new questions",
        f"  all digests {result['seconds']:.2f} s ({result['per_staff_ms']:.0f} ms each),"
        f" {result['messages_queued']} messages queued; goal ≤ {GOAL_SECONDS:.0f} s: {met}",
        f"  text only (baseline) {result['text_only_seconds']:.2f} s; ratio {result['ratio']}",
    ])

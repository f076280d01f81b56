"""``python -m bench topics [--json]``: how often the form's topic suggestion is right ("say it first").

Each question of the labelled set ``tests/data/grouping_labelled.tsv`` carries the topic it was filed under. The
suggestion (``bot.form.suggest.rank_topics``) uses only the topic catalogue of ``config.example.toml``: each topic's
name and its configured ``keywords``; nothing of the labelled set. ``top1``: the first suggestion is the topic;
``top3``: the topic is among the three offered. Goals: top-1 ≥ 0.7, top-3 ≥ 0.9.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.grouping import LABELLED, load_labelled
from bot.core.config import load_settings
from bot.form.suggest import rank_topics

CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=CONFIG, help="the topic catalogue (default: the example)")
    parser.add_argument("--misses", action="store_true", help="list the questions whose topic is not first")


def bench_topics(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings(getattr(args, "config", CONFIG))
    rows = load_labelled(LABELLED)
    keywords = sum(len(t.keywords) for f in settings.fields for t in f.topics)
    first = within3 = 0
    misses: list[str] = []
    by_topic: Counter[str] = Counter()
    started = time.perf_counter()
    for topic, _, text in rows:
        ranked = [s.topic_id for s in rank_topics(text, settings.fields)]
        first += ranked[0] == topic
        within3 += topic in ranked[:3]
        if ranked[0] != topic:
            by_topic[topic] += 1
            misses.append(f"{topic} → {ranked[:3]}: {text}")
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "questions": len(rows), "top1": round(first / len(rows), 3), "top3": round(within3 / len(rows), 3),
        "topics": sum(len(f.topics) for f in settings.fields), "keywords": keywords,
        "uses": "topic names and configured keywords of the catalogue only", "ms_per_question":
        round(seconds * 1000 / len(rows), 3), "misses_by_topic": dict(by_topic.most_common()),
        "work_done": len(rows) > 0,
    }
    if getattr(args, "misses", False):
        result["misses"] = misses
    return result


def report(result: dict[str, Any]) -> str:
    lines = [
        f"Topic suggestion on {result['questions']} labelled questions "
        f"({result['topics']} topics; uses {result['uses']}: {result['keywords']} keywords)",
        f"  top-1 {result['top1']:.3f} (goal ≥ 0.7)   top-3 {result['top3']:.3f} (goal ≥ 0.9)   "
        f"{result['ms_per_question']} ms a question",
        f"  first suggestion wrong, by topic: {result['misses_by_topic']}",
    ]
    lines += [f"  {miss}" for miss in result.get("misses", [])]
    return "\n".join(lines)

"""``python -m bench [NAME] [--json]``: run one benchmark, or every registered one with its defaults.

Adding a benchmark is one line in ``BENCHMARKS``: a name and a ``Benchmark`` whose ``run(args)`` (sync or async)
returns a dict of figures. By convention a result has ``work_done: bool`` (did it really do the work it timed?);
a false one makes the exit status 1. The goals are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench import broadcast, desk, digest, engine, export, form, grouping, responsiveness, rss, startup, topics

Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Benchmark:
    run: Callable[[argparse.Namespace], Result | Awaitable[Result]]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    report: Callable[[Result], str] | None = None
    help: str = ""


BENCHMARKS: dict[str, Benchmark] = {
    "form": Benchmark(form.bench_form, form.add_arguments, form.report, "households fill in the whole form"),
    "engine": Benchmark(engine.bench_engine, engine.add_arguments, engine.report, "the engine alone, no platform"),
    "export": Benchmark(export.bench_export, export.add_arguments, export.report, "the report of 50,000 entries"),
    "broadcast": Benchmark(broadcast.bench_broadcast, broadcast.add_arguments, broadcast.report,
                           "one announcement to 1,200 households at Telegram's 30/s limit"),
    "responsiveness": Benchmark(responsiveness.bench_responsiveness, responsiveness.add_arguments,
                                responsiveness.report, "households' turns while a digest, an export and an import run"),
    "rss": Benchmark(rss.bench_rss, rss.add_arguments, rss.report, "memory with 10,000 households mid-form"),
    "startup": Benchmark(startup.bench_startup, startup.add_arguments, startup.report, "start to ready"),
    "grouping": Benchmark(grouping.bench_grouping, grouping.add_arguments, grouping.report,
                          "similar questions merged: pairwise precision/recall/F1, ARI, 1,000 and 10,000 questions"),
    "digest": Benchmark(digest.bench_digest, digest.add_arguments, digest.report,
                        "the evening digests of 20 staff over 2,000 new questions"),
    "desk": Benchmark(desk.bench_desk, desk.add_arguments, desk.report,
                      "the web desk with 50,000 submissions: filtered list and one submission page, p95"),
    "topics": Benchmark(topics.bench_topics, topics.add_arguments, topics.report,
                        "the form's topic suggestion on the labelled questions: top-1, top-3"),
}

# The summary table: for each benchmark, its headline figures and their goals (key, label, goal, met?).
HEADLINES: dict[str, list[tuple[str, str, str, Callable[[Any], bool] | None]]] = {
    "form": [("updates_per_s", "updates/s", "≥ 2,400", lambda v: v >= 2400),
             ("peer_pickle_ratio", "ratio to PTB + PicklePersistence", "≥ 1.0", lambda v: v >= 1.0),
             ("peer_sqlite_ratio", "ratio to PTB + SQLite persistence", "≥ 1.5", lambda v: v >= 1.5),
             ("p99_ms", "p99 ms", "≤ 5", lambda v: v <= 5)],
    "engine": [("turns_per_s", "turns/s (no platform)", "", None), ("p99_ms", "p99 ms", "", None)],
    "export": [("xlsx_s", "XLSX s (50,000)", "≤ 5", lambda v: v <= 5),
               ("docx_s", "DOCX s", "≤ 10", lambda v: v <= 10),
               ("peak_rss_mb", "peak RSS MB", "≤ 300", lambda v: v <= 300),
               ("xlsx_ratio", "XLSX ratio to bare", "≤ 2", lambda v: v <= 2),
               ("docx_ratio", "DOCX ratio to bare", "≤ 2", lambda v: v <= 2)],
    "broadcast": [("achieved_per_s", "sent/s", "", None), ("rate_ratio", "rate ratio", "≥ 0.95", lambda v: v >= .95),
                  ("duplicates", "duplicates", "0", lambda v: v == 0), ("missing", "missing", "0", lambda v: v == 0)],
    "responsiveness": [("p99_ms_idle", "turn p99 ms, idle", "", None),
                       ("p99_ms_during", "turn p99 ms, digest+export+import", "≤ 50", lambda v: v <= 50)],
    "rss": [("rss_mb", "RSS MB, 10,000 mid-form", "≤ 150", lambda v: v <= 150)],
    "startup": [("startup_s", "start to ready s", "≤ 2", lambda v: v <= 2)],
    "grouping": [("precision", "pairwise precision", "≥ 0.9", lambda v: v >= 0.9), ("f1", "pairwise F1", "≥ 0.7",
                  lambda v: v >= 0.7), ("seconds_10000", "s for 10,000 questions", "≤ 5", lambda v: v <= 5)],
    "digest": [("seconds", "s, 20 staff × 2,000 questions", "≤ 5", lambda v: v <= 5),
               ("ratio", "ratio to text only", "", None)],
    "desk": [("p95_ms", "p95 ms, list and page (50,000)", "≤ 300", lambda v: v <= 300)],
    "topics": [("top1", "topic suggestion top-1", "≥ 0.7", lambda v: v >= 0.7),
               ("top3", "topic suggestion top-3", "≥ 0.9", lambda v: v >= 0.9)],
}


def build_parser(each: dict[str, argparse.ArgumentParser] | None = None) -> argparse.ArgumentParser:
    """The command line; ``each`` (when given) receives every benchmark's own parser, by name."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run one benchmark, or every registered one with its defaults.")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    sub = parser.add_subparsers(dest="name", metavar="NAME")
    for name, bench in BENCHMARKS.items():
        p = sub.add_parser(name, help=bench.help, description=bench.help)
        if each is not None:
            each[name] = p
        # SUPPRESS: an absent --json after the name must not hide one given before it
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
        if bench.add_arguments is not None:
            bench.add_arguments(p)
    return parser


def run_one(name: str, args: argparse.Namespace) -> Result:
    outcome = BENCHMARKS[name].run(args)
    if inspect.isawaitable(outcome):
        return asyncio.run(_await(outcome))
    return outcome


async def _await(outcome: Awaitable[Result]) -> Result:
    return await outcome


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
    return "–" if value is None else str(value)


def table(results: dict[str, Result]) -> str:
    rows = [("benchmark", "figure", "value", "goal", "")]
    for name, result in results.items():
        for key, label, goal, met in HEADLINES.get(name, []):
            if key in result:
                verdict = "" if met is None else ("met" if met(result[key]) else "MISSED")
                rows.append((name, label, _cell(result[key]), goal, verdict))
        if not result.get("work_done", True):
            rows.append((name, "work done", "NO", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def main(argv: list[str] | None = None) -> int:
    each: dict[str, argparse.ArgumentParser] = {}
    parser = build_parser(each)
    args = parser.parse_args(argv)
    as_json: bool = args.json
    if args.name:
        result = run_one(args.name, args)
        report = BENCHMARKS[args.name].report
        print(json.dumps(result, ensure_ascii=False) if as_json else report(result) if report else table({
            args.name: result}))
        return 0 if result.get("work_done", True) else 1
    results: dict[str, Result] = {}
    for name in BENCHMARKS:
        bench_args = each[name].parse_args([])
        bench_args.json = as_json
        results[name] = run_one(name, bench_args)
    print(json.dumps(results, ensure_ascii=False) if as_json else table(results))
    return 0 if all(r.get("work_done", True) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

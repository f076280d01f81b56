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

from bench import broadcast, export, form, rss, startup

Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Benchmark:
    run: Callable[[argparse.Namespace], Result | Awaitable[Result]]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    report: Callable[[Result], str] | None = None
    help: str = ""


BENCHMARKS: dict[str, Benchmark] = {
    "form": Benchmark(form.bench_form, form.add_arguments, form.report, "households fill in the whole form"),
    "export": Benchmark(export.bench_export, export.add_arguments, export.report, "the report of 50,000 entries"),
    "broadcast": Benchmark(broadcast.bench_broadcast, broadcast.add_arguments, broadcast.report,
                           "one announcement to 3,000 households at a 300/s limit"),
    "rss": Benchmark(rss.bench_rss, rss.add_arguments, rss.report, "memory with 10,000 households mid-form"),
    "startup": Benchmark(startup.bench_startup, startup.add_arguments, startup.report, "start to ready"),
}

# Columns of the summary table when every benchmark runs: the first of these each result has.
TABLE_COLUMNS = ("updates_per_s", "p50_ms", "p99_ms", "baseline_updates_per_s", "ratio", "work_done")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run one benchmark, or every registered one with its defaults.")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    sub = parser.add_subparsers(dest="name", metavar="NAME")
    for name, bench in BENCHMARKS.items():
        p = sub.add_parser(name, help=bench.help, description=bench.help)
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
    columns = [c for c in TABLE_COLUMNS if any(c in r for r in results.values())]
    rows = [["benchmark", *columns]]
    rows += [[name, *(_cell(result.get(c)) for c in columns)] for name, result in results.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        name, *cells = row
        padded = [cell.rjust(width) for cell, width in zip(cells, widths[1:], strict=True)]
        lines.append("  ".join([name.ljust(widths[0]), *padded]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    as_json: bool = args.json
    if args.name:
        result = run_one(args.name, args)
        report = BENCHMARKS[args.name].report
        print(json.dumps(result, ensure_ascii=False) if as_json else report(result) if report else table({
            args.name: result}))
        return 0 if result.get("work_done", True) else 1
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    results: dict[str, Result] = {}
    for name in BENCHMARKS:
        bench_args = subparsers.choices[name].parse_args([])
        bench_args.json = as_json
        results[name] = run_one(name, bench_args)
    print(json.dumps(results, ensure_ascii=False) if as_json else table(results))
    return 0 if all(r.get("work_done", True) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

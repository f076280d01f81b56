"""Slow, CPU-bound work (grouping questions, drawing charts, writing workbooks, reading a roster) in a worker
process, so that neither the event loop nor Python's GIL is held by it: a worker *thread* computing for seconds
would still take the GIL from the loop at every switch interval, and the households' turns would wait for it.

``in_process(fn, *args)`` runs a module-level ``fn`` with picklable arguments in one long-lived worker process
(started on first use, a fresh interpreter: no thread or connection of the bot is inherited) and awaits its result.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None
WORKER_NICENESS = 10  # background work yields the CPU to the bot's event loop when both want it (2 cores)


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=os.nice, initargs=(WORKER_NICENESS,))
        atexit.register(shutdown)
    return _pool


async def in_process(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the worker process; its exception is raised here."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), fn, *args)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None

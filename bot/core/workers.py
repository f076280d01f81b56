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
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()  # warm_up() creates the pool from a thread while the loop may ask for it
WORKER_NICENESS = 10  # background work yields the CPU to the bot's event loop when both want it (2 cores)
WARM_UP_TIMEOUT_S = 60.0  # a worker that cannot start says so in the log instead of holding the bot's start
ORPHAN_CHECK_SECONDS = 1.0  # how often the worker looks whether the bot that started it is still there


def _start_worker(parent: int) -> None:
    """The worker process's start: lower priority, and a watch that ends it when the bot is gone. A bot killed with
    SIGKILL (or by the out-of-memory killer) cannot shut its pool down: without the watch the worker, and
    multiprocessing's resource tracker that waits for it, would be left running for ever."""
    os.nice(WORKER_NICENESS)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="orphan-watch", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)  # the worker keeps SIGTERM's default: the process ends


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker, initargs=(os.getpid(),))
            atexit.register(shutdown)
        return _pool


def worker_pid() -> int:
    """The worker process's id (run in it)."""
    return os.getpid()


async def warm_up() -> int:
    """Start the worker process now, from a thread, and wait until it answers; returns its process id.

    Started on first use instead, a new interpreter's start costs the event loop's thread tens of milliseconds, at
    the worst moment: the first roster import or report of a busy evening, with households in the form."""
    return await asyncio.to_thread(lambda: _executor().submit(worker_pid).result(timeout=WARM_UP_TIMEOUT_S))


async def in_process(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the worker process; its exception is raised here."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), fn, *args)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None

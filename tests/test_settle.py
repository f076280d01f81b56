"""Once it serves, the bot settles (``bot.cli.settle``): the slow work's modules imported, the worker process started
ahead of the first job, and start-up's objects out of the garbage collector's sight. Each of these used to fall on the
households' turns on the first busy evening (a roster import: 50–70 ms of imports and a process start on the event
loop; every full collection: 75–95 ms)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator

import pytest

from bot.cli.settle import SLOW_WORK_MODULES, settle
from bot.core import workers
from bot.core.workers import in_process


def no_worker_left(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


@pytest.fixture
def without_a_worker() -> Iterator[None]:
    workers.shutdown()
    assert no_worker_left(), "a worker process of an earlier test did not end"
    yield
    workers.shutdown()
    gc.unfreeze()  # the rest of the test session collects as usual


async def test_settled_bot_runs_its_first_slow_job_in_the_worker_started_ahead(without_a_worker: None) -> None:
    await settle()
    started = [child.pid for child in multiprocessing.active_children()]
    assert len(started) == 1, "settle starts exactly one worker process"
    assert await in_process(os.getpid) == started[0]
    assert [child.pid for child in multiprocessing.active_children()] == started, "the job started no other"


async def test_settle_imports_the_slow_work_and_freezes_what_start_up_allocated(without_a_worker: None) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    await settle()
    assert all(name in sys.modules for name in SLOW_WORK_MODULES)
    assert gc.get_freeze_count() > 10_000  # the modules, the catalogue, the configuration...

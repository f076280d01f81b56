"""Waiting on what happens, never on the time passing: a bounded wait for a condition, and a clock that tells when
it was read (a background loop reads its clock once per pass, so its reads show that a pass has run)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from bot.core.clock import Clock

T = TypeVar("T")


async def until(predicate: Callable[[], T], timeout: float = 5.0, what: str = "") -> T:  # noqa: ASYNC109
    """Check ``predicate`` every few milliseconds until it is truthy and return its value; AssertionError after
    ``timeout`` seconds (a bound, not a guess: the condition usually holds within milliseconds)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.002)
    return value


class ReadClock:
    """A clock (the given one) that counts its reads: ``await clock.reads_reach(n)``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        return self.clock()

    def __getattr__(self, name: str) -> Any:  # advance(), now: those of the wrapped clock
        return getattr(self.clock, name)

    async def reads_reach(self, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await until(lambda: self.reads >= count, timeout, f"{count} reads of the clock")

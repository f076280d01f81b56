"""A small in-process event bus: things that must happen after a transaction commits.

A turn that changes a dialogue's time must re-plan its reminders, and a turn that queues a message must wake the
sender; both only once the change is committed (never for a rolled-back turn).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
Listener = Callable[..., Awaitable[None] | None]

DIALOGUE_CHANGED = "dialogue_changed"   # (dialogue_id: str)
OUTBOX_QUEUED = "outbox_queued"         # ()


class Events:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def subscribe(self, name: str, listener: Listener) -> None:
        self._listeners[name].append(listener)

    async def emit(self, name: str, *args: object) -> None:
        for listener in self._listeners.get(name, ()):
            try:
                result = listener(*args)
                if result is not None:
                    await result
            except Exception:
                log.exception("listener of %s failed", name)

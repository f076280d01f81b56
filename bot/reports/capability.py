"""The committee report in the chat: /report."""

from __future__ import annotations

from bot.core.registry import Registry
from bot.reports.chat import COMMANDS


def register(registry: Registry) -> None:
    registry.add_commands(COMMANDS)

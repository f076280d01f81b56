"""Announcements in the chat: /broadcast and its steps, /broadcasts, /cancelbroadcast, /radio."""

from __future__ import annotations

from bot.broadcast.chat import COMMANDS, STEPS
from bot.core.registry import Registry


def register(registry: Registry) -> None:
    registry.add_steps(*STEPS)
    registry.add_commands(COMMANDS)

"""The digest in the chat: /digest, the new questions of one's scope on demand."""

from __future__ import annotations

from bot.core.registry import Registry
from bot.digest.chat import COMMANDS


def register(registry: Registry) -> None:
    registry.add_commands(COMMANDS)

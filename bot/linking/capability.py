"""``/link``: one household on two channels (Telegram and Zalo) becomes one person."""

from __future__ import annotations

from bot.core.registry import Registry
from bot.linking.chat import cmd_link


def register(registry: Registry) -> None:
    registry.add_command("link", cmd_link)

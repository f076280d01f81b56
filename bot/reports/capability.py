"""The committee report and the paper invitations in the chat: /report, /invitation."""

from __future__ import annotations

from bot.core.registry import Registry
from bot.reports.chat import COMMANDS
from bot.reports.invitation_chat import COMMANDS as INVITATION


def register(registry: Registry) -> None:
    registry.add_commands(COMMANDS)
    registry.add_commands(INVITATION)

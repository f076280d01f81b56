"""Staff in the chat: the role check every command relies on, invitations, the staff list, the audit log, and
``/link`` (one household on two channels)."""

from __future__ import annotations

from bot.core.registry import Registry
from bot.staff import linking, roles_chat


def register(registry: Registry) -> None:
    registry.authorize_with(roles_chat.has_role)
    registry.add_commands(roles_chat.COMMANDS)
    registry.add_commands({"link": (None, linking.cmd_link)})

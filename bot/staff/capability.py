"""Staff in the chat: the role check every command and hook relies on, invitations, the staff list, the audit
log."""

from __future__ import annotations

from bot.core.registry import Registry
from bot.staff import audit, roles_chat, web_signin, whoami


def register(registry: Registry) -> None:
    registry.authorize_with(roles_chat.has_role)
    registry.audit_with(audit.audit_command)
    registry.add_commands(roles_chat.COMMANDS)
    registry.add_commands(whoami.COMMANDS)
    registry.add_command("web", web_signin.cmd_web, "officer")

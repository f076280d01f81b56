"""Roles in the chat: invite staff (``/invite``), list them (``/staff``), take a role away (``/revoke``), and read
the audit log (``/audit``). Administrators are the Telegram ids in the config and cannot be revoked here."""

from __future__ import annotations

from bot.core.clock import iso
from bot.core.registry import Handler
from bot.core.turn import Turn
from bot.staff import audit, invites, roles
from bot.staff.roles import Scope
from storage import invites as invite_repo
from storage.staff import list_staff


async def cmd_staff(turn: Turn, args: str) -> None:
    lines = [turn.t("roles.staff_header")]
    for admin in turn.settings.bot.admins:
        lines.append(turn.t("roles.staff_admin", who=f"telegram:{admin}"))
    for member in await list_staff(turn.conn):
        scope = Scope.from_json(member.scope) if member.role == "officer" else roles.EVERYTHING
        lines.append(turn.t("roles.staff_line", who=f"{member.channel}:{member.external_id}",
                            role=turn.t(f"roles.role_{member.role}"), name=member.full_name or "—",
                            scope=roles.describe_scope(scope, turn.settings, turn.lang)))
    lines.append(turn.t("roles.staff_footer", open=await invite_repo.count_open(turn.conn, iso(turn.now))))
    turn.say_text("\n".join(lines))


async def cmd_revoke(turn: Turn, args: str) -> None:
    """``/revoke telegram:123456789`` (or the bare Telegram id)."""
    identity = roles.parse_identity(args)
    if identity is None:
        turn.say("roles.revoke_usage")
        return
    channel, external_id = identity
    who = f"{channel}:{external_id}"
    if roles.is_config_admin(turn.settings, channel, external_id):
        turn.say("roles.revoke_config_admin", who=who)
        return
    role = await roles.role_of(turn.conn, turn.settings, channel, external_id)
    if role is None or not await roles.revoke(turn.conn, channel, external_id):
        turn.say("roles.revoke_unknown", who=who)
        return
    await audit.record(turn.conn, turn, "revoke", who, role=role)
    turn.say("roles.revoked", who=who, role=turn.t(f"roles.role_{role}"))


async def has_role(turn: Turn, needed: str) -> bool:
    """The role check of every command and hook: the speaker's role is ``needed`` or above."""
    return await roles.may(turn.conn, turn.settings, turn.msg.channel, turn.msg.user_id, needed)


COMMANDS: dict[str, tuple[str | None, Handler]] = {
    "invite": ("organizer", invites.cmd_invite),
    "staff": ("admin", cmd_staff),
    "revoke": ("admin", cmd_revoke),
    "audit": ("admin", audit.cmd_audit),
}

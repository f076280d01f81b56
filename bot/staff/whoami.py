"""``/whoami``: anyone learns the id the bot knows them by, and their role, to give to the IT officer.

The first administrator is named in the config by this id (``bot.admins``); the operations guide tells the IT
officer to ask the future administrator to send /whoami. It shows nothing about anyone else."""

from __future__ import annotations

from bot.core.registry import Handler
from bot.core.turn import Turn
from bot.staff.roles import role_of


async def cmd_whoami(turn: Turn, args: str) -> None:
    msg = turn.msg
    role = await role_of(turn.conn, turn.settings, msg.channel, msg.user_id)
    turn.show_prompt = False
    turn.say("whoami.answer", channel=msg.channel.capitalize(), id=msg.user_id,
             role=turn.t(f"roles.role_{role}") if role else turn.t("whoami.no_role"))


COMMANDS: dict[str, tuple[str | None, Handler]] = {"whoami": (None, cmd_whoami)}

"""The audit log: every privileged action (a submission viewed, a status or answer set, an invite made or used,
a role granted or revoked, a check-in, an export) is one row, written in the transaction of the action itself.

``record(conn, actor, action, target, **detail)`` takes the turn of a chat command or an ``Actor`` (the CLI, a
scheduled job). ``detail`` is stored as JSON: never put a secret (a token, an invite link) in it.
"""

from __future__ import annotations

import getpass
import json
import re
from dataclasses import dataclass
from datetime import datetime

from bot.core.clock import iso, system_clock
from bot.core.config import Settings
from bot.core.i18n import catalogue, t
from bot.core.turn import Turn
from bot.staff import roles
from storage import Connection, Database
from storage import audit as repo
from storage.audit import AuditEntry

DEFAULT_SHOWN = 20
MAX_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Actor:
    channel: str
    id: str
    role: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.channel}:{self.id}"


def cli_actor() -> Actor:
    """Whoever runs the CLI on the server can open the database: they act as an administrator."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "?"
    return Actor("cli", user, "admin")


async def record_cli(db: Database, action: str, target: str | None, **detail: object) -> None:
    """One audit row for a command-line act (actor ``cli:<os user>``), in a transaction of its own."""
    async with db.transaction() as conn:
        await record(conn, cli_actor(), action, target, **detail)


async def actor_of(turn: Turn) -> Actor:
    role = await roles.role_of(turn.conn, turn.settings, turn.msg.channel, turn.msg.user_id)
    return Actor(turn.msg.channel, turn.msg.user_id, role)


async def record(conn: Connection, actor: Turn | Actor, action: str, target: str | None, *,
                 now: datetime | None = None, **detail: object) -> None:
    """One audit row. With a turn, the time is the turn's and the role is looked up; else ``now`` or the clock."""
    who = await actor_of(actor) if isinstance(actor, Turn) else actor
    when = now or (actor.now if isinstance(actor, Turn) else system_clock())
    await repo.insert_entry(
        conn, at=iso(when), actor_channel=who.channel, actor_id=who.id, role=who.role, action=action,
        target=target, detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )


SAFE_TARGET = re.compile(r"^[\w:.#-]{1,40}$")


async def audit_command(turn: Turn, command_line: str) -> None:
    """Every staff command typed in the chat: the command and its first word when it names something (an id, a
    code); the rest (an answer's text, an announcement) is not copied: the audit log keeps no one's words."""
    command, _, args = command_line.partition(" ")
    first = args.split(maxsplit=1)[0] if args.strip() else ""
    await record(turn.conn, turn, "command", command + (f" {first}" if SAFE_TARGET.match(first) else ""))


def action_label(action: str, lang: str) -> str:
    entry = catalogue().get(f"roles.action_{action}")
    return (entry.get(lang) or entry["vi"]) if entry else action


def entry_line(entry: AuditEntry, turn: Turn) -> str:
    return format_entry(entry, turn.settings, turn.lang)


def format_entry(entry: AuditEntry, settings: Settings, lang: str) -> str:
    """One readable line: local time as Vietnamese write it, who, their role, what, on what."""
    local = datetime.fromisoformat(entry.at).astimezone(settings.tz)
    detail = json.loads(entry.detail or "{}")
    extra = ", ".join(f"{key}={value}" for key, value in detail.items())
    return t("roles.audit_line", lang, at=f"{local:%H:%M} {local.day}/{local.month}/{local.year}",
             actor=f"{entry.actor_channel}:{entry.actor_id}", role=entry.role or "—",
             action=action_label(entry.action, lang), target=entry.target or "—",
             detail=f" ({extra})" if extra else "")


async def cmd_audit(turn: Turn, args: str) -> None:
    """``/audit [n]``: the last n entries (20 unless told, at most 200)."""
    wanted = args.strip()
    if wanted and not wanted.isdigit():
        turn.say("roles.audit_usage")
        return
    limit = min(int(wanted or DEFAULT_SHOWN), MAX_SHOWN) or DEFAULT_SHOWN
    entries = await repo.last_entries(turn.conn, limit)
    if not entries:
        turn.say("roles.audit_empty")
        return
    lines = [turn.t("roles.audit_header", count=len(entries))]
    lines.extend(entry_line(entry, turn) for entry in entries)
    turn.say_text("\n".join(lines))

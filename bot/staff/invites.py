"""Staff invitations: ``/invite officer ap=tan-hau`` makes a one-time, expiring deep link; the invited person taps
it (``/start inv-<token>``) and gets the role and scope.

Only the SHA-256 of a token is stored and nothing logs or audits the token itself, so neither a copy of the
database nor the audit log can open the door. Telegram allows 64 characters of ``A-Za-z0-9_-`` in a start
payload; ``inv-`` and a 24-character ``secrets.token_urlsafe`` token fit with room to spare.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.clock import iso
from bot.core.config import Settings, Unit
from bot.core.errors import Refusal
from bot.core.text import fold
from bot.core.turn import Turn
from bot.core.types import Message
from bot.core.vntime import parse_offset, vn_datetime
from bot.staff import audit, roles
from bot.staff.roles import RANK, Scope
from storage import Connection
from storage import invites as repo
from storage.invites import Invite

PREFIX = "inv-"
TOKEN_BYTES = 18  # 24 URL-safe characters, 144 bits
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,60}$")
DEFAULT_TTL = timedelta(hours=72)
MIN_TTL, MAX_TTL = timedelta(hours=1), timedelta(days=30)
ROLE_WORDS = {"officer": "officer", "can bo": "officer", "canbo": "officer", "organizer": "organizer",
              "ban to chuc": "organizer", "to chuc": "organizer", "btc": "organizer"}
KEY_WORDS = {
    "ap": "hamlets", "thon": "hamlets", "khom": "hamlets", "xa": "hamlets", "cum": "hamlets", "hamlet": "hamlets",
    "hamlets": "hamlets", "unit": "hamlets", "linh vuc": "fields", "linhvuc": "fields", "field": "fields",
    "fields": "fields", "chu de": "topics", "chude": "topics", "topic": "topics", "topics": "topics",
    "han": "ttl", "het han": "ttl", "expires": "ttl", "ttl": "ttl",
}
KEY = re.compile(r"(?:^|\s)([^\s=,]+)\s*=")


class InviteError(Refusal):
    """An /invite that cannot be made as written (unknown role, key, hamlet, field; a bad duration)."""


@dataclass(slots=True)
class InviteRequest:
    role: str
    scope: Scope = field(default_factory=Scope)
    ttl: timedelta = DEFAULT_TTL


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_request(settings: Settings, args: str) -> InviteRequest:
    """``officer linh-vuc=giam-ngheo ap=tan-hau,tan-dan han=48h``: ids or names, accents optional. Raises
    InviteError with the catalogue key of what is wrong."""
    words = args.split()
    role, used = _role(words)
    if role is None:
        raise InviteError("roles.invite_usage")
    rest = " ".join(words[used:])
    found: dict[str, list[str]] = {"fields": [], "topics": [], "hamlets": []}
    ttl = DEFAULT_TTL
    for key, value in _pairs(rest):
        if key == "ttl":
            ttl = _ttl(value)
            continue
        for item in (part.strip() for part in value.split(",")):
            if item:
                found[key].extend(_match(settings, key, item))
    scope = Scope(*(tuple(dict.fromkeys(found[k])) for k in ("fields", "topics", "hamlets")))
    if role == "organizer" and scope != roles.EVERYTHING:
        raise InviteError("roles.organizer_no_scope")
    return InviteRequest(role, scope, ttl)


def _role(words: list[str]) -> tuple[str | None, int]:
    for size in (3, 2, 1):
        role = ROLE_WORDS.get(fold(" ".join(words[:size]))) if len(words) >= size else None
        if role is not None:
            return role, size
    return None, 0


def _pairs(text: str) -> list[tuple[str, str]]:
    """``ap=Tân Hậu, Tân Dân linh-vuc=giam-ngheo`` → [("hamlets", "Tân Hậu, Tân Dân"), ("fields", "giam-ngheo")]."""
    matches = list(KEY.finditer(text))
    if (matches and text[:matches[0].start()].strip()) or (not matches and text.strip()):
        raise InviteError("roles.invite_usage")
    pairs = []
    for index, match in enumerate(matches):
        key = KEY_WORDS.get(fold(match.group(1)))
        if key is None:
            raise InviteError("roles.invite_bad_key", name=match.group(1))
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        pairs.append((key, text[match.end():end].strip()))
    return pairs


def _ttl(value: str) -> timedelta:
    try:
        ttl = timedelta(minutes=parse_offset(value))
    except ValueError:
        raise InviteError("roles.invite_bad_ttl", value=value) from None
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise InviteError("roles.invite_bad_ttl", value=value)
    return ttl


def _match(settings: Settings, key: str, item: str) -> list[str]:
    if key == "hamlets":
        return _match_unit(settings, item)
    if key == "fields":
        named = [(f.id, f.name) for f in settings.fields]
        unknown_key = "roles.unknown_field"
    else:
        named = [(topic.id, topic.name) for f in settings.fields for topic in f.topics]
        unknown_key = "roles.unknown_topic"
    wanted = fold(item)
    exact = [i for i, name in named if item == i or fold(name) == wanted]
    partial = [i for i, name in named if wanted and f" {wanted} " in f" {fold(name)} "]
    found = exact or partial
    if len(found) == 1:
        return found
    known = ", ".join(f"{i} ({name})" for i, name in named if i in found or not found)
    raise InviteError(unknown_key if not found else "roles.ambiguous", item=item, known=known)


def _match_unit(settings: Settings, item: str) -> list[str]:
    """A hamlet by id or name ("tan-hau", "Tân Hậu", "ấp tân hậu"); a commune or cluster means all its hamlets."""
    wanted = fold(item)
    for unit in settings.iter_units():
        folded = fold(unit.name)
        if item == unit.id or wanted in (folded, folded.split(" ", 1)[-1]):
            return [leaf.id for leaf in _leaves(unit)]
    known = ", ".join(f"{u.id} ({u.name})" for u in settings.hamlets())
    raise InviteError("roles.unknown_hamlet", item=item, known=known)


def _leaves(unit: Unit) -> list[Unit]:
    return [unit] if unit.is_leaf else [leaf for child in unit.children for leaf in _leaves(child)]


async def create(turn: Turn, request: InviteRequest) -> str:
    """Store a new invite made by the speaker; returns the token (shown once, never stored)."""
    actor = await audit.actor_of(turn)
    return await create_for(turn.conn, actor, request, turn.now)


async def create_for(conn: Connection, actor: audit.Actor, request: InviteRequest, now: datetime) -> str:
    """Store a new invite made by ``actor`` (from the chat or the web desk); returns the token, never stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    digest = token_hash(token)
    expires = now + request.ttl
    await repo.insert_invite(conn, Invite(
        token_hash=digest, role=request.role, scope=request.scope.to_json(), created_by=actor.ref,
        created_at=iso(now), expires_at=iso(expires), used_at=None, used_by=None,
    ))
    await audit.record(conn, actor, "invite", digest[:12], now=now, role=request.role,
                       scope=request.scope.to_json(), expires_at=iso(expires))
    return token


def link(turn: Turn, token: str) -> str:
    return link_for(turn.context.bot_username, token)


def link_for(username: str, token: str) -> str:
    return f"https://t.me/{username}?start={PREFIX}{token}" if username else f"/start {PREFIX}{token}"


async def cmd_invite(turn: Turn, args: str) -> None:
    """``/invite officer [scope…]`` (organizers and admins) or ``/invite organizer`` (admins only)."""
    if not args.strip():
        turn.say("roles.invite_usage")
        return
    request = parse_request(turn.settings, args)
    role = await roles.role_of(turn.conn, turn.settings, turn.msg.channel, turn.msg.user_id)
    if role is None or RANK[role] <= RANK[request.role]:
        raise InviteError("roles.invite_not_allowed", role=turn.t(f"roles.role_{request.role}"))
    token = await create(turn, request)
    expires = vn_datetime(turn.now + request.ttl, turn.settings.tz)
    how = "roles.invite_forward_link" if turn.context.bot_username else "roles.invite_forward_command"
    turn.say("roles.invite_created", role=turn.t(f"roles.role_{request.role}"), expires=expires,
             scope=roles.describe_scope(request.scope, turn.settings, turn.lang), how=turn.t(how))
    turn.replies.append(Message(link(turn, token)))


async def redeem(turn: Turn, payload: str) -> bool:
    """Handle ``/start inv-<token>``; False when the payload is not an invitation at all."""
    if not payload.startswith(PREFIX):
        return False
    token = payload[len(PREFIX):]
    invite = await repo.get_invite(turn.conn, token_hash(token)) if TOKEN.match(token) else None
    refusal = _refusal(turn, invite)
    if refusal is not None:
        turn.say(refusal)
        return True
    assert invite is not None
    channel, user_id = turn.msg.channel, turn.msg.user_id
    current = await roles.role_of(turn.conn, turn.settings, channel, user_id)
    if current is not None and RANK[current] > RANK[invite.role]:
        turn.say("roles.invite_not_needed", role=turn.t(f"roles.role_{current}"))  # the invite stays unused
        turn.show_prompt = False
        return True
    if not await repo.mark_used(turn.conn, invite.token_hash, f"{channel}:{user_id}", iso(turn.now)):
        turn.say("roles.invite_used")
        return True
    scope = Scope.from_json(invite.scope)
    name = turn.session.person.full_name or turn.msg.display_name or None
    await roles.grant(turn.conn, channel, user_id, invite.role, name, iso(turn.now), scope)
    await audit.record(turn.conn, turn, "grant", f"{channel}:{user_id}", role=invite.role, scope=invite.scope,
                       invite=invite.token_hash[:12], invited_by=invite.created_by)
    turn.show_prompt = False
    turn.say(f"roles.welcome_{invite.role}", scope=roles.describe_scope(scope, turn.settings, turn.lang))
    return True


def _refusal(turn: Turn, invite: Invite | None) -> str | None:
    if invite is None:
        return "roles.invite_unknown"
    if invite.used_at:
        return "roles.invite_used"
    if datetime.fromisoformat(invite.expires_at) <= turn.now:
        return "roles.invite_expired"
    return None

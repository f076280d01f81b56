"""Signing in to the web desk without a password: a staff member sends ``/web`` to the bot and gets a link that
works once, for ten minutes; opening it sets a session cookie for twelve hours.

Only the SHA-256 of a link's token and of a session's token is stored, so a copy of the database opens no door,
and neither token is ever logged or audited. The role is not stored in the session: every page asks
``roles.may`` again, so a revoked officer is shut out at the next click.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.clock import iso
from bot.core.config import Settings
from bot.core.turn import Turn
from bot.core.vntime import vn_datetime
from bot.staff import audit, roles
from bot.staff.audit import Actor
from storage import Connection, Database
from storage import web_sessions as repo
from storage.web_sessions import WebSession

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)
TOKEN_BYTES = 32
SIGNIN_PATH = "/signin/"
CHANNEL = "web"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DeskUser:
    """Who is at the desk: their chat identity (the desk is one more room for the same staff member)."""

    channel: str
    external_id: str
    role: str
    csrf: str
    session_hash: str

    @property
    def ref(self) -> str:
        return f"{self.channel}:{self.external_id}"

    def actor(self) -> Actor:
        """Audited as the same person as in the chat; the role is the one read at this request."""
        return Actor(self.channel, self.external_id, self.role)


async def make_link(conn: Connection, settings: Settings, channel: str, external_id: str, now: datetime) -> str:
    """A one-time sign-in link for this staff member (the caller checked their role)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await repo.insert_signin(conn, token_hash(token), channel, external_id, iso(now), iso(now + LINK_TTL))
    await audit.record(conn, Actor(channel, external_id, await roles.role_of(conn, settings, channel, external_id)),
                       "web_link", None, now=now)
    return f"{settings.web.base_url()}{SIGNIN_PATH}{token}"


async def cmd_web(turn: Turn, args: str) -> None:
    """``/web``: the sign-in link to the desk (whoever has the link can use it once, within ten minutes)."""
    link = await make_link(turn.conn, turn.settings, turn.msg.channel, turn.msg.user_id, turn.now)
    turn.say("staff.web_link", link=link, until=vn_datetime(turn.now + LINK_TTL, turn.settings.tz))


async def sign_in(db: Database, settings: Settings, token: str, now: datetime) -> tuple[str, WebSession] | None:
    """Use a sign-in link: a new session (its cookie token, the session) or None when the link is unknown, used,
    expired, or its owner has no staff role any more. The link is spent either way."""
    if not 16 <= len(token) <= 100:
        return None
    async with db.transaction() as conn:
        whose = await repo.use_signin(conn, token_hash(token), iso(now))
        if whose is None:
            return None
        channel, external_id = whose
        role = await roles.role_of(conn, settings, channel, external_id)
        if not roles.allows(role, "officer"):
            return None
        cookie = secrets.token_urlsafe(TOKEN_BYTES)
        session = WebSession(token_hash(cookie), channel, external_id, secrets.token_urlsafe(24), iso(now),
                             iso(now + SESSION_TTL))
        await repo.insert_session(conn, session)
        await audit.record(conn, Actor(channel, external_id, role), "web_signin", None, now=now)
    return cookie, session


async def desk_user(conn: Connection, settings: Settings, cookie: str | None, now: datetime) -> DeskUser | None:
    """The staff member behind a session cookie, with their role read now; None when signed out, expired, or no
    longer staff."""
    if not cookie or len(cookie) > 100:
        return None
    session = await repo.live_session(conn, token_hash(cookie), iso(now))
    if session is None:
        return None
    role = await roles.role_of(conn, settings, session.channel, session.external_id)
    if not roles.allows(role, "officer"):
        return None
    assert role is not None
    return DeskUser(session.channel, session.external_id, role, session.csrf, session.token_hash)


async def sign_out(db: Database, user: DeskUser, now: datetime) -> None:
    async with db.transaction() as conn:
        if await repo.end_session(conn, user.session_hash, iso(now)):
            await audit.record(conn, user.actor(), "web_signout", None, now=now)

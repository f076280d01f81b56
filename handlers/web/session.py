"""Who is at the desk (the session cookie), in which language, and the CSRF check of every form.

Every page asks ``signed_in(request, needed)``: the session's staff member and their role read NOW through
``roles.may`` — the same check the chat's commands use. Signed out: to the sign-in page; a role too low: 403.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bot.core.i18n import LANGUAGES
from bot.staff import roles
from bot.staff.web_signin import SESSION_TTL, DeskUser, desk_user
from handlers.web.desk import Desk

COOKIE = "doithoai_desk"
LANG_COOKIE = "doithoai_lang"
CSRF_FIELD = "csrf"


class SignedOut(Exception):
    """No live session: the page answers with the sign-in page (no content of the desk)."""


def desk(request: Request) -> Desk:
    return request.app.state.desk


def lang_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else desk(request).settings.bot.language


async def current(request: Request) -> DeskUser | None:
    found = desk(request)
    async with found.db.reading() as conn:
        return await desk_user(conn, found.settings, request.cookies.get(COOKIE), found.clock())


async def signed_in(request: Request, needed: str = "officer") -> DeskUser:
    """The staff member of this request with at least ``needed``, checked at this moment; else SignedOut / 403."""
    user = await current(request)
    if user is None:
        raise SignedOut
    found = desk(request)
    async with found.db.reading() as conn:
        allowed = await roles.may(conn, found.settings, user.channel, user.external_id, needed)
    if not allowed:
        raise HTTPException(403)
    return user


async def form_of(request: Request, user: DeskUser) -> FormData:
    """The posted form, refused (403) without this session's CSRF token."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), user.csrf.encode()):
        raise HTTPException(403)
    return form


def text_field(form: FormData, name: str, limit: int = 10_000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def cookie_options(request: Request) -> dict[str, Any]:
    """HttpOnly, SameSite=Lax, Secure behind https (nginx sends X-Forwarded-Proto; uvicorn reads it), 12 h."""
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https",
            "max_age": int(SESSION_TTL.total_seconds()), "path": "/"}

"""Signing in and out. ``/web`` in the chat gives a link ``/signin/<token>``; opening it shows one button (a chat
app's link preview only GETs, so it cannot spend the link); pressing it spends the link and sets the cookie."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.core.i18n import LANGUAGES
from bot.staff.web_signin import sign_in, sign_out
from handlers.web.render import page
from handlers.web.session import COOKIE, LANG_COOKIE, cookie_options, current, desk, form_of

NONCE_COOKIE = "doithoai_signin"
NONCE_TTL_S = 600


async def signin_page(request: Request) -> Response:
    return page(request, "signin.html", await current(request))


async def signin_link(request: Request) -> Response:
    """The button page. It also sets a short-lived nonce cookie that the button's form repeats: a page of another
    site posting a sign-in link of its own (to sign the officer into someone else's session) has neither."""
    nonce = secrets.token_urlsafe(24)
    response = page(request, "signin_link.html", None, token=request.path_params["token"], nonce=nonce)
    response.set_cookie(NONCE_COOKIE, nonce, max_age=NONCE_TTL_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/signin")
    return response


async def signin_use(request: Request) -> Response:
    found = desk(request)
    form = await request.form()
    given, expected = form.get("nonce"), request.cookies.get(NONCE_COOKIE, "")
    if not isinstance(given, str) or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return page(request, "signin.html", None, refused=True, status=403)
    made = await sign_in(found.db, found.settings, request.path_params["token"], found.clock())
    if made is None:
        return page(request, "signin.html", None, refused=True, status=403)
    cookie, _ = made
    response = RedirectResponse("/overview", status_code=303)
    response.set_cookie(COOKIE, cookie, **cookie_options(request))
    response.delete_cookie(NONCE_COOKIE, path="/signin")
    return response


async def signout(request: Request) -> Response:
    user = await current(request)
    if user is not None:
        await form_of(request, user)
        found = desk(request)
        await sign_out(found.db, user, found.clock())
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


async def language(request: Request) -> Response:
    """Switch the desk's language (a cookie); back to the page it was asked from."""
    code = request.path_params["code"]
    back = request.query_params.get("next", "/questions")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/questions"
    response = RedirectResponse(back, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response


ROUTES = [
    Route("/signin", signin_page, methods=["GET"]),
    Route("/signin/{token}", signin_link, methods=["GET"]),
    Route("/signin/{token}", signin_use, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/lang/{code}", language, methods=["GET"]),
]

"""The one ASGI application of ``doithoai run``: the desk's pages, the channels' webhooks, /healthz, the static
files shipped in the package (htmx and the style sheet: nothing is loaded from the internet)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from handlers.base import WebhookRoute
from handlers.web import (
    announcements,
    audit,
    checkin,
    dialogues,
    health,
    overview,
    paper_form,
    questions,
    reports,
    roster,
    signin,
    staff,
    submission,
)
from handlers.web.desk import Desk
from handlers.web.render import page
from handlers.web.session import SignedOut, current


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused past ``limit`` bytes (the declared length first, then what actually comes)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_endpoint(route: WebhookRoute) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            body = await read_body(request, route.max_body)
        except BodyTooLarge:
            return Response(status_code=413)
        except ClientDisconnect:
            return Response(status_code=400)
        status, answer = await route.handle(request.headers, body)
        return Response(answer, status_code=status, media_type="application/json" if answer else None)

    return Route(route.url_path, endpoint, methods=["POST"])


async def signed_out(request: Request, exc: Exception) -> Response:
    """A page asked without a live session: the sign-in page, nothing of the desk (401)."""
    return page(request, "signin.html", None, status=401)


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if request.url.path.startswith("/static/") or (request.method == "POST" and status in (400, 413)):
        return Response(status_code=status)
    return page(request, "error.html", await current(request), status=status, code=status)


def build_app(desk: Desk, webhooks: Sequence[WebhookRoute] = ()) -> Starlette:
    routes = [webhook_endpoint(route) for route in webhooks]
    for module in (health, signin, overview, questions, submission, paper_form, dialogues, checkin, roster,
                   announcements, reports, staff, audit):
        routes.extend(module.ROUTES)
    routes.append(Mount("/static", StaticFiles(packages=[("handlers.web", "static")]), name="static"))
    app = Starlette(routes=routes, exception_handlers={SignedOut: signed_out, HTTPException: http_error})
    app.state.desk = desk
    return app


def webhooks_only(webhooks: Sequence[WebhookRoute]) -> Starlette:
    """Just the channels' webhooks (a channel tested on its own)."""
    return Starlette(routes=[webhook_endpoint(route) for route in webhooks])

"""``/healthz``: the database reachable, each channel's state, the outbox backlog, the last heartbeat (for a
monitor or nginx; no one's data in it)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handlers.web.session import desk
from storage import heartbeat
from storage import outbox as outbox_repo

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    found = desk(request)
    body: dict[str, object] = {"channels": dict(found.channel_states())}
    try:
        async with found.db.reading() as conn:
            tally = await outbox_repo.tally(conn)
            body["last_heartbeat"] = await heartbeat.last(conn, found.heartbeat_name)
        body["database"] = "ok"
        body["outbox_backlog"] = tally.get("pending", 0) + tally.get("sending", 0)
    except Exception as exc:
        log.warning("healthz: the database cannot be read (%s)", type(exc).__name__)
        body["database"] = "unreachable"
        return JSONResponse(body, status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


ROUTES = [Route("/healthz", healthz, methods=["GET"])]

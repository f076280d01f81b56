"""Nhật ký: the audit log, newest first, filterable by action, person and target (administrators, as ``/audit``)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.i18n import catalogue
from bot.staff.audit import action_label
from handlers.web.render import page
from handlers.web.session import desk, lang_of, signed_in
from storage import desk as repo

PAGE_SIZE = 100


async def audit_page(request: Request) -> Response:
    user = await signed_in(request, "admin")
    found = desk(request)
    lang = lang_of(request)
    params = request.query_params
    action, actor, target = (params.get(k, "").strip()[:100] for k in ("action", "actor", "target"))
    raw = params.get("page", "1")
    number = max(1, min(int(raw), 100_000)) if raw.isdigit() else 1
    async with found.db.reading() as conn:
        rows, total = await repo.audit_page(conn, action=action, actor=actor, target=target,
                                            offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    actions = sorted(key.removeprefix("roles.action_") for key in catalogue() if key.startswith("roles.action_"))
    shown = [(at, f"{channel}:{who}", role or "—", action_label(act, lang), what or "—", _detail(detail))
             for _, at, channel, who, role, act, what, detail in rows]
    return page(request, "audit.html", user, rows=shown, total=total, number=number,
                pages=max(1, -(-total // PAGE_SIZE)), actions=[(a, action_label(a, lang)) for a in actions],
                chosen={"action": action, "actor": actor, "target": target})


def _detail(raw: str | None) -> str:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return ""
    return ", ".join(f"{key}={value}" for key, value in data.items())


ROUTES = [Route("/audit", audit_page, methods=["GET"])]

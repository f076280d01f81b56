"""Pages from the Jinja2 templates, every word from the catalogue (``bot/messages/desk.toml``) in the reader's
language; dates and times as Vietnamese write them, in the commune's time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.core.i18n import catalogue, t
from bot.staff.web_signin import DeskUser
from handlers.web.session import desk, lang_of

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self';"
                               " script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_ENV = Environment(loader=PackageLoader("handlers.web", "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def label(key: str, lang: str, **values: Any) -> str:
    """A catalogue text; a key that is not there falls back to its last part (a status or kind id)."""
    return t(key, lang, **values) if key in catalogue() else key.rsplit(".", 1)[-1]


def page(request: Request, template: str, user: DeskUser | None, *, status: int = 200, **context: Any
         ) -> HTMLResponse:
    lang = lang_of(request)
    settings = desk(request).settings

    def local(stamp: str | None) -> str:
        if not stamp:
            return "—"
        moment = datetime.fromisoformat(stamp).astimezone(settings.tz)
        return f"{moment:%H:%M} {moment.day}/{moment.month}/{moment.year}"

    html = _ENV.get_template(template).render(
        request=request, user=user, lang=lang, settings=settings, local=local,
        t=lambda key, **values: label(f"desk.{key}", lang, **values),
        any_t=lambda key, **values: label(key, lang, **values), **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)

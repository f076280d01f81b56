"""Nhập phiếu giấy: a hamlet head types in a paper form or a phone call for a household without a smartphone
(bot/form/paper_entry.py stores it like any other submission, marked as entered by them, consent on paper)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.answers.service import viewer_for
from bot.form.paper_entry import SOURCES, PaperEntryError, PaperForm, enter
from bot.form.states import CATEGORIES, KINDS
from handlers.web.questions import viewer
from handlers.web.render import page
from handlers.web.session import desk, form_of, lang_of, signed_in, text_field

FIELDS = ("full_name", "hamlet_id", "category", "phone", "kind", "topic_id", "content", "source")


def _choices(request: Request, scope_hamlets: tuple[str, ...], scope_fields: tuple[str, ...],
             scope_topics: tuple[str, ...]) -> dict[str, object]:
    settings = desk(request).settings
    hamlets = [u for u in settings.hamlets() if not scope_hamlets or u.id in scope_hamlets]
    everything = not (scope_fields or scope_topics)
    topics = [(f, topic) for f in settings.fields for topic in f.topics
              if everything or f.id in scope_fields or topic.id in scope_topics]
    return {"hamlets": hamlets, "topics": topics, "categories": CATEGORIES, "kinds": KINDS, "sources": SOURCES}


async def form_page(request: Request) -> Response:
    user = await signed_in(request)
    seen = await viewer(desk(request), user)
    scope = seen.scope
    return page(request, "paper_form.html", user, values={"source": "paper", "kind": "question"},
                **_choices(request, scope.hamlets, scope.fields, scope.topics))


async def submit(request: Request) -> Response:
    user = await signed_in(request)
    form = await form_of(request, user)
    found = desk(request)
    values = {name: text_field(form, name, found.settings.bot.max_text_length + 1) for name in FIELDS}
    paper = PaperForm(**values)
    try:
        async with found.db.transaction() as conn:
            seen = await viewer_for(conn, found.settings, user.channel, user.external_id)
            sub = await enter(conn, found.settings, user.actor(), seen.scope, paper, found.clock())
    except PaperEntryError as refusal:
        seen = await viewer(found, user)
        scope = seen.scope
        return page(request, "paper_form.html", user, values=values, error=refusal.text(lang_of(request)),
                    status=400, **_choices(request, scope.hamlets, scope.fields, scope.topics))
    return RedirectResponse(f"/questions/{sub.id}?note=paper_saved", status_code=303)


ROUTES = [
    Route("/paper", form_page, methods=["GET"]),
    Route("/paper", submit, methods=["POST"]),
]

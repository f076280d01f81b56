"""One submission: its text, voice note (played in the page) or photo, the household (name, hamlet, category, phone:
shown only to whoever's scope holds the submission), its history; the status and the answer, set through the same
code as the chat's ``/status`` and ``/answer`` (bot/answers/service.py), so the household hears it through the
outbox exactly as from the chat. A submission outside the viewer's scope is "not found", like one that does not
exist: the two are never told apart."""

from __future__ import annotations

import json
import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.answers import service as answers
from bot.answers.chat import MIN_ANSWER
from bot.answers.service import SETTABLE, AnswerError, viewer_for, visible
from bot.core.events import OUTBOX_QUEUED
from bot.core.phone import display_phone
from bot.staff import audit
from bot.staff.audit import action_label
from bot.staff.web_signin import DeskUser
from handlers.web.render import page
from handlers.web.session import desk, form_of, lang_of, signed_in, text_field
from storage import Connection, people
from storage import desk as repo
from storage.records import Submission

log = logging.getLogger(__name__)
MEDIA_TYPES = {"voice": "audio/ogg", "audio": "audio/mpeg", "photo": "image/jpeg"}
MAX_ANSWER = 4000


async def _visible(request: Request, user: DeskUser) -> Submission:
    found = desk(request)
    async with found.db.reading() as conn:
        return await _visible_in(conn, request, user)


async def _visible_in(conn: Connection, request: Request, user: DeskUser) -> Submission:
    """The submission of the path if the user's role and scope let them see it now; else 404 (never told why)."""
    found = desk(request)
    raw = request.path_params["id"]
    seen = await viewer_for(conn, found.settings, user.channel, user.external_id)
    sub = await visible(conn, seen, int(raw) if raw.isdigit() and len(raw) < 10 else None)
    if sub is None:
        raise HTTPException(404)
    return sub


async def show(request: Request) -> Response:
    user = await signed_in(request)
    found = desk(request)
    sub = await _visible(request, user)
    async with found.db.transaction() as conn:
        await audit.record(conn, user.actor(), "view", sub.code, now=found.clock())   # as the chat's /answer does
    async with found.db.reading() as conn:
        person = await people.get_person(conn, sub.person_id) if sub.person_id is not None else None
        paper = await repo.paper_mark(conn, sub.id)
        history = await repo.history(conn, sub.code)
    lang = lang_of(request)
    settings = found.settings
    topic = settings.topic(sub.topic_id)
    unit = settings.unit(sub.hamlet_id) if sub.hamlet_id else None
    events = [(at, who, action_label(action, lang), _detail(detail)) for at, who, action, _, detail in history]
    return page(request, "submission.html", user, sub=sub, person=person, paper=paper, history=events,
                phone=display_phone(person.phone) if person and person.phone else "",
                hamlet=unit.name if unit else "—", field_name=topic[0].name if topic else sub.field_id,
                topic_name=topic[1].name if topic else sub.topic_id,
                statuses=SETTABLE, note=request.query_params.get("note", ""), min_answer=MIN_ANSWER)


def _detail(raw: str) -> str:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return ""
    return ", ".join(f"{key}={value}" for key, value in data.items() if key in ("before", "status", "source"))


async def set_status(request: Request) -> Response:
    user = await signed_in(request)
    form = await form_of(request, user)
    found = desk(request)
    status = text_field(form, "status", 40)
    if status not in SETTABLE:
        raise HTTPException(400)
    note = "status_saved"
    try:
        async with found.db.transaction() as conn:
            sub = await _visible_in(conn, request, user)
            changed = await answers.change_status(conn, found.settings, user.actor(), sub, status, found.clock())
    except AnswerError:
        note = "withdrawn"
        sub = await _visible(request, user)
    else:
        if changed:
            await found.events.emit(OUTBOX_QUEUED)
    return RedirectResponse(f"/questions/{sub.id}?note={note}", status_code=303)


async def answer(request: Request) -> Response:
    user = await signed_in(request)
    form = await form_of(request, user)
    found = desk(request)
    text = text_field(form, "answer", MAX_ANSWER + 1).strip()
    if not MIN_ANSWER <= len(text) <= MAX_ANSWER:
        return RedirectResponse(f"/questions/{request.path_params['id']}?note=answer_length", status_code=303)
    try:
        async with found.db.transaction() as conn:
            sub = await _visible_in(conn, request, user)
            queued = await answers.record_answer(conn, found.settings, user.actor(), sub, text, found.clock())
    except AnswerError:
        return RedirectResponse(f"/questions/{request.path_params['id']}?note=withdrawn", status_code=303)
    if queued:
        await found.events.emit(OUTBOX_QUEUED)
    return RedirectResponse(f"/questions/{sub.id}?note={'answer_sent' if queued else 'answer_saved'}",
                            status_code=303)


async def media(request: Request) -> Response:
    """The voice note or photo, fetched from its channel (nothing is kept on disk)."""
    user = await signed_in(request)
    sub = await _visible(request, user)
    fetch = desk(request).file_fetchers.get(sub.channel)
    if not sub.media_kind or not sub.media_file_id or fetch is None:
        raise HTTPException(404)
    try:
        body = await fetch(sub.media_file_id)
    except Exception as exc:
        log.warning("the %s of %s could not be fetched: %s", sub.media_kind, sub.code, type(exc).__name__)
        raise HTTPException(502) from None
    return Response(body, media_type=MEDIA_TYPES.get(sub.media_kind, "application/octet-stream"),
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


ROUTES = [
    Route("/questions/{id}", show, methods=["GET"]),
    Route("/questions/{id}/status", set_status, methods=["POST"]),
    Route("/questions/{id}/answer", answer, methods=["POST"]),
    Route("/questions/{id}/media", media, methods=["GET"]),
]

"""Danh sách hộ (the roster of a dialogue): upload a CSV or XLSX through the same ``import_roster`` the chat's
/roster and the CLI use; the rows that failed with their line numbers and reasons; search the roster (accents
optional) and see who registered. Organizers only: the roster names every household of the commune."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.errors import Refusal
from bot.core.phone import normalize_phone
from bot.core.text import fold
from bot.dialogues.roster import ImportReport, RosterError, import_roster
from bot.staff import audit
from bot.staff.web_signin import DeskUser
from handlers.web.render import label, page
from handlers.web.session import desk, form_of, lang_of, signed_in, text_field
from storage import desk_views
from storage import dialogues as repo
from storage.desk_views import RosterHit

ORGANIZER = "organizer"
MAX_UPLOAD = 50 * 1024 * 1024
SHOWN = 100
SCAN_BATCH = 5000


async def _search(request: Request, dialogue_id: str, query: str, registered_only: bool) -> tuple[list[RosterHit], int]:
    """The roster entries matching the words (name, household code or phone), at most ``SHOWN``; and the size."""
    found = desk(request)
    words = fold(query).split()
    phone = normalize_phone(query) if query.strip() else None
    hits: list[RosterHit] = []
    after = 0
    async with found.db.reading() as conn:
        size = await repo.roster_size(conn, dialogue_id)
        while len(hits) < SHOWN:
            batch = await desk_views.roster_search(conn, dialogue_id, limit=SCAN_BATCH, after_id=after)
            if not batch:
                break
            after = batch[-1].id
            for hit in batch:
                haystack = fold(f"{hit.full_name} {hit.household_code}")
                matches = all(word in haystack for word in words) or (phone is not None and hit.phone == phone)
                if matches and (hit.registration is not None or not registered_only):
                    hits.append(hit)
    return hits[:SHOWN], size


async def _page(request: Request, user: DeskUser, chosen: str, *, report: ImportReport | None = None,
                error: str = "", status: int = 200) -> Response:
    found = desk(request)
    async with found.db.reading() as conn:
        listed = await repo.list_dialogues(conn)
    dialogue = next((d for d in listed if d.id == chosen), None) or next(
        (d for d in listed if d.status in ("draft", "open", "closed")), None)
    query = request.query_params.get("q", "")[:100]
    registered_only = request.query_params.get("registered") == "1"
    hits, size = await _search(request, dialogue.id, query, registered_only) if dialogue else ([], 0)
    lang = lang_of(request)
    return page(request, "roster.html", user, dialogues=listed, dialogue=dialogue, hits=hits, size=size, q=query,
                registered_only=registered_only, report=report, error=error, status=status,
                errors=[(e.line, e.reason) for e in report.errors] if report else [],
                summary=report.summary(lang) if report else "",
                hamlet_names={u.id: u.name for u in found.settings.hamlets()})


async def roster_page(request: Request) -> Response:
    user = await signed_in(request, ORGANIZER)
    return await _page(request, user, request.query_params.get("dialogue", ""))


async def upload(request: Request) -> Response:
    user = await signed_in(request, ORGANIZER)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD:
        raise HTTPException(413)
    form = await form_of(request, user)
    found = desk(request)
    dialogue_id = text_field(form, "dialogue", 50)
    sent = form.get("file")
    lang = lang_of(request)
    if not isinstance(sent, UploadFile) or not sent.filename:
        return await _page(request, user, dialogue_id, error=label("desk.roster_no_file", lang),
                           status=400)
    data = await sent.read(MAX_UPLOAD + 1)
    try:
        report = await import_roster(found.db, found.settings, dialogue_id, data=data, filename=sent.filename,
                                     now=found.clock(), lang=lang)
    except (RosterError, Refusal) as refusal:
        return await _page(request, user, dialogue_id, error=refusal.text(lang), status=400)
    async with found.db.transaction() as conn:
        await audit.record(conn, user.actor(), "roster_import", dialogue_id, now=found.clock(),
                           rows=report.total_rows, added=report.added, bad=len(report.errors))
    return await _page(request, user, dialogue_id, report=report)


ROUTES = [
    Route("/roster", roster_page, methods=["GET"]),
    Route("/roster", upload, methods=["POST"]),
]

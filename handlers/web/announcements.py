"""Thông báo: compose an announcement (text, photo or file), choose its audience as in the chat's /broadcast
(households who blocked the bot or already got the same content are left out, and counted), see it as a Telegram
and a Zalo household will, with the count; send now or at a time, follow the progress live, see the tally by
outcome and channel, cancel a scheduled one, read the commune-radio script. Every step is bot/broadcast/service.py
(the same functions as the chat) and bot/broadcast/radio.py; organizers only, the radio script for officers too."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.broadcast import radio
from bot.broadcast import service as broadcast
from bot.broadcast.service import BROADCAST_CHANGED, Audience, BroadcastError
from bot.core.errors import Refusal
from bot.core.events import OUTBOX_QUEUED
from bot.core.vntime import parse_vn_datetime
from bot.form.states import CATEGORIES
from bot.staff import audit
from bot.staff.web_signin import DeskUser
from handlers.base import split_text
from handlers.web.desk import Desk
from handlers.web.render import page
from handlers.web.session import desk, form_of, lang_of, signed_in, text_field
from storage import broadcasts as repo
from storage import desk_views, people
from storage import dialogues as dialogue_repo
from storage.broadcasts import BroadcastRow

ORGANIZER = "organizer"
FILES_DIR = "broadcast-files"          # as the chat keeps them, beside the database
TELEGRAM_LIMIT = broadcast.MAX_TEXT    # UTF-16 units
ZALO_LIMIT = 2000                      # characters, text and caption alike (handlers/zalo/client.py)
LIST_LIMIT = 20
MAX_UPLOAD = broadcast.MAX_DOCUMENT_BYTES + 1024 * 1024


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", Path(name).name)[:80] or "tep"


def _inside(path: Path, folder: Path) -> bool:
    """A file the desk itself saved (never any path a row might hold)."""
    return path.is_file() and path.resolve().parent == folder.resolve()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _when(form: FormData, found: Desk) -> datetime | None:
    raw = text_field(form, "when", 40).strip()
    if not raw or form.get("timing") != "later":
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = parse_vn_datetime(raw, found.settings.tz)
        if moment is None:
            raise BroadcastError("broadcast.bad_time", text=raw[:40]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=found.settings.tz)
    return moment.astimezone(UTC)


def _audience(form: FormData) -> Audience:
    kind = text_field(form, "audience", 20)
    ref = {"dialogue": "dialogue_ref", "waitlist": "waitlist_ref", "hamlet": "hamlet_ref",
           "category": "category_ref"}.get(kind)
    return Audience.parse(f"{kind}:{text_field(form, ref, 60)}" if ref else kind)


async def _attach(found: Desk, broadcast_id: int, sent: object) -> dict[str, str]:
    """The photo or file chosen, saved beside the database as the chat saves them, checked as the chat checks."""
    if not isinstance(sent, UploadFile) or not sent.filename:
        return {}
    data = await sent.read(MAX_UPLOAD)
    name = _safe(sent.filename)
    path = Path(found.settings.database.path).parent / FILES_DIR / f"{broadcast_id}-{name}"
    await asyncio.to_thread(_write, path, data)
    photo = path.suffix.lower() in broadcast.PHOTO_SUFFIXES
    broadcast.check_file(path, photo=photo)
    if photo:
        return {"photo": "", "photo_path": str(path), "document_id": "", "document_path": "", "document_name": ""}
    return {"photo": "", "photo_path": "", "document_id": "", "document_path": str(path), "document_name": name}


async def _compose_page(request: Request, user: DeskUser, *, values: dict[str, object] | None = None,
                        error: str = "", status: int = 200) -> Response:
    found = desk(request)
    async with found.db.reading() as conn:
        rows = await repo.recent(conn, LIST_LIMIT)
        listed = [(row, await broadcast.report(conn, row)) for row in rows]
        current = await dialogue_repo.list_dialogues(conn, broadcast.CURRENT_DIALOGUES)
    lang = lang_of(request)
    labels = {row.id: broadcast.audience_label(found.settings, a, lang) if (a := Audience.from_json(row.audience))
              else "—" for row, _ in listed}
    return page(request, "announcements.html", user, listed=listed, labels=labels, dialogues=current,
                units=list(found.settings.iter_units()), categories=CATEGORIES,
                values=values or {"audience": "everyone", "timing": "now"}, error=error, status=status,
                limit=TELEGRAM_LIMIT, note=request.query_params.get("note", ""))


async def compose_page(request: Request) -> Response:
    user = await signed_in(request, ORGANIZER)
    return await _compose_page(request, user)


async def compose(request: Request) -> Response:
    """A draft from the form: its text, attachment, audience and time; then its preview."""
    user = await signed_in(request, ORGANIZER)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD:
        raise HTTPException(413)
    form = await form_of(request, user)
    found = desk(request)
    now = found.clock()
    try:
        text = broadcast.check_text(text_field(form, "text", broadcast.MAX_TEXT * 2))
        audience = _audience(form)
        when = _when(form, found)
        async with found.db.transaction() as conn:
            me = await people.identity_chat(conn, user.channel, user.external_id)
            broadcast_id = await broadcast.new_draft(conn, created_by=user.ref,
                                                     creator_person_id=me.person_id if me else None, now=now)
            await broadcast.edit(conn, broadcast_id, text=text, **await _attach(found, broadcast_id, form.get("file")))
            await broadcast.set_audience(conn, found.settings, broadcast_id, audience)
            await broadcast.set_time(conn, broadcast_id, when, now)
    except Refusal as refusal:
        values = {name: text_field(form, name, broadcast.MAX_TEXT * 2) for name in (
            "text", "audience", "dialogue_ref", "waitlist_ref", "hamlet_ref", "category_ref", "timing", "when")}
        return await _compose_page(request, user, values=values, error=refusal.text(lang_of(request)), status=400)
    return RedirectResponse(f"/announcements/{broadcast_id}", status_code=303)


async def _row_or_404(found: Desk, raw: str) -> BroadcastRow:
    async with found.db.reading() as conn:
        row = await repo.get(conn, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if row is None:
        raise HTTPException(404)
    return row


async def _tally(found: Desk, row: BroadcastRow, lang: str) -> dict[str, object]:
    """The tally as the chat's report gives it, by channel, and the Zalo OA's routes (the same lines as the chat)."""
    async with found.db.reading() as conn:
        report = await broadcast.report(conn, row)
        channels = await desk_views.by_channel(conn, row.group_key)
    return {"report": report, "channels": sorted(channels.items()),
            "routes": broadcast.route_lines(report.routes, lang), "live": report.waiting > 0 or row.status == "sending"}


async def show(request: Request) -> Response:
    user = await signed_in(request, ORGANIZER)
    found = desk(request)
    row = await _row_or_404(found, request.path_params["id"])
    lang = lang_of(request)
    audience = Audience.from_json(row.audience)
    context: dict[str, object] = {"row": row, "audience": broadcast.audience_label(found.settings, audience, lang)
                                  if audience else "—", "note": request.query_params.get("note", ""),
                                  "attachment": broadcast.attachment_note(row, lang)}
    if row.status == "draft":
        async with found.db.reading() as conn:
            try:
                households = await broadcast.households(conn, found.settings, audience, row.content_hash, row.id)
            except Refusal:
                households = []
        counts = broadcast.count(households)
        per_channel: dict[str, int] = {}
        for household in households:
            if not household.blocked and not household.already:
                per_channel[household.channel] = per_channel.get(household.channel, 0) + 1
        context.update(counts=counts, per_channel=sorted(per_channel.items()),
                       telegram=split_text(row.text, TELEGRAM_LIMIT, utf16=True), zalo=split_text(row.text, ZALO_LIMIT))
    else:
        context.update(await _tally(found, row, lang_of(request)))
    return page(request, "announcement.html", user, **context)


async def tally(request: Request) -> Response:
    """The live part of the page (htmx asks it every few seconds while messages are still going out)."""
    user = await signed_in(request, ORGANIZER)
    found = desk(request)
    row = await _row_or_404(found, request.path_params["id"])
    return page(request, "_tally.html", user, row=row, **await _tally(found, row, lang_of(request)))


async def send(request: Request) -> Response:
    user = await signed_in(request, ORGANIZER)
    await form_of(request, user)
    found = desk(request)
    row = await _row_or_404(found, request.path_params["id"])
    now = found.clock()
    try:
        async with found.db.transaction() as conn:
            sent = await broadcast.confirm(conn, found.settings, row.id, now)
            await audit.record(conn, user.actor(), "broadcast", f"#{sent.id}", now=now, recipients=sent.recipients)
    except Refusal as refusal:
        return RedirectResponse(f"/announcements/{row.id}?note={_refusal_note(refusal)}", status_code=303)
    await found.events.emit(OUTBOX_QUEUED)
    await found.events.emit(BROADCAST_CHANGED)
    return RedirectResponse(f"/announcements/{row.id}?note={sent.status}", status_code=303)


def _refusal_note(refusal: Refusal) -> str:
    return {"broadcast.nobody": "nobody", "broadcast.already_confirmed": "already"}.get(refusal.key, "refused")


async def cancel(request: Request) -> Response:
    user = await signed_in(request, ORGANIZER)
    await form_of(request, user)
    found = desk(request)
    row = await _row_or_404(found, request.path_params["id"])
    try:
        async with found.db.transaction() as conn:
            skipped = await broadcast.cancel(conn, row.id)
            await audit.record(conn, user.actor(), "broadcast_cancel", f"#{row.id}", now=found.clock(),
                               skipped=skipped)
    except Refusal:
        return RedirectResponse(f"/announcements/{row.id}?note=not_cancellable", status_code=303)
    await found.events.emit(BROADCAST_CHANGED)
    return RedirectResponse(f"/announcements/{row.id}?note=cancelled", status_code=303)


async def attachment(request: Request) -> Response:
    """The photo or file of an announcement, for its preview."""
    await signed_in(request, ORGANIZER)
    found = desk(request)
    row = await _row_or_404(found, request.path_params["id"])
    path = Path(row.photo_path or row.document_path or "")
    folder = Path(found.settings.database.path).parent / FILES_DIR
    if not path.name or not await asyncio.to_thread(_inside, path, folder):
        raise HTTPException(404)
    return FileResponse(path, filename=row.document_name or path.name,
                        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


async def radio_script(request: Request) -> Response:
    """The loudspeaker script of an announcement or a dialogue (the chat's /radio)."""
    user = await signed_in(request)
    found = desk(request)
    number = request.query_params.get("broadcast", "").lstrip("#")
    dialogue_id = request.query_params.get("dialogue", "")
    row = await _row_or_404(found, number) if number else None
    async with found.db.reading() as conn:
        current = await dialogue_repo.list_dialogues(conn, broadcast.CURRENT_DIALOGUES)
        if row is not None:
            script, source = radio.broadcast_script(found.settings, row.text), f"#{row.id}"
        else:
            chosen = await dialogue_repo.get_dialogue(conn, dialogue_id) if dialogue_id else None
            chosen = chosen or (current[0] if current else None)
            if chosen is None:
                raise HTTPException(404)
            script, source = await radio.dialogue_script(conn, found.settings, chosen.id), chosen.title
    return page(request, "radio.html", user, script=script, source=source, dialogues=current)


ROUTES = [
    Route("/announcements", compose_page, methods=["GET"]),
    Route("/announcements", compose, methods=["POST"]),
    Route("/announcements/radio", radio_script, methods=["GET"]),
    Route("/announcements/{id}", show, methods=["GET"]),
    Route("/announcements/{id}/tally", tally, methods=["GET"]),
    Route("/announcements/{id}/file", attachment, methods=["GET"]),
    Route("/announcements/{id}/send", send, methods=["POST"]),
    Route("/announcements/{id}/cancel", cancel, methods=["POST"]),
]

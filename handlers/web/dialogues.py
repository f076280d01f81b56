"""Buổi đối thoại: create and edit a dialogue (the same bot/dialogues/service.py functions as /newdialogue,
/settime, /setplace, /setquota, /opendialogue... so registered households get the same notices and the reminders are
re-planned on DIALOGUE_CHANGED); the registrations and waitlist per hamlet with "move up" and "cancel" (the household
is told); the reminder plan and what each wave sent. Officers read (their scope's hamlets only); organizers change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.core.config import SLUG, Settings
from bot.core.errors import Refusal
from bot.core.events import DIALOGUE_CHANGED, OUTBOX_QUEUED
from bot.core.vntime import parse_offset, parse_vn_datetime
from bot.dialogues import reminders
from bot.dialogues import service as dialogues
from bot.dialogues.service import DialogueError, DialogueSpec
from bot.staff import audit
from bot.staff.web_signin import DeskUser
from handlers.web.desk import Desk
from handlers.web.questions import viewer
from handlers.web.render import page
from handlers.web.session import desk, form_of, lang_of, signed_in, text_field
from storage import desk_views
from storage import dialogues as repo
from storage.dialogues import Dialogue

ORGANIZER = "organizer"


@dataclass(frozen=True, slots=True)
class Edit:
    """What the dialogue form says, read and checked before any change."""

    title: str
    starts_at: datetime | None
    place: str
    map_url: str | None
    quotas: dict[str, int]
    deadline_days: int
    reminder_minutes: list[int]
    requires_roster: bool
    contact: str
    status: str


async def visible_hamlets(found: Desk, user: DeskUser) -> tuple[str, ...]:
    """The hamlets whose households this staff member may see by name (their scope; organizers: all)."""
    scope = (await viewer(found, user)).scope
    return tuple(u.id for u in found.settings.hamlets() if not scope.hamlets or u.id in scope.hamlets)


def _number(form: FormData, name: str, default: int) -> int:
    raw = text_field(form, name, 6).strip()
    if not raw:
        return default
    if not raw.lstrip("-").isdigit():
        raise DialogueError("dialogues.bad_quota", quota=raw)
    return int(raw)


def _time(form: FormData, settings: Settings) -> datetime | None:
    if form.get("tba"):
        return None
    raw = text_field(form, "starts_at", 40).strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)        # the browser's date-time field: 2027-06-20T15:30
    except ValueError:
        moment = parse_vn_datetime(raw, settings.tz)  # typed as Vietnamese write it: 15:30 20/6/2027
        if moment is None:
            raise DialogueError("dialogues.bad_time", text=raw[:40]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.tz)
    return moment.astimezone(UTC)


def read_edit(form: FormData, settings: Settings) -> Edit:
    quotas = {}
    for unit in settings.hamlets():
        quota = _number(form, f"quota_{unit.id}", 0)
        if quota:
            quotas[unit.id] = quota
    try:
        offsets = [parse_offset(part) for part in text_field(form, "reminders", 200).replace(";", ",").split(",")
                   if part.strip()]
    except ValueError:
        raise DialogueError("dialogues.bad_reminders") from None
    return Edit(title=text_field(form, "title", 200), starts_at=_time(form, settings),
                place=text_field(form, "place", 300).strip(), map_url=text_field(form, "map_url", 500).strip() or None,
                quotas=quotas, deadline_days=_number(form, "deadline_days", 5), reminder_minutes=offsets,
                requires_roster=bool(form.get("requires_roster")), contact=text_field(form, "contact", 200),
                status=text_field(form, "status", 20) or "draft")


def offsets_text(minutes: list[int]) -> str:
    def one(value: int) -> str:
        if value % (24 * 60) == 0:
            return f"{value // (24 * 60)}d"
        return f"{value // 60}h" if value % 60 == 0 else f"{value}m"

    return ", ".join(one(value) for value in minutes)


async def list_page(request: Request) -> Response:
    user = await signed_in(request)
    found = desk(request)
    async with found.db.reading() as conn:
        listed = [(d, await dialogues.seats(conn, d.id)) for d in await repo.list_dialogues(conn)]
    return page(request, "dialogues.html", user, listed=listed, values=_blank(found.settings),
                can_edit=user.role in (ORGANIZER, "admin"), note=request.query_params.get("note", ""))


def _blank(settings: Settings) -> dict[str, object]:
    return {"reminders": "3d, 1d, 2h", "deadline_days": 5, "status": "draft", "quotas": {}}


def _values(form: FormData) -> dict[str, object]:
    values: dict[str, object] = {name: text_field(form, name, 500) for name in (
        "id", "title", "starts_at", "place", "map_url", "deadline_days", "reminders", "contact", "status")}
    values["tba"] = bool(form.get("tba"))
    values["requires_roster"] = bool(form.get("requires_roster"))
    values["quotas"] = {key.removeprefix("quota_"): text_field(form, key, 6)
                        for key in form if key.startswith("quota_")}
    return values


async def create(request: Request) -> Response:
    user = await signed_in(request, ORGANIZER)
    form = await form_of(request, user)
    found = desk(request)
    dialogue_id = text_field(form, "id", 50).strip().lower()
    try:
        if not SLUG.match(dialogue_id):
            raise DialogueError("staff.bad_id", id=dialogue_id[:50])
        edit = read_edit(form, found.settings)
        async with found.db.transaction() as conn:
            spec = DialogueSpec(id=dialogue_id, title=edit.title, starts_at=edit.starts_at, place=edit.place,
                                quotas=edit.quotas, map_url=edit.map_url, deadline_days=edit.deadline_days,
                                reminder_minutes=edit.reminder_minutes or [3 * 24 * 60, 24 * 60, 120],
                                requires_roster=edit.requires_roster, contact=edit.contact)
            await dialogues.create(conn, found.settings, spec, found.clock())
            await dialogues.set_plan(conn, dialogue_id, found.clock(), title=edit.title,
                                     deadline_days=edit.deadline_days, reminder_minutes=spec.reminder_minutes,
                                     requires_roster=edit.requires_roster, contact=edit.contact)
            if edit.status != "draft":
                await dialogues.set_status(conn, found.settings, dialogue_id, edit.status, found.clock())
            await audit.record(conn, user.actor(), "dialogue_create", dialogue_id, now=found.clock())
    except Refusal as refusal:
        async with found.db.reading() as conn:
            listed = [(d, await dialogues.seats(conn, d.id)) for d in await repo.list_dialogues(conn)]
        return page(request, "dialogues.html", user, listed=listed, values=_values(form), can_edit=True,
                    error=refusal.text(lang_of(request)), status=400)
    await _changed(found, dialogue_id)
    return RedirectResponse(f"/dialogues/{dialogue_id}?note=created", status_code=303)


async def _changed(found: Desk, dialogue_id: str) -> None:
    """As the chat's ``changed``: the reminders are re-planned and the notices go out."""
    await found.events.emit(DIALOGUE_CHANGED, dialogue_id)
    await found.events.emit(OUTBOX_QUEUED)


async def _dialogue_or_404(found: Desk, dialogue_id: str) -> Dialogue:
    async with found.db.reading() as conn:
        dialogue = await repo.get_dialogue(conn, dialogue_id)
    if dialogue is None:
        raise HTTPException(404)
    return dialogue


async def detail(request: Request, *, error: str = "", values: dict[str, object] | None = None,
                 status: int = 200) -> Response:
    user = await signed_in(request)
    found = desk(request)
    dialogue = await _dialogue_or_404(found, request.path_params["id"])
    hamlets = await visible_hamlets(found, user)
    now = found.clock()
    async with found.db.reading() as conn:
        counts = await dialogues.seats(conn, dialogue.id)
        people = await desk_views.registrants(conn, dialogue.id, hamlets)
        sent = await desk_views.wave_outcomes(conn, dialogue.id)
        done = await desk_views.waves_done(conn, dialogue.id)
        quotas = await repo.quotas(conn, dialogue.id)
    by_hamlet: dict[str, list[desk_views.Registrant]] = {}
    for person in people:
        by_hamlet.setdefault(person.hamlet_id, []).append(person)
    if values is None:
        values = {"title": dialogue.title, "place": dialogue.place, "map_url": dialogue.map_url or "",
                  "starts_at": dialogue.starts_at.astimezone(found.settings.tz).strftime("%Y-%m-%dT%H:%M")
                  if dialogue.starts_at else "", "tba": dialogue.starts_at is None,
                  "deadline_days": dialogue.deadline_days, "reminders": offsets_text(dialogue.reminder_minutes),
                  "requires_roster": dialogue.requires_roster, "contact": dialogue.contact,
                  "status": dialogue.status, "quotas": {key: str(value) for key, value in quotas.items()}}
    can_edit = user.role in (ORGANIZER, "admin") and dialogue.status not in ("held", "cancelled")
    return page(request, "dialogue.html", user, dialogue=dialogue, counts=counts, by_hamlet=by_hamlet,
                hamlet_names={u.id: u.name for u in found.settings.hamlets()}, values=values,
                statuses=[dialogue.status, *sorted(dialogues.TRANSITIONS[dialogue.status])],
                plan=reminders.plan(dialogue, now), sent=sorted(sent.items()), done=done, can_edit=can_edit,
                can_manage=user.role in (ORGANIZER, "admin"), error=error, status=status,
                note=request.query_params.get("note", ""), when=dialogues.when_text(dialogue, found.settings,
                                                                                    lang_of(request)))


async def show(request: Request) -> Response:
    return await detail(request)


async def save(request: Request) -> Response:
    """The edit form: the plan, the time, the place, the quotas, then the status — all in one transaction."""
    user = await signed_in(request, ORGANIZER)
    form = await form_of(request, user)
    found = desk(request)
    dialogue = await _dialogue_or_404(found, request.path_params["id"])
    now = found.clock()
    try:
        edit = read_edit(form, found.settings)
        async with found.db.transaction() as conn:
            await dialogues.set_plan(conn, dialogue.id, now, title=edit.title, deadline_days=edit.deadline_days,
                                     reminder_minutes=edit.reminder_minutes or dialogue.reminder_minutes,
                                     requires_roster=edit.requires_roster, contact=edit.contact)
            if edit.starts_at != dialogue.starts_at:
                await dialogues.set_time(conn, found.settings, dialogue.id, edit.starts_at, now)
            if edit.place and (edit.place, edit.map_url) != (dialogue.place, dialogue.map_url):
                await dialogues.set_place(conn, found.settings, dialogue.id, edit.place, edit.map_url, now)
            current = await repo.quotas(conn, dialogue.id)
            for hamlet_id, quota in edit.quotas.items():
                if current.get(hamlet_id) != quota:
                    await dialogues.set_quota(conn, found.settings, dialogue.id, hamlet_id, quota, now)
            await dialogues.set_status(conn, found.settings, dialogue.id, edit.status, now)
            await audit.record(conn, user.actor(), "dialogue_edit", dialogue.id, now=now, status=edit.status)
    except Refusal as refusal:
        return await detail(request, error=refusal.text(lang_of(request)), values=_values(form), status=400)
    await _changed(found, dialogue.id)
    return RedirectResponse(f"/dialogues/{dialogue.id}?note=saved", status_code=303)


async def registration_act(request: Request) -> Response:
    """"Move up" a waitlisted household, or cancel a registration; either way the household is told."""
    user = await signed_in(request, ORGANIZER)
    await form_of(request, user)
    found = desk(request)
    dialogue = await _dialogue_or_404(found, request.path_params["id"])
    act = request.path_params["act"]
    if act not in ("promote", "cancel"):
        raise HTTPException(404)
    raw = request.path_params["rid"]
    now = found.clock()
    note = "promoted" if act == "promote" else "cancelled"
    try:
        async with found.db.transaction() as conn:
            reg = await repo.registration_by_id(conn, int(raw)) if raw.isdigit() and len(raw) < 10 else None
            if reg is None or reg.dialogue_id != dialogue.id:
                raise HTTPException(404)
            if act == "promote":
                await dialogues.promote(conn, found.settings, reg, now)
            else:
                await dialogues.cancel_for(conn, found.settings, reg, now)
            await audit.record(conn, user.actor(), f"registration_{act}", reg.code, now=now)
    except Refusal as refusal:
        return await detail(request, error=refusal.text(lang_of(request)), status=400)
    await _changed(found, dialogue.id)
    return RedirectResponse(f"/dialogues/{dialogue.id}?note={note}#hamlet-{reg.hamlet_id}", status_code=303)


ROUTES = [
    Route("/dialogues", list_page, methods=["GET"]),
    Route("/dialogues", create, methods=["POST"]),
    Route("/dialogues/{id}", show, methods=["GET"]),
    Route("/dialogues/{id}", save, methods=["POST"]),
    Route("/dialogues/{id}/registrations/{rid}/{act:str}", registration_act, methods=["POST"]),
]

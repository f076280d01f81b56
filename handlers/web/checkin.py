"""Điểm danh at the door, on a phone: the code typed, or the household's QR read by the phone's camera (jsQR shipped
in static/, nothing from the internet; typing always works). The same ``check_in`` and audit as the chat's /checkin;
the result is loud and short, and the arrivals per hamlet follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.dialogues import service as dialogues
from bot.dialogues.service import CheckIn
from bot.staff import audit
from bot.staff.web_signin import DeskUser
from handlers.web.render import page
from handlers.web.session import desk, form_of, signed_in, text_field
from storage import dialogues as repo
from storage import people
from storage.dialogues import Dialogue

CURRENT = ("open", "closed")


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str      # ok, already, unknown, not_seated
    code: str
    name: str = ""
    hamlet: str = ""
    at: str = ""      # HH:MM of the first check-in (already)
    status: str = ""  # the registration's status (not seated)


async def _dialogue(request: Request, chosen: str) -> tuple[Dialogue | None, list[Dialogue]]:
    found = desk(request)
    async with found.db.reading() as conn:
        current = await repo.list_dialogues(conn, CURRENT)
        picked = await repo.get_dialogue(conn, chosen) if chosen else None
    return picked or (current[0] if current else None), current


async def _page(request: Request, user: DeskUser, chosen: str, result: Result | None = None) -> Response:
    found = desk(request)
    dialogue, current = await _dialogue(request, chosen)
    counts = []
    if dialogue is not None:
        async with found.db.reading() as conn:
            counts = await dialogues.seats(conn, dialogue.id)
    return page(request, "checkin.html", user, dialogue=dialogue, current=current, counts=counts, result=result,
                hamlet_names={u.id: u.name for u in found.settings.hamlets()})


async def door(request: Request) -> Response:
    user = await signed_in(request)
    return await _page(request, user, request.query_params.get("dialogue", ""))


async def check(request: Request) -> Response:
    user = await signed_in(request)
    form = await form_of(request, user)
    found = desk(request)
    raw = text_field(form, "code", 200)
    now = found.clock()
    async with found.db.transaction() as conn:
        outcome, reg = await dialogues.check_in(conn, raw, user.ref, now)
        if reg is not None:
            await audit.record(conn, user.actor(), "checkin", reg.code, now=now, result=outcome.value)
            person = await people.get_person(conn, reg.person_id)
    code = dialogues.parse_checkin(raw)[:20]
    if outcome is CheckIn.UNKNOWN or reg is None:
        result = Result("unknown", code)
    else:
        unit = found.settings.unit(reg.hamlet_id)
        result = Result(outcome.value, reg.code, name=(person.full_name if person else None) or "?",
                        hamlet=unit.name if unit else reg.hamlet_id, at=_hour(reg.checked_in_at, found.settings.tz),
                        status=reg.status)
    chosen = text_field(form, "dialogue", 50) or (reg.dialogue_id if reg is not None else "")
    return await _page(request, user, chosen, result)


def _hour(stamp: str | None, tz: ZoneInfo) -> str:
    if not stamp:
        return ""
    return f"{datetime.fromisoformat(stamp).astimezone(tz):%H:%M}"


ROUTES = [
    Route("/checkin", door, methods=["GET"]),
    Route("/checkin", check, methods=["POST"]),
]

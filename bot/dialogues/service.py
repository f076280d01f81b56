"""Dialogues and registration: seats within each hamlet's quota, a waitlist that moves up, check-in at the door.

Every function takes the connection of the caller's transaction, so a registration and the message it causes are
committed together or not at all. Seats are counted and taken inside one ``BEGIN IMMEDIATE`` transaction, so fifty
households tapping for the last seat at once get one seat and forty-nine waitlist places.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from bot.core.clock import iso
from bot.core.config import Settings
from bot.core.errors import Refusal
from bot.core.i18n import t
from bot.core.types import Message
from bot.core.vntime import vn_datetime
from bot.outbox.enqueue import Priority, enqueue, recipient_for_person
from storage import Connection
from storage import dialogues as repo
from storage.dialogues import Dialogue, Registration, SeatCount

STATUSES = ("draft", "open", "closed", "held", "cancelled")
TRANSITIONS = {
    "draft": {"open", "cancelled"},
    "open": {"closed", "cancelled", "held"},
    "closed": {"open", "held", "cancelled"},
    "held": set(),
    "cancelled": set(),
}
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed at the door
CHECKIN_PREFIX = "DOITHOAI-CHECKIN:"


class DialogueError(Refusal):
    """A refused change to a dialogue or a registration."""


class CheckIn(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    ALREADY = "already"
    NOT_SEATED = "not_seated"


@dataclass(frozen=True, slots=True)
class DialogueSpec:
    id: str
    title: str
    starts_at: datetime | None
    place: str
    quotas: dict[str, int]
    map_url: str | None = None
    status: str = "draft"
    deadline_days: int = 5
    reminder_minutes: list[int] = field(default_factory=lambda: [3 * 24 * 60, 24 * 60, 120])
    requires_roster: bool = False
    contact: str = ""


def validate_quota(quota: int) -> None:
    if quota < 1:
        raise DialogueError("dialogues.bad_quota", quota=quota)


def validate_time(starts_at: datetime | None, now: datetime) -> None:
    if starts_at is not None and starts_at <= now:
        raise DialogueError("dialogues.time_in_past")


def validate_place(place: str) -> str:
    place = " ".join(place.split())
    if not place:
        raise DialogueError("dialogues.empty_place")
    return place


async def create(conn: Connection, settings: Settings, spec: DialogueSpec, now: datetime, *,
                 check_time: bool = True) -> Dialogue:
    if await repo.get_dialogue(conn, spec.id):
        raise DialogueError("dialogues.exists", id=spec.id)
    if not spec.quotas:
        raise DialogueError("dialogues.no_hamlets")
    for hamlet_id, quota in spec.quotas.items():
        unit = settings.unit(hamlet_id)
        if unit is None or not unit.is_leaf:
            raise DialogueError("dialogues.unknown_hamlet", hamlet=hamlet_id)
        validate_quota(quota)
    if check_time:
        validate_time(spec.starts_at, now)
    dialogue = Dialogue(
        id=spec.id, title=spec.title.strip(), starts_at=spec.starts_at, place=spec.place.strip(),
        map_url=spec.map_url or None, status=spec.status, deadline_days=spec.deadline_days,
        reminder_minutes=sorted(set(spec.reminder_minutes), reverse=True), requires_roster=spec.requires_roster,
        contact=spec.contact,
    )
    await repo.insert_dialogue(conn, dialogue, iso(now))
    for hamlet_id, quota in spec.quotas.items():
        await repo.set_quota(conn, spec.id, hamlet_id, quota)
    return dialogue


async def seed_from_config(conn: Connection, settings: Settings, now: datetime) -> list[str]:
    """Create the dialogues planned in the config that the database does not have yet (it wins afterwards)."""
    created = []
    for planned in settings.dialogues:
        if await repo.get_dialogue(conn, planned.id):
            continue
        starts_at = planned.starts_at.replace(tzinfo=settings.tz) if planned.starts_at else None
        spec = DialogueSpec(
            id=planned.id, title=planned.title, starts_at=starts_at.astimezone(UTC) if starts_at else None,
            place=planned.place, quotas=settings.dialogue_quotas(planned), map_url=planned.map_url,
            status=planned.status, deadline_days=planned.deadline_days, reminder_minutes=planned.reminder_minutes(),
            requires_roster=planned.requires_roster, contact=planned.contact,
        )
        await create(conn, settings, spec, now, check_time=False)
        created.append(planned.id)
    return created


async def require(conn: Connection, dialogue_id: str) -> Dialogue:
    dialogue = await repo.get_dialogue(conn, dialogue_id)
    if dialogue is None:
        raise DialogueError("dialogues.unknown", id=dialogue_id)
    return dialogue


async def for_hamlet(conn: Connection, hamlet_id: str | None) -> Dialogue | None:
    """The dialogue a household belongs to: the next open one for its hamlet (several may run at once)."""
    if not hamlet_id:
        return None
    found = await repo.dialogues_for_hamlet(conn, hamlet_id, ("open",))
    return found[0] if found else None


def when_text(dialogue: Dialogue, settings: Settings, lang: str) -> str:
    if dialogue.starts_at is None:
        return t("dialogues.time_tba", lang)
    return vn_datetime(dialogue.starts_at, settings.tz)


def where_text(dialogue: Dialogue, lang: str) -> str:
    place = dialogue.place or t("dialogues.place_tba", lang)
    return f"{place}\n🗺 {dialogue.map_url}" if dialogue.map_url else place


def template_fields(dialogue: Dialogue, settings: Settings, lang: str, **more: str) -> dict[str, str]:
    """What a platform template (a ZNS reminder, a change notice) may be filled from (``ZNS_FIELDS``)."""
    fields = {"title": dialogue.title, "time": when_text(dialogue, settings, lang),
              "place": dialogue.place or t("dialogues.place_tba", lang)}
    if dialogue.starts_at is not None:
        fields["date"] = vn_datetime(dialogue.starts_at, settings.tz).split(" ")[-1]
    return {**fields, **more}


def details(dialogue: Dialogue, settings: Settings, lang: str) -> str:
    return t("dialogues.details", lang, title=dialogue.title, when=when_text(dialogue, settings, lang),
             where=where_text(dialogue, lang))


async def set_time(conn: Connection, settings: Settings, dialogue_id: str, starts_at: datetime | None,
                   now: datetime) -> Dialogue:
    """Set or change the time; registered households are told at once (reminders are re-planned by the caller)."""
    dialogue = await _changeable(conn, dialogue_id)
    validate_time(starts_at, now)
    if dialogue.starts_at == starts_at:
        return dialogue
    await repo.update_dialogue(conn, dialogue_id, iso(now), starts_at=starts_at.isoformat() if starts_at else None)
    dialogue.starts_at = starts_at
    await _tell_registered(conn, settings, dialogue, "time", starts_at.isoformat() if starts_at else "tba", now)
    return dialogue


async def set_place(conn: Connection, settings: Settings, dialogue_id: str, place: str,
                    map_url: str | None, now: datetime) -> Dialogue:
    dialogue = await _changeable(conn, dialogue_id)
    place = validate_place(place)
    if (dialogue.place, dialogue.map_url) == (place, map_url or None):
        return dialogue
    await repo.update_dialogue(conn, dialogue_id, iso(now), place=place, map_url=map_url or None)
    dialogue.place, dialogue.map_url = place, map_url or None
    await _tell_registered(conn, settings, dialogue, "place", f"{place}|{map_url}", now)
    return dialogue


async def set_quota(conn: Connection, settings: Settings, dialogue_id: str, hamlet_id: str, quota: int,
                    now: datetime) -> list[Registration]:
    """Change a hamlet's seats; a larger quota moves households up from the waitlist (returned)."""
    await _changeable(conn, dialogue_id)
    unit = settings.unit(hamlet_id)
    if unit is None or not unit.is_leaf:
        raise DialogueError("dialogues.unknown_hamlet", hamlet=hamlet_id)
    validate_quota(quota)
    await repo.set_quota(conn, dialogue_id, hamlet_id, quota)
    return await _fill_free_seats(conn, settings, dialogue_id, hamlet_id, now)


async def set_status(conn: Connection, settings: Settings, dialogue_id: str, status: str,
                     now: datetime) -> Dialogue:
    dialogue = await require(conn, dialogue_id)
    if status not in STATUSES:
        raise DialogueError("dialogues.bad_status", status=status)
    if status == dialogue.status:
        return dialogue
    if status not in TRANSITIONS[dialogue.status]:
        raise DialogueError("dialogues.bad_transition", old=t(f"dialogues.status_{dialogue.status}", "vi"),
                            new=t(f"dialogues.status_{status}", "vi"))
    if status == "open" and not await repo.quotas(conn, dialogue_id):
        raise DialogueError("dialogues.no_hamlets")
    await repo.update_dialogue(conn, dialogue_id, iso(now), status=status)
    dialogue.status = status
    if status == "cancelled":
        await _tell_registered(conn, settings, dialogue, "cancelled", "", now, include_waitlist=True)
    return dialogue


async def _changeable(conn: Connection, dialogue_id: str) -> Dialogue:
    dialogue = await require(conn, dialogue_id)
    if dialogue.status in ("held", "cancelled"):
        raise DialogueError("dialogues.finished", status=t(f"dialogues.status_{dialogue.status}", "vi"))
    return dialogue


async def new_code(conn: Connection) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if not await repo.code_exists(conn, code):
            return code


async def register(conn: Connection, dialogue: Dialogue, person_id: int, hamlet_id: str, now: datetime,
                   roster_id: int | None = None) -> Registration:
    """A seat if the hamlet has one left, else a place on its waitlist. Registering twice changes nothing."""
    if dialogue.status != "open":
        raise DialogueError("dialogues.not_open", title=dialogue.title)
    quota = await repo.hold_seats(conn, dialogue.id, hamlet_id)  # other workers' registrations wait for this one
    if quota is None:
        raise DialogueError("dialogues.hamlet_not_in_dialogue")
    existing = await repo.find_registration(conn, dialogue.id, person_id)
    if existing is not None and existing.status != "cancelled":
        return existing
    seated = await repo.count_registered(conn, dialogue.id, hamlet_id)
    status = "registered" if seated < quota else "waitlisted"
    if existing is not None:
        await repo.update_registration(conn, existing.id, iso(now), status=status, hamlet_id=hamlet_id,
                                       attending=None, roster_id=roster_id, created_at=iso(now))
        return await repo.registration_by_id(conn, existing.id)  # type: ignore[return-value]
    return await repo.insert_registration(
        conn, dialogue_id=dialogue.id, person_id=person_id, hamlet_id=hamlet_id, status=status,
        code=await new_code(conn), roster_id=roster_id, now=iso(now),
    )


async def cancel(conn: Connection, settings: Settings, registration: Registration,
                 now: datetime) -> list[Registration]:
    """Give up a seat (or a waitlist place); the first household waiting in that hamlet moves up and is told."""
    if registration.status == "cancelled":
        return []
    await repo.update_registration(conn, registration.id, iso(now), status="cancelled", attending="no")
    if registration.status != "registered":
        return []
    return await _fill_free_seats(conn, settings, registration.dialogue_id, registration.hamlet_id, now)


async def _fill_free_seats(conn: Connection, settings: Settings, dialogue_id: str, hamlet_id: str,
                           now: datetime) -> list[Registration]:
    quota = await repo.hold_seats(conn, dialogue_id, hamlet_id) or 0
    dialogue = await require(conn, dialogue_id)
    promoted = []
    while await repo.count_registered(conn, dialogue_id, hamlet_id) < quota:
        waiting = await repo.first_waitlisted(conn, dialogue_id, hamlet_id)
        if waiting is None:
            break
        await repo.update_registration(conn, waiting.id, iso(now), status="registered")
        waiting.status = "registered"
        promoted.append(waiting)
        await _tell_person(conn, settings, waiting.person_id, f"promoted:{waiting.id}:{iso(now)}",
                           "dialogues.promoted", dialogue, now, code=waiting.code)
    return promoted


async def answer_attendance(conn: Connection, settings: Settings, registration: Registration,
                            coming: bool, now: datetime) -> list[Registration]:
    """The household's answer to a reminder: "I can't come" frees the seat for the waitlist."""
    if coming:
        await repo.update_registration(conn, registration.id, iso(now), attending="yes")
        return []
    return await cancel(conn, settings, registration, now)


async def promote(conn: Connection, settings: Settings, registration: Registration, now: datetime) -> Registration:
    """An organizer moves one waitlisted household up: it takes a free seat, or the hamlet gets one more seat for it.
    The household is told, as when a seat frees up by itself."""
    if registration.status != "waitlisted":
        raise DialogueError("dialogues.not_waitlisted")
    dialogue = await _changeable(conn, registration.dialogue_id)
    hamlet = registration.hamlet_id
    quota = await repo.hold_seats(conn, dialogue.id, hamlet) or 0
    if await repo.count_registered(conn, dialogue.id, hamlet) >= quota:
        await repo.set_quota(conn, dialogue.id, hamlet, quota + 1)
    await repo.update_registration(conn, registration.id, iso(now), status="registered")
    registration.status = "registered"
    await _tell_person(conn, settings, registration.person_id, f"promoted:{registration.id}:{iso(now)}",
                       "dialogues.promoted", dialogue, now, code=registration.code)
    return registration


async def cancel_for(conn: Connection, settings: Settings, registration: Registration,
                     now: datetime) -> list[Registration]:
    """An organizer cancels a household's registration: the household is told, the first one waiting moves up."""
    if registration.status == "cancelled":
        return []
    dialogue = await require(conn, registration.dialogue_id)
    promoted = await cancel(conn, settings, registration, now)
    await _tell_person(conn, settings, registration.person_id, f"cancelled_by_staff:{registration.id}:{iso(now)}",
                       "dialogues.cancelled_by_staff", dialogue, now)
    return promoted


async def set_plan(conn: Connection, dialogue_id: str, now: datetime, *, title: str, deadline_days: int,
                   reminder_minutes: list[int], requires_roster: bool, contact: str) -> Dialogue:
    """The dialogue's title, deadline, reminder offsets, roster rule and contact (reminders are re-planned by the
    caller on DIALOGUE_CHANGED)."""
    dialogue = await _changeable(conn, dialogue_id)
    title = " ".join(title.split())
    if not title:
        raise DialogueError("dialogues.empty_title")
    if not 0 <= deadline_days <= 60:
        raise DialogueError("dialogues.bad_deadline", days=deadline_days)
    if any(minutes <= 0 for minutes in reminder_minutes):
        raise DialogueError("dialogues.bad_reminders")
    offsets = sorted(set(reminder_minutes), reverse=True)
    await repo.update_dialogue(conn, dialogue_id, iso(now), title=title, deadline_days=deadline_days,
                               requires_roster=int(requires_roster), contact=contact.strip(),
                               reminder_minutes=json.dumps(offsets))
    dialogue.title, dialogue.deadline_days, dialogue.reminder_minutes = title, deadline_days, offsets
    dialogue.requires_roster, dialogue.contact = requires_roster, contact.strip()
    return dialogue


def parse_checkin(text: str) -> str:
    """``/checkin CODE`` or the text of the QR (``DOITHOAI-CHECKIN:CODE``), any case, spaces ignored."""
    cleaned = "".join(text.split()).upper()
    return cleaned.removeprefix(CHECKIN_PREFIX.upper())


async def check_in(conn: Connection, raw_code: str, by: str, now: datetime,
                   ) -> tuple[CheckIn, Registration | None]:
    registration = await repo.registration_by_code(conn, parse_checkin(raw_code))
    if registration is None:
        return CheckIn.UNKNOWN, None
    if registration.status != "registered":
        return CheckIn.NOT_SEATED, registration
    if registration.checked_in_at:
        return CheckIn.ALREADY, registration
    await repo.update_registration(conn, registration.id, iso(now), checked_in_at=iso(now), checked_in_by=by)
    registration.checked_in_at = iso(now)
    return CheckIn.OK, registration


async def seats(conn: Connection, dialogue_id: str) -> list[SeatCount]:
    return await repo.seat_counts(conn, dialogue_id)


def seats_table(counts: list[SeatCount], settings: Settings, lang: str) -> str:
    lines = []
    for c in counts:
        unit = settings.unit(c.hamlet_id)
        lines.append(t("dialogues.seats_line", lang, hamlet=unit.name if unit else c.hamlet_id, registered=c.registered,
                       quota=c.quota, waitlisted=c.waitlisted, checked_in=c.checked_in))
    total = t("dialogues.seats_total", lang, registered=sum(c.registered for c in counts),
              quota=sum(c.quota for c in counts), waitlisted=sum(c.waitlisted for c in counts),
              checked_in=sum(c.checked_in for c in counts))
    return "\n".join([*lines, total])


async def _tell_registered(conn: Connection, settings: Settings, dialogue: Dialogue, what: str, value: str,
                           now: datetime, *, include_waitlist: bool = False) -> int:
    """Tell every registered household about a change, once per (change, household) even if re-run."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    statuses = ["registered", "waitlisted"] if include_waitlist else ["registered"]
    told = 0
    for status in statuses:
        for reg in await repo.registrations(conn, dialogue.id, status):
            key = f"changed:{dialogue.id}:{what}:{digest}:{reg.person_id}"
            told += await _tell_person(conn, settings, reg.person_id, key, f"dialogues.changed_{what}", dialogue, now)
    return told


async def _tell_person(conn: Connection, settings: Settings, person_id: int, key: str, message_key: str,
                       dialogue: Dialogue, now: datetime, **values: object) -> bool:
    recipient = await recipient_for_person(conn, person_id)
    if recipient is None:
        return False
    change = t(message_key, recipient.language, **values)
    text = change + "\n\n" + details(dialogue, settings, recipient.language)
    return await enqueue(conn, key=key, recipient=recipient, kind="notice", message=Message(text),
                         priority=Priority.NOTICE, now=now,
                         fields=template_fields(dialogue, settings, recipient.language, change=change))

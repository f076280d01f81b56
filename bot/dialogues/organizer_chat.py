"""Organizer and officer commands in the chat: manage dialogues, follow registrations, check households in.

Every command checks the speaker's role first; a household typing one gets a polite "not available". When a
commune has a single current dialogue its id may be left out (``/settime 15:30 20/6/2027``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.config import SLUG
from bot.core.events import DIALOGUE_CHANGED, OUTBOX_QUEUED
from bot.core.registry import Handler
from bot.core.text import fold
from bot.core.turn import Turn
from bot.core.vntime import parse_vn_datetime, vn_datetime
from bot.dialogues import service as dialogues
from bot.dialogues.service import CheckIn, DialogueError, DialogueSpec
from bot.dialogues.states import DialogueKey
from bot.staff import audit
from storage import dialogues as repo
from storage import people
from storage.dialogues import Dialogue

LATER_WORDS = {"sau", "later", "tba", "thong bao sau"}
CURRENT = ("draft", "open", "closed")


async def pick_dialogue(turn: Turn, args: str) -> tuple[Dialogue, str]:
    """The dialogue named by the first word of ``args`` (or the only current one); returns it and the rest."""
    first, _, rest = args.strip().partition(" ")
    if first:
        found = await repo.get_dialogue(turn.conn, first)
        if found is not None:
            return found, rest.strip()
    current = await repo.list_dialogues(turn.conn, CURRENT)
    if len(current) == 1:
        return current[0], args.strip()
    if first and not current:
        raise DialogueError("dialogues.unknown", id=first)
    raise DialogueError("staff.which_dialogue", ids=", ".join(d.id for d in current) or "—")


def find_hamlet(turn: Turn, text: str) -> str | None:
    key = fold(text)
    for hamlet in turn.settings.hamlets():
        if text == hamlet.id or key in (fold(hamlet.name), fold(hamlet.name).split(" ", 1)[-1]):
            return hamlet.id
    return None


async def cmd_dialogues(turn: Turn, args: str) -> None:
    listed = await repo.list_dialogues(turn.conn)
    if not listed:
        turn.say("staff.no_dialogues")
        return
    blocks = []
    for d in listed:
        counts = await dialogues.seats(turn.conn, d.id)
        blocks.append(turn.t("staff.dialogue_block", id=d.id, status=turn.t(f"dialogues.status_{d.status}"),
                             details=dialogues.details(d, turn.settings, turn.lang),
                             seats=dialogues.seats_table(counts, turn.settings, turn.lang)))
    turn.say_text("\n\n".join(blocks))


async def cmd_attendance(turn: Turn, args: str) -> None:
    dialogue, _ = await pick_dialogue(turn, args)
    counts = await dialogues.seats(turn.conn, dialogue.id)
    turn.say_text(f"{dialogue.title}\n" + dialogues.seats_table(counts, turn.settings, turn.lang))


async def cmd_checkin(turn: Turn, args: str) -> None:
    if not args.strip():
        turn.say("staff.checkin_usage")
        return
    who = f"{turn.msg.channel}:{turn.msg.user_id}"
    result, reg = await dialogues.check_in(turn.conn, args, who, turn.now)
    code = dialogues.parse_checkin(args)
    if reg is not None:
        await audit.record(turn.conn, turn, "checkin", reg.code, result=result.value)
    if result is CheckIn.UNKNOWN or reg is None:
        turn.say("staff.checkin_unknown", code=code)
        return
    person = await people.get_person(turn.conn, reg.person_id)
    hamlet = turn.settings.unit(reg.hamlet_id)
    name = (person.full_name if person else None) or "?"
    values = {"code": reg.code, "name": name, "hamlet": hamlet.name if hamlet else reg.hamlet_id}
    if result is CheckIn.OK:
        turn.say("staff.checkin_ok", **values)
    elif result is CheckIn.ALREADY:
        when = vn_datetime(datetime.fromisoformat(reg.checked_in_at or ""), turn.settings.tz)
        turn.say("staff.checkin_already", when=when, **values)
    else:
        turn.say("staff.checkin_not_seated", status=turn.t(f"staff.reg_{reg.status}"), **values)


async def cmd_newdialogue(turn: Turn, args: str) -> None:
    """``/newdialogue ID Title``: a draft with no hamlets yet; /setquota adds them, /opendialogue opens it."""
    dialogue_id, _, title = args.strip().partition(" ")
    dialogue_id = dialogue_id.lower()
    if not dialogue_id or not title.strip():
        turn.say("staff.newdialogue_usage")
        return
    if not SLUG.match(dialogue_id):
        turn.say("staff.bad_id", id=dialogue_id)
        return
    if await repo.get_dialogue(turn.conn, dialogue_id):
        raise DialogueError("dialogues.exists", id=dialogue_id)
    spec = DialogueSpec(id=dialogue_id, title=title.strip(), starts_at=None, place="", quotas={})
    await repo.insert_dialogue(turn.conn, Dialogue(
        id=spec.id, title=spec.title, starts_at=None, place="", map_url=None, status="draft",
        deadline_days=spec.deadline_days, reminder_minutes=spec.reminder_minutes, requires_roster=False, contact="",
    ), turn.now_iso)
    turn.say("staff.created", id=dialogue_id)


async def cmd_settime(turn: Turn, args: str) -> None:
    dialogue, rest = await pick_dialogue(turn, args)
    if not rest:
        turn.say("staff.settime_usage")
        return
    if fold(rest) in LATER_WORDS:
        starts_at = None
    else:
        parsed = parse_vn_datetime(rest, turn.settings.tz)
        if parsed is None:
            raise DialogueError("dialogues.bad_time", text=rest)
        starts_at = parsed.astimezone(UTC)
    updated = await dialogues.set_time(turn.conn, turn.settings, dialogue.id, starts_at, turn.now)
    changed(turn, updated)


async def cmd_setplace(turn: Turn, args: str) -> None:
    dialogue, rest = await pick_dialogue(turn, args)
    place, _, map_url = rest.partition("|")
    updated = await dialogues.set_place(turn.conn, turn.settings, dialogue.id, place, map_url.strip() or None,
                                        turn.now)
    changed(turn, updated)


async def cmd_setquota(turn: Turn, args: str) -> None:
    dialogue, rest = await pick_dialogue(turn, args)
    hamlet_text, _, number = rest.rpartition(" ")
    hamlet_id = find_hamlet(turn, hamlet_text.strip())
    if not number.strip().lstrip("-").isdigit() or not hamlet_text.strip():
        turn.say("staff.setquota_usage")
        return
    if hamlet_id is None:
        raise DialogueError("dialogues.unknown_hamlet", hamlet=hamlet_text.strip())
    promoted = await dialogues.set_quota(turn.conn, turn.settings, dialogue.id, hamlet_id, int(number), turn.now)
    if promoted:
        turn.say("staff.promoted", count=len(promoted))
    changed(turn, await dialogues.require(turn.conn, dialogue.id))


def status_command(status: str) -> Handler:
    async def handler(turn: Turn, args: str) -> None:
        dialogue, _ = await pick_dialogue(turn, args)
        changed(turn, await dialogues.set_status(turn.conn, turn.settings, dialogue.id, status, turn.now))

    return handler


def changed(turn: Turn, dialogue: Dialogue) -> None:
    turn.say("staff.saved", id=dialogue.id, status=turn.t(f"dialogues.status_{dialogue.status}"),
             details=dialogues.details(dialogue, turn.settings, turn.lang))
    turn.emit(DIALOGUE_CHANGED, dialogue.id)
    turn.emit(OUTBOX_QUEUED)


async def cmd_roster(turn: Turn, args: str) -> None:
    dialogue, _ = await pick_dialogue(turn, args)
    turn.data[DialogueKey.AWAITING_ROSTER] = dialogue.id
    turn.touch()
    turn.say("staff.send_roster", id=dialogue.id)


COMMANDS: dict[str, tuple[str | None, Handler]] = {
    "dialogues": ("officer", cmd_dialogues),
    "attendance": ("officer", cmd_attendance),
    "checkin": ("officer", cmd_checkin),
    "newdialogue": ("organizer", cmd_newdialogue),
    "settime": ("organizer", cmd_settime),
    "setplace": ("organizer", cmd_setplace),
    "setquota": ("organizer", cmd_setquota),
    "opendialogue": ("organizer", status_command("open")),
    "closedialogue": ("organizer", status_command("closed")),
    "canceldialogue": ("organizer", status_command("cancelled")),
    "helddialogue": ("organizer", status_command("held")),
    "roster": ("organizer", cmd_roster),
}

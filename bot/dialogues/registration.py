"""The household's side of a dialogue: see time and place, register within the hamlet's quota, cancel, attend."""

from __future__ import annotations

from enum import StrEnum

from bot.core.choices import untag
from bot.core.events import OUTBOX_QUEUED
from bot.core.steps import BACK, Step
from bot.core.turn import Turn
from bot.core.types import Message
from bot.dialogues import service as dialogues
from bot.dialogues.service import CHECKIN_PREFIX, DialogueError
from bot.dialogues.states import ATTENDANCE_TAG, DialogueKey, DialogueStep
from storage import dialogues as repo
from storage.dialogues import Dialogue, Registration

ACTIVE = ("registered", "waitlisted")


async def current(turn: Turn) -> tuple[Dialogue | None, Registration | None]:
    dialogue = await dialogues.for_hamlet(turn.conn, turn.session.person.hamlet_id)
    if dialogue is None:
        return None, None
    return dialogue, await repo.find_registration(turn.conn, dialogue.id, turn.session.person.id)


def open_dialogue_screen(turn: Turn, came_from: StrEnum) -> None:
    turn.data[DialogueKey.RETURN] = came_from
    turn.goto(DialogueStep.SCREEN)


def hamlet_name(turn: Turn, hamlet_id: str | None) -> str:
    unit = turn.settings.unit(hamlet_id or "")
    return unit.name if unit else ""


async def waitlist_position(turn: Turn, reg: Registration) -> int:
    waiting = await repo.registrations(turn.conn, reg.dialogue_id, "waitlisted")
    same = [r.id for r in waiting if r.hamlet_id == reg.hamlet_id]
    return same.index(reg.id) + 1 if reg.id in same else 0


async def registered_reply(turn: Turn, reg: Registration) -> Message:
    if reg.status == "registered":
        return Message(turn.t("registration.registered", code=reg.code), qr=CHECKIN_PREFIX + reg.code)
    position = await waitlist_position(turn, reg)
    return Message(turn.t("registration.waitlisted", hamlet=hamlet_name(turn, reg.hamlet_id), position=position))


class DialogueScreen(Step):
    name = DialogueStep.SCREEN

    async def prompt(self, turn: Turn) -> Message:
        dialogue, reg = await current(turn)
        back = turn.choice(BACK, "form.back")
        if dialogue is None:
            hamlet = hamlet_name(turn, turn.session.person.hamlet_id)
            return Message(turn.t("registration.none_open", hamlet=hamlet), (back,))
        text = dialogues.details(dialogue, turn.settings, turn.lang)
        if reg is not None and reg.status == "registered":
            text += "\n\n" + turn.t("registration.status_registered", code=reg.code)
            choices = (turn.choice("qr", "registration.show_qr"), turn.choice("leave", "registration.cancel_seat"))
        elif reg is not None and reg.status == "waitlisted":
            text += "\n\n" + turn.t("registration.status_waitlisted", position=await waitlist_position(turn, reg))
            choices = (turn.choice("leave", "registration.leave_waitlist"),)
        else:
            text += "\n\n" + await self._seats_left(turn, dialogue)
            choices = (turn.choice("register", "registration.register"),)
        return Message(text, (*choices, back))

    async def _seats_left(self, turn: Turn, dialogue: Dialogue) -> str:
        hamlet_id = turn.session.person.hamlet_id or ""
        quota = (await repo.quotas(turn.conn, dialogue.id)).get(hamlet_id, 0)
        taken = await repo.count_registered(turn.conn, dialogue.id, hamlet_id)
        key = "registration.seats_left" if taken < quota else "registration.seats_full"
        return turn.t(key, hamlet=hamlet_name(turn, hamlet_id), free=max(quota - taken, 0), quota=quota)

    async def on_back(self, turn: Turn) -> None:
        turn.resume(turn.data.pop(DialogueKey.RETURN, None))

    async def on_choice(self, turn: Turn, value: str) -> None:
        dialogue, reg = await current(turn)
        if dialogue is None:
            return
        if value == "register":
            await self._register(turn, dialogue)
        elif value == "qr" and reg is not None:
            turn.replies.append(await registered_reply(turn, reg))
        elif value == "leave" and reg is not None:
            turn.goto(DialogueStep.LEAVE)

    async def _register(self, turn: Turn, dialogue: Dialogue) -> None:
        person = turn.session.person
        roster_id = None
        if dialogue.requires_roster:
            entry = None
            if person.phone and person.phone_verified:
                entry = await repo.roster_match(turn.conn, dialogue.id, phone=person.phone)
            if entry is None:
                turn.goto(DialogueStep.CODE)
                return
            roster_id = entry.id
        await register_and_tell(turn, dialogue, roster_id)


async def register_and_tell(turn: Turn, dialogue: Dialogue, roster_id: int | None) -> None:
    person = turn.session.person
    try:
        reg = await dialogues.register(turn.conn, dialogue, person.id, person.hamlet_id or "", turn.now, roster_id)
    except DialogueError as exc:
        turn.say_text(exc.text(turn.lang))
        return
    turn.replies.append(await registered_reply(turn, reg))
    turn.touch()


class HouseholdCode(Step):
    """A dialogue that requires the roster and no verified phone matched: ask for the household code."""

    name = DialogueStep.CODE
    free_text = True
    back_to = DialogueStep.SCREEN

    async def prompt(self, turn: Turn) -> Message:
        return Message(turn.t("registration.ask_code"), (turn.choice(BACK, "form.back"),))

    async def on_text(self, turn: Turn, text: str) -> None:
        dialogue, _ = await current(turn)
        if dialogue is None:
            turn.goto(DialogueStep.SCREEN)
            return
        code = "".join(text.split())[:40]
        entry = await repo.roster_match(turn.conn, dialogue.id, household_code=code) if code else None
        if entry is None:
            contact = dialogue.contact or turn.t("registration.default_contact")
            turn.say("registration.not_on_roster", code=code, contact=contact)
            return
        turn.goto(DialogueStep.SCREEN)
        await register_and_tell(turn, dialogue, entry.id)


class LeaveConfirm(Step):
    name = DialogueStep.LEAVE

    async def prompt(self, turn: Turn) -> Message:
        choices = (turn.choice("yes", "registration.leave_yes"), turn.choice("no", "registration.leave_no"))
        return Message(turn.t("registration.leave_ask"), choices)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "yes":
            _, reg = await current(turn)
            if reg is not None and reg.status in ACTIVE:
                await dialogues.cancel(turn.conn, turn.settings, reg, turn.now)
                turn.say("registration.left")
                turn.emit(OUTBOX_QUEUED)
        turn.goto(DialogueStep.SCREEN)


async def attendance_action(turn: Turn, value: str) -> None:
    """A tap on "I will attend" / "I can't come" under a reminder: ``att:<registration id>:yes|no``."""
    reg_id, answer = [*(untag(value, ATTENDANCE_TAG) or "").split(":"), "", ""][:2]
    reg = await repo.registration_by_id(turn.conn, int(reg_id)) if reg_id.isdigit() else None
    if reg is None or reg.person_id != turn.session.person.id or answer not in ("yes", "no"):
        turn.refuse("form.choose_please")  # forged, or someone else's registration: reveal nothing
        return
    await answer_attendance(turn, reg, answer == "yes")


async def answer_attendance(turn: Turn, reg: Registration, coming: bool) -> None:
    if reg.status != "registered":
        turn.say("registration.not_registered")
        return
    await dialogues.answer_attendance(turn.conn, turn.settings, reg, coming, turn.now)
    turn.say("registration.see_you" if coming else "registration.seat_freed")
    turn.emit(OUTBOX_QUEUED)


async def cmd_attend(turn: Turn, args: str) -> None:
    """``/attend``: "I will attend", for channels without buttons."""
    await attendance_command(turn, True)


async def cmd_absent(turn: Turn, args: str) -> None:
    """``/absent``: "I can't come", for channels without buttons."""
    await attendance_command(turn, False)


async def attendance_command(turn: Turn, coming: bool) -> None:
    _, reg = await current(turn)
    if reg is None:
        turn.say("registration.not_registered")
        return
    await answer_attendance(turn, reg, coming)


async def release_seats(turn: Turn) -> None:
    """Before a household's data is deleted, give its seats to the waitlist (and tell those who move up)."""
    for reg in await repo.registrations_of_person(turn.conn, turn.session.person.id):
        if reg.status in ACTIVE:
            await dialogues.cancel(turn.conn, turn.settings, reg, turn.now)
    turn.emit(OUTBOX_QUEUED)


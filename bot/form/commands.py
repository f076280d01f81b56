"""The household's commands: /start (also with an invitation or a hamlet link), /help, /cancel, /menu,
/myquestions, /mydata, /dialogue and /forget."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.phone import display_phone
from bot.core.turn import Turn
from bot.core.vntime import vn_date
from bot.dialogues.registration import current, open_dialogue_screen, waitlist_position
from bot.form.flow import cancel_current, go_menu, profile_complete, resume_where_left, say_help, start_question
from bot.form.menu import show_my_questions
from bot.form.states import PROFILE_STEPS, QUESTION_STEPS, FormKey, FormStep
from bot.staff import invites

DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def cmd_start(turn: Turn, payload: str) -> None:
    if await invites.redeem(turn, payload):
        return
    unit = turn.settings.unit(payload) if DEEP_LINK.match(payload or "-") else None
    session = turn.session
    if unit is not None and unit.is_leaf and not session.person.hamlet_id:
        turn.data[FormKey.HAMLET_PRESET] = unit.id
        turn.touch()
    if session.person.consent_at is None and await turn.has_role("officer"):
        await staff_start(turn)  # staff are not asked the household's consent to start their work
        return
    if session.is_new or session.person.consent_at is None:
        return
    if session.step in PROFILE_STEPS or session.step in QUESTION_STEPS:
        turn.say("form.resume")
    elif session.step == FormStep.IDLE or not profile_complete(turn):
        resume_where_left(turn)
    else:
        turn.say("form.welcome_back", name=session.person.full_name)
        start_question(turn)


async def staff_start(turn: Turn) -> None:
    """An officer, organizer or administrator's own welcome: what they can do, no household questions."""
    turn.show_prompt = False
    turn.say("common.staff_welcome", name=turn.msg.display_name or "")
    turn.say("common.help_staff")


async def cmd_help(turn: Turn, args: str) -> None:
    """Staff see their commands first; everyone sees the household's."""
    if await turn.has_role("officer"):
        turn.say("common.help_staff")
        if turn.session.person.consent_at is None:
            turn.show_prompt = False  # no consent question under a staff member's help
            return
    say_help(turn)


async def cmd_cancel(turn: Turn, args: str) -> None:
    if turn.session.person.consent_at is not None:
        cancel_current(turn)


async def cmd_menu(turn: Turn, args: str) -> None:
    if profile_complete(turn):
        go_menu(turn)


async def cmd_myquestions(turn: Turn, args: str) -> None:
    await show_my_questions(turn)


async def cmd_mydata(turn: Turn, args: str) -> None:
    """Everything kept about the household, in plain words (its right of access), then its questions."""
    person = turn.session.person
    if person.consent_at is None:
        turn.say("common.nothing_kept")
        return
    hamlet = turn.settings.unit(person.hamlet_id or "")
    turn.say("common.mydata", name=person.full_name or "—", hamlet=hamlet.name if hamlet else "—",
             category=turn.t(f"form.category_{person.category}") if person.category else "—",
             phone=display_phone(person.phone) if person.phone else "—", seat=await seat_line(turn),
             consent=vn_date(datetime.fromisoformat(person.consent_at), turn.settings.tz))
    await show_my_questions(turn)


async def seat_line(turn: Turn) -> str:
    """The household's place at its hamlet's dialogue, with the registration code to show at the door."""
    _, reg = await current(turn)
    if reg is not None and reg.status == "registered":
        return turn.t("common.mydata_registered", code=reg.code)
    if reg is not None and reg.status == "waitlisted":
        return turn.t("common.mydata_waitlisted", position=await waitlist_position(turn, reg))
    return turn.t("common.mydata_no_seat")


async def cmd_dialogue(turn: Turn, args: str) -> None:
    if profile_complete(turn):
        open_dialogue_screen(turn, FormStep.MENU)

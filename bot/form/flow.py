"""How the form moves: to a new question, to the menu, on cancel, and from one identification step to the next."""

from __future__ import annotations

from typing import Any

from bot.core.steps import Step
from bot.core.turn import Turn
from bot.dialogues.states import DialogueStep
from bot.form.states import PROFILE_STEPS, QUESTION_STEPS, FormKey, FormStep
from storage import people


def draft(turn: Turn) -> dict[str, Any]:
    """The question being written: kind, field, topic, content, media_kind, media_id."""
    return turn.data.setdefault(FormKey.DRAFT, {})


def vn_number(value: int) -> str:
    """3000 → "3.000", as Vietnamese write numbers."""
    return f"{value:,}".replace(",", ".")


def too_long(turn: Turn, text: str) -> None:
    turn.say("form.too_long", length=vn_number(len(text)), limit=vn_number(turn.settings.bot.max_text_length))


def say_help(turn: Turn) -> None:
    """The household's help: "tap" where there are buttons, "type" where there are none."""
    turn.say("common.help" if turn.has_buttons else "common.help_typed")


def profile_complete(turn: Turn) -> bool:
    person = turn.session.person
    return bool(person.consent_at and person.full_name and person.hamlet_id and person.category)


def start_question(turn: Turn) -> None:
    turn.data.pop(FormKey.DRAFT, None)
    turn.data.pop(FormKey.AFTER_EDIT, None)
    turn.goto(FormStep.KIND)


def go_menu(turn: Turn) -> None:
    turn.data.pop(FormKey.DRAFT, None)
    turn.data.pop(FormKey.AFTER_EDIT, None)
    turn.data.pop(FormKey.PROFILE_EDIT, None)
    turn.goto(FormStep.MENU)


def cancel_current(turn: Turn) -> None:
    """Cancel: a question draft is dropped; during identification what was typed is kept and the form pauses."""
    step = turn.session.step
    if step in QUESTION_STEPS:
        turn.say("form.cancelled")
        go_menu(turn)
    elif step in set(DialogueStep):
        turn.goto(FormStep.MENU)
    elif step in PROFILE_STEPS and not turn.data.get(FormKey.PROFILE_EDIT):
        turn.data[FormKey.RESUME_STEP] = step
        turn.say("form.paused")
        turn.goto(FormStep.IDLE)
    else:
        go_menu(turn)


def resume_where_left(turn: Turn) -> None:
    step = turn.data.pop(FormKey.RESUME_STEP, None)
    if step in PROFILE_STEPS:
        turn.goto(FormStep(step))
    elif profile_complete(turn):
        start_question(turn)
    else:
        turn.goto(FormStep.NAME)


def editing_from_review(turn: Turn) -> bool:
    return turn.data.get(FormKey.AFTER_EDIT) == FormStep.REVIEW


async def after_profile_step(turn: Turn, done: FormStep) -> None:
    """The next identification step, skipping the hamlet when an invitation link already named it."""
    following = list(PROFILE_STEPS[PROFILE_STEPS.index(done) + 1:])
    person = turn.session.person
    if done == FormStep.NAME and not person.hamlet_id:
        preset = turn.settings.unit(turn.data.pop(FormKey.HAMLET_PRESET, "") or "")
        if preset is not None and preset.is_leaf:
            await people.update_profile(turn.conn, person.id, hamlet_id=preset.id)
            person.hamlet_id = preset.id
            following.remove(FormStep.HAMLET)
    if following:
        turn.data.pop(FormKey.UNIT_PARENT, None)
        turn.goto(following[0])
        return
    turn.say("form.profile_saved")
    if turn.data.pop(FormKey.PROFILE_EDIT, False):
        go_menu(turn)
    else:
        start_question(turn)


def continue_after_draft_edit(turn: Turn, default_next: FormStep) -> None:
    if editing_from_review(turn) and default_next != FormStep.TOPIC:
        turn.data.pop(FormKey.AFTER_EDIT, None)
        turn.goto(FormStep.REVIEW)
    else:
        turn.goto(default_next)


class FormStepBase(Step):
    """A step of the household's form: cancel pauses or drops what is under way (``cancel_current``)."""

    async def on_cancel(self, turn: Turn) -> None:
        cancel_current(turn)

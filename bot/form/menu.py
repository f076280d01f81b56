"""Between questions: the menu, the screen after a submission, the pause, and the household's own questions."""

from __future__ import annotations

from datetime import datetime

from bot.core.steps import Step
from bot.core.text import shorten
from bot.core.turn import Turn
from bot.core.types import Message
from bot.core.vntime import vn_date
from bot.dialogues.registration import ACTIVE, current, open_dialogue_screen
from bot.form.flow import go_menu, resume_where_left, say_help, start_question
from bot.form.states import FormKey, FormStep
from storage import submissions


class Submitted(Step):
    """After the receipt: ask more about the same topic in one tap, another question, the dialogue (unless the
    household has its seat already), its questions. Or simply type the next question."""

    name = FormStep.SUBMITTED

    async def prompt(self, turn: Turn) -> Message:
        found = turn.settings.topic(turn.data.get(FormKey.LAST_TOPIC) or "")
        again = (turn.choice("again", "form.ask_again", topic=found[1].name),) if found else ()
        dialogue, reg = await current(turn)
        register = turn.choice("dialogue", "registration.menu_register")
        offer_seat = (register,) if dialogue is not None and (reg is None or reg.status not in ACTIVE) else ()
        choices = (*again, turn.choice("another", "form.another"), *offer_seat, turn.choice("mine", "form.menu_mine"),
                   turn.choice("done", "form.finished"))
        return Message(turn.t("form.ask_after_submit"), choices)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "again":
            ask_again(turn)
        elif value == "another":
            start_question(turn)
        elif value == "dialogue":
            open_dialogue_screen(turn, FormStep.MENU)
        elif value == "mine":
            await show_my_questions(turn)
        else:
            turn.say("form.thanks_bye")
            go_menu(turn)


def ask_again(turn: Turn) -> None:
    """A new question about the topic of the last one: straight to writing it."""
    found = turn.settings.topic(turn.data.get(FormKey.LAST_TOPIC) or "")
    if found is None:
        start_question(turn)
        return
    start_question(turn)
    turn.data[FormKey.DRAFT] = {"kind": "question", "field": found[0].id, "topic": found[1].id}
    turn.goto(FormStep.CONTENT)


class Menu(Step):
    name = FormStep.MENU

    async def prompt(self, turn: Turn) -> Message:
        choices = (
            turn.choice("new", "form.menu_new"),
            turn.choice("dialogue", "registration.menu_dialogue"),
            turn.choice("mine", "form.menu_mine"),
            turn.choice("profile", "form.menu_profile"),
            turn.choice("help", "form.menu_help"),
        )
        return Message(turn.t("form.ask_menu"), choices)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "new":
            start_question(turn)
        elif value == "dialogue":
            open_dialogue_screen(turn, FormStep.MENU)
        elif value == "mine":
            await show_my_questions(turn)
        elif value == "profile":
            turn.data[FormKey.PROFILE_EDIT] = True
            turn.goto(FormStep.NAME)
        else:
            say_help(turn)


class Idle(Step):
    """Paused during identification: one button to carry on where the household stopped."""

    name = FormStep.IDLE

    async def prompt(self, turn: Turn) -> Message:
        return Message(turn.t("form.ask_paused"), (turn.choice("resume", "form.continue"),))

    async def on_choice(self, turn: Turn, value: str) -> None:
        resume_where_left(turn)


async def show_my_questions(turn: Turn) -> None:
    """The household's questions with their status and answers (``/myquestions`` and the menu's button)."""
    person = turn.session.person
    if person.consent_at is None:
        turn.say("common.nothing_kept")
        return
    items = await submissions.list_for_person(turn.conn, person.id)
    if not items:
        turn.say("common.mine_empty")
        return
    total = await submissions.count_for_person(turn.conn, person.id)
    lines = [turn.t("common.mine_header", count=total)]
    for sub in items:
        found = turn.settings.topic(sub.topic_id)
        content = sub.content or (turn.t(f"form.media_{sub.media_kind}") if sub.media_kind else "")
        lines.append(turn.t(
            "common.mine_item", code=sub.code,
            date=vn_date(datetime.fromisoformat(sub.created_at), turn.settings.tz),
            kind=turn.t(f"form.kind_{sub.kind}"), topic=found[1].name if found else sub.topic_id,
            content=shorten(content, 160), status=turn.t(f"common.status_{sub.status}"),
        ))
        if sub.answer:
            lines.append(turn.t("common.mine_answer", answer=sub.answer))
    turn.say_text("\n\n".join(lines))

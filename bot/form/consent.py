"""The first question: the household agrees that its details are kept, or everything about it is deleted."""

from __future__ import annotations

from bot.core.steps import Step
from bot.core.turn import Turn
from bot.core.types import Message
from bot.form.states import FormStep
from storage import people


class Consent(Step):
    name = FormStep.CONSENT

    async def prompt(self, turn: Turn) -> Message:
        text = turn.t("form.welcome", bot_name=turn.settings.bot.name) + "\n\n" + turn.t("form.consent")
        return Message(text, (turn.choice("yes", "form.consent_yes"), turn.choice("no", "form.consent_no")))

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "no":
            await people.forget_person(turn.conn, turn.session.person.id)
            turn.deleted = True
            turn.show_prompt = False
            turn.say("form.consent_declined")
            return
        await people.set_consent(turn.conn, turn.session.person.id, turn.now_iso)
        turn.session.person.consent_at = turn.now_iso
        turn.say("form.consent_thanks")
        turn.goto(FormStep.NAME)

"""The first question: the household agrees that its details are kept, or everything about it is deleted.

The question itself is short and plain; "Xem chi tiết" shows the rest (what is kept, why, under which decree)."""

from __future__ import annotations

from bot.core.steps import Step
from bot.core.turn import Turn
from bot.core.types import Message
from bot.form.states import FormKey, FormStep
from storage import people


class Consent(Step):
    name = FormStep.CONSENT

    async def prompt(self, turn: Turn) -> Message:
        yes, no = turn.choice("yes", "form.consent_yes"), turn.choice("no", "form.consent_no")
        if turn.data.get(FormKey.CONSENT_DETAILS):
            return Message(turn.t("form.consent_details"), (yes, no))
        text = turn.t("form.welcome", bot_name=turn.settings.bot.name) + "\n\n" + turn.t("form.consent")
        return Message(text, (yes, no, turn.choice("details", "form.consent_more")))

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "details":
            turn.data[FormKey.CONSENT_DETAILS] = True
            turn.touch()
            return
        turn.data.pop(FormKey.CONSENT_DETAILS, None)
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

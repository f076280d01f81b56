"""Say it first: a household that knows the form types (or records) its question at any idle moment.

The words are kept as the draft's content, the kind is "question" unless the words say otherwise, and the bot asks
"is it about <the likeliest topic>?" with the next two likely topics and "another topic". One tap on "yes" shows the
review, one more sends it: two taps from a typed question to the receipt. A first-time household is identified as
before (the handler takes nothing until the details are complete).
"""

from __future__ import annotations

from bot.core.choices import tag, untag
from bot.core.steps import nav
from bot.core.text import clean
from bot.core.turn import Turn
from bot.core.types import Choice, InputKind, Message
from bot.core.wording import comparison_key
from bot.form.flow import FormStepBase, draft, go_menu, profile_complete, too_long
from bot.form.states import PROFILE_STEPS, FormKey, FormStep, Tag
from bot.form.suggest import guess_kind, suggest

MIN_SAID = 3   # characters: "ok", "dạ" are no question
MIN_WORDS = 3  # words besides greetings and thanks, when none of them names a topic
OFFERED = 3   # the likeliest topic and the next two
# Steps where typed words mean something else (an answer to the step, or a draft being finished).
NOT_IDLE = frozenset({FormStep.CONSENT, *PROFILE_STEPS, FormStep.IDLE, FormStep.CONTENT, FormStep.REVIEW,
                      FormStep.EDIT_PICK, FormStep.SUGGEST, FormStep.FORGET_CONFIRM})


async def take_said_question(turn: Turn) -> bool:
    """The registry's idle handler: a household's question typed or recorded where a choice was asked."""
    if not profile_complete(turn) or turn.session.step in NOT_IDLE:
        return False
    msg, limit = turn.msg, turn.settings.bot.max_text_length
    if msg.kind is InputKind.MEDIA:
        if len(msg.text) > limit:
            too_long(turn, msg.text)
        else:
            start_said(turn, clean(msg.text), media=(msg.media_kind, msg.media_id))
        return True
    if msg.kind is not InputKind.TEXT:
        return False
    text = clean(msg.text)
    if len(text) > limit:
        too_long(turn, text)
    elif asks_something(turn, text):
        start_said(turn, text)
    else:
        turn.say("form.say_it_hint")  # "dạ", "cảm ơn cán bộ", "alo": nothing to keep
    return True


def asks_something(turn: Turn, text: str) -> bool:
    """Words worth keeping: a word of the catalogue, or a few words that are not greetings or thanks."""
    words = comparison_key(text).split()
    if len(text) < MIN_SAID or not words:
        return False
    return len(words) >= MIN_WORDS or bool(suggest(text, turn.settings.fields, 1))


def start_said(turn: Turn, text: str, media: tuple[str, str] | None = None) -> None:
    """A new draft from the household's own words; the likeliest topics are asked next (the field if none)."""
    turn.data.pop(FormKey.AFTER_EDIT, None)
    written = {"kind": guess_kind(text) if text else "question", "content": text, "said": True}
    if media is not None:
        written["media_kind"], written["media_id"] = media
    written["suggested"] = [s.topic_id for s in suggest(text, turn.settings.fields, OFFERED)] if text else []
    turn.data[FormKey.DRAFT] = written
    if written["suggested"]:
        turn.goto(FormStep.SUGGEST)
    else:
        turn.data[FormKey.AFTER_EDIT] = FormStep.REVIEW
        turn.goto(FormStep.FIELD)


def choose_topic(turn: Turn, topic_id: str) -> bool:
    found = turn.settings.topic(topic_id)
    if found is None:
        return False
    draft(turn)["field"], draft(turn)["topic"] = found[0].id, found[1].id
    turn.data.pop(FormKey.AFTER_EDIT, None)
    turn.goto(FormStep.REVIEW)
    return True


class Suggest(FormStepBase):
    """"Is it about <topic>?": yes, one of the next two likely topics, or another topic (field, then topic)."""

    name = FormStep.SUGGEST

    async def prompt(self, turn: Turn) -> Message:
        found = [f for f in map(turn.settings.topic, draft(turn).get("suggested", [])) if f is not None]
        other = turn.choice("other", "form.suggest_other")
        if not found:  # the catalogue changed under the draft
            return Message(turn.t("form.ask_field_said"), (other, *nav(turn)))
        first = found[0][1]
        alternatives = [Choice(tag(Tag.TOPIC, topic.id), topic.name) for _, topic in found[1:OFFERED]]
        choices = (turn.choice("yes", "form.suggest_yes"), *alternatives, other, *nav(turn))
        return Message(turn.t("form.ask_suggest", topic=first.name), choices)

    async def on_back(self, turn: Turn) -> None:
        go_menu(turn)

    async def on_choice(self, turn: Turn, value: str) -> None:
        suggested = draft(turn).get("suggested", [])
        if value == "yes" and suggested and choose_topic(turn, suggested[0]):
            return
        picked = untag(value, Tag.TOPIC)
        if picked is not None and choose_topic(turn, picked):
            return
        draft(turn).pop("topic", None)  # "another topic": the one chosen before is not it
        turn.data[FormKey.AFTER_EDIT] = FormStep.REVIEW
        turn.goto(FormStep.FIELD)

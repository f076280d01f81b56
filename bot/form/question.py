"""One question (or opinion, petition, proposal): its kind, field, topic and content, reviewed, then submitted."""

from __future__ import annotations

from bot.core.choices import tag, untag
from bot.core.steps import nav
from bot.core.turn import Turn
from bot.core.types import Choice, Message
from bot.form.flow import (
    FormStepBase,
    continue_after_draft_edit,
    draft,
    editing_from_review,
    go_menu,
    too_long,
    vn_number,
)
from bot.form.states import KINDS, FormKey, FormStep, Tag
from storage import submissions

MIN_CONTENT = 3
EDIT_TARGETS = {"kind": FormStep.KIND, "topic": FormStep.FIELD, "content": FormStep.CONTENT}


class Kind(FormStepBase):
    name = FormStep.KIND

    async def prompt(self, turn: Turn) -> Message:
        choices = [turn.choice(tag(Tag.KIND, k), f"form.kind_{k}") for k in KINDS]
        return Message(turn.t("form.ask_kind"), (*choices, *nav(turn)), columns=2)

    async def on_back(self, turn: Turn) -> None:
        turn.goto(FormStep.REVIEW) if editing_from_review(turn) else go_menu(turn)

    async def on_choice(self, turn: Turn, value: str) -> None:
        draft(turn)["kind"] = untag(value, Tag.KIND) or value
        continue_after_draft_edit(turn, FormStep.FIELD)


class FieldStep(FormStepBase):
    name = FormStep.FIELD

    async def prompt(self, turn: Turn) -> Message:
        choices = [Choice(tag(Tag.FIELD, f.id), f.name) for f in turn.settings.fields]
        written = draft(turn)
        said = written.get("said") and not written.get("topic") and not written.get("suggested")
        return Message(turn.t("form.ask_field_said" if said else "form.ask_field"), (*choices, *nav(turn)))

    async def on_back(self, turn: Turn) -> None:
        written = draft(turn)
        if written.get("said") and not written.get("topic"):  # a question said first, its topic not chosen yet
            turn.data.pop(FormKey.AFTER_EDIT, None)
            turn.goto(FormStep.SUGGEST) if written.get("suggested") else go_menu(turn)
        else:
            turn.goto(FormStep.REVIEW if editing_from_review(turn) else FormStep.KIND)

    async def on_choice(self, turn: Turn, value: str) -> None:
        draft(turn)["field"] = untag(value, Tag.FIELD) or value
        draft(turn).pop("topic", None)
        turn.goto(FormStep.TOPIC)


class TopicStep(FormStepBase):
    name = FormStep.TOPIC
    back_to = FormStep.FIELD

    async def prompt(self, turn: Turn) -> Message:
        field = turn.settings.field(draft(turn).get("field", "")) or turn.settings.fields[0]
        choices = [Choice(tag(Tag.TOPIC, tp.id), tp.name) for tp in field.topics]
        return Message(turn.t("form.ask_topic", field=field.name), (*choices, *nav(turn)))

    async def on_choice(self, turn: Turn, value: str) -> None:
        found = turn.settings.topic(untag(value, Tag.TOPIC) or value)
        if found is None or found[0].id != draft(turn).get("field"):
            return
        draft(turn)["topic"] = found[1].id
        continue_after_draft_edit(turn, FormStep.CONTENT)


class Content(FormStepBase):
    name = FormStep.CONTENT
    free_text = True

    async def prompt(self, turn: Turn) -> Message:
        kind = turn.t(f"form.kind_{draft(turn).get('kind', 'question')}")
        kind_lower = kind.split(" ", 1)[-1].lower()
        text = turn.t("form.ask_content", kind_lower=kind_lower, limit=vn_number(turn.settings.bot.max_text_length))
        return Message(text, tuple(nav(turn)))

    async def on_back(self, turn: Turn) -> None:
        turn.goto(FormStep.REVIEW if editing_from_review(turn) else FormStep.TOPIC)

    async def on_text(self, turn: Turn, text: str) -> None:
        limit = turn.settings.bot.max_text_length
        if not text:
            turn.say("form.empty_text")
        elif len(text) > limit:
            too_long(turn, text)
        elif len(text) < MIN_CONTENT and not draft(turn).get("media_id"):
            turn.say("form.too_short", min=MIN_CONTENT)
        else:
            draft(turn)["content"] = text
            draft(turn).pop("media_kind", None)
            draft(turn).pop("media_id", None)
            turn.data.pop(FormKey.AFTER_EDIT, None)
            turn.goto(FormStep.REVIEW)

    async def on_media(self, turn: Turn) -> None:
        caption = turn.msg.text
        if len(caption) > turn.settings.bot.max_text_length:
            await self.on_text(turn, caption)
            return
        draft(turn)["media_kind"] = turn.msg.media_kind
        draft(turn)["media_id"] = turn.msg.media_id
        draft(turn)["content"] = caption
        turn.data.pop(FormKey.AFTER_EDIT, None)
        turn.goto(FormStep.REVIEW)


def draft_summary(turn: Turn) -> str:
    written = draft(turn)
    found = turn.settings.topic(written.get("topic", ""))
    field_name, topic_name = (found[0].name, found[1].name) if found else ("—", "—")
    hamlet = turn.settings.unit(turn.session.person.hamlet_id or "")
    content_parts = []
    if written.get("media_kind"):
        content_parts.append(turn.t(f"form.media_{written['media_kind']}"))
    if written.get("content"):
        content_parts.append(written["content"])
    return turn.t(
        "form.review",
        name=turn.session.person.full_name or "",
        hamlet=hamlet.name if hamlet else "",
        kind=turn.t(f"form.kind_{written.get('kind', 'question')}"),
        field=field_name,
        topic=topic_name,
        content="\n".join(content_parts),
    )


class Review(FormStepBase):
    name = FormStep.REVIEW
    back_to = FormStep.CONTENT

    async def prompt(self, turn: Turn) -> Message:
        choices = (turn.choice("submit", "form.submit"), turn.choice("edit", "form.edit"), *nav(turn))
        return Message(draft_summary(turn), choices, columns=2)

    async def on_back(self, turn: Turn) -> None:
        written = draft(turn)
        if written.get("said") and written.get("suggested"):
            turn.goto(FormStep.SUGGEST)  # a question said first: back to "is it about...?"
        else:
            turn.goto(FormStep.CONTENT)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "submit":
            await self._submit(turn)
        else:
            turn.goto(FormStep.EDIT_PICK)

    async def _submit(self, turn: Turn) -> None:
        written, person = draft(turn), turn.session.person
        found = turn.settings.topic(written.get("topic", ""))
        if found is None or written.get("kind") not in KINDS or not (written.get("content") or written.get("media_id")):
            turn.goto(FormStep.KIND)  # an incomplete draft (config changed under it): start the question again
            return
        sub = await submissions.create_submission(
            turn.conn, person_id=person.id, hamlet_id=person.hamlet_id, category=person.category,
            kind=written["kind"], field_id=found[0].id, topic_id=found[1].id, content=written.get("content") or None,
            media_kind=written.get("media_kind"), media_file_id=written.get("media_id"), channel=turn.msg.channel,
            now=turn.now_iso,
        )
        turn.data.pop(FormKey.DRAFT, None)
        turn.data[FormKey.LAST_TOPIC] = found[1].id
        turn.say("form.receipt", code=sub.code)
        turn.goto(FormStep.SUBMITTED)


class EditPick(FormStepBase):
    name = FormStep.EDIT_PICK
    back_to = FormStep.REVIEW

    async def prompt(self, turn: Turn) -> Message:
        choices = (
            turn.choice("kind", "form.edit_kind"),
            turn.choice("topic", "form.edit_topic"),
            turn.choice("content", "form.edit_content"),
            *nav(turn, cancel=False),
        )
        return Message(turn.t("form.ask_edit"), choices)

    async def on_choice(self, turn: Turn, value: str) -> None:
        turn.data[FormKey.AFTER_EDIT] = FormStep.REVIEW
        turn.goto(EDIT_TARGETS[value])

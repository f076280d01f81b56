"""The request form (phiếu yêu cầu đối thoại) as steps: consent, identify once, then question after question."""

from __future__ import annotations

import unicodedata

from bot.core.phone import display_phone, normalize_phone
from bot.core.text import one_line, shorten
from bot.core.turn import Step, Turn
from bot.core.types import Choice, Message
from bot.dialogues.registration import open_dialogue_screen, release_seats
from storage import people, submissions

CATEGORIES = ("poor", "near_poor", "escaped", "other")
KINDS = ("question", "opinion", "petition", "proposal")
MIN_CONTENT = 3
NAME_MARKS = frozenset(" .-'’")
PROFILE_STEPS = ("name", "hamlet", "category", "phone")
DIALOGUE_STEPS = ("dialogue", "dialogue_code", "dialogue_leave")
QUESTION_STEPS = ("q_kind", "q_field", "q_topic", "q_content", "review", "edit_pick")


def nav(turn: Turn, *, back: bool = True, cancel: bool = True) -> list[Choice]:
    items = []
    if back:
        items.append(turn.choice("back", "form.back"))
    if cancel:
        items.append(turn.choice("cancel", "form.cancel"))
    return items


def profile_complete(turn: Turn) -> bool:
    person = turn.session.person
    return bool(person.consent_at and person.full_name and person.hamlet_id and person.category)


def start_question(turn: Turn) -> None:
    turn.data.pop("draft", None)
    turn.data.pop("after_edit", None)
    turn.goto("q_kind")


def go_menu(turn: Turn) -> None:
    turn.data.pop("draft", None)
    turn.data.pop("after_edit", None)
    turn.data.pop("profile_edit", None)
    turn.goto("menu")


def cancel_current(turn: Turn) -> None:
    """Cancel: a question draft is dropped; during identification what was typed is kept and the form pauses."""
    if turn.session.step in QUESTION_STEPS:
        turn.say("form.cancelled")
        go_menu(turn)
    elif turn.session.step in DIALOGUE_STEPS:
        turn.goto("menu")
    elif turn.session.step in PROFILE_STEPS and not turn.data.get("profile_edit"):
        turn.data["resume_step"] = turn.session.step
        turn.say("form.paused")
        turn.goto("idle")
    else:
        go_menu(turn)


async def after_profile_step(turn: Turn, done: str) -> None:
    """The next identification step, skipping the hamlet when an invitation link already named it."""
    following = list(PROFILE_STEPS[PROFILE_STEPS.index(done) + 1:])
    person = turn.session.person
    if done == "name" and not person.hamlet_id:
        preset = turn.settings.unit(turn.data.pop("hamlet_preset", "") or "")
        if preset is not None and preset.is_leaf:
            await people.update_profile(turn.conn, person.id, hamlet_id=preset.id)
            person.hamlet_id = preset.id
            following.remove("hamlet")
    if following:
        turn.data.pop("unit_parent", None)
        turn.goto(following[0])
        return
    turn.say("form.profile_saved")
    if turn.data.pop("profile_edit", False):
        go_menu(turn)
    else:
        start_question(turn)


def continue_after_draft_edit(turn: Turn, default_next: str) -> None:
    if turn.data.get("after_edit") == "review" and default_next != "q_topic":
        turn.data.pop("after_edit", None)
        turn.goto("review")
    else:
        turn.goto(default_next)


class Consent(Step):
    name = "consent"

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
        await people.set_consent(turn.conn, turn.session.person.id, turn.engine.iso_now(turn))
        turn.session.person.consent_at = turn.engine.iso_now(turn)
        turn.say("form.consent_thanks")
        turn.goto("name")


class Name(Step):
    name = "name"
    free_text = True

    async def prompt(self, turn: Turn) -> Message:
        return Message(turn.t("form.ask_name"), tuple(nav(turn, back=bool(turn.data.get("profile_edit")))))

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "back":
            go_menu(turn)
        else:
            cancel_current(turn)

    async def on_text(self, turn: Turn, text: str) -> None:
        name = one_line(text)
        letters = [ch for ch in name if ch.isalpha()]
        allowed = all(ch.isalpha() or ch in NAME_MARKS or unicodedata.combining(ch) for ch in name)
        if not 2 <= len(name) <= 80 or len(letters) < 2 or not allowed:
            turn.say("form.bad_name")
            return
        name = " ".join(word[:1].upper() + word[1:] for word in name.split())
        await people.update_profile(turn.conn, turn.session.person.id, full_name=name)
        turn.session.person.full_name = name
        await after_profile_step(turn, "name")


class Hamlet(Step):
    """Choose a leaf unit, drilling down as many levels as the config has (commune → hamlet, or deeper)."""

    name = "hamlet"

    def _level(self, turn: Turn) -> list:
        parent_id = turn.data.get("unit_parent")
        units = turn.settings.units
        if parent_id:
            parent = turn.settings.unit(parent_id)
            units = parent.children if parent else units
        while len(units) == 1 and units[0].children:
            units = units[0].children
        return units

    async def prompt(self, turn: Turn) -> Message:
        units = self._level(turn)
        kinds = list(dict.fromkeys(u.kind for u in units if u.kind))  # "xã / thị trấn" when a level mixes them
        kind = " / ".join(kinds) if kinds else turn.t("form.unit_kind_default")
        choices = [Choice(f"u:{u.id}", u.name) for u in units]
        return Message(turn.t("form.ask_unit", kind=kind), (*choices, *nav(turn)), columns=2)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "cancel":
            cancel_current(turn)
            return
        if value == "back":
            self._go_up(turn)
            return
        unit = turn.settings.unit(value.removeprefix("u:"))
        if unit is None:
            return
        if unit.children:
            turn.data["unit_parent"] = unit.id
            turn.touch()
            return
        await people.update_profile(turn.conn, turn.session.person.id, hamlet_id=unit.id)
        turn.session.person.hamlet_id = unit.id
        turn.data.pop("unit_parent", None)
        await after_profile_step(turn, "hamlet")

    def _go_up(self, turn: Turn) -> None:
        """One level up the unit tree, skipping levels with a single unit; from the top, back to the name."""
        current = self._level(turn)
        parent_id = turn.data.get("unit_parent")
        while parent_id:
            path = turn.settings.unit_path(parent_id)
            parent_id = path[-2].id if len(path) > 1 else None
            if parent_id:
                turn.data["unit_parent"] = parent_id
            else:
                turn.data.pop("unit_parent", None)
            if self._level(turn) != current:
                turn.touch()
                return
        turn.data.pop("unit_parent", None)
        turn.goto("name")


class Category(Step):
    name = "category"

    async def prompt(self, turn: Turn) -> Message:
        choices = [turn.choice(f"c:{c}", f"form.category_{c}") for c in CATEGORIES]
        return Message(turn.t("form.ask_category"), (*choices, *nav(turn)))

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "back":
            turn.goto("hamlet")
        elif value == "cancel":
            cancel_current(turn)
        else:
            category = value.removeprefix("c:")
            await people.update_profile(turn.conn, turn.session.person.id, category=category)
            turn.session.person.category = category
            await after_profile_step(turn, "category")


class Phone(Step):
    name = "phone"
    free_text = True

    async def prompt(self, turn: Turn) -> Message:
        button = turn.msg.channel in turn.engine.contact_channels
        text = turn.t("form.ask_phone" if button else "form.ask_phone_typed")
        choices = (turn.choice("skip", "form.skip"), *nav(turn))
        return Message(text, choices, ask_contact=button, contact_label=turn.t("form.share_phone") if button else "")

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "back":
            turn.goto("category")
        elif value == "cancel":
            cancel_current(turn)
        else:
            turn.say("form.phone_skipped")
            await after_profile_step(turn, "phone")

    async def on_text(self, turn: Turn, text: str) -> None:
        await self._save(turn, text, verified=False)

    async def on_contact(self, turn: Turn, phone: str) -> None:
        await self._save(turn, phone, verified=True)

    async def _save(self, turn: Turn, raw: str, *, verified: bool) -> None:
        phone = normalize_phone(raw)
        if phone is None:
            turn.say("form.bad_phone", text=shorten(one_line(raw), 30))
            return
        await people.update_profile(turn.conn, turn.session.person.id, phone=phone, phone_verified=int(verified))
        turn.session.person.phone, turn.session.person.phone_verified = phone, verified
        turn.say("form.phone_saved", phone=display_phone(phone))
        await after_profile_step(turn, "phone")


class Kind(Step):
    name = "q_kind"

    async def prompt(self, turn: Turn) -> Message:
        choices = [turn.choice(f"k:{k}", f"form.kind_{k}") for k in KINDS]
        return Message(turn.t("form.ask_kind"), (*choices, *nav(turn)), columns=2)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "back":
            go_menu(turn) if turn.data.get("after_edit") != "review" else turn.goto("review")
        elif value == "cancel":
            cancel_current(turn)
        else:
            turn.draft["kind"] = value.removeprefix("k:")
            continue_after_draft_edit(turn, "q_field")


class FieldStep(Step):
    name = "q_field"

    async def prompt(self, turn: Turn) -> Message:
        choices = [Choice(f"f:{f.id}", f.name) for f in turn.settings.fields]
        return Message(turn.t("form.ask_field"), (*choices, *nav(turn)))

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "back":
            turn.goto("review" if turn.data.get("after_edit") == "review" else "q_kind")
        elif value == "cancel":
            cancel_current(turn)
        else:
            turn.draft["field"] = value.removeprefix("f:")
            turn.draft.pop("topic", None)
            turn.goto("q_topic")


class TopicStep(Step):
    name = "q_topic"

    async def prompt(self, turn: Turn) -> Message:
        field = turn.settings.field(turn.draft.get("field", "")) or turn.settings.fields[0]
        choices = [Choice(f"t:{tp.id}", tp.name) for tp in field.topics]
        return Message(turn.t("form.ask_topic", field=field.name), (*choices, *nav(turn)))

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "back":
            turn.goto("q_field")
        elif value == "cancel":
            cancel_current(turn)
        else:
            found = turn.settings.topic(value.removeprefix("t:"))
            if found is None or found[0].id != turn.draft.get("field"):
                return
            turn.draft["topic"] = found[1].id
            continue_after_draft_edit(turn, "q_content")


class Content(Step):
    name = "q_content"
    free_text = True

    async def prompt(self, turn: Turn) -> Message:
        kind = turn.t(f"form.kind_{turn.draft.get('kind', 'question')}")
        kind_lower = kind.split(" ", 1)[-1].lower()
        text = turn.t("form.ask_content", kind_lower=kind_lower, limit=turn.settings.bot.max_text_length)
        return Message(text, tuple(nav(turn)))

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "back":
            turn.goto("review" if turn.data.get("after_edit") == "review" else "q_topic")
        else:
            cancel_current(turn)

    async def on_text(self, turn: Turn, text: str) -> None:
        limit = turn.settings.bot.max_text_length
        if not text:
            turn.say("form.empty_text")
        elif len(text) > limit:
            turn.say("form.too_long", length=f"{len(text):,}".replace(",", "."), limit=limit)
        elif len(text) < MIN_CONTENT and not turn.draft.get("media_id"):
            turn.say("form.too_short", min=MIN_CONTENT)
        else:
            turn.draft["content"] = text
            turn.draft.pop("media_kind", None)
            turn.draft.pop("media_id", None)
            turn.data.pop("after_edit", None)
            turn.goto("review")

    async def on_media(self, turn: Turn) -> None:
        caption = turn.msg.text
        if len(caption) > turn.settings.bot.max_text_length:
            await self.on_text(turn, caption)
            return
        turn.draft["media_kind"] = turn.msg.media_kind
        turn.draft["media_id"] = turn.msg.media_id
        turn.draft["content"] = caption
        turn.data.pop("after_edit", None)
        turn.goto("review")


def draft_summary(turn: Turn) -> str:
    draft = turn.draft
    found = turn.settings.topic(draft.get("topic", ""))
    field_name, topic_name = (found[0].name, found[1].name) if found else ("?", "?")
    hamlet = turn.settings.unit(turn.session.person.hamlet_id or "")
    content_parts = []
    if draft.get("media_kind"):
        content_parts.append(turn.t(f"form.media_{draft['media_kind']}"))
    if draft.get("content"):
        content_parts.append(draft["content"])
    return turn.t(
        "form.review",
        name=turn.session.person.full_name or "",
        hamlet=hamlet.name if hamlet else "",
        kind=turn.t(f"form.kind_{draft.get('kind', 'question')}"),
        field=field_name,
        topic=topic_name,
        content="\n".join(content_parts),
    )


class Review(Step):
    name = "review"

    async def prompt(self, turn: Turn) -> Message:
        choices = (turn.choice("submit", "form.submit"), turn.choice("edit", "form.edit"), *nav(turn))
        return Message(draft_summary(turn), choices, columns=2)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "submit":
            await self._submit(turn)
        elif value == "edit":
            turn.goto("edit_pick")
        elif value == "back":
            turn.goto("q_content")
        else:
            cancel_current(turn)

    async def _submit(self, turn: Turn) -> None:
        draft, person = turn.draft, turn.session.person
        found = turn.settings.topic(draft.get("topic", ""))
        if found is None or draft.get("kind") not in KINDS or not (draft.get("content") or draft.get("media_id")):
            turn.goto("q_kind")  # an incomplete draft (config changed under it): start the question again
            return
        sub = await submissions.create_submission(
            turn.conn, person_id=person.id, hamlet_id=person.hamlet_id, category=person.category,
            kind=draft["kind"], field_id=found[0].id, topic_id=found[1].id, content=draft.get("content") or None,
            media_kind=draft.get("media_kind"), media_file_id=draft.get("media_id"), channel=turn.msg.channel,
            now=turn.engine.iso_now(turn),
        )
        turn.data.pop("draft", None)
        turn.say("form.receipt", code=sub.code)
        turn.goto("submitted")


class EditPick(Step):
    name = "edit_pick"

    async def prompt(self, turn: Turn) -> Message:
        choices = (
            turn.choice("kind", "form.edit_kind"),
            turn.choice("topic", "form.edit_topic"),
            turn.choice("content", "form.edit_content"),
            *nav(turn, cancel=False),
        )
        return Message(turn.t("form.ask_edit"), choices)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "back":
            turn.goto("review")
            return
        turn.data["after_edit"] = "review"
        turn.goto({"kind": "q_kind", "topic": "q_field", "content": "q_content"}[value])


class Submitted(Step):
    name = "submitted"

    async def prompt(self, turn: Turn) -> Message:
        choices = (
            turn.choice("another", "form.another"),
            turn.choice("dialogue", "registration.menu_register"),
            turn.choice("mine", "form.menu_mine"),
            turn.choice("done", "form.finished"),
        )
        return Message(turn.t("form.ask_after_submit"), choices)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "another":
            start_question(turn)
        elif value == "dialogue":
            open_dialogue_screen(turn, "menu")
        elif value == "mine":
            await turn.engine.show_my_questions(turn)
        else:
            turn.say("form.thanks_bye")
            go_menu(turn)


class Menu(Step):
    name = "menu"

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
            open_dialogue_screen(turn, "menu")
        elif value == "mine":
            await turn.engine.show_my_questions(turn)
        elif value == "profile":
            turn.data["profile_edit"] = True
            turn.goto("name")
        else:
            turn.say("common.help")


class Idle(Step):
    """Paused during identification: one button to carry on where the household stopped."""

    name = "idle"

    async def prompt(self, turn: Turn) -> Message:
        return Message(turn.t("form.ask_menu"), (turn.choice("resume", "form.continue"),))

    async def on_choice(self, turn: Turn, value: str) -> None:
        resume_where_left(turn)


def resume_where_left(turn: Turn) -> None:
    step = turn.data.pop("resume_step", None)
    if step in PROFILE_STEPS:
        turn.goto(step)
    elif profile_complete(turn):
        start_question(turn)
    else:
        turn.goto("name")


class ForgetConfirm(Step):
    name = "forget_confirm"

    async def prompt(self, turn: Turn) -> Message:
        choices = (turn.choice("yes", "common.forget_yes"), turn.choice("no", "common.forget_no"))
        return Message(turn.t("common.forget_ask"), choices)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "yes":
            await release_seats(turn)
            count = await people.forget_person(turn.conn, turn.session.person.id)
            turn.deleted = True
            turn.show_prompt = False
            turn.say("common.forget_done", count=count)
            return
        turn.say("common.forget_kept")
        back_to = turn.data.pop("before_forget", "menu")
        turn.goto(back_to)


FORM_STEPS: tuple[Step, ...] = (
    Consent(), Name(), Hamlet(), Category(), Phone(), Kind(), FieldStep(), TopicStep(), Content(), Review(),
    EditPick(), Submitted(), Menu(), Idle(), ForgetConfirm(),
)

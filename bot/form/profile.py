"""Identification, once: the household's name, its hamlet (down the unit tree), its category and its phone."""

from __future__ import annotations

import unicodedata

from bot.core.choices import tag, untag
from bot.core.config import Unit
from bot.core.i18n import LANGUAGES, t
from bot.core.phone import display_phone, normalize_phone
from bot.core.steps import nav
from bot.core.text import fold, one_line, shorten
from bot.core.turn import Turn
from bot.core.types import Choice, Message
from bot.form.flow import FormStepBase, after_profile_step, go_menu
from bot.form.states import CATEGORIES, FormKey, FormStep, Tag
from storage import people

NAME_MARKS = frozenset(" .-'’")
KEEP = "keep"


def editing(turn: Turn) -> bool:
    """The household changes its details from the menu: each step shows what is kept now."""
    return bool(turn.data.get(FormKey.PROFILE_EDIT))


def with_current(turn: Turn, text: str, value: str) -> str:
    """The question, after the value kept now when the details are being changed."""
    return turn.t("form.current_value", value=value) + "\n" + text if editing(turn) and value else text


class Name(FormStepBase):
    name = FormStep.NAME
    free_text = True

    async def prompt(self, turn: Turn) -> Message:
        current = turn.session.person.full_name or ""
        if editing(turn) and current:
            text = with_current(turn, turn.t("form.ask_name_new"), current)
            return Message(text, (turn.choice(KEEP, "form.keep"), *nav(turn)))
        return Message(turn.t("form.ask_name"), tuple(nav(turn)))

    async def on_back(self, turn: Turn) -> None:
        if editing(turn):
            go_menu(turn)
        else:
            turn.goto(FormStep.CONSENT)  # the first question again (its "no" deletes everything, as it says)

    async def on_choice(self, turn: Turn, value: str) -> None:
        await after_profile_step(turn, FormStep.NAME)  # "keep": the name stays as it is

    async def on_text(self, turn: Turn, text: str) -> None:
        name = one_line(text)
        if fold(name) in {fold(t("form.skip", lang)) for lang in LANGUAGES}:  # "bỏ qua" is not a name
            turn.say("form.name_required")
            return
        letters = [ch for ch in name if ch.isalpha()]
        allowed = all(ch.isalpha() or ch in NAME_MARKS or unicodedata.combining(ch) for ch in name)
        if not 2 <= len(name) <= 80 or len(letters) < 2 or not allowed:
            turn.say("form.bad_name")
            return
        name = " ".join(word[:1].upper() + word[1:] for word in name.split())
        await people.update_profile(turn.conn, turn.session.person.id, full_name=name)
        turn.session.person.full_name = name
        await after_profile_step(turn, FormStep.NAME)


class Hamlet(FormStepBase):
    """Choose a leaf unit, drilling down as many levels as the config has (commune → hamlet, or deeper)."""

    name = FormStep.HAMLET

    def _level(self, turn: Turn) -> list[Unit]:
        parent_id = turn.data.get(FormKey.UNIT_PARENT)
        units = turn.settings.units
        if parent_id:
            parent = turn.settings.unit(parent_id)
            units = parent.children if parent else units
        while len(units) == 1 and units[0].children:
            units = units[0].children
        return list(units)

    async def prompt(self, turn: Turn) -> Message:
        units = self._level(turn)
        kinds = list(dict.fromkeys(u.kind for u in units if u.kind))  # "xã / thị trấn" when a level mixes them
        kind = " / ".join(kinds) if kinds else turn.t("form.unit_kind_default")
        choices = [Choice(tag(Tag.UNIT, u.id), u.name) for u in units]
        hamlet = turn.settings.unit(turn.session.person.hamlet_id or "")
        text = with_current(turn, turn.t("form.ask_unit", kind=kind), hamlet.name if hamlet else "")
        return Message(text, (*choices, *nav(turn)), columns=2)

    async def on_choice(self, turn: Turn, value: str) -> None:
        unit = turn.settings.unit(untag(value, Tag.UNIT) or "")
        if unit is None:
            return
        if unit.children:
            turn.data[FormKey.UNIT_PARENT] = unit.id
            turn.touch()
            return
        await people.update_profile(turn.conn, turn.session.person.id, hamlet_id=unit.id)
        turn.session.person.hamlet_id = unit.id
        turn.data.pop(FormKey.UNIT_PARENT, None)
        await after_profile_step(turn, FormStep.HAMLET)

    async def on_back(self, turn: Turn) -> None:
        """One level up the unit tree, skipping levels with a single unit; from the top, back to the name."""
        current = self._level(turn)
        parent_id = turn.data.get(FormKey.UNIT_PARENT)
        while parent_id:
            path = turn.settings.unit_path(parent_id)
            parent_id = path[-2].id if len(path) > 1 else None
            if parent_id:
                turn.data[FormKey.UNIT_PARENT] = parent_id
            else:
                turn.data.pop(FormKey.UNIT_PARENT, None)
            if self._level(turn) != current:
                turn.touch()
                return
        turn.data.pop(FormKey.UNIT_PARENT, None)
        turn.goto(FormStep.NAME)


class Category(FormStepBase):
    name = FormStep.CATEGORY
    back_to = FormStep.HAMLET

    async def prompt(self, turn: Turn) -> Message:
        choices = [turn.choice(tag(Tag.CATEGORY, c), f"form.category_{c}") for c in CATEGORIES]
        category = turn.session.person.category
        current = turn.t(f"form.category_{category}") if category in CATEGORIES else ""
        return Message(with_current(turn, turn.t("form.ask_category"), current), (*choices, *nav(turn)))

    async def on_choice(self, turn: Turn, value: str) -> None:
        category = untag(value, Tag.CATEGORY) or value
        await people.update_profile(turn.conn, turn.session.person.id, category=category)
        turn.session.person.category = category
        await after_profile_step(turn, FormStep.CATEGORY)


class Phone(FormStepBase):
    name = FormStep.PHONE
    free_text = True
    asks_contact = True
    back_to = FormStep.CATEGORY

    async def prompt(self, turn: Turn) -> Message:
        button = turn.msg.channel in turn.context.contact_channels
        text = turn.t("form.ask_phone" if button else "form.ask_phone_typed")
        phone = turn.session.person.phone
        text = with_current(turn, text, display_phone(phone) if phone else "")
        keep = editing(turn) and bool(phone)
        choices = (turn.choice("skip", "form.keep" if keep else "form.skip"), *nav(turn))
        return Message(text, choices, ask_contact=button, contact_label=turn.t("form.share_phone") if button else "")

    async def on_choice(self, turn: Turn, value: str) -> None:
        if not (editing(turn) and turn.session.person.phone):
            turn.say("form.phone_skipped")
        await after_profile_step(turn, FormStep.PHONE)

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
        await after_profile_step(turn, FormStep.PHONE)

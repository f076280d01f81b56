"""The Step base: one state of a conversation, its prompt, and what it does with each kind of input.

The engine validates a tap or a typed answer against the prompt's choices, then routes it: ``back`` to
``on_back`` (which goes to ``back_to`` unless the step says otherwise), ``cancel`` to ``on_cancel``, anything
else to ``on_choice``. Step names are ``StrEnum`` members that each capability declares once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum
from typing import ClassVar

from bot.core.turn import Turn
from bot.core.types import Choice, Message

BACK = "back"
CANCEL = "cancel"


def nav(turn: Turn, *, back: bool = True, cancel: bool = True) -> list[Choice]:
    """The "back" and "cancel" buttons a step offers under its own choices."""
    items = []
    if back:
        items.append(turn.choice(BACK, "form.back"))
    if cancel:
        items.append(turn.choice(CANCEL, "form.cancel"))
    return items


class Step(ABC):
    """A step of a conversation. Subclasses give the prompt and handle answers; choices are validated for them."""

    name: ClassVar[StrEnum]
    free_text: ClassVar[bool] = False      # typed text is the answer itself (name, content, phone)
    needs_consent: ClassVar[bool] = True   # False for the staff's own work and for the forget question
    asks_contact: ClassVar[bool] = False   # its prompt shows the contact button: leaving it removes the keyboard
    takes_documents: ClassVar[bool] = False  # a file sent here is for this step (``on_document``)
    back_to: ClassVar[StrEnum | None] = None  # where ``back`` goes unless ``on_back`` says otherwise
    role: ClassVar[str | None] = None      # the least role needed to act in this step, checked at every input

    @abstractmethod
    async def prompt(self, turn: Turn) -> Message:
        """The question of this step, with its choices."""

    async def on_choice(self, turn: Turn, value: str) -> None:
        """Handle one of the choices the prompt offered (already validated; back and cancel come separately).

        A step whose only choices are back and cancel has nothing to do here."""
        return None

    async def on_back(self, turn: Turn) -> None:
        if self.back_to is not None:
            turn.goto(self.back_to)
        else:
            turn.go_home()

    async def on_cancel(self, turn: Turn) -> None:
        turn.go_home()

    async def on_text(self, turn: Turn, text: str) -> None:
        """Text at a step that asked for a choice: a household's words may still be taken (``Registry.on_idle``);
        else the step asks for a choice again."""
        if self.role is None and await turn.offer_idle():
            return
        # without buttons the list that follows ends with "type its number": first say something else
        turn.say("form.choose_please" if turn.has_buttons else "form.not_understood_number")

    async def on_media(self, turn: Turn) -> None:
        if self.role is None and await turn.offer_idle():
            return
        turn.say("form.media_not_here")

    async def on_contact(self, turn: Turn, phone: str) -> None:
        await self.on_text(turn, phone)

    async def on_document(self, turn: Turn) -> None:
        """A file sent at this step; only steps that take one (``takes_documents``) override this."""
        turn.say("form.unsupported")

    async def choose(self, turn: Turn, value: str) -> None:
        """Route a validated choice: back and cancel are handled here, once, for every step."""
        if value == BACK:
            await self.on_back(turn)
        elif value == CANCEL:
            await self.on_cancel(turn)
        else:
            await self.on_choice(turn, value)

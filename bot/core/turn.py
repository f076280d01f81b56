"""The pieces every conversation step is made of: the turn being handled and the Step base class."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.types import Choice, Incoming, Message
from storage import Connection
from storage.records import Session

if TYPE_CHECKING:
    from bot.core.engine import Engine


@dataclass(slots=True)
class Turn:
    """One input being handled inside one database transaction."""

    engine: Engine
    conn: Connection
    session: Session
    msg: Incoming
    now: datetime
    replies: list[Message] = field(default_factory=list)
    dirty: bool = False
    show_prompt: bool = True
    remove_keyboard: bool = False
    deleted: bool = False
    events: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[list[Message]]]] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    @property
    def lang(self) -> str:
        return self.session.person.language

    @property
    def data(self) -> dict[str, Any]:
        return self.session.data

    @property
    def draft(self) -> dict[str, Any]:
        return self.session.data.setdefault("draft", {})

    def t(self, key: str, **values: Any) -> str:
        return t(key, self.lang, **values)

    def say(self, key: str, **values: Any) -> None:
        self.replies.append(Message(self.t(key, **values)))

    def say_text(self, text: str) -> None:
        self.replies.append(Message(text))

    def refuse(self, key: str) -> None:
        """Answer a tap that is not taken: the channel keeps the tapped message as it was."""
        self.replies.append(Message(self.t(key), refused=True))

    def goto(self, step: str) -> None:
        if self.session.step == "phone" and step != "phone":
            self.remove_keyboard = True
        self.session.step = step
        self.dirty = True

    def emit(self, name: str, *args: object) -> None:
        """Announce an event once this turn's transaction has committed (see bot/events.py)."""
        if (name, args) not in self.events:
            self.events.append((name, args))

    def touch(self) -> None:
        self.dirty = True

    def choice(self, value: str, key: str, **values: Any) -> Choice:
        return Choice(value, self.t(key, **values))

    def finish(self, prompt: Message | None) -> list[Message]:
        """The replies of this turn, the current step's prompt last, stamped with the saved version."""
        replies = list(self.replies)
        if prompt is not None:
            replies.append(replace(prompt, version=self.session.version))
        if self.remove_keyboard and replies:
            replies[0] = replace(replies[0], remove_keyboard=True)
        return replies


class Step(ABC):
    """A step of a conversation. Subclasses give the prompt and handle answers; choices are validated for them."""

    name: str = ""
    free_text: bool = False  # True where typed text is the answer itself (name, content, phone)
    staff: bool = False      # a step of the staff's own work: no household consent needed to be in it

    @abstractmethod
    async def prompt(self, turn: Turn) -> Message:
        """The question of this step, with its choices."""

    @abstractmethod
    async def on_choice(self, turn: Turn, value: str) -> None:
        """Handle one of the choices the prompt offered (already validated)."""

    async def on_text(self, turn: Turn, text: str) -> None:
        turn.say("form.choose_please" if turn.msg.channel in turn.engine.button_channels
                 else "form.choose_number")

    async def on_media(self, turn: Turn) -> None:
        turn.say("form.media_not_here")

    async def on_contact(self, turn: Turn, phone: str) -> None:
        await self.on_text(turn, phone)

    async def on_document(self, turn: Turn) -> None:
        """A file sent at this step; only steps that expect one (an announcement's attachment) override this."""
        turn.say("form.unsupported")

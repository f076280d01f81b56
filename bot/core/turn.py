"""The turn being handled: the speaker's state, the input, and what a step needs, as plain values.

A ``Turn`` does not hold the engine. What a step may need beyond the conversation itself (which channels have
buttons, the bot's username for deep links, file downloads, the database and the clock for work after the commit)
comes in a small frozen ``TurnContext`` that the engine builds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.core.clock import Clock, iso, system_clock
from bot.core.config import Settings
from bot.core.events import Events
from bot.core.i18n import t
from bot.core.types import Choice, Incoming, Message
from storage import Connection, Database
from storage.records import Session

FileFetcher = Callable[[str], Awaitable[bytes]]


class StepView(Protocol):
    """What a turn needs of a step (``bot.core.steps.Step``): whether leaving it removes the contact button, and
    its prompt."""

    @property
    def asks_contact(self) -> bool: ...

    async def prompt(self, turn: Turn) -> Message: ...


Authorizer = Callable[["Turn", str], Awaitable[bool]]  # (turn, role needed) -> may the speaker?
IdleHandler = Callable[["Turn"], Awaitable[bool]]      # text or a file nobody asked for: taken (True) or not


async def nobody_has_a_role(turn: Turn, role: str) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class TurnContext:
    """The facts of the running application a step may use; the engine gives every turn the same ones."""

    db: Database
    clock: Clock = system_clock
    events: Events = field(default_factory=Events)
    button_channels: frozenset[str] = frozenset({"telegram"})
    contact_channels: frozenset[str] = frozenset({"telegram"})
    bot_username: str = ""  # invitation links need it (Telegram)
    file_fetchers: Mapping[str, FileFetcher] = field(default_factory=dict)
    steps: Mapping[str, StepView] = field(default_factory=dict)
    entry: str = ""  # the step of someone the bot does not know yet (the consent question)
    home: str = ""   # where a finished errand returns (the menu)
    authorizer: Authorizer = nobody_has_a_role  # the staff capability's role check
    idle: IdleHandler | None = None  # text at a step that asked for none: the form's "say it first"

    def step(self, name: str) -> StepView:
        """The step called ``name``; the entry step when there is no such step (any more)."""
        return self.steps.get(name) or self.steps[self.entry]


@dataclass(slots=True)
class Turn:
    """One input being handled inside one database transaction."""

    settings: Settings
    conn: Connection
    session: Session
    msg: Incoming
    now: datetime
    context: TurnContext
    replies: list[Message] = field(default_factory=list)
    dirty: bool = False
    show_prompt: bool = True
    remove_keyboard: bool = False
    deleted: bool = False
    tapped: bool = False  # the input was a tap the step took: its prompt may replace the tapped message
    events: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[list[Message]]]] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.session.person.language

    @property
    def now_iso(self) -> str:
        return iso(self.now)

    @property
    def data(self) -> dict[str, Any]:
        return self.session.data

    @property
    def has_buttons(self) -> bool:
        return self.msg.channel in self.context.button_channels

    async def has_role(self, role: str) -> bool:
        """Whether the speaker holds ``role`` (or a higher one)."""
        return await self.context.authorizer(self, role)

    def t(self, key: str, **values: Any) -> str:
        return t(key, self.lang, **values)

    def say(self, key: str, **values: Any) -> None:
        self.replies.append(Message(self.t(key, **values)))

    def say_text(self, text: str) -> None:
        self.replies.append(Message(text))

    def refuse(self, key: str) -> None:
        """Answer a tap that is not taken: the channel keeps the tapped message as it was."""
        self.replies.append(Message(self.t(key), refused=True))

    def goto(self, step: StrEnum) -> None:
        self._move(step)

    def go_home(self) -> None:
        self._move(self.context.home)

    def resume(self, step: str | None) -> None:
        """Go back to a step remembered in the conversation data (home when none was remembered)."""
        self._move(step or self.context.home)

    def _move(self, step: str) -> None:
        current = self.context.steps.get(self.session.step)
        if current is not None and current.asks_contact and step != self.session.step:
            self.remove_keyboard = True  # the contact button that step showed must not linger
        self.session.step = str(step)
        self.dirty = True

    def emit(self, name: str, *args: object) -> None:
        """Announce an event once this turn's transaction has committed (see bot/core/events.py)."""
        if (name, args) not in self.events:
            self.events.append((name, args))

    def touch(self) -> None:
        self.dirty = True

    def choice(self, value: str, key: str, **values: Any) -> Choice:
        return Choice(value, self.t(key, **values))

    def view(self, session: Session) -> Turn:
        """The same input seen from another conversation (after two identities became one person)."""
        return Turn(self.settings, self.conn, session, self.msg, self.now, self.context)

    async def offer_idle(self) -> bool:
        """Give text or a file the current step did not ask for to the registered idle handler; True if taken."""
        return self.context.idle is not None and await self.context.idle(self)

    def finish(self, prompt: Message | None, *, free_text: bool = False) -> list[Message]:
        """The replies of this turn, the current step's prompt last, stamped with the saved version.

        After a tap that only moved the conversation (nothing said besides the next prompt, no keyboard to remove or
        ask), the prompt may replace the tapped message: one message on a small screen, not two."""
        replies = list(self.replies)
        if prompt is not None:
            in_place = (self.tapped and not replies and not self.remove_keyboard and not prompt.ask_contact
                        and not prompt.qr)
            replies.append(replace(prompt, version=self.session.version, free_text=free_text or prompt.free_text,
                                   replaces_tapped=in_place))
        if self.remove_keyboard and replies:
            replies[0] = replace(replies[0], remove_keyboard=True)
        return replies

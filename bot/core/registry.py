"""The registry: the one list of conversation steps, commands and input hooks the engine dispatches through.

Each capability adds its own in ``register(registry)`` (see ``bot/cli/wiring.py``); the engine knows none of
them. A command names the role it needs (None: everyone); the role check is a function the staff capability
registers, so the core knows roles only as words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.core.steps import Step
from bot.core.turn import Authorizer, IdleHandler, Turn, nobody_has_a_role

Handler = Callable[[Turn, str], Awaitable[None]]   # a command, a scanned text: (turn, its text)
TurnAction = Callable[[Turn], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    role: str | None = None  # None: anyone may use it; else the least role it needs (staff commands)


@dataclass(frozen=True, slots=True)
class TextHook:
    """Typed text that starts with ``prefix`` (any case), from someone with ``role``, whatever the step."""

    prefix: str
    role: str
    handler: Handler


@dataclass(frozen=True, slots=True)
class DocumentHook:
    """A file from someone with ``role`` while the current step does not take files."""

    role: str
    handler: TurnAction


@dataclass(frozen=True, slots=True)
class TapHook:
    """A tap on a message the bot sent on its own (version 0) whose value starts with ``prefix``."""

    prefix: str
    handler: Handler


class Registry:
    """Steps, commands and hooks by name; filled once at start, read at every turn."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}
        self.commands: dict[str, Command] = {}
        self.text_hooks: list[TextHook] = []
        self.document_hooks: list[DocumentHook] = []
        self.tap_hooks: list[TapHook] = []
        self.authorizer: Authorizer = nobody_has_a_role
        self.auditor: Handler | None = None
        self.idle: IdleHandler | None = None
        self.entry: StrEnum | None = None
        self.home: StrEnum | None = None

    def add_steps(self, *steps: Step) -> None:
        for step in steps:
            if step.name in self.steps:
                raise ValueError(f"two steps are called {step.name!r}")
            self.steps[step.name] = step

    def add_command(self, name: str, handler: Handler, role: str | None = None) -> None:
        if name in self.commands:
            raise ValueError(f"two commands are called /{name}")
        self.commands[name] = Command(name, handler, role)

    def add_commands(self, table: dict[str, tuple[str | None, Handler]]) -> None:
        for name, (role, handler) in table.items():
            self.add_command(name, handler, role)

    def on_text_prefix(self, prefix: str, role: str, handler: Handler) -> None:
        self.text_hooks.append(TextHook(prefix.upper(), role, handler))

    def on_document(self, role: str, handler: TurnAction) -> None:
        self.document_hooks.append(DocumentHook(role, handler))

    def on_tap(self, prefix: str, handler: Handler) -> None:
        self.tap_hooks.append(TapHook(prefix, handler))

    def on_idle(self, handler: IdleHandler) -> None:
        """``handler(turn)`` is offered the text or file a household sends at a step that asked for a choice (a
        question typed straight at the menu); it returns whether it took it. One per registry."""
        if self.idle is not None:
            raise ValueError("an idle handler is registered already")
        self.idle = handler

    def authorize_with(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def audit_with(self, auditor: Handler) -> None:
        """``auditor(turn, "/name args")`` records every staff command once it ran, in its transaction."""
        self.auditor = auditor

    def start_at(self, entry: StrEnum, home: StrEnum) -> None:
        """``entry``: the step of someone new (consent); ``home``: where a finished errand returns (the menu)."""
        self.entry, self.home = entry, home

    async def allows(self, turn: Turn, role: str | None) -> bool:
        return role is None or await self.authorizer(turn, role)

    def staff_commands(self) -> dict[str, Command]:
        """The commands that need a role, by name."""
        return {name: c for name, c in self.commands.items() if c.role is not None}

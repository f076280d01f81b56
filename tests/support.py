"""Test helpers shared by the engine-level tests: a household that talks to the engine directly."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.engine import Engine
from bot.core.types import Incoming, InputKind, Message


@dataclass
class Household:
    """Drives the engine as one person would, remembering the last keyboard it was shown."""

    engine: Engine
    user_id: str = "1001"
    channel: str = "telegram"
    replies: list[Message] = field(default_factory=list)

    async def send(self, kind: InputKind, **values: object) -> list[Message]:
        msg = Incoming(self.channel, self.user_id, self.user_id, kind, **values)  # type: ignore[arg-type]
        self.replies = await self.engine.handle(msg)
        return self.replies

    async def command(self, name: str, args: str = "") -> list[Message]:
        return await self.send(InputKind.COMMAND, command=name, text=args)

    async def type(self, text: str) -> list[Message]:
        return await self.send(InputKind.TEXT, text=text)

    async def tap(self, value: str, version: int | None = None) -> list[Message]:
        return await self.send(InputKind.CHOICE, choice=value, version=self.version if version is None else version)

    async def pick(self, label_part: str) -> list[Message]:
        """Tap the button whose label contains ``label_part``."""
        matches = [c for c in self.prompt.choices if label_part in c.label]
        assert len(matches) == 1, f"{label_part!r} not exactly once in {self.labels}"
        return await self.tap(matches[0].value)

    @property
    def prompt(self) -> Message:
        return self.replies[-1]

    @property
    def version(self) -> int:
        return self.prompt.version

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.prompt.choices]

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    async def identify(self, name: str = "Nguyễn Văn Bình", hamlet: str = "Tân Hậu",
                       category: str = "c:poor") -> None:
        await self.command("start")
        await self.tap("yes")
        await self.type(name)
        await self.pick(hamlet)
        await self.tap(category)
        await self.tap("skip")

    async def ask(self, content: str, kind: str = "k:question", field: str = "f:giam-ngheo",
                  topic: str = "t:y-te") -> list[Message]:
        """From the question-kind step to the receipt."""
        await self.tap(kind)
        await self.tap(field)
        await self.tap(topic)
        await self.type(content)
        return await self.tap("submit")

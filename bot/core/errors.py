"""The one base of a refused request: a catalogue key and its values, so any channel can explain it in the
speaker's language. Capabilities raise their own subclasses; the command dispatcher catches this base."""

from __future__ import annotations

from bot.core.i18n import t


class Refusal(Exception):
    """A refused change, with a catalogue key so the chat and the CLI can explain it in the user's language."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(t(key, "en", **values))
        self.key = key
        self.values = values

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.values)

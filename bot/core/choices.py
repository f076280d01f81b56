"""Reading a typed answer as one of the offered choices: by its number or by its words, accents optional.

Shared by every channel: Zalo and the terminal have no buttons, and on Telegram a household may type anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.text import fold
from bot.core.types import Choice


def match_choice(text: str, choices: Sequence[Choice], *, loose: bool) -> Choice | None:
    """``loose`` also accepts a unique partial match ("tan hau" → "Ấp Tân Hậu"); free-text steps pass False."""
    stripped = text.strip().rstrip(".)")
    if stripped.isdecimal():  # not isdigit: "²" is a digit that int() refuses
        index = int(stripped) - 1
        return choices[index] if 0 <= index < len(choices) else None
    key = fold(text)
    if not key:
        return None
    exact = [c for c in choices if fold(c.label) == key]
    if exact:
        return exact[0]
    if not loose:
        return None
    padded = f" {key} "
    partial = [c for c in choices if padded in f" {fold(c.label)} "]
    return partial[0] if len(partial) == 1 else None

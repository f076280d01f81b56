"""Choices: reading a typed answer as one of the offered choices, and the tagged values that buttons carry.

Matching is shared by every channel: Zalo and the terminal have no buttons, and on Telegram a household may type
anyway. A tagged value (``u:tan-hau``) names what a button stands for; the tags on the wire stay as they always
were, so a keyboard drawn before an upgrade keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.text import fold
from bot.core.types import Choice

SEPARATOR = ":"
NEGATION_LABEL = frozenset({"không", "chưa", "chẳng", "chớ", "đừng", "not", "no", "don't", "never"})
# typed without accents a "not" folds into words that mean other things too ("chua": chưa or chữa): a typed answer
# with any of these is never read as the positive choice
NEGATION_TYPED = frozenset({"khong", "chua", "chang", "cho", "dung", "ko", "k", "hong", "hok", "not", "no", "dont",
                            "never"})


def tag(kind: str, ref: object) -> str:
    """The value of a button that stands for ``ref`` of the given kind: ``tag("u", "tan-hau") == "u:tan-hau"``."""
    return f"{kind}{SEPARATOR}{ref}"


def untag(value: str, kind: str) -> str | None:
    """The ``ref`` of a value made by ``tag(kind, ref)``; None when the value is not of that kind."""
    head = f"{kind}{SEPARATOR}"
    return value[len(head):] if value.startswith(head) else None


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
    if len(partial) > 1 and not set(key.split()) & NEGATION_TYPED:
        partial = [c for c in partial if not _negative(c.label)]
    return partial[0] if len(partial) == 1 else None


def _negative(label: str) -> bool:
    """A label that says "not" ("❌ Không đồng ý", "I do not agree"): typed "đồng ý" (or "agree") without a "not"
    of its own means the other one, "Tôi đồng ý", though both labels contain it."""
    return bool(set(re.findall(r"\w+", label.casefold())) & NEGATION_LABEL)

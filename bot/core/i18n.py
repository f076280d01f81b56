"""The message catalogue: every user-facing string, Vietnamese first, then English.

Strings live in ``bot/messages/<area>.toml`` as ``[key] vi = "..." en = "..."``; a key is used as
``area.key``. Placeholders use ``str.format`` syntax and must be the same in both languages (a test checks).
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("vi", "en")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for entry in sorted(resources.files("bot.messages").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        area = entry.name.removesuffix(".toml")
        for key, texts in tomllib.loads(entry.read_text(encoding="utf-8")).items():
            merged[f"{area}.{key}"] = texts
    return merged


def t(key: str, lang: str = "vi", /, **values: Any) -> str:
    entry = catalogue()[key]
    text = entry.get(lang) or entry["vi"]
    return text.format(**values) if values else text


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}

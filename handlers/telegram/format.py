"""How text and buttons are laid out on Telegram, shared by the conversation adapter and the outbox transport.

Telegram counts message lengths in UTF-16 code units: an emoji outside the BMP counts twice.
"""

from __future__ import annotations

import datetime as dtm
import warnings
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.core.types import Choice, encode_callback

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH      # 4096 UTF-16 units
MAX_CAPTION = MessageLimit.CAPTION_LENGTH    # 1024
LONG_LABEL = 30  # a button label longer than this gets a row of its own


def inline_keyboard(choices: Sequence[Choice], version: int, columns: int) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(c.label, callback_data=encode_callback(version, c.value)) for c in row]
        for row in button_rows(choices, columns)
    ])


def button_rows(choices: Sequence[Choice], columns: int) -> list[list[Choice]]:
    rows: list[list[Choice]] = []
    row: list[Choice] = []
    for choice in choices:
        if len(choice.label) > LONG_LABEL:
            if row:
                rows.append(row)
                row = []
            rows.append([choice])
            continue
        row.append(choice)
        if len(row) >= max(columns, 1):
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    return rows


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut a text into messages of at most ``limit`` UTF-16 units, on line boundaries (a huge line on a space)."""
    parts: list[str] = []
    lines: list[str] = []
    size = 0
    for line in (piece for raw in text.split("\n") for piece in _cut_line(raw, limit)):
        cost = utf16_len(line) + (1 if lines else 0)
        if lines and size + cost > limit:
            parts.append("\n".join(lines))
            lines, size, cost = [], 0, utf16_len(line)
        lines.append(line)
        size += cost
    parts.append("\n".join(lines))
    kept = [part.strip("\n") for part in parts if part.strip()]
    return kept or ["…"]


def _cut_line(line: str, limit: int) -> list[str]:
    pieces = []
    while utf16_len(line) > limit:
        end = _prefix_within(line, limit)
        space = line.rfind(" ", 0, end + 1)
        cut = space if space > 0 else end
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


def _prefix_within(text: str, limit: int) -> int:
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22 gives an int (deprecated) or a timedelta (with PTB_TIMEDELTA set): seconds either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)

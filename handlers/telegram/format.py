"""How a Message is laid out on Telegram: texts cut to Telegram's limits, inline or reply keyboards.

Telegram counts message lengths in UTF-16 code units: an emoji outside the BMP counts twice.
Keyboards are built as the JSON the Bot API takes (dicts), not as python-telegram-bot objects: a form's every reply
has one, and building then serialising ``InlineKeyboardButton`` objects cost more than the turn's SQL.
"""

from __future__ import annotations

import datetime as dtm
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram.constants import MessageLimit
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.core.i18n import t
from bot.core.types import Choice, Message, encode_callback
from handlers.base import split_text, utf16_len

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH      # 4096 UTF-16 units
MAX_CAPTION = MessageLimit.CAPTION_LENGTH    # 1024
LONG_LABEL = 30  # a button label longer than this gets a row of its own

InlineMarkup = dict[str, Any]  # {"inline_keyboard": [[{"text": ..., "callback_data": ...}, ...], ...]}
Markup = dict[str, Any]        # an inline keyboard, a reply keyboard ({"keyboard": ...}) or {"remove_keyboard": true}
REMOVE_KEYBOARD: Markup = {"remove_keyboard": True}

__all__ = ["MAX_CAPTION", "MAX_TEXT", "InlineMarkup", "Outgoing", "button_rows", "contact_keyboard", "in_place",
           "inline_keyboard", "render", "retry_after_seconds", "split_message", "utf16_len"]


@dataclass(slots=True)
class Outgoing:
    """One Telegram text message; ``then_inline`` is added by editMessageReplyMarkup after sending (a message cannot
    both remove the reply keyboard and carry an inline one)."""

    text: str
    markup: Markup | None = None
    then_inline: InlineMarkup | None = None


def split_message(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``split_text`` as Telegram counts: in UTF-16 code units."""
    return split_text(text, limit, utf16=True)


def render(message: Message) -> list[Outgoing]:
    """A message's text as Telegram messages: the reply keyboard removed on the first part if asked, the keyboard
    (share-my-number, or the inline choices) on the last."""
    parts = [Outgoing(part) for part in split_message(message.text)]
    if message.remove_keyboard and not message.ask_contact:
        parts[0].markup = REMOVE_KEYBOARD
    keyboard = contact_keyboard(message) if message.ask_contact else message_keyboard(message)
    if keyboard is not None:
        last = parts[-1]
        if last.markup is None:
            last.markup = keyboard
        elif "inline_keyboard" in keyboard:
            last.then_inline = keyboard
    return parts


def in_place(message: Message) -> Outgoing | None:
    """The message as an edit of the tapped message (text and inline keyboard), when it can be one: it says it
    replaces the tapped message, fits one Telegram message, and needs no photo, file or reply keyboard."""
    media = message.qr or message.photo or message.photo_path or message.document_path or message.voice
    if not message.replaces_tapped or media or message.ask_contact or message.remove_keyboard:
        return None
    if not message.text.strip() or utf16_len(message.text) > MAX_TEXT:
        return None
    return Outgoing(message.text, message_keyboard(message))


def message_keyboard(message: Message) -> InlineMarkup | None:
    """The message's choices as inline buttons carrying its version."""
    return inline_keyboard(message.choices, message.version, message.columns)


def contact_keyboard(message: Message) -> Markup:
    """The share-my-number button first, then the choices as text buttons (the engine matches typed labels)."""
    rows = [[{"text": c.label} for c in row] for row in button_rows(message.choices, message.columns)]
    share = {"text": message.contact_label or t("form.share_phone"), "request_contact": True}
    return {"keyboard": [[share], *rows], "resize_keyboard": True, "one_time_keyboard": True}


def inline_keyboard(choices: Sequence[Choice], version: int, columns: int) -> InlineMarkup | None:
    if not choices:
        return None
    return {"inline_keyboard": [
        [{"text": c.label, "callback_data": encode_callback(version, c.value)} for c in row]
        for row in button_rows(choices, columns)
    ]}


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


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22 gives an int (deprecated) or a timedelta (with PTB_TIMEDELTA set): seconds either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)

"""How a Message looks on a Zalo OA: texts cut to the limit, choices as ``oa.query.hide`` buttons, the phone step's
"share my name and phone" form, images and files as attachments uploaded before.

A button's payload is the choice's value with the message's version, as on Telegram (``#<version>:<value>``): the
tap comes back as the household's text, and the engine refuses a stale or forged one. More choices than
``max_buttons`` (or a label too long for a button) fall back to the numbered list the Bot Platform and the terminal
show; the household types the number.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.core.i18n import t
from bot.core.types import Message, decode_callback, encode_callback
from handlers.base import split_text
from handlers.text_render import numbered

MAX_TEXT = 2000          # characters (unconfirmed limit: 2,000 is safe), counted in UTF-16 units to be safe
MAX_TITLE = 35           # characters of a button title
PAYLOAD_MARK = "#"


@dataclass(frozen=True, slots=True)
class Attachments:
    """What was uploaded for this message: an image's ``attachment_id``, a file's ``token``, an image URL."""

    image_id: str = ""
    image_url: str = ""
    file_token: str = ""


def button_payload(version: int, value: str) -> str:
    return PAYLOAD_MARK + encode_callback(version, value)


def read_payload(text: str) -> tuple[int, str] | None:
    """(version, value) of a tapped button's payload, or None when the text is not one."""
    return decode_callback(text[len(PAYLOAD_MARK):]) if text.startswith(PAYLOAD_MARK) else None


def fits_buttons(message: Message, max_buttons: int) -> bool:
    return 0 < len(message.choices) <= max_buttons and all(len(c.label) <= MAX_TITLE for c in message.choices)


def buttons(message: Message) -> list[dict[str, str]]:
    return [{"title": c.label, "type": "oa.query.hide", "payload": button_payload(message.version, c.value)}
            for c in message.choices]


def text_of(message: Message, lang: str, *, as_buttons: bool, notes: list[str]) -> str:
    """The message's text; its choices numbered when they do not go as buttons; notes for what cannot go."""
    text = message.text.strip()
    if message.choices and not as_buttons:
        text = numbered(replace(message, text=text), t("form.choose_number", lang))
    return "\n\n".join([part for part in (text, *notes) if part])


def bodies(message: Message, lang: str, *, max_buttons: int, sent: Attachments,
           notes: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The ``message`` objects of the consultation calls for one Message, in order."""
    as_buttons = fits_buttons(message, max_buttons)
    text = text_of(message, lang, as_buttons=as_buttons, notes=list(notes))
    out: list[dict[str, Any]] = []
    if sent.image_id or sent.image_url:
        element = {"media_type": "image", **({"attachment_id": sent.image_id} if sent.image_id
                                              else {"url": sent.image_url})}
        out.append({"attachment": {"type": "template", "payload": {"template_type": "media",
                                                                    "elements": [element]}}})
    if text.strip() or message.choices:
        parts = split_text(text, MAX_TEXT, utf16=True)
        out += [{"text": part} for part in parts]
        if as_buttons:
            out[-1]["attachment"] = {"type": "template", "payload": {"buttons": buttons(message)}}
    if message.ask_contact:
        out.append(share_info(lang))
    if sent.file_token:
        out.append({"attachment": {"type": "file", "payload": {"token": sent.file_token}}})
    return out


def share_info(lang: str) -> dict[str, Any]:
    """The ``request_user_info`` form: the household shares its name and phone with the OA in one tap."""
    element = {"title": t("zalo_oa.share_title", lang), "subtitle": t("zalo_oa.share_subtitle", lang)}
    return {"attachment": {"type": "template", "payload": {"template_type": "request_user_info",
                                                           "elements": [element]}}}

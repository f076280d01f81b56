"""Platform-neutral input and output of the engine: what a channel adapter produces and renders."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InputKind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    CHOICE = "choice"          # a tapped button (Telegram) carrying the keyboard's version
    CONTACT = "contact"        # a phone number the platform verified as the sender's own
    MEDIA = "media"            # voice note, photo, audio, video: stored by platform file id or URL
    DOCUMENT = "document"      # a file (an organizer's roster); households get the unsupported answer
    UNSUPPORTED = "unsupported"  # sticker, location, poll...
    EDITED = "edited"          # an edit of an earlier message


@dataclass(frozen=True, slots=True)
class Incoming:
    channel: str
    user_id: str
    chat_id: str
    kind: InputKind
    text: str = ""
    command: str = ""
    choice: str = ""
    version: int | None = None
    phone: str = ""
    media_kind: str = ""
    media_id: str = ""
    display_name: str = ""
    file_name: str = ""
    event_id: str = ""  # the platform's id of this update: a redelivery of it is not handled twice


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to show. ``choices`` are buttons on Telegram and a numbered list elsewhere.

    ``version`` is the conversation version the choices were drawn for; a channel puts it in the button so a tap
    on an older keyboard can be recognised.
    """

    text: str
    choices: tuple[Choice, ...] = ()
    version: int = 0
    columns: int = 1
    ask_contact: bool = False
    contact_label: str = ""
    remove_keyboard: bool = False
    qr: str = ""  # text to show as a QR code image (check-in); channels without images show the text
    refused: bool = False  # the answer to a tap the engine did not take (stale keyboard, forged data)


def encode_callback(version: int, value: str) -> str:
    """Button payload: ``<version>:<value>`` (Telegram allows 64 bytes; values are short ids)."""
    return f"{version}:{value}"


def decode_callback(data: str) -> tuple[int, str] | None:
    head, sep, value = data.partition(":")
    if not sep or not head.isdigit() or not value or len(data) > 64:
        return None
    return int(head), value

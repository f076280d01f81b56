"""Platform-neutral input and output of the engine: what a channel adapter produces and renders."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from enum import StrEnum


class InputKind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    CHOICE = "choice"          # a tapped button (Telegram) carrying the keyboard's version
    CONTACT = "contact"        # a phone number the platform verified as the sender's own
    FOREIGN_CONTACT = "foreign_contact"  # a contact card that is not the sender's own (refused, never saved)
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
class Message:
    """One message the bot shows: a reply in a conversation or a message it sends on its own (through the outbox).

    ``choices`` are buttons on Telegram and a numbered list elsewhere. ``version`` is the conversation version the
    choices were drawn for; a channel puts it in the button so a tap on an older keyboard can be recognised. A
    message sent on its own has version 0: its choices are not tied to a step.
    """

    text: str
    choices: tuple[Choice, ...] = ()
    version: int = 0
    columns: int = 1
    ask_contact: bool = False
    contact_label: str = ""
    remove_keyboard: bool = False
    qr: str = ""             # text to show as a QR code image (check-in); channels without images show the text
    refused: bool = False    # the answer to a tap the engine did not take (stale keyboard, forged data)
    photo: str = ""          # a platform file id or URL
    photo_path: str = ""     # a local image to upload (a chart)
    document_path: str = ""  # a file to attach (reports, exports)
    document_name: str = ""
    voice: str = ""          # a voice note's platform file id (a household's question, replayed)
    free_text: bool = False  # a typed answer is expected: channels without buttons offer the choices as words
    replaces_tapped: bool = False  # the next step after a tap: a channel that can edit turns the tapped message into it

    def to_json(self) -> str:
        data = asdict(self)
        data["choices"] = [[c.value, c.label] for c in self.choices]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Message:
        data = json.loads(raw)
        data["choices"] = tuple(Choice(str(v), str(label)) for v, label in data.get("choices", ()))
        return cls(**{name: value for name, value in data.items() if name in MESSAGE_FIELDS})


MESSAGE_FIELDS = frozenset(f.name for f in fields(Message))


def encode_callback(version: int, value: str) -> str:
    """Button payload: ``<version>:<value>`` (Telegram allows 64 bytes; values are short ids)."""
    return f"{version}:{value}"


def decode_callback(data: str) -> tuple[int, str] | None:
    head, sep, value = data.partition(":")
    if not sep or not head.isdigit() or not value or len(data) > 64:
        return None
    return int(head), value

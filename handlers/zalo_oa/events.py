"""What a webhook event of the OA means: a household speaking (→ ``Incoming``), a delivery receipt, or nothing.

Shapes vary between sources (docs/zalo.md): the sender is ``sender.id`` (``follower.id`` for follow events);
``timestamp`` is a string or a number; ``user_submit_info`` carries a flat ``info`` object. The OA's own sends come
back as ``oa_send_*`` echoes: never a household speaking. Media come as ``message.attachments[*].payload.url``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.core.types import Incoming, InputKind
from handlers.text_render import typed_incoming
from handlers.zalo_oa.format import read_payload

CHANNEL = "zalo_oa"
MAX_ID = 200
RECEIPTS = frozenset({"user_received_message", "user_seen_message", "zns_user_received_message",
                      "user_received_zns_message"})
MEDIA_EVENTS = {"user_send_image": "photo", "user_send_audio": "voice", "user_send_gif": "photo"}
UNSUPPORTED = frozenset({"user_send_sticker", "user_send_location", "user_send_link", "user_send_business_card",
                         "user_send_video"})
FOLLOW = frozenset({"follow", "user_follow"})
UNFOLLOW = frozenset({"unfollow", "user_unfollow"})


class Kind(StrEnum):
    INPUT = "input"        # a household speaking: the engine's business
    MEDIA = "media"        # an image or voice note: kept, then the engine's business
    RECEIPT = "receipt"    # a delivery receipt: updates the outbox row
    UNFOLLOW = "unfollow"  # the household stopped following: unreachable until it writes again
    IGNORED = "ignored"    # echoes of the OA's own sends, events we do not use


@dataclass(frozen=True, slots=True)
class Event:
    kind: Kind
    name: str
    user_id: str
    msg_id: str
    body: dict[str, Any]

    @property
    def event_id(self) -> str:
        """What a redelivery repeats: the message id, else the event's name, sender and time."""
        if self.msg_id:
            return self.msg_id[:MAX_ID]
        return f"{self.name}:{self.user_id}:{_text(self.body.get('timestamp'))}"[:MAX_ID]


def read_event(body: Any) -> Event | None:
    if not isinstance(body, dict) or not isinstance(body.get("event_name"), str):
        return None
    name = body["event_name"]
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    msg_id = _text(message.get("msg_id") or message.get("message_id") or body.get("msg_id"))
    user_id = _sender(body)
    if name in RECEIPTS:
        return Event(Kind.RECEIPT, name, user_id, msg_id, body)
    if name.startswith("oa_send_") or not user_id:
        return Event(Kind.IGNORED, name, user_id, msg_id, body)
    if name in UNFOLLOW:
        return Event(Kind.UNFOLLOW, name, user_id, msg_id, body)
    if name in MEDIA_EVENTS and media_url(body):
        return Event(Kind.MEDIA, name, user_id, msg_id, body)
    if name.startswith("user_") or name in FOLLOW:
        return Event(Kind.INPUT, name, user_id, msg_id, body)
    return Event(Kind.IGNORED, name, user_id, msg_id, body)


def incoming(event: Event, media_ref: str = "") -> Incoming:
    """The engine's input for a household's event (``media_ref``: where a kept image or voice note is)."""
    body, user = event.body, event.user_id
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    found = _incoming(event.name, user, message, body, media_ref)
    return Incoming(**{**_fields(found), "event_id": event.event_id})


def _incoming(name: str, user: str, message: dict[str, Any], body: dict[str, Any], media_ref: str) -> Incoming:
    text = message.get("text")
    if name == "user_send_text" and isinstance(text, str) and text.strip():
        tapped = read_payload(text.strip())
        if tapped is not None:
            return Incoming(CHANNEL, user, user, InputKind.CHOICE, choice=tapped[1], version=tapped[0])
        return typed_incoming(CHANNEL, user, user, text)
    if name in FOLLOW:
        return Incoming(CHANNEL, user, user, InputKind.COMMAND, command="start")
    if name == "user_submit_info":
        info = body.get("info") if isinstance(body.get("info"), dict) else message.get("info")
        info = info if isinstance(info, dict) else {}
        phone, who = _text(info.get("phone")), _text(info.get("name"))
        if phone:
            return Incoming(CHANNEL, user, user, InputKind.CONTACT, phone=phone, display_name=who)
    if name in MEDIA_EVENTS and media_ref:
        caption = message.get("text")
        return Incoming(CHANNEL, user, user, InputKind.MEDIA, media_kind=MEDIA_EVENTS[name], media_id=media_ref,
                        text=caption if isinstance(caption, str) else "")
    if name == "user_send_file":
        url = media_url(body)
        payload = _attachment(body).get("payload") or {}
        if url:
            return Incoming(CHANNEL, user, user, InputKind.DOCUMENT, media_id=url,
                            file_name=_text(payload.get("name") if isinstance(payload, dict) else ""))
    return Incoming(CHANNEL, user, user, InputKind.UNSUPPORTED)  # sticker, location, link card...


def media_url(body: dict[str, Any]) -> str:
    payload = _attachment(body).get("payload")
    url = payload.get("url") if isinstance(payload, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 2000 else ""


def receipt_ids(event: Event) -> tuple[str, str]:
    """(platform message id, tracking id) a receipt names."""
    message = event.body.get("message") if isinstance(event.body.get("message"), dict) else {}
    tracking = message.get("tracking_id") or event.body.get("tracking_id")
    ids = message.get("msg_ids")
    msg_id = event.msg_id or (_text(ids[0]) if isinstance(ids, list) and ids else "")
    return msg_id, _text(tracking)


def _attachment(body: dict[str, Any]) -> dict[str, Any]:
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    found = message.get("attachments")
    first = found[0] if isinstance(found, list) and found else None
    return first if isinstance(first, dict) else {}


def _sender(body: dict[str, Any]) -> str:
    for key in ("sender", "follower", "user"):
        who = body.get(key)
        if isinstance(who, dict) and _text(who.get("id")):
            return _text(who.get("id"))[:MAX_ID]
    return _text(body.get("user_id_by_app") or body.get("user_id"))[:MAX_ID]


def _text(value: object) -> str:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _fields(found: Incoming) -> dict[str, Any]:
    return {name: getattr(found, name) for name in found.__dataclass_fields__}

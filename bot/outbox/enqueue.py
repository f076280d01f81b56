"""The outbox: every message the bot sends on its own (reminders, notices, broadcasts, answers, digests).

A row per recipient and message with a unique de-duplication key, written in the same transaction as the change
that caused it; one sender drains it within each platform's limits (see ``bot/sender.py``). Enqueueing twice with
the same key is a no-op, which is what makes reminders and broadcasts safe to re-plan after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Protocol

from bot.core.clock import iso
from bot.core.types import Message
from storage import Connection, outbox, people
from storage.outbox import NewRow


class Priority(IntEnum):
    """Lower goes first: a reminder due now is never stuck behind a large broadcast."""

    NOTICE = 1
    REMINDER = 2
    ANSWER = 3
    DIGEST = 4
    BROADCAST = 5


class SendStatus(StrEnum):
    SENT = "sent"
    RETRY = "retry"          # transient: network, 5xx, 429 (with retry_after)
    BLOCKED = "blocked"      # the person blocked the bot (Telegram 403)
    BAD_CHAT = "bad_chat"    # chat not found / deactivated (Telegram 400)
    FAILED = "failed"        # permanent error for this message
    WAIT = "wait"            # no way to reach the chat now (outside its interaction window): wait until it writes


@dataclass(frozen=True, slots=True)
class SendResult:
    status: SendStatus
    retry_after: float | None = None
    error: str = ""
    route: str = ""          # how it went on a channel with routes (consultation, zns, proactive)
    platform_id: str = ""    # the platform's id of the sent message (a delivery receipt names it)
    parts: int = 1           # messages the platform counts (a long text split in two is two)


class Route(StrEnum):
    """How a message reaches a chat on a channel with an interaction window (the Zalo OA)."""

    CONSULTATION = "consultation"  # inside the window: free
    ZNS = "zns"                    # a registered template to the household's phone
    PROACTIVE = "proactive"        # outside the window, within the OA's monthly quota
    WAIT = "wait"                  # none of these: waits until the household writes


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a routed send needs beyond the message: the route chosen, the row's key (ZNS ``tracking_id``), its
    kind, the household's phone (for ZNS) and the values its template is filled from."""

    route: Route
    key: str
    kind: str
    phone: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


class Transport(Protocol):
    """What a channel adapter offers the sender: deliver one message to one chat and say how it went."""

    channel: str

    async def send(self, chat_id: str, message: Message) -> SendResult: ...


class RoutedTransport(Transport, Protocol):
    """A transport of a channel with an interaction window: the sender chooses the route, the transport takes it."""

    async def send_routed(self, chat_id: str, message: Message, envelope: Envelope) -> SendResult: ...


@dataclass(frozen=True, slots=True)
class Recipient:
    person_id: int | None
    channel: str
    chat_id: str
    language: str = "vi"
    extra: dict = field(default_factory=dict)


async def enqueue(
    conn: Connection, *, key: str, recipient: Recipient, kind: str, message: Message,
    priority: Priority, now: datetime, not_before: datetime | None = None, group_key: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> bool:
    """Queue one message; returns False when a message with this key was queued before (nothing is doubled).

    ``fields`` are the values a platform template may be filled from (a ZNS reminder: ``title``, ``time``...)."""
    return await outbox.insert(conn, NewRow(
        key, recipient.channel, recipient.chat_id, recipient.person_id, kind, int(priority), message.to_json(),
        iso(not_before or now), group_key, iso(now), fields_json(fields),
    ))


def fields_json(fields: Mapping[str, str] | None) -> str | None:
    return json.dumps({k: str(v) for k, v in fields.items()}, ensure_ascii=False) if fields else None


async def recipient_for_person(conn: Connection, person_id: int) -> Recipient | None:
    """Where to reach a person: their most recent identity that has not blocked the bot."""
    chat = await people.person_chat(conn, person_id)
    return Recipient(person_id, chat.channel, chat.chat_id, chat.language) if chat else None


@dataclass(frozen=True, slots=True)
class Queued:
    """One message for ``enqueue_many``: the arguments of ``enqueue``."""

    key: str
    recipient: Recipient
    kind: str
    message: Message
    priority: Priority
    now: datetime
    not_before: datetime | None = None
    group_key: str | None = None


async def enqueue_many(conn: Connection, rows: Sequence[Queued]) -> int:
    """Queue many messages in one statement (10,000 in about 0.1 s; one by one they hold the lock 2.4 s).

    Returns how many were new: a row whose key was queued before is left as it was, as with ``enqueue``.
    """
    payloads: dict[int, str] = {}  # a broadcast's rows share one message: serialise it once

    def values(q: Queued) -> NewRow:
        payload = payloads.get(id(q.message))
        if payload is None:
            payload = payloads[id(q.message)] = q.message.to_json()
        r = q.recipient
        return NewRow(q.key, r.channel, r.chat_id, r.person_id, q.kind, int(q.priority), payload,
                      iso(q.not_before or q.now), q.group_key, iso(q.now))

    return await outbox.insert_many(conn, [values(q) for q in rows])

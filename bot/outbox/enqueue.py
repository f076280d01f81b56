"""The outbox: every message the bot sends on its own (reminders, notices, broadcasts, answers, digests).

A row per recipient and message with a unique de-duplication key, written in the same transaction as the change
that caused it; one sender drains it within each platform's limits (see ``bot/sender.py``). Enqueueing twice with
the same key is a no-op, which is what makes reminders and broadcasts safe to re-plan after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
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


@dataclass(frozen=True, slots=True)
class SendResult:
    status: SendStatus
    retry_after: float | None = None
    error: str = ""


class Transport(Protocol):
    """What a channel adapter offers the sender: deliver one message to one chat and say how it went."""

    channel: str

    async def send(self, chat_id: str, message: Message) -> SendResult: ...


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
) -> bool:
    """Queue one message; returns False when a message with this key was queued before (nothing is doubled)."""
    return await outbox.insert(conn, NewRow(
        key, recipient.channel, recipient.chat_id, recipient.person_id, kind, int(priority), message.to_json(),
        iso(not_before or now), group_key, iso(now),
    ))


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

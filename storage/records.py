"""Plain records returned by the repositories (no behaviour, no platform types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Person:
    id: int
    language: str
    consent_at: str | None
    full_name: str | None
    hamlet_id: str | None
    category: str | None
    phone: str | None
    phone_verified: bool
    active: bool


@dataclass(slots=True)
class Session:
    """What the engine needs to handle one input: who is speaking and where they are in the conversation."""

    person: Person
    channel: str
    chat_id: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    is_new: bool = False
    blocked: bool = False


@dataclass(slots=True)
class Submission:
    id: int
    code: str
    person_id: int | None
    hamlet_id: str | None
    category: str | None
    kind: str
    field_id: str
    topic_id: str
    content: str | None
    media_kind: str | None
    media_file_id: str | None
    channel: str
    status: str
    answer: str | None
    created_at: str

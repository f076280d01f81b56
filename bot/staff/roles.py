"""Who may do what: administrators (Telegram ids in the config), organizers and officers (the staff table)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.core.config import Settings
from bot.core.i18n import t
from storage import Connection
from storage import staff as staff_repo

RANK = {"officer": 1, "organizer": 2, "admin": 3}
CHANNELS = ("telegram", "zalo", "console")


async def role_of(conn: Connection, settings: Settings, channel: str, external_id: str) -> str | None:
    if is_config_admin(settings, channel, external_id):
        return "admin"
    return await staff_repo.get_role(conn, channel, external_id)


@dataclass(frozen=True, slots=True)
class Scope:
    """What an officer sees: empty tuples mean "all". Organizers and admins always see everything."""

    fields: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    hamlets: tuple[str, ...] = ()

    def allows(self, field_id: str | None, topic_id: str | None, hamlet_id: str | None) -> bool:
        topic_ok = (not self.fields and not self.topics) or field_id in self.fields or topic_id in self.topics
        hamlet_ok = not self.hamlets or hamlet_id in self.hamlets
        return topic_ok and hamlet_ok

    def to_json(self) -> str:
        return json.dumps({"fields": self.fields, "topics": self.topics, "hamlets": self.hamlets})

    @classmethod
    def from_json(cls, raw: str | None) -> Scope:
        data = json.loads(raw or "{}")
        return cls(tuple(data.get("fields", ())), tuple(data.get("topics", ())), tuple(data.get("hamlets", ())))


EVERYTHING = Scope()


def describe_scope(scope: Scope, settings: Settings, lang: str) -> str:
    """An officer's scope in words: "Lĩnh vực: Giảm nghèo · Ấp: Ấp Tân Hậu, Ấp Tân Dân" (or "everything")."""
    parts = []
    names = {f.id: f.name for f in settings.fields}
    topics = {topic.id: topic.name for f in settings.fields for topic in f.topics}
    for key, ids, known in (("fields", scope.fields, names), ("topics", scope.topics, topics),
                            ("hamlets", scope.hamlets, {u.id: u.name for u in settings.iter_units()})):
        if ids:
            parts.append(t(f"roles.scope_{key}", lang, names=", ".join(known.get(i, i) for i in ids)))
    return " · ".join(parts) or t("roles.scope_all", lang)


def parse_identity(text: str) -> tuple[str, str] | None:
    """``telegram:123456789`` (or a bare Telegram id) → (channel, id); None when it is neither."""
    channel, sep, external_id = text.strip().partition(":")
    if not sep:
        channel, external_id = "telegram", channel
    channel, external_id = channel.strip().lower(), external_id.strip()
    if channel not in CHANNELS or not external_id or any(ch.isspace() for ch in external_id):
        return None
    if channel == "telegram" and not external_id.lstrip("-").isdigit():
        return None
    return channel, external_id


def is_config_admin(settings: Settings, channel: str, external_id: str) -> bool:
    return channel == "telegram" and external_id.lstrip("-").isdigit() and int(external_id) in settings.bot.admins


async def scope_of(conn: Connection, settings: Settings, channel: str, external_id: str) -> Scope:
    role = await role_of(conn, settings, channel, external_id)
    if role != "officer":
        return EVERYTHING
    return Scope.from_json(await staff_repo.get_scope(conn, channel, external_id))


async def may(conn: Connection, settings: Settings, channel: str, external_id: str, needed: str) -> bool:
    """THE role check, at the moment of the act: the chat's commands and hooks (``roles_chat.has_role``) and every
    page of the web desk ask this one function."""
    return allows(await role_of(conn, settings, channel, external_id), needed)


def allows(role: str | None, needed: str) -> bool:
    return role is not None and RANK[role] >= RANK[needed]


async def grant(conn: Connection, channel: str, external_id: str, role: str, full_name: str | None,
                now: str, scope: Scope = EVERYTHING) -> None:
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}")
    await staff_repo.save_staff(conn, channel, external_id, role, full_name, scope.to_json(), now)


async def revoke(conn: Connection, channel: str, external_id: str) -> bool:
    return await staff_repo.delete_staff(conn, channel, external_id)

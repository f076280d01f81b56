"""Broadcast announcements: who they go to, what households will see, queueing them once, and how they went.

A broadcast is composed as a draft (text, optionally a photo or a document, an audience, optionally a time), then
confirmed once: ``confirm`` moves the draft to 'scheduled' or queues one outbox message per household in the same
transaction that moves it to 'sending' (a second confirmation finds it moved and is refused). The sender delivers
within the platform's limits; ``follow`` tells the organizer the progress at 25/50/75 % and the final tally, each
message queued under its own de-duplication key so that nothing is said twice, even across restarts.

Audiences are consented, active households; left out are those who blocked the bot and those who already received
an announcement with the same content (pending, sent, or possibly sent when the bot was killed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.clock import iso
from bot.core.config import Settings
from bot.core.errors import Refusal
from bot.core.i18n import t
from bot.core.text import clean, one_line, shorten
from bot.core.types import Message
from bot.core.vntime import vn_datetime
from bot.form.states import CATEGORIES
from bot.outbox.enqueue import Priority, Queued, Recipient, enqueue, enqueue_many, recipient_for_person
from storage import Connection, outbox
from storage import broadcasts as repo
from storage import dialogues as dialogue_repo
from storage.broadcasts import BroadcastRow, Household

MAX_TEXT = 4096                      # Telegram's limit for one message, in UTF-16 code units: longer is refused
MAX_PHOTO_BYTES = 10 * 1024 * 1024   # Telegram's limit for a photo upload
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
PROGRESS_STEPS = (25, 50, 75)        # percent handled at which the organizer is told; 100 % is the final tally
KIND = "broadcast"
NOTICE_KIND = "broadcast_notice"
BROADCAST_CHANGED = "broadcast_changed"   # event (): a broadcast was scheduled, released or cancelled
CURRENT_DIALOGUES = ("draft", "open", "closed")
AUDIENCE_KINDS = ("everyone", "dialogue", "waitlist", "hamlet", "category", "no-question")
_NEEDS_REF = frozenset({"dialogue", "hamlet", "category"})
_NO_REF = frozenset({"everyone", "no-question"})


class BroadcastError(Refusal):
    """A refused announcement: an unknown audience, an empty or too long text, a file that cannot be sent."""


# ---- audiences ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast goes to: ``everyone``, ``dialogue:ID``, ``waitlist[:ID]``, ``hamlet:ID`` (any unit: its
    hamlets), ``category:poor|near_poor|escaped|other``, ``no-question``."""

    kind: str
    ref: str = ""

    @classmethod
    def parse(cls, text: str) -> Audience:
        kind, _, ref = text.strip().partition(":")
        kind, ref = kind.strip().lower(), ref.strip()
        if kind == "category":
            ref = ref.lower().replace("-", "_")
        if kind not in AUDIENCE_KINDS or (kind in _NEEDS_REF and not ref) or (kind in _NO_REF and ref):
            raise BroadcastError("broadcast.bad_audience", text=shorten(one_line(text), 60))
        return cls(kind, ref)

    @property
    def code(self) -> str:
        return f"{self.kind}:{self.ref}" if self.ref else self.kind

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "ref": self.ref})

    @classmethod
    def from_json(cls, raw: str) -> Audience | None:
        data = json.loads(raw or "{}")
        return cls(data["kind"], data.get("ref", "")) if data.get("kind") in AUDIENCE_KINDS else None


async def audience_refs(conn: Connection, settings: Settings, audience: Audience) -> list[str]:
    """What the audience's condition is about (dialogue ids, hamlet ids, a category); refuses an unknown one."""
    kind, ref = audience.kind, audience.ref
    if kind in ("dialogue", "waitlist") and ref:
        if await dialogue_repo.get_dialogue(conn, ref) is None:
            raise BroadcastError("dialogues.unknown", id=ref)
        return [ref]
    if kind == "waitlist":
        return [d.id for d in await dialogue_repo.list_dialogues(conn, CURRENT_DIALOGUES)]
    if kind == "hamlet":
        unit = settings.unit(ref)
        if unit is None:
            raise BroadcastError("dialogues.unknown_hamlet", hamlet=ref)
        return [leaf.id for leaf in settings.hamlets() if unit.id in {u.id for u in settings.unit_path(leaf.id)}]
    if kind == "category":
        if ref not in CATEGORIES:
            raise BroadcastError("broadcast.bad_audience", text=audience.code)
        return [ref]
    return []


def audience_label(settings: Settings, audience: Audience, lang: str) -> str:
    if audience.kind == "hamlet":
        unit = settings.unit(audience.ref)
        return t("broadcast.aud_hamlet", lang, hamlet=unit.name if unit else audience.ref)
    if audience.kind == "category":
        return t("broadcast.aud_category", lang, category=t(f"form.category_{audience.ref}", lang))
    if audience.kind == "dialogue":
        return t("broadcast.aud_dialogue", lang, id=audience.ref)
    if audience.kind == "waitlist":
        return t("broadcast.aud_waitlist_of", lang, id=audience.ref) if audience.ref else t("broadcast.aud_waitlist",
                                                                                          lang)
    return t(f"broadcast.aud_{audience.kind.replace('-', '_')}", lang)


# ---- content ------------------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_text(raw: str) -> str:
    """The announcement as households will get it (NFC, tidy spaces); refuses an empty or too long one."""
    text = clean(raw)
    if not text:
        raise BroadcastError("broadcast.empty")
    if utf16_len(text) > MAX_TEXT:
        raise BroadcastError("broadcast.too_long", length=_number(utf16_len(text)), limit=_number(MAX_TEXT))
    return text


def check_file(path: Path, *, photo: bool) -> Path:
    """A local photo (jpg, png, webp up to 10 MB) or document (up to 50 MB) to attach; refuses anything else."""
    limit = MAX_PHOTO_BYTES if photo else MAX_DOCUMENT_BYTES
    if not path.is_file():
        raise BroadcastError("broadcast.file_missing", path=str(path))
    if photo and path.suffix.lower() not in PHOTO_SUFFIXES:
        raise BroadcastError("broadcast.not_a_photo", name=path.name)
    size = path.stat().st_size
    if size > limit:
        raise BroadcastError("broadcast.file_too_large", name=path.name, size=_megabytes(size),
                            limit=_megabytes(limit))
    return path.resolve()


def content_hash(text: str, photo: str = "", document: str = "", document_name: str = "") -> str:
    """What makes two announcements the same one: the text and the attachment (a household gets it once)."""
    return hashlib.sha256("\x00".join((text, photo, document, document_name)).encode()).hexdigest()[:24]


def _hash_of(row: BroadcastRow) -> str:
    return content_hash(row.text, row.photo or row.photo_path, row.document_id or row.document_path,
                        row.document_name)


def message_of(row: BroadcastRow) -> Message:
    """What every household receives: exactly the organizer's text, with the photo or document if any."""
    return Message(row.text, photo=row.photo, photo_path=row.photo_path, document_path=row.document_path,
                      document_name=row.document_name)


def attachment_note(row: BroadcastRow, lang: str) -> str:
    if row.photo or row.photo_path:
        return t("broadcast.with_photo", lang)
    if row.document_id or row.document_path:
        return t("broadcast.with_document", lang, name=row.document_name or "?")
    return ""


# ---- drafts -------------------------------------------------------------------------------------------------------


async def require(conn: Connection, broadcast_id: int) -> BroadcastRow:
    row = await repo.get(conn, broadcast_id)
    if row is None:
        raise BroadcastError("broadcast.unknown", id=broadcast_id)
    return row


async def new_draft(conn: Connection, *, created_by: str, creator_person_id: int | None,
                    now: datetime) -> int:
    return await repo.insert(conn, created_by=created_by, creator_person_id=creator_person_id, now=iso(now))


async def edit(conn: Connection, broadcast_id: int, **values: object) -> BroadcastRow:
    """Change a draft's content, audience or time; the content hash follows the content."""
    row = await require(conn, broadcast_id)
    if row.status != "draft":
        raise BroadcastError("broadcast.already_confirmed", id=broadcast_id)
    await repo.update(conn, broadcast_id, **values)
    row = await require(conn, broadcast_id)
    if _hash_of(row) != row.content_hash:
        row.content_hash = _hash_of(row)
        await repo.update(conn, broadcast_id, content_hash=row.content_hash)
    return row


async def set_audience(conn: Connection, settings: Settings, broadcast_id: int,
                       audience: Audience) -> BroadcastRow:
    await audience_refs(conn, settings, audience)
    return await edit(conn, broadcast_id, audience=audience.to_json())


async def set_time(conn: Connection, broadcast_id: int, when: datetime | None,
                   now: datetime) -> BroadcastRow:
    """Schedule the draft (``None``: send at once); a time not in the future is refused."""
    if when is not None and when <= now:
        raise BroadcastError("broadcast.time_in_past")
    return await edit(conn, broadcast_id, scheduled_at=iso(when) if when else None)


# ---- preview, confirmation, queueing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    recipients: int   # households that will get it
    already: int      # left out: already received the same announcement
    blocked: int      # left out: blocked the bot


async def households(conn: Connection, settings: Settings, audience: Audience | None, digest: str,
                     broadcast_id: int = 0) -> list[Household]:
    """The audience's households; ``digest`` (``content_hash``) finds those who already got the same content."""
    if audience is None:
        return []
    refs = await audience_refs(conn, settings, audience)
    return await repo.households(conn, audience.kind, refs, content_hash=digest, broadcast_id=broadcast_id)


async def _households_of(conn: Connection, settings: Settings, row: BroadcastRow) -> list[Household]:
    return await households(conn, settings, Audience.from_json(row.audience), row.content_hash, row.id)


def _split(found: list[Household]) -> tuple[list[Household], Preview]:
    targets = [h for h in found if not h.blocked and not h.already]
    blocked = sum(h.blocked for h in found)
    return targets, Preview(len(targets), len(found) - len(targets) - blocked, blocked)


def count(found: list[Household]) -> Preview:
    return _split(found)[1]


async def preview(conn: Connection, settings: Settings, row: BroadcastRow) -> Preview:
    return count(await _households_of(conn, settings, row))


async def confirm(conn: Connection, settings: Settings, broadcast_id: int, now: datetime) -> BroadcastRow:
    """The organizer's "send": schedule the draft or queue it now. Exactly once; nobody to send to is refused."""
    row = await require(conn, broadcast_id)
    if row.status != "draft":
        raise BroadcastError("broadcast.already_confirmed", id=broadcast_id)
    if not row.text:
        raise BroadcastError("broadcast.empty")
    if Audience.from_json(row.audience) is None:
        raise BroadcastError("broadcast.no_audience")
    if row.document_id and not row.document_path:
        raise BroadcastError("broadcast.document_pending")
    if (await preview(conn, settings, row)).recipients == 0:
        raise BroadcastError("broadcast.nobody")
    if row.scheduled_at is not None and row.scheduled_at > now:
        await repo.move(conn, broadcast_id, "scheduled", from_=("draft",))
    else:
        await release(conn, settings, row, now)
    return await require(conn, broadcast_id)


async def release(conn: Connection, settings: Settings, row: BroadcastRow, now: datetime) -> int:
    """Queue one message per household of a draft or scheduled broadcast, in the transaction that marks it
    'sending' (or 'done' when nobody is left to send to); returns how many were queued."""
    try:
        targets, counts = _split(await _households_of(conn, settings, row))
    except Refusal:  # the dialogue or hamlet it named is gone: nobody to send to
        targets, counts = [], Preview(0, 0, 0)
    status = "sending" if targets else "done"
    moved = await repo.move(conn, row.id, status, from_=("draft", "scheduled"), started_at=iso(now),
                            finished_at=None if targets else iso(now), recipients=len(targets),
                            excluded_already=counts.already, excluded_blocked=counts.blocked)
    if not moved:
        raise BroadcastError("broadcast.already_confirmed", id=row.id)
    message = message_of(row)
    queued = await enqueue_many(conn, [
        Queued(f"{row.group_key}:{h.person_id}", Recipient(h.person_id, h.channel, h.chat_id, h.language), KIND,
               message, Priority.BROADCAST, now, group_key=row.group_key)
        for h in targets
    ])
    if not targets:
        await tell_creator(conn, row, "report", lambda lang: t("broadcast.nobody_left", lang, id=row.id), now)
    return queued


async def cancel(conn: Connection, broadcast_id: int) -> int:
    """Give up a draft, a scheduled or a sending broadcast; returns how many queued messages will not be sent."""
    row = await require(conn, broadcast_id)
    if not await repo.move(conn, broadcast_id, "cancelled", from_=("draft", "scheduled", "sending")):
        raise BroadcastError("broadcast.not_cancellable", id=broadcast_id,
                            status=t(f"broadcast.status_{row.status}", "vi"))
    return await repo.skip_pending(conn, row.group_key, "cancelled") if row.status == "sending" else 0


# ---- following a broadcast -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    """How a broadcast went, from the statuses of its outbox messages."""

    row: BroadcastRow
    counts: dict[str, int]
    failures: dict[str, int]   # reason → count
    skipped: dict[str, int]    # reason → count ('blocked' at claim time, 'cancelled')
    window: tuple[datetime, datetime] | None = None   # when the uncertain ones were being sent
    routes: dict[str, int] = field(default_factory=dict)  # Zalo OA: how they went, and how many wait (route 'wait')

    @property
    def delivered(self) -> int:
        return self.counts["sent"]

    @property
    def blocked(self) -> int:
        return self.counts["blocked"] + self.skipped.get("blocked", 0)

    @property
    def failed(self) -> int:
        return self.counts["failed"]

    @property
    def uncertain(self) -> int:
        return self.counts["uncertain"]

    @property
    def waiting(self) -> int:
        """Still to go, but not those waiting for the household to write (outside its Zalo window)."""
        return self.counts["pending"] + self.counts["sending"] - self.unreachable_outside_window

    @property
    def unreachable_outside_window(self) -> int:
        return self.routes.get("wait", 0)

    @property
    def not_sent(self) -> int:
        return sum(count for reason, count in self.skipped.items() if reason != "blocked")

    @property
    def handled(self) -> int:
        return sum(self.counts.values()) - self.waiting

    def text(self, settings: Settings, lang: str) -> str:
        row = self.row
        audience = Audience.from_json(row.audience)
        lines = [t("broadcast.report_head", lang, id=row.id, status=t(f"broadcast.status_{row.status}", lang),
                   audience=audience_label(settings, audience, lang) if audience else "—", count=row.recipients),
                 t("broadcast.report_delivered", lang, count=self.delivered)]
        optional = (("report_blocked", self.blocked), ("report_failed", self.failed))
        lines += [t(f"broadcast.{key}", lang, count=count) for key, count in optional if count]
        lines += [t("broadcast.report_reason", lang, reason=shorten(reason or "?", 80), count=count)
                  for reason, count in self.failures.items()]
        if self.uncertain:
            lines.append(t("broadcast.report_uncertain", lang, count=self.uncertain,
                           window=_window(self.window, settings) if self.window else "?"))
        optional = (("report_waiting", self.waiting), ("report_not_sent", self.not_sent))
        lines += [t(f"broadcast.{key}", lang, count=count) for key, count in optional if count]
        lines += route_lines(self.routes, lang)
        if row.excluded_already or row.excluded_blocked:
            lines.append(t("broadcast.report_excluded", lang, already=row.excluded_already,
                           blocked=row.excluded_blocked))
        return "\n".join(lines)


async def report(conn: Connection, row: BroadcastRow) -> Report:
    counts = await outbox.tally(conn, row.group_key)
    return Report(row, counts, await repo.reasons(conn, row.group_key, "failed"),
                  await repo.reasons(conn, row.group_key, "skipped"),
                  await repo.uncertain_window(conn, row.group_key) if counts["uncertain"] else None,
                  await outbox.tally_routes(conn, row.group_key))


def route_lines(routes: dict[str, int], lang: str) -> list[str]:
    """The Zalo OA's part of a tally: by which route the messages went, and how many wait outside the window."""
    lines = []
    if any(routes.get(r) for r in ("consultation", "zns", "proactive")):
        lines.append(t("zalo_oa.routes", lang, consultation=routes.get("consultation", 0), zns=routes.get("zns", 0),
                       proactive=routes.get("proactive", 0)))
    if routes.get("wait"):
        lines.append(t("zalo_oa.not_reachable", lang, count=routes["wait"]))
    return lines


async def follow(conn: Connection, settings: Settings, row: BroadcastRow, now: datetime) -> bool:
    """Tell the creator the progress (25/50/75 %) of a sending broadcast, or mark it done and send the final
    tally; returns True when it is done."""
    found = await report(conn, row)
    if found.waiting == 0:
        if await repo.move(conn, row.id, "done", from_=("sending",), finished_at=iso(now), progress=100):
            row.status = "done"
            await tell_creator(conn, row, "report", lambda lang: found.text(settings, lang), now)
        return True
    percent = found.handled * 100 // max(row.recipients, 1)
    step = max((s for s in PROGRESS_STEPS if s <= percent), default=0)
    if step > row.progress:
        await repo.update(conn, row.id, progress=step)
        await tell_creator(conn, row, f"progress:{step}", lambda lang: t(
            "broadcast.progress", lang, id=row.id, percent=step, handled=found.handled, count=row.recipients,
            delivered=found.delivered), now)
    return False


async def tell_creator(conn: Connection, row: BroadcastRow, what: str, text: Callable[[str], str],
                       now: datetime) -> bool:
    """A notice to the organizer who created the broadcast (none for the CLI), once per ``what``."""
    if row.creator_person_id is None:
        return False
    recipient = await recipient_for_person(conn, row.creator_person_id)
    if recipient is None:
        return False
    return await enqueue(conn, key=f"{row.group_key}:{what}", recipient=recipient, kind=NOTICE_KIND,
                         message=Message(text(recipient.language)), priority=Priority.NOTICE, now=now)


def summary(row: BroadcastRow, found: Report, settings: Settings, lang: str) -> str:
    """One entry of the list of broadcasts (chat /broadcasts and ``doithoai broadcasts``)."""
    audience = Audience.from_json(row.audience)
    moment = row.scheduled_at if row.status == "scheduled" else datetime.fromisoformat(row.started_at
                                                                                        or row.created_at)
    return t("broadcast.list_item", lang, id=row.id, status=t(f"broadcast.status_{row.status}", lang),
             when=vn_datetime(moment, settings.tz) if moment else "—",
             audience=audience_label(settings, audience, lang) if audience else "—",
             text=shorten(one_line(row.text), 70), delivered=found.delivered, count=row.recipients,
             blocked=found.blocked, failed=found.failed, uncertain=found.uncertain)


def _window(window: tuple[datetime, datetime], settings: Settings) -> str:
    first, last = (moment.astimezone(settings.tz) for moment in window)
    day = f"{first.day}/{first.month}/{first.year}"
    if last - first < timedelta(seconds=1):
        return f"{first:%H:%M:%S} {day}"
    return f"{first:%H:%M:%S}–{last:%H:%M:%S} {day}"


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".replace(".", ",")

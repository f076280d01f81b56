"""Assisted entry (Nhập phiếu giấy): a hamlet head types in a paper form or a phone call for a household that has no
smartphone. The household and its submission are stored exactly as the chat stores them (so every digest, report
and count takes them in), with two marks: the officer who entered it and how (paper or phone), and consent recorded
as given on paper at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.clock import iso
from bot.core.config import Settings
from bot.core.errors import Refusal
from bot.core.phone import normalize_phone
from bot.core.text import clean
from bot.form.states import CATEGORIES, KINDS
from bot.staff import audit
from bot.staff.audit import Actor
from bot.staff.roles import Scope
from storage import Connection, people, submissions
from storage import desk as repo
from storage.records import Submission

CHANNEL = "paper"
SOURCES = ("paper", "phone")
MIN_TEXT = 2
MAX_NAME = 120


class PaperEntryError(Refusal):
    """A paper form that cannot be stored as typed (the key names what is missing or wrong)."""


@dataclass(frozen=True, slots=True)
class PaperForm:
    full_name: str
    hamlet_id: str
    category: str
    phone: str
    kind: str
    topic_id: str
    content: str
    source: str = "paper"


def checked(settings: Settings, scope: Scope, form: PaperForm) -> tuple[PaperForm, str, str | None]:
    """The form cleaned, its field id and phone; refuses what the chat's form would refuse, and a hamlet or topic
    outside the officer's scope (a hamlet head enters forms for their own hamlet)."""
    name = clean(form.full_name)
    content = clean(form.content)
    if not name or len(name) > MAX_NAME:
        raise PaperEntryError("desk.paper_bad_name")
    if form.hamlet_id not in {unit.id for unit in settings.hamlets()}:
        raise PaperEntryError("desk.paper_bad_hamlet")
    if form.category not in CATEGORIES:
        raise PaperEntryError("desk.paper_bad_category")
    if form.kind not in KINDS:
        raise PaperEntryError("desk.paper_bad_kind")
    found = settings.topic(form.topic_id)
    if found is None:
        raise PaperEntryError("desk.paper_bad_topic")
    if not MIN_TEXT <= len(content) <= settings.bot.max_text_length:
        raise PaperEntryError("desk.paper_bad_text", most=settings.bot.max_text_length)
    if form.source not in SOURCES:
        raise PaperEntryError("desk.paper_bad_source")
    phone = normalize_phone(form.phone) if form.phone.strip() else None
    if form.phone.strip() and phone is None:
        raise PaperEntryError("desk.paper_bad_phone")
    if not scope.allows(found[0].id, found[1].id, form.hamlet_id):
        raise PaperEntryError("desk.paper_out_of_scope")
    cleaned = PaperForm(name, form.hamlet_id, form.category, form.phone, form.kind, form.topic_id, content,
                        form.source)
    return cleaned, found[0].id, phone


async def enter(conn: Connection, settings: Settings, actor: Actor, scope: Scope, form: PaperForm,
                now: datetime) -> Submission:
    """Store the household and its submission in the caller's transaction; audited as "entered a paper form"."""
    form, field_id, phone = checked(settings, scope, form)
    stamp = iso(now)
    person = await people.create_person(conn, language=settings.bot.language, now=stamp)
    await people.update_profile(conn, person, full_name=form.full_name, hamlet_id=form.hamlet_id,
                                category=form.category, phone=phone)
    await people.set_consent(conn, person, stamp)
    sub = await submissions.create_submission(
        conn, person_id=person, hamlet_id=form.hamlet_id, category=form.category, kind=form.kind, field_id=field_id,
        topic_id=form.topic_id, content=form.content, media_kind=None, media_file_id=None, channel=CHANNEL,
        now=stamp)
    await repo.mark_paper(conn, sub.id, actor.ref, stamp, form.source)
    await audit.record(conn, actor, "paper_entry", sub.code, now=now, source=form.source, consent="paper")
    return sub

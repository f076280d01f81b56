"""Report files to organizers through the outbox: on request (/report) and at each dialogue's submission deadline.

The files are written before the transaction that queues them (slow work never holds the database lock); the
queueing and the ``jobs_done`` mark of a deadline report are one transaction, so a restart sends it exactly once.
The deadline key carries the deadline (``report:<dialogue>:<deadline UTC>``): a new time means a new report.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.core.clock import iso
from bot.core.config import Settings
from bot.core.events import OUTBOX_QUEUED, Events
from bot.core.i18n import t
from bot.core.types import Message
from bot.core.vntime import vn_datetime
from bot.outbox.enqueue import Priority, Recipient, enqueue
from bot.reports.build import ReportFiles, build_report
from bot.reports.report_files import exports_dir
from storage import Connection, Database, jobs
from storage import dialogues as dialogue_repo
from storage import reports as repo
from storage.dialogues import Dialogue

log = logging.getLogger(__name__)
ACTIVE = ("open", "closed")
KIND = "report"


def deadline_key(dialogue: Dialogue) -> str:
    assert dialogue.deadline is not None
    return f"report:{dialogue.id}:{dialogue.deadline.astimezone(UTC):%Y%m%dT%H%MZ}"


def captions(files: ReportFiles, lang: str) -> dict[str, str]:
    values = {"title": files.title, "submissions": files.submissions, "households": files.households}
    return {fmt: t(f"report.caption_{fmt}", lang, **values) for fmt in files.paths}


async def queue_files(conn: Connection, files: ReportFiles, recipient: Recipient, *, key: str,
                      now: datetime, note: str = "") -> int:
    """Queue each file as a document (``note`` heads the first caption); returns how many rows were new."""
    queued = 0
    for index, (fmt, caption) in enumerate(captions(files, recipient.language).items()):
        text = f"{note}\n\n{caption}" if note and index == 0 else caption
        message = Message(text, document_path=str(files.paths[fmt]), document_name=files.document_name(fmt))
        queued += await enqueue(conn, key=f"{key}:{fmt}", recipient=recipient, kind=KIND, message=message,
                                priority=Priority.DIGEST, now=now)
    return queued


async def organizer_recipients(conn: Connection, settings: Settings) -> list[Recipient]:
    """Config admins (Telegram: a private chat's id is the user's id) and staff organizers and admins, once each.

    Staff who never wrote to the bot have no identity row: on Telegram their user id is their private chat id.
    """
    contacts = [await repo.identity_contact(conn, "telegram", str(admin))
                or repo.StaffContact("telegram", str(admin), None, None, None) for admin in settings.bot.admins]
    contacts += await repo.organizers(conn)
    found: dict[tuple[str, str], Recipient] = {}
    for contact in contacts:
        chat_id = contact.chat_id or contact.external_id
        found.setdefault((contact.channel, chat_id), Recipient(
            contact.person_id, contact.channel, chat_id, contact.language or settings.bot.language))
    return list(found.values())


async def send_deadline_reports(db: Database, settings: Settings, now: datetime, events: Events) -> int:
    """Send the report of every open or closed dialogue whose deadline has passed, once per deadline.

    Idempotent and cheap when nothing is due: call it from the scheduler's periodic safety job. Returns the
    number of messages queued.
    """
    async with db.reading() as conn:
        due = [d for d in await dialogue_repo.list_dialogues(conn, ACTIVE)
               if d.deadline is not None and d.deadline <= now and not await jobs.is_done(conn, deadline_key(d))]
    queued = 0
    for dialogue in due:
        try:
            queued += await _deadline_report(db, settings, dialogue, now)
        except Exception:  # one dialogue's failure must not stop the others' reports; the next run retries it
            log.exception("the deadline report of %s failed", dialogue.id)
    if queued:
        await events.emit(OUTBOX_QUEUED)
    return queued


async def _deadline_report(db: Database, settings: Settings, dialogue: Dialogue, now: datetime) -> int:
    key = deadline_key(dialogue)
    files = await build_report(db, settings, dialogue.id, now=now, folder=exports_dir(settings))
    assert dialogue.deadline is not None
    deadline = vn_datetime(dialogue.deadline, settings.tz)
    queued = 0
    async with db.transaction() as conn:
        if await jobs.is_done(conn, key):
            return 0
        for recipient in await organizer_recipients(conn, settings):
            note = t("report.deadline_note", recipient.language, deadline=deadline, title=dialogue.title)
            queued += await queue_files(conn, files, recipient, key=f"{key}:{recipient.channel}:{recipient.chat_id}",
                                        now=now, note=note)
        await jobs.mark_done(conn, key, iso(now))
    log.info("deadline report %s: %d message(s) queued", key, queued)
    return queued

"""Reminders of time and place, and the nudge before the submission deadline.

The database decides what is due; APScheduler only wakes the bot up. ``plan`` is pure: from a dialogue and "now"
it says which waves exist and when they fire. ``run_wave`` sends one wave in one transaction and records it in
``jobs_done``; every message has a per-household dedupe key, so re-running a wave (a restart, the safety re-plan,
two triggers racing) never sends anything twice. ``ReminderScheduler`` keeps APScheduler's jobs in line with the
plan: at start, on every ``DIALOGUE_CHANGED`` and every few minutes.

Keys carry the start time (``reminder:<dialogue>:<minutes>:<start UTC>``): when the time changes, the waves of the
new time are new waves, so a household told "còn 3 ngày nữa" about the old date is reminded again for the new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.core.clock import Clock, iso, system_clock
from bot.core.config import Settings
from bot.core.events import DIALOGUE_CHANGED, OUTBOX_QUEUED, Events
from bot.core.i18n import t
from bot.core.types import Choice, Message
from bot.core.vntime import vn_datetime
from bot.dialogues.service import details, template_fields
from bot.outbox.enqueue import Priority, enqueue, recipient_for_person
from storage import Connection, Database, jobs, people
from storage import dialogues as repo
from storage.dialogues import Dialogue, Registration
from storage.submissions import count_for_person

log = logging.getLogger(__name__)

ACTIVE = ("open", "closed")
NUDGE_BEFORE = timedelta(days=1)
SAFETY_JOB_ID = "reminders:safety"
SAFETY_MINUTES = 5
WaveKind = Literal["reminder", "nudge"]


@dataclass(frozen=True, slots=True)
class Wave:
    """One sending to every household concerned: a reminder at an offset before the start, or the nudge."""

    kind: WaveKind
    dialogue_id: str
    offset_minutes: int          # before the start (reminder) or before the deadline (nudge)
    fire_at: datetime            # UTC
    job_key: str                 # the APScheduler job id and the jobs_done key

    def due(self, now: datetime) -> bool:
        return self.fire_at <= now


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def _reminder_waves(dialogue: Dialogue, starts_at: datetime, now: datetime) -> list[Wave]:
    waves = [
        Wave("reminder", dialogue.id, minutes, (starts_at - timedelta(minutes=minutes)).astimezone(UTC),
             f"reminder:{dialogue.id}:{minutes}:{_stamp(starts_at)}")
        for minutes in sorted(set(dialogue.reminder_minutes), reverse=True)
    ]
    missed = [w for w in waves if w.due(now)]
    # Of the reminders missed while the bot was down, only the latest is still worth sending.
    return [w for w in waves if not w.due(now)] + missed[-1:]


def _nudge_wave(dialogue: Dialogue, now: datetime) -> list[Wave]:
    deadline = dialogue.deadline
    if deadline is None or now >= deadline:
        return []
    minutes = int(NUDGE_BEFORE.total_seconds() // 60)
    return [Wave("nudge", dialogue.id, minutes, (deadline - NUDGE_BEFORE).astimezone(UTC),
                 f"nudge:{dialogue.id}:{_stamp(deadline)}")]


def plan(dialogue: Dialogue, now: datetime) -> list[Wave]:
    """Every wave still to send, by fire time; a wave with ``fire_at <= now`` is due now.

    Only open or closed dialogues with a time have waves, and none once the dialogue has begun. A reminder missed
    while the bot was down is due now (only the latest missed one); the nudge is due now until the deadline.
    """
    starts_at = dialogue.starts_at
    if dialogue.status not in ACTIVE or starts_at is None or now >= starts_at:
        return []
    return sorted(_reminder_waves(dialogue, starts_at, now) + _nudge_wave(dialogue, now), key=lambda w: w.fire_at)


def when_phrase(starts_at: datetime, now: datetime, tz: ZoneInfo, lang: str) -> str:
    """How far off the dialogue is, as people say it: "Còn 3 ngày nữa", "Ngày mai", "Còn 2 giờ nữa".

    Computed from the time actually left, so it equals the offset when the wave fires on time and stays true
    when it is sent late (after a restart).
    """
    minutes = max(1, round((starts_at - now).total_seconds() / 60))
    if minutes < 12 * 60:
        hours, rest = divmod(minutes, 60)
        if not hours:
            return t("reminders.in_minutes", lang, minutes=rest)
        if not rest:
            return t("reminders.in_hours", lang, hours=hours)
        return t("reminders.in_hours_minutes", lang, hours=hours, minutes=rest)
    days = (starts_at.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days <= 0:
        return t("reminders.today", lang)
    if days == 1:
        return t("reminders.tomorrow", lang)
    return t("reminders.in_days", lang, days=days)


def reminder_message(dialogue: Dialogue, registration: Registration, settings: Settings, lang: str,
                     now: datetime) -> Message:
    assert dialogue.starts_at is not None
    text = t("reminders.reminder", lang, when=when_phrase(dialogue.starts_at, now, settings.tz, lang),
             details=details(dialogue, settings, lang), code=registration.code)
    choices = (Choice(f"att:{registration.id}:yes", t("reminders.button_yes", lang)),
               Choice(f"att:{registration.id}:no", t("reminders.button_no", lang)))
    return Message(text, choices=choices)


def nudge_message(dialogue: Dialogue, settings: Settings, lang: str) -> Message:
    assert dialogue.deadline is not None
    return Message(t("reminders.nudge", lang, title=dialogue.title,
                        deadline=vn_datetime(dialogue.deadline, settings.tz)))


async def _still_due(conn: Connection, wave: Wave, now: datetime) -> Dialogue | None:
    """The dialogue, if the database still plans this wave and it is due (time, status and deadline re-read)."""
    dialogue = await repo.get_dialogue(conn, wave.dialogue_id)
    if dialogue is None:
        return None
    current = {w.job_key: w for w in plan(dialogue, now)}.get(wave.job_key)
    return dialogue if current is not None and current.due(now) else None


async def _reminder_targets(conn: Connection, dialogue: Dialogue) -> list[Registration]:
    return [r for r in await repo.registrations(conn, dialogue.id, "registered") if r.attending != "no"]


async def _nudge_targets(conn: Connection, dialogue: Dialogue) -> list[Registration]:
    found = []
    for status in ("registered", "waitlisted"):
        for reg in await repo.registrations(conn, dialogue.id, status):
            if reg.attending != "no" and await count_for_person(conn, reg.person_id) == 0:
                found.append(reg)
    return found


async def _send_wave(conn: Connection, settings: Settings, wave: Wave, dialogue: Dialogue,
                     now: datetime) -> int:
    targets = await (_reminder_targets if wave.kind == "reminder" else _nudge_targets)(conn, dialogue)
    queued = 0
    for reg in targets:
        recipient = await recipient_for_person(conn, reg.person_id)
        if recipient is None:
            continue
        if wave.kind == "reminder":
            message = reminder_message(dialogue, reg, settings, recipient.language, now)
        else:
            message = nudge_message(dialogue, settings, recipient.language)
        fields = template_fields(dialogue, settings, recipient.language, code=reg.code,
                                 name=await person_name(conn, reg.person_id))
        queued += await enqueue(conn, key=f"{wave.job_key}:{reg.person_id}", recipient=recipient, kind=wave.kind,
                                message=message, priority=Priority.REMINDER, now=now, fields=fields)
    return queued


async def person_name(conn: Connection, person_id: int) -> str:
    person = await people.get_person(conn, person_id)
    return person.full_name or "" if person is not None else ""


async def run_wave(db: Database, settings: Settings, wave: Wave, now: datetime, events: Events) -> int:
    """Send one wave if the database still says it is due and it was not done; returns how many were queued."""
    async with db.transaction() as conn:
        if await jobs.is_done(conn, wave.job_key):
            return 0
        dialogue = await _still_due(conn, wave, now)
        if dialogue is None:
            return 0
        queued = await _send_wave(conn, settings, wave, dialogue, now)
        await jobs.mark_done(conn, wave.job_key, iso(now))
    log.info("wave %s: %d message(s) queued", wave.job_key, queued)
    if queued:
        await events.emit(OUTBOX_QUEUED)
    return queued


class ReminderScheduler:
    """Keeps one APScheduler job per future wave; the jobs only wake ``run_wave``, which asks the database.

    Fire times come from the injectable clock; a job is set to fire after the same delay in real time, so with the
    system clock it fires at ``fire_at`` and with a frozen test clock it never fires on its own.
    """

    def __init__(self, db: Database, settings: Settings, events: Events, clock: Clock = system_clock,
                 *, scheduler: AsyncIOScheduler, safety_minutes: float = SAFETY_MINUTES) -> None:
        """``scheduler`` is the process's one APScheduler (``bot/cli/runtime.py`` owns it and shuts it down)."""
        self.db = db
        self.settings = settings
        self.events = events
        self.clock = clock
        self.safety_minutes = safety_minutes
        self.scheduler = scheduler
        self._running = False

    async def start(self) -> int:
        """Re-plan every dialogue from the database (sending what is due), then let the scheduler run."""
        self._running = True
        sent = await self.replan_all()
        self.scheduler.add_job(self._safety, "interval", minutes=self.safety_minutes, id=SAFETY_JOB_ID,
                               replace_existing=True, coalesce=True, max_instances=1)
        if not self.scheduler.running:
            self.scheduler.start()
        self.events.subscribe(DIALOGUE_CHANGED, self._on_dialogue_changed)
        return sent

    def shutdown(self) -> None:
        """Stop waking up: this scheduler's jobs leave the shared APScheduler (a job already under way finishes;
        its transaction is all or nothing)."""
        if not self._running:
            return
        self._running = False
        for job in self.scheduler.get_jobs():
            if job.id == SAFETY_JOB_ID or (job.args and isinstance(job.args[0], Wave)):
                job.remove()

    def planned(self, dialogue_id: str | None = None) -> list[Wave]:
        """The waves that have a job waiting, by fire time."""
        waves = [job.args[0] for job in self.scheduler.get_jobs() if job.args and isinstance(job.args[0], Wave)]
        return sorted((w for w in waves if dialogue_id in (None, w.dialogue_id)), key=lambda w: w.fire_at)

    async def replan_all(self) -> int:
        async with self.db.reading() as conn:
            active = await repo.list_dialogues(conn, ACTIVE)
        dialogue_ids = {d.id for d in active} | {w.dialogue_id for w in self.planned()}
        sent = 0
        for dialogue_id in sorted(dialogue_ids):
            try:
                sent += await self.replan(dialogue_id)
            except Exception:  # one broken dialogue must not keep the others' reminders from being planned
                log.exception("re-planning the reminders of %s failed", dialogue_id)
        return sent

    async def replan(self, dialogue_id: str) -> int:
        """Replace the dialogue's jobs by its current plan and send the waves due now; returns messages queued."""
        now = self.clock()
        async with self.db.reading() as conn:
            dialogue = await repo.get_dialogue(conn, dialogue_id)
        waves = plan(dialogue, now) if dialogue else []
        for job_wave in self.planned(dialogue_id):
            self.scheduler.remove_job(job_wave.job_key)
        for wave in waves:
            if not wave.due(now):
                self._add_job(wave, now)
        sent = 0
        for wave in waves:
            if wave.due(now):
                sent += await run_wave(self.db, self.settings, wave, now, self.events)
        return sent

    def _add_job(self, wave: Wave, now: datetime) -> None:
        run_date = datetime.now(UTC) + (wave.fire_at - now)
        self.scheduler.add_job(self._fire, DateTrigger(run_date, timezone=UTC), args=(wave,), id=wave.job_key,
                               name=wave.job_key, replace_existing=True, misfire_grace_time=None, coalesce=True)

    async def _fire(self, wave: Wave) -> None:
        if not self._running:
            return
        try:
            await run_wave(self.db, self.settings, wave, self.clock(), self.events)
        except Exception:
            log.exception("reminder wave %s failed; the safety re-plan will retry it", wave.job_key)

    async def _safety(self) -> None:
        if not self._running:
            return
        try:
            await self.replan_all()
        except Exception:
            log.exception("periodic re-plan of reminders failed")

    async def _on_dialogue_changed(self, dialogue_id: str) -> None:
        if self._running:
            await self.replan(dialogue_id)

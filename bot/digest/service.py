"""The daily digest: every officer, organizer and administrator gets the new questions of their scope.

What is new is decided per recipient by a watermark (``digest_marks``: the highest submission id already covered).
A recipient's digest is written in one transaction: its outbox rows (the text, a chart, the Excel list), the new
watermark and the ``jobs_done`` key ``digest:<local date>:<channel>:<id>``. The key is what makes a day's digest go
out once, even across a restart or two runs racing; the watermark is what puts every submission in exactly one
daily digest. The slow part (chart, workbook) is made before that transaction from a consistent read, and the
transaction checks that neither moved meanwhile. Nothing new in the scope: no message, but the day is done and the
watermark moves past what was outside the scope.

``/digest`` (bot/digest_chat.py) shows the same on demand without moving the watermark, so an officer who looked
at noon still gets the full list in the evening. ``DigestScheduler`` wakes ``send_digests`` at the configured local
time; started after that time on the same day, it sends the day's digest at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.core.clock import Clock, iso, system_clock
from bot.core.config import Settings
from bot.core.events import OUTBOX_QUEUED, Events
from bot.core.i18n import catalogue, t
from bot.core.text import one_line, shorten
from bot.core.types import Message
from bot.core.vntime import vn_date, vn_datetime
from bot.core.workers import in_process
from bot.digest.group_overrides import NONE as NO_OVERRIDES
from bot.digest.group_overrides import GroupOverrides, apply
from bot.digest.group_overrides import load as load_overrides
from bot.digest.grouping import Group, Item, group_similar
from bot.outbox.enqueue import Priority, Recipient, enqueue
from bot.reports.report_files import exports_dir, private_output
from bot.reports.report_xlsx import Sheet, write_workbook
from bot.staff import roles
from storage import Connection, Database, digests, jobs, people, submissions
from storage import staff as staff_repo
from storage.backends import read_snapshot
from storage.digests import Entry

log = logging.getLogger(__name__)

JOB_ID = "digest:daily"
KIND = "digest"
KEEP_FILES = timedelta(days=30)
LINES_PER_TOPIC = 6     # grouped questions and media shown under a topic; the rest is in the Excel file
NAMES_SHOWN = 8
SNIPPET = 120


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A digest recipient: a staff row or a configured administrator, and where to reach them."""

    channel: str
    external_id: str
    chat_id: str
    person_id: int | None
    language: str
    blocked: bool

    @property
    def recipient(self) -> Recipient:
        return Recipient(self.person_id, self.channel, self.chat_id, self.language)


@dataclass(frozen=True, slots=True)
class NewEntries:
    entries: list[Entry]
    after: int               # the watermark they were read above
    upto: int                # the highest submission id looked at: the next watermark
    since: datetime | None   # when the last daily digest was done (None: never)
    overrides: GroupOverrides = NO_OVERRIDES  # officers' merges and splits (the web desk)


@dataclass(frozen=True, slots=True)
class DigestFiles:
    chart: Path
    sheet: Path
    sheet_name: str          # the Excel file's name as the recipient sees it
    stem: str                # names the content: the same entries in the same language give the same stem


# ---- reading ------------------------------------------------------------------------------------------------------


async def staff_members(conn: Connection, settings: Settings) -> list[StaffMember]:
    """Everyone with a role (the staff table) and the configured administrators (on Telegram, chat id = user id)."""
    wanted = {("telegram", str(admin)) for admin in settings.bot.admins}
    wanted |= set(await staff_repo.staff_ids(conn))
    return [await _member(conn, settings, channel, external_id) for channel, external_id in sorted(wanted)]


async def _member(conn: Connection, settings: Settings, channel: str, external_id: str) -> StaffMember:
    chat = await people.identity_chat(conn, channel, external_id)
    if chat is None:  # never wrote to the bot: a private chat's id is the user's id
        return StaffMember(channel, external_id, external_id, None, settings.bot.language, False)
    return StaffMember(channel, external_id, chat.chat_id, chat.person_id, chat.language, chat.blocked)


async def read_mark(conn: Connection, channel: str, external_id: str) -> tuple[int, datetime | None]:
    """(the last submission id covered by a daily digest, when that digest was done); (0, None) before the first."""
    mark = await digests.get_mark(conn, channel, external_id)
    return (mark[0], datetime.fromisoformat(mark[1])) if mark else (0, None)


async def new_entries(conn: Connection, settings: Settings, channel: str, external_id: str) -> NewEntries:
    """The submissions in this person's scope above their watermark (withdrawn ones left out)."""
    after, since = await read_mark(conn, channel, external_id)
    scope = await roles.scope_of(conn, settings, channel, external_id)
    rows = await digests.entries_after(conn, after)
    highest = await submissions.highest_id(conn)
    entries = [e for e in rows if scope.allows(e.field_id, e.topic_id, e.hamlet_id)]
    return NewEntries(entries, after, max(after, highest), since, await load_overrides(conn))


# ---- the text -----------------------------------------------------------------------------------------------------


def daily_text(found: NewEntries, settings: Settings, lang: str, now: datetime) -> str:
    header = t("digest.header_daily", lang, date=vn_date(now, settings.tz), **_totals(found.entries))
    blocks = summary_blocks(found.entries, settings, lang, found.overrides)
    return "\n\n".join([header, *blocks, t("digest.files_follow", lang)])


def on_demand_text(found: NewEntries, settings: Settings, lang: str) -> str:
    if found.since is None:
        header = t("digest.header_now_first", lang, **_totals(found.entries))
    else:
        header = t("digest.header_now", lang, since=vn_datetime(found.since, settings.tz), **_totals(found.entries))
    footer = "\n".join([t("digest.files_follow", lang), t("digest.now_footer", lang, time=settings.digest.time)])
    return "\n\n".join([header, *summary_blocks(found.entries, settings, lang, found.overrides), footer])


def _totals(entries: Sequence[Entry]) -> dict[str, int]:
    return {"count": len(entries), "households": len({e.person_id or -e.id for e in entries})}


def summary_blocks(entries: Sequence[Entry], settings: Settings, lang: str,
                   overrides: GroupOverrides = NO_OVERRIDES) -> list[str]:
    """One block per field (its topics, grouped questions, voice notes and photos), then the counts per hamlet."""
    blocks = []
    for field_name, topics in _sections(entries, settings):
        lines = [t("digest.field_line", lang, field=field_name, count=sum(len(items) for _, items in topics))]
        for topic_name, items in topics:
            lines.append(t("digest.topic_line", lang, topic=topic_name, count=len(items)))
            lines.extend(_topic_lines(items, settings, lang, overrides))
        blocks.append("\n".join(lines))
    counts = " · ".join(f"{name} {count}" for name, count in per_hamlet(entries, settings, lang).items())
    blocks.append(t("digest.hamlets_line", lang, counts=counts))
    return blocks


def _sections(entries: Sequence[Entry], settings: Settings) -> list[tuple[str, list[tuple[str, list[Entry]]]]]:
    """(field name, [(topic name, entries)]) in the catalogue's order; topics no longer in it come last."""
    by_topic: dict[str, list[Entry]] = {}
    for entry in entries:
        by_topic.setdefault(entry.topic_id, []).append(entry)
    sections = []
    for fld in settings.fields:
        topics = [(topic.name, by_topic.pop(topic.id)) for topic in fld.topics if topic.id in by_topic]
        if topics:
            sections.append((fld.name, topics))
    for topic_id, items in by_topic.items():
        known = settings.field(items[0].field_id)
        sections.append((known.name if known else items[0].field_id, [(topic_id, items)]))
    return sections


def _topic_lines(items: Sequence[Entry], settings: Settings, lang: str, overrides: GroupOverrides) -> list[str]:
    by_id = {e.id: e for e in items}
    written = [e for e in items if not e.media_kind]
    shown = [(_group_line(g, by_id, settings, lang), g.count)
             for g in apply(_grouped(tuple(_item(e, lang) for e in written)), overrides)]
    shown += [(_media_line(e, settings, lang), 1) for e in items if e.media_kind]
    lines = [line for line, _ in shown[:LINES_PER_TOPIC]]
    hidden = sum(count for _, count in shown[LINES_PER_TOPIC:])
    if hidden:
        lines.append(t("digest.more_items", lang, count=hidden))
    return lines


@lru_cache(maxsize=512)
def _grouped(items: tuple[Item, ...]) -> list[Group]:
    """Staff of the same scope get the same questions of a topic: grouped once per evening, not once each."""
    return group_similar(items)


def grouped_cache_clear() -> None:
    _grouped.cache_clear()


def _item(entry: Entry, lang: str) -> Item:
    return Item(entry.id, one_line(entry.content), entry.name or t("digest.no_name", lang), entry.hamlet_id,
                entry.field_id, entry.topic_id, entry.kind, "new", None)


def _group_line(group: Group, by_id: dict[int, Entry], settings: Settings, lang: str) -> str:
    entries = [by_id[item.submission_id] for item in group.items]
    text = shorten(one_line(group.representative), SNIPPET)
    households = _totals(entries)["households"]
    if households == 1:
        first = entries[0]
        return t("digest.single_line", lang, codes=", ".join(e.code for e in entries), text=text,
                 name=first.name or t("digest.no_name", lang), hamlet=hamlet_name(first.hamlet_id, settings, lang))
    names = group.names
    listed = ", ".join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        listed = t("digest.more_names", lang, names=listed, more=len(names) - NAMES_SHOWN)
    codes = ", ".join(e.code for e in entries)  # every code: an officer answers each one with /answer
    return t("digest.group_line", lang, text=text, households=households, names=listed, codes=codes)


def _media_line(entry: Entry, settings: Settings, lang: str) -> str:
    key = f"digest.media_{entry.media_kind}"
    if key not in catalogue():
        key = "digest.media_photo"
    return t(key, lang, code=entry.code, name=entry.name or t("digest.no_name", lang),
             hamlet=hamlet_name(entry.hamlet_id, settings, lang))


def hamlet_name(hamlet_id: str | None, settings: Settings, lang: str) -> str:
    unit = settings.unit(hamlet_id) if hamlet_id else None
    return unit.name if unit else t("digest.unknown_hamlet", lang)


def per_hamlet(entries: Sequence[Entry], settings: Settings, lang: str) -> dict[str, int]:
    """Entries per hamlet name, most first; equal counts in the config's order."""
    order = {hamlet.name: index for index, hamlet in enumerate(settings.hamlets())}
    counts = Counter(hamlet_name(e.hamlet_id, settings, lang) for e in entries)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order)))))


def per_topic(entries: Sequence[Entry], settings: Settings) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for entry in entries:
        found = settings.topic(entry.topic_id)
        counts[found[1].name if found else entry.topic_id] += 1
    return dict(counts.most_common())


# ---- the files ----------------------------------------------------------------------------------------------------


def _make_files(entries: list[Entry], settings: Settings, lang: str, now: datetime) -> DigestFiles:
    """Made once per content: recipients who get the same entries share the files."""
    ids = ",".join(str(e.id) for e in entries)
    day = now.astimezone(settings.tz)
    stem = f"digest-{day:%Y%m%d}-{hashlib.sha256(f'{lang}:{ids}'.encode()).hexdigest()[:16]}"
    folder = exports_dir(settings)
    files = DigestFiles(folder / f"{stem}.png", folder / f"{stem}.xlsx", f"y-kien-moi-{day:%d-%m-%Y}.xlsx", stem)
    if not files.chart.exists():
        png = chart_png(entries, settings, lang, now)
        with private_output(files.chart) as out:
            out.write(png)
    if not files.sheet.exists():
        write_workbook(files.sheet, [Sheet(t("digest.sheet_title", lang), _sheet_rows(entries, settings, lang),
                                           [width for _, width in SHEET_COLUMNS])])
    return files


def chart_png(entries: Sequence[Entry], settings: Settings, lang: str, now: datetime) -> bytes:
    from bot.digest.charts import questions_chart_png

    return questions_chart_png(per_topic(entries, settings), per_hamlet(entries, settings, lang),
                               t("digest.chart_title", lang, date=vn_date(now, settings.tz)),
                               topic_title=t("digest.chart_topics", lang), hamlet_title=t("digest.chart_hamlets", lang))


SHEET_COLUMNS = (("code", 10), ("date", 17), ("hamlet", 16), ("name", 24), ("category", 18), ("kind", 14),
                 ("field", 20), ("topic", 32), ("content", 70), ("media", 14))


def _sheet_rows(entries: Sequence[Entry], settings: Settings, lang: str) -> Iterator[list[object]]:
    """The header, then one row per entry (``write_workbook`` keeps households' text as text, never a formula)."""
    yield [t(f"digest.col_{name}", lang) for name, _ in SHEET_COLUMNS]
    for entry in entries:
        yield _sheet_row(entry, settings, lang)


def _sheet_row(entry: Entry, settings: Settings, lang: str) -> list[object]:
    found = settings.topic(entry.topic_id)
    local = datetime.fromisoformat(entry.created_at).astimezone(settings.tz).replace(tzinfo=None)  # Excel: no zones
    return [
        entry.code, local, hamlet_name(entry.hamlet_id, settings, lang), entry.name or "",
        _label(f"form.category_{entry.category}", lang) if entry.category else "",
        _label(f"form.kind_{entry.kind}", lang),
        found[0].name if found else entry.field_id, found[1].name if found else entry.topic_id, entry.content,
        _label(f"form.media_{entry.media_kind}", lang) if entry.media_kind else "",
    ]


def _label(key: str, lang: str) -> str:
    """A catalogue label without its emoji ("❓ Câu hỏi" → "Câu hỏi"); the key's last part if it is unknown."""
    if key not in catalogue():
        return key.rsplit("_", 1)[-1]
    text = t(key, lang)
    first, _, rest = text.partition(" ")
    return rest if rest and not first.isalnum() else text


def prune_exports(settings: Settings, keep: timedelta = KEEP_FILES) -> int:
    """Delete digest files older than ``keep`` (by file age): they name households and were sent long ago."""
    folder = exports_dir(settings)
    limit = datetime.now().timestamp() - keep.total_seconds()
    old = [p for p in folder.glob("digest-*") if p.stat().st_mtime < limit]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)


# ---- queueing -----------------------------------------------------------------------------------------------------


def file_messages(files: DigestFiles, count: int, lang: str) -> list[tuple[str, Message]]:
    return [
        ("chart", Message(t("digest.chart_caption", lang), photo_path=str(files.chart))),
        ("xlsx", Message(t("digest.xlsx_caption", lang, count=count), document_path=str(files.sheet),
                            document_name=files.sheet_name)),
    ]


async def queue_messages(conn: Connection, recipient: Recipient, messages: list[tuple[str, Message]],
                         key: str, now: datetime, group_key: str | None = None) -> int:
    """Queue the parts in order under ``<key>:<part>``; returns how many were new."""
    queued = 0
    for part, message in messages:
        queued += await enqueue(conn, key=f"{key}:{part}", recipient=recipient, kind=KIND, message=message,
                                priority=Priority.DIGEST, now=now, group_key=group_key)
    return queued


def local_day(now: datetime, settings: Settings) -> str:
    return now.astimezone(settings.tz).date().isoformat()


def job_key(member: StaffMember, now: datetime, settings: Settings) -> str:
    return f"digest:{local_day(now, settings)}:{member.channel}:{member.external_id}"


async def send_digest(db: Database, settings: Settings, member: StaffMember, now: datetime) -> bool:
    """The day's digest for one person, once; True when messages were queued.

    The slow part (grouping the questions into the text, the chart, the workbook) runs in a worker thread from a
    consistent read; the transaction only checks that nothing moved meanwhile and queues the messages."""
    key = job_key(member, now, settings)

    if db.path == ":memory:":  # no second connection to an in-memory database: read it here
        found = await db.snapshot(lambda conn: _read(conn, settings, member, key))
        prepared = None if found is None else (_Read.of(found), await asyncio.to_thread(_prepare, found, settings,
                                                                                       member.language, now))
    else:  # read, grouped, drawn and written in the worker process, from a snapshot
        prepared = await in_process(_read_and_prepare, db.path, settings, member, key, now)
    if prepared is None:
        return False
    read, messages = prepared
    async with db.transaction() as conn:
        done = await jobs.is_done(conn, key)
        if done or (await read_mark(conn, member.channel, member.external_id))[0] != read.after:
            return False  # another run did it meanwhile
        if messages:
            await queue_messages(conn, member.recipient, messages, key, now, f"digest:{local_day(now, settings)}")
        await digests.set_mark(conn, member.channel, member.external_id, read.upto, iso(now))
        await jobs.mark_done(conn, key, iso(now))
    log.info("digest %s: %d new entr(y/ies)", key, read.count)
    return bool(messages)


@dataclass(frozen=True, slots=True)
class _Read:
    """What the transaction needs of a digest's read: its watermarks and size, not its entries (10,000 of them
    would be unpickled on the event loop's process, holding the GIL for tens of milliseconds)."""

    after: int
    upto: int
    count: int

    @classmethod
    def of(cls, found: NewEntries) -> _Read:
        return cls(found.after, found.upto, len(found.entries))


async def _read(conn: Connection, settings: Settings, member: StaffMember, key: str) -> NewEntries | None:
    return None if await jobs.is_done(conn, key) else await new_entries(conn, settings, member.channel,
                                                                        member.external_id)


def _read_and_prepare(path: str, settings: Settings, member: StaffMember, key: str,
                      now: datetime) -> tuple[_Read, list[tuple[str, Message]]] | None:
    """In the worker process: the snapshot read, then the text, the chart and the workbook (None: done already)."""
    found = read_snapshot(path, _read, settings, member, key)
    if found is None:
        return None
    return _Read.of(found), _prepare(found, settings, member.language, now) if found.entries else []


def _prepare(found: NewEntries, settings: Settings, lang: str, now: datetime) -> list[tuple[str, Message]]:
    """The text, the chart and the workbook of one digest (in a worker thread)."""
    files = _make_files(list(found.entries), settings, lang, now)
    return [("text", Message(daily_text(found, settings, lang, now))),
            *file_messages(files, len(found.entries), lang)]


@dataclass(frozen=True, slots=True)
class OnDemand:
    """``/digest`` made ready: the text and files of what is new (``count`` 0: nothing; ``files`` None with
    entries: they could not be made)."""

    since: datetime | None
    count: int
    text: str
    files: DigestFiles | None


async def on_demand(db: Database, settings: Settings, channel: str, user_id: str, lang: str,
                    now: datetime) -> OnDemand:
    """What is new for one officer since their last daily digest, with its text and files: read from a snapshot,
    grouped and drawn in the worker process (a thread would hold the GIL for seconds, and the turns would wait for
    it); only the text and the files' paths come back."""
    if db.path == ":memory:":  # no second connection to an in-memory database: read it here, draw in a thread
        found = await db.snapshot(lambda conn: new_entries(conn, settings, channel, user_id))
        return await asyncio.to_thread(_on_demand_ready, found, settings, lang, now)
    return await in_process(_on_demand_in_worker, db.path, settings, channel, user_id, lang, now)


def _on_demand_in_worker(path: str, settings: Settings, channel: str, user_id: str, lang: str,
                         now: datetime) -> OnDemand:
    return _on_demand_ready(read_snapshot(path, new_entries, settings, channel, user_id), settings, lang, now)


def _on_demand_ready(found: NewEntries, settings: Settings, lang: str, now: datetime) -> OnDemand:
    if not found.entries:
        return OnDemand(found.since, 0, "", None)
    text = on_demand_text(found, settings, lang)
    try:
        files: DigestFiles | None = _make_files(list(found.entries), settings, lang, now)
    except Exception:
        log.exception("the files of an on-demand digest could not be made")
        files = None
    return OnDemand(found.since, len(found.entries), text, files)


async def send_digests(db: Database, settings: Settings, now: datetime, events: Events) -> int:
    """The day's digest for every staff member who has not had it; returns how many got one (nothing new: none)."""
    async with db.reading() as conn:
        members = await staff_members(conn, settings)
    sent = 0
    for member in members:
        if member.blocked:
            continue
        try:
            sent += await send_digest(db, settings, member, now)
        except Exception:  # one broken digest must not keep the others from going out
            log.exception("the digest for %s:%s failed", member.channel, member.external_id)
    if sent:
        await events.emit(OUTBOX_QUEUED)
    await asyncio.to_thread(prune_exports, settings)
    return sent


# ---- scheduling ---------------------------------------------------------------------------------------------------


def due_today(settings: Settings, now: datetime) -> bool:
    """Is it at or past the digest time of the local day?"""
    local = now.astimezone(settings.tz)
    return (local.hour, local.minute) >= settings.digest.hour_minute


class DigestScheduler:
    """Wakes ``send_digests`` every day at ``digest.time`` (local); the database says who still needs one.

    ``start`` first sends the day's digests missed while the bot was down, if the time has passed today; one missed
    on an earlier day is not sent late: the next digest covers its entries (the watermark has not moved).
    """

    def __init__(self, db: Database, settings: Settings, events: Events, clock: Clock = system_clock, *,
                 scheduler: AsyncIOScheduler) -> None:
        """``scheduler`` is the process's one APScheduler (``bot/cli/runtime.py`` owns it and shuts it down)."""
        self.db = db
        self.settings = settings
        self.events = events
        self.clock = clock
        self.scheduler = scheduler
        self._running = False

    def trigger(self) -> CronTrigger:
        hour, minute = self.settings.digest.hour_minute
        return CronTrigger(hour=hour, minute=minute, timezone=self.settings.tz)

    async def start(self) -> int:
        """Send what is due today, then wake up daily; returns how many digests went out now. Off: nothing."""
        if not self.settings.digest.enabled or self._running:
            return 0
        self._running = True
        sent = await self.run()
        self.scheduler.add_job(self._fire, self.trigger(), id=JOB_ID, name=JOB_ID, replace_existing=True,
                               coalesce=True, max_instances=1, misfire_grace_time=None)
        if not self.scheduler.running:
            self.scheduler.start()
        return sent

    def shutdown(self) -> None:
        """Stop waking up: the daily job leaves the shared APScheduler."""
        if not self._running:
            return
        self._running = False
        if self.scheduler.get_job(JOB_ID) is not None:
            self.scheduler.remove_job(JOB_ID)

    async def run(self) -> int:
        """Send the day's digests if the time has come (a late wake-up on the next day sends nothing)."""
        now = self.clock()
        if not due_today(self.settings, now):
            return 0
        return await send_digests(self.db, self.settings, now, self.events)

    async def _fire(self) -> None:
        if not self._running:
            return
        try:
            await self.run()
        except Exception:
            log.exception("the daily digest failed; it is sent at the next start if still the same day")

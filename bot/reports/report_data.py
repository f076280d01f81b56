"""What the report says, read once from the database: the dialogue, its hamlets, the submissions and their labels.

Which submissions: those of households whose hamlet takes part in the dialogue (``dialogue_hamlets``), every
status but 'withdrawn'; withdrawn ones are only counted. Each writer (Word, Excel, CSV) reads this one object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from bot.core.config import Settings
from bot.core.i18n import catalogue, t
from bot.dialogues.service import DialogueError, when_text
from bot.digest.group_overrides import NONE as NO_OVERRIDES
from bot.digest.group_overrides import GroupOverrides
from bot.digest.group_overrides import load as load_overrides
from bot.digest.grouping import Item
from storage import Connection, Database
from storage import dialogues as dialogue_repo
from storage import reports as repo
from storage.dialogues import Dialogue
from storage.reports import ReportRow

Progress = Callable[[int, int], None]      # (done, total)
OUTSTANDING = ("new", "later", "forwarded")


def no_progress(done: int, total: int) -> None:
    """The default progress callback: nobody is watching."""


@dataclass
class ReportData:
    settings: Settings
    dialogue: Dialogue
    hamlet_ids: list[str]
    rows: list[ReportRow]
    withdrawn: int
    generated_at: datetime
    lang: str
    group_overrides: GroupOverrides = NO_OVERRIDES  # officers' merges and splits (the web desk)
    _labels: dict[str, str] = field(default_factory=dict, repr=False)

    def t(self, key: str, **values: Any) -> str:
        return t(f"report.{key}", self.lang, **values)

    def number(self, value: int) -> str:
        """50000 as Vietnamese write it: 50.000."""
        text = f"{value:,}"
        return text.replace(",", ".") if self.lang == "vi" else text

    # ---- labels ----------------------------------------------------------------------------------------------

    def _label(self, key: str, fallback: str) -> str:
        if key not in self._labels:
            self._labels[key] = t(key, self.lang) if key in catalogue() else fallback
        return self._labels[key]

    @cached_property
    def _unit_names(self) -> dict[str, str]:
        return {unit.id: unit.name for unit in self.settings.iter_units()}

    @cached_property
    def _topics(self) -> dict[str, tuple[str, str]]:
        """topic id → (name, agency)."""
        return {tp.id: (tp.name, tp.agency) for f in self.settings.fields for tp in f.topics}

    @cached_property
    def _fields(self) -> dict[str, str]:
        return {f.id: f.name for f in self.settings.fields}

    def hamlet_name(self, hamlet_id: str | None) -> str:
        return self._unit_names.get(hamlet_id, hamlet_id) if hamlet_id else ""

    def field_name(self, field_id: str) -> str:
        return self._fields.get(field_id, field_id)

    def topic_name(self, topic_id: str) -> str:
        return self._topics[topic_id][0] if topic_id in self._topics else topic_id

    def agency(self, topic_id: str) -> str:
        return self._topics[topic_id][1] if topic_id in self._topics else ""

    def agencies(self, topic_id: str) -> list[str]:
        """The agencies that answer a topic ("UBND xã; Phòng Lao động - TB&XH" is two)."""
        return [name.strip() for name in self.agency(topic_id).split(";") if name.strip()]

    def for_agency(self, agency: str) -> ReportData:
        """The same report with only the entries of the topics ``agency`` answers (its working paper alone)."""
        rows = [r for r in self.rows if agency in self.agencies(r.topic_id)]
        return replace(self, rows=rows, withdrawn=0, _labels={})

    @cached_property
    def agency_topics(self) -> dict[str, list[str]]:
        """Each agency that has something to answer, in the catalogue's order, with its topics that have entries."""
        found: dict[str, list[str]] = {}
        for _, topics in self.topic_order:
            for topic in topics:
                if self.per_topic.get(topic):
                    for agency in self.agencies(topic) or [self.t("agency_none")]:
                        found.setdefault(agency, []).append(topic)
        return found

    def kind_label(self, kind: str) -> str:
        return self._label(f"report.kind_{kind}", kind)

    def status_label(self, status: str) -> str:
        return self._label(f"common.status_{status}", status)

    def category_label(self, category: str | None) -> str:
        return self._label(f"form.category_{category}", category) if category else ""

    def media_label(self, media_kind: str | None) -> str:
        return self._label(f"report.media_{media_kind}", media_kind) if media_kind else ""

    def media_marker(self, row: ReportRow) -> str:
        """"[Tin nhắn thoại — mã DT-0042]": officers ask the bot to re-send the file by its code."""
        return self.t("media_marker", media=self.media_label(row.media_kind), code=row.code) if row.media_kind else ""

    def person(self, row: ReportRow) -> str:
        return row.person_name or self.t("unnamed")

    def local_time(self, stored: str) -> datetime:
        """A stored UTC time as a local wall-clock time without zone (what Excel shows as a date)."""
        return datetime.fromisoformat(stored).astimezone(self.settings.tz).replace(tzinfo=None)

    def when(self) -> str:
        return when_text(self.dialogue, self.settings, self.lang)

    def where(self) -> str:
        return self.dialogue.place or t("dialogues.place_tba", self.lang)

    # ---- counts ----------------------------------------------------------------------------------------------

    @cached_property
    def households(self) -> int:
        return len({r.person_id for r in self.rows if r.person_id is not None})

    @cached_property
    def topic_order(self) -> list[tuple[str, list[str]]]:
        """(field id, topic ids) in the config's order; topics no longer in the config come last."""
        order = [(f.id, [tp.id for tp in f.topics]) for f in self.settings.fields]
        known = {topic for _, topics in order for topic in topics}
        extra: dict[str, list[str]] = {}
        for row in self.rows:
            if row.topic_id not in known and row.topic_id not in extra.get(row.field_id, []):
                extra.setdefault(row.field_id, []).append(row.topic_id)
        return order + list(extra.items())

    @cached_property
    def per_topic(self) -> dict[str, int]:
        counts = Counter(r.topic_id for r in self.rows)
        return {topic: counts[topic] for _, topics in self.topic_order for topic in topics}

    @cached_property
    def per_hamlet(self) -> dict[str, int]:
        counts = Counter(r.hamlet_id for r in self.rows)
        return {hamlet: counts[hamlet] for hamlet in self.hamlet_ids}

    @cached_property
    def households_per_hamlet(self) -> dict[str, int]:
        people = {(r.hamlet_id, r.person_id) for r in self.rows if r.person_id is not None}
        counts = Counter(hamlet for hamlet, _ in people)
        return {hamlet: counts[hamlet] for hamlet in self.hamlet_ids}

    @cached_property
    def matrix(self) -> Counter[tuple[str, str | None]]:
        """(topic id, hamlet id) → number of entries."""
        return Counter((r.topic_id, r.hamlet_id) for r in self.rows)

    @cached_property
    def by_id(self) -> dict[int, ReportRow]:
        return {r.id: r for r in self.rows}

    @property
    def after_dialogue(self) -> bool:
        """The dialogue has been held (or its time has passed): what is still unanswered is worth a section."""
        starts = self.dialogue.starts_at
        return self.dialogue.status == "held" or (starts is not None and starts <= self.generated_at)

    @cached_property
    def outstanding(self) -> list[ReportRow]:
        return [r for r in self.rows if r.status in OUTSTANDING]

    def items(self, rows: list[ReportRow] | None = None) -> list[Item]:
        """The entries as ``bot.digest.grouping`` reads them."""
        return [Item(r.id, r.content or "", self.person(r), r.hamlet_id, r.field_id, r.topic_id, r.kind, r.status,
                     r.media_kind) for r in (self.rows if rows is None else rows)]


async def load_report(db: Database, settings: Settings, dialogue_id: str, *, now: datetime, lang: str | None = None,
                      progress: Progress = no_progress) -> ReportData:
    """Everything the report shows, read in one consistent snapshot (in a worker thread: 50,000 rows never hold the
    event loop nor the turns' lock); unknown dialogue: ``DialogueError``."""
    return await db.snapshot(lambda conn: load_from(conn, settings, dialogue_id, now, lang, progress))


async def load_from(conn: Connection, settings: Settings, dialogue_id: str, now: datetime, lang: str | None,
                progress: Progress) -> ReportData:
    dialogue = await dialogue_repo.get_dialogue(conn, dialogue_id)
    if dialogue is None:
        raise DialogueError("dialogues.unknown", id=dialogue_id)
    hamlet_ids = list(await dialogue_repo.quotas(conn, dialogue_id))
    total, withdrawn = await repo.count_rows(conn, dialogue_id)
    rows: list[ReportRow] = []
    progress(0, total)
    async for batch in repo.iter_rows(conn, dialogue_id):
        rows.extend(batch)
        progress(len(rows), total)
    overrides = await load_overrides(conn)
    return ReportData(settings, dialogue, hamlet_ids, rows, withdrawn, now, lang or settings.bot.language, overrides)

"""One working paper per agency: the grouped questions it must answer, every household that asked each (name, hamlet,
receipt code), and an empty column for the answer or the way it will be solved.

A topic answered by two agencies ("UBND xã; Phòng Lao động - TB&XH") is in both papers. The Word report has one
appendix per agency, the Excel workbook one sheet per agency; ``doithoai export --agency`` keeps one agency alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.text import fold
from bot.digest.group_overrides import grouped
from bot.digest.grouping import Group
from bot.reports.report_data import ReportData
from storage.reports import ReportRow


@dataclass(frozen=True, slots=True)
class PaperLine:
    topic_id: str
    question: str          # the group's most typical wording (or the kind of attachment)
    rows: list[ReportRow]  # every household's entry in the group


def groups_by_topic(data: ReportData) -> dict[str, list[Group]]:
    by_topic: dict[str, list[Group]] = {topic: [] for _, topics in data.topic_order for topic in topics}
    for group in grouped(data.items(), data.group_overrides):
        by_topic.setdefault(group.topic_id, []).append(group)
    return by_topic


def papers(data: ReportData, groups: dict[str, list[Group]] | None = None) -> dict[str, list[PaperLine]]:
    """Agency → its lines, topic by topic in the catalogue's order."""
    groups = groups if groups is not None else groups_by_topic(data)
    found: dict[str, list[PaperLine]] = {}
    for agency, topics in data.agency_topics.items():
        lines = found.setdefault(agency, [])
        for topic in topics:
            for group in groups.get(topic, []):
                rows = [data.by_id[item.submission_id] for item in group.items]
                text = group.representative or f"[{data.media_label(rows[0].media_kind)}]"
                lines.append(PaperLine(topic, text, rows))
    return found


def households(data: ReportData, line: PaperLine, limit: int | None = None) -> str:
    """"Nguyễn Văn Bình (Ấp Tân Hậu, DT-0001); ..." — every household of the line, so each can be answered
    (``limit``: the first ones, then how many more; the workbook's sheet lists them all)."""
    shown = line.rows if limit is None else line.rows[:limit]
    text = "; ".join(data.t("name_hamlet_code", name=data.person(r), hamlet=data.hamlet_name(r.hamlet_id) or "—",
                            code=r.code) for r in shown)
    more = len(line.rows) - len(shown)
    return f"{text}; {data.t('paper_more', count=data.number(more))}" if more else text


def matching_agency(data: ReportData, wanted: str) -> str | None:
    """The agency named by ``wanted`` (accents and case optional, a part of the name is enough if it is unique)."""
    key = fold(wanted)
    names = list(data.agency_topics)
    exact = [name for name in names if fold(name) == key]
    partial = [name for name in names if key and key in fold(name)]
    found = exact or partial
    return found[0] if len(found) == 1 else None

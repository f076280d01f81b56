"""The committee report as a Word document laid out per Nghị định 30/2020/NĐ-CP (administrative documents).

On the administrative document's shapes (``bot.reports.admin_docx``: the NĐ 30 heading with the issuing body in
full, "ỦY BAN NHÂN DÂN" / "XÃ ...", page numbers from page 2, fixed table grids): the kind "BÁO CÁO" and its summary
centred in bold, sections
per field (I., II., ...) and topic (1., 2., ...) naming the agency that answers, similar questions merged
(``bot.digest.grouping``) with their count, kind, hamlets and every household with its receipt code, the hamlet ×
topic table and chart, what is still unanswered (after the dialogue only, by agency and topic), then "Nơi nhận:" and
the signature block, kept on one page; then one working paper per agency.
"""

from __future__ import annotations

from pathlib import Path

from bot.core.text import shorten
from bot.core.vntime import vn_datetime
from bot.digest.charts import questions_chart_png
from bot.digest.grouping import Group
from bot.reports.admin_docx import AdminDocument, add_text
from bot.reports.report_data import Progress, ReportData, no_progress
from bot.reports.report_files import private_output
from bot.reports.working_papers import PaperLine, groups_by_topic, households, papers
from storage.reports import ReportRow

MAX_OUTSTANDING = 200     # unanswered entries listed one by one; the Excel file has the rest
MAX_PAPER_NAMES = 50      # households named under one question of a working paper; the workbook's sheet has all
MAX_MATRIX_HAMLETS = 8    # more hamlets than this do not fit across a portrait A4 page
CHART_MAX_HEIGHT_MM = 200  # the chart always fits a page with its section title
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI")


def write_report_docx(data: ReportData, path: Path, progress: Progress = no_progress) -> Path:
    total = len(data.rows)
    progress(0, total)
    doc = _Document(data)
    doc.heading()
    doc.title()
    doc.intro()
    numerals = iter(ROMAN)
    groups = groups_by_topic(data)
    for field_id, topics in data.topic_order:
        present = [topic for topic in topics if data.per_topic[topic]]
        if present:
            doc.field_section(next(numerals), field_id, [(topic, groups[topic]) for topic in present])
    doc.summary_section(next(numerals))
    if data.after_dialogue:
        doc.outstanding_section(next(numerals))
    doc.closing()
    doc.signature()
    for number, (agency, lines) in enumerate(papers(data, groups).items(), start=1):
        doc.working_paper(number, agency, lines)
    with private_output(path) as handle:
        doc.save(handle)
    progress(total, total)
    return path


def place_date(data: ReportData) -> str:
    """"Tân Thuận Tây, ngày 05 tháng 02 năm 2023": per NĐ 30, days below 10 and months 1–2 take a leading 0."""
    local = data.generated_at.astimezone(data.settings.tz)
    day = f"{local.day:02d}" if local.day < 10 else str(local.day)
    month = f"{local.month:02d}" if local.month < 3 else str(local.month)
    return data.t("place_date", place=_place(data), day=day, month=month, year=local.year)


def issuer_lines(data: ReportData) -> list[str]:
    """The issuing body in full, as NĐ 30 wants it ("ỦY BAN NHÂN DÂN" / "XÃ TÂN THUẬN TÂY"): a configured
    "UBND XÃ ..." is spelled out; the abbreviation is only for a parent body's line."""
    configured = data.settings.report.issuer.strip()
    if not configured:
        return [data.t("issuer_body"), data.settings.units[0].name.upper()]
    lines = [line.strip() for line in configured.split("\n") if line.strip()]
    last = lines[-1]
    if last.upper().startswith("UBND "):
        lines[-1:] = [data.t("issuer_body"), last[5:].strip().upper()]
    return lines


def _place(data: ReportData) -> str:
    if data.settings.report.place:
        return data.settings.report.place
    top = data.settings.units[0]
    if top.kind and top.name.lower().startswith(top.kind.lower() + " "):
        return top.name[len(top.kind) + 1:]
    return top.name


class _Document(AdminDocument):
    """The committee report's parts on the administrative document's shapes."""

    def __init__(self, data: ReportData) -> None:
        super().__init__(author=" ".join(issuer_lines(data)), created=data.generated_at,
                         title=f"{data.t('kind')} {data.t('title')}")
        self.data = data

    # ---- the parts of the report ------------------------------------------------------------------------------

    def heading(self) -> None:  # type: ignore[override]
        data = self.data
        super().heading(issuer_lines(data), (data.t("national_1"), data.t("national_2")), data.t("number"),
                        place_date(data))


    def title(self) -> None:
        self.para()
        self.para(self.data.t("kind"), bold=True, align="center", size=14)
        self.para(self.data.t("title"), bold=True, align="center", size=14)
        self.para(self.data.dialogue.title, bold=True, align="center", size=14)

    def intro(self) -> None:
        data = self.data
        self.para(data.t("intro", dialogue=data.dialogue.title, when=data.when(), where=data.where(),
                         generated=vn_datetime(data.generated_at, data.settings.tz),
                         submissions=data.number(len(data.rows)), households=data.number(data.households)),
                  indent=True)
        if data.withdrawn:
            self.para(data.t("intro_withdrawn", count=data.number(data.withdrawn)), indent=True)
        if not data.rows:
            self.para(data.t("nothing"), italic=True, indent=True)

    def field_section(self, numeral: str, field_id: str, topics: list[tuple[str, list[Group]]]) -> None:
        self.para(f"{numeral}. {self.data.field_name(field_id).upper()}", bold=True, align="left")
        for number, (topic_id, groups) in enumerate(topics, start=1):
            self.topic(number, topic_id, groups)

    def topic(self, number: int, topic_id: str, groups: list[Group]) -> None:
        data = self.data
        self.para(f"{number}. {data.topic_name(topic_id)}", bold=True, align="left", indent=True)
        agency = data.agency(topic_id) or data.t("agency_none")
        self.para(data.t("agency", agency=agency) + " — " + data.t("topic_count",
                  count=data.number(data.per_topic[topic_id])), italic=True, indent=True)
        for group in groups:
            self.group(group, [data.by_id[item.submission_id] for item in group.items])

    def group(self, group: Group, rows: list[ReportRow]) -> None:
        """The group's question, then every household that sent it with its receipt code (each code once in the
        whole report: a voice note or photo is marked beside its code)."""
        data = self.data
        text = group.representative or f"[{data.media_label(rows[0].media_kind)}]"
        kinds = ", ".join(dict.fromkeys(data.kind_label(item.kind) for item in group.items))
        hamlets = ", ".join(data.hamlet_name(h) for h in group.hamlets) or "—"
        paragraph = self.para(f"- {text} ", indent=True)
        add_text(paragraph, f"({data.t('group_meta', count=data.number(group.count), kinds=kinds, hamlets=hamlets)})"
                 ).italic = True
        self.para(data.t("group_names", names=self._names(rows)), size=12, indent=True)

    def _names(self, rows: list[ReportRow]) -> str:
        """Every household of the group with its hamlet and receipt code: an agency can answer each one."""
        data = self.data
        return "; ".join(data.t("name_hamlet_code", name=data.person(r), hamlet=data.hamlet_name(r.hamlet_id) or "—",
                                code=f"{r.code}, {data.media_label(r.media_kind).lower()}" if r.media_kind else r.code)
                         for r in rows)

    def summary_section(self, numeral: str) -> None:

        data = self.data
        self.para(f"{numeral}. {data.t('section_summary')}", bold=True, align="left")
        if len(data.hamlet_ids) <= MAX_MATRIX_HAMLETS:
            self._matrix_table()
        else:
            self._hamlet_table()
        if data.rows:
            chart = questions_chart_png(
                {data.topic_name(k): v for k, v in data.per_topic.items() if v},
                {data.hamlet_name(k): v for k, v in data.per_hamlet.items()},
                data.t("chart_title"), topic_title=data.t("chart_topics"), hamlet_title=data.t("chart_hamlets"))
            self.picture(chart, width_mm=150, max_height_mm=CHART_MAX_HEIGHT_MM)  # tall charts shrink to fit

    def _matrix_table(self) -> None:
        data = self.data
        header = [data.t("col_no"), data.t("col_topic"),
                  *(data.hamlet_name(h) for h in data.hamlet_ids), data.t("col_total")]
        body = []
        for number, topic in enumerate((t for _, ts in data.topic_order for t in ts if data.per_topic[t]), 1):
            body.append([str(number), data.topic_name(topic),
                         *(data.number(data.matrix[(topic, h)]) for h in data.hamlet_ids),
                         data.number(data.per_topic[topic])])
        body.append(["", data.t("col_total"), *(data.number(data.per_hamlet[h]) for h in data.hamlet_ids),
                     data.number(len(data.rows))])
        name_width = 165 - 10 - 18 * (len(data.hamlet_ids) + 1)
        self.grid(header, body, (10, name_width, *(18,) * (len(data.hamlet_ids) + 1)))

    def _hamlet_table(self) -> None:
        data = self.data
        header = [data.t("col_no"), data.t("col_hamlet"), data.t("col_count"), data.t("col_households")]
        body = [[str(n), data.hamlet_name(h), data.number(data.per_hamlet[h]),
                 data.number(data.households_per_hamlet[h])] for n, h in enumerate(data.hamlet_ids, 1)]
        body.append(["", data.t("col_total"), data.number(len(data.rows)), data.number(data.households)])
        self.grid(header, body, (12, 93, 30, 30))


    def outstanding_section(self, numeral: str) -> None:
        """After the dialogue: what is still to answer, by the agency that answers it and by topic (before it,
        nothing is answered yet and the section would only repeat the whole report)."""
        data = self.data
        self.para(f"{numeral}. {data.t('section_outstanding')}", bold=True, align="left")
        waiting = data.outstanding
        if not waiting:
            self.para(data.t("outstanding_none"), indent=True)
            return
        self.para(data.t("outstanding_intro", count=data.number(len(waiting))), indent=True)
        by_agency: dict[str, dict[str, list[ReportRow]]] = {}
        for row in waiting[:MAX_OUTSTANDING]:
            agency = data.agency(row.topic_id) or data.t("agency_none")
            by_agency.setdefault(agency, {}).setdefault(row.topic_id, []).append(row)
        for agency, topics in by_agency.items():
            self.para(agency, bold=True, align="left", indent=True)
            for topic_id, rows in topics.items():
                self.para(data.topic_name(topic_id), italic=True, align="left", indent=True)
                for row in rows:
                    who = data.t("name_with_hamlet", name=data.person(row), hamlet=data.hamlet_name(row.hamlet_id))
                    text = shorten(row.content or "", 160) or data.media_marker(row)
                    self.para(data.t("outstanding_item", code=row.code, who=who, topic=data.topic_name(topic_id),
                                     text=text, status=data.status_label(row.status)), size=12, indent=True)
        if len(waiting) > MAX_OUTSTANDING:
            self.para(data.t("outstanding_more", count=data.number(len(waiting) - MAX_OUTSTANDING)), italic=True,
                      indent=True)

    def closing(self) -> None:
        """The closing sentence, kept on the page of the signature block that follows it."""
        self.para(self.data.t("closing"), indent=True).paragraph_format.keep_with_next = True

    def working_paper(self, number: int, agency: str, lines: list[PaperLine]) -> None:
        """An appendix on a new page: the agency's questions, every household, a column for its answer."""
        data = self.data
        heading = self.para(data.t("paper_title", number=number, agency=agency.upper()), bold=True, align="center")
        heading.paragraph_format.page_break_before = True
        self.para(data.t("paper_intro", agency=agency, count=data.number(len(lines))), italic=True, indent=True)
        header = [data.t("col_no"), data.t("col_question"), data.t("col_who"), data.t("col_reply")]
        body = [[str(n), f"{line.question} ({data.topic_name(line.topic_id)})",
                 households(data, line, MAX_PAPER_NAMES), ""] for n, line in enumerate(lines, start=1)]
        self.grid(header, body, (10, 55, 55, 45), total_row=False, left=(1, 2))

    def signature(self) -> None:  # type: ignore[override]
        data = self.data
        report = data.settings.report
        recipients = report.recipients or data.t("recipients_default").split("\n")
        title = (report.signer_title or data.t("signer_default")).split("\n")
        super().signature(data.t("recipients_label"), recipients, [data.t("on_behalf"), *title], report.signer_name)


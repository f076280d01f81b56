"""The committee report as a Word document laid out per Nghị định 30/2020/NĐ-CP (administrative documents).

Heading table (issuing body and number left; national title and motto right; place and date), the kind "BÁO CÁO"
and its summary centred in bold, Times New Roman 13 pt on A4 with 20/20/30/15 mm margins, sections per field
(I., II., ...) and topic (1., 2., ...) naming the agency that answers, similar questions merged
(``bot.digest.grouping``) with their count, kind, hamlets and households, the hamlet × topic table and chart,
what is still unanswered, then
"Nơi nhận:" and the signature block. 50,000 entries stay a readable document because similar ones are merged and
long lists are cut (the Excel file has every entry).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.core.text import shorten
from bot.core.vntime import vn_datetime
from bot.digest.charts import questions_chart_png
from bot.digest.grouping import Group, group_similar
from bot.reports.report_data import Progress, ReportData, no_progress
from bot.reports.report_files import private_output
from storage.reports import ReportRow

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 11
MAX_NAMES = 20            # households named under one merged entry; the rest are counted
MAX_MARKERS = 10          # voice/photo codes listed under one merged entry
MAX_OUTSTANDING = 200     # unanswered entries listed one by one; the Excel file has the rest
MAX_MATRIX_HAMLETS = 8    # more hamlets than this do not fit across a portrait A4 page
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI")


def write_report_docx(data: ReportData, path: Path, progress: Progress = no_progress) -> Path:
    total = len(data.rows)
    progress(0, total)
    doc = _Document(data)
    doc.heading()
    doc.title()
    doc.intro()
    numerals = iter(ROMAN)
    groups = _groups_by_topic(data)
    for field_id, topics in data.topic_order:
        present = [topic for topic in topics if data.per_topic[topic]]
        if present:
            doc.field_section(next(numerals), field_id, [(topic, groups[topic]) for topic in present])
    doc.summary_section(next(numerals))
    doc.outstanding_section(next(numerals))
    doc.closing()
    doc.signature()
    with private_output(path) as handle:
        doc.save(handle)
    progress(total, total)
    return path


def _groups_by_topic(data: ReportData) -> dict[str, list[Group]]:
    by_topic: dict[str, list[Group]] = {topic: [] for _, topics in data.topic_order for topic in topics}
    for group in group_similar(data.items()):
        by_topic.setdefault(group.topic_id, []).append(group)
    return by_topic


def place_date(data: ReportData) -> str:
    """"Tân Thuận Tây, ngày 05 tháng 02 năm 2023": per NĐ 30, days below 10 and months 1–2 take a leading 0."""
    local = data.generated_at.astimezone(data.settings.tz)
    day = f"{local.day:02d}" if local.day < 10 else str(local.day)
    month = f"{local.month:02d}" if local.month < 3 else str(local.month)
    return data.t("place_date", place=_place(data), day=day, month=month, year=local.year)


def issuer(data: ReportData) -> str:
    return data.settings.report.issuer or data.t("issuer_default", unit=data.settings.units[0].name.upper())


def _place(data: ReportData) -> str:
    if data.settings.report.place:
        return data.settings.report.place
    top = data.settings.units[0]
    if top.kind and top.name.lower().startswith(top.kind.lower() + " "):
        return top.name[len(top.kind) + 1:]
    return top.name


class _Document:
    """A python-docx document with the few paragraph shapes an administrative report uses."""

    def __init__(self, data: ReportData) -> None:
        from docx import Document

        self.data = data
        self.doc = Document()
        self._page()
        self._fonts()
        # Everything is inserted before this last paragraph: python-docx's add_paragraph looks for the section
        # properties at the end of the body each time (quadratic in long documents); inserting before a known
        # paragraph is constant time. It also gives the closing table the paragraph Word requires after it.
        self.end = self.doc.add_paragraph()

    # ---- page and fonts --------------------------------------------------------------------------------------

    def _page(self) -> None:
        from docx.shared import Mm

        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        section.left_margin, section.right_margin = Mm(30), Mm(15)

    def _fonts(self) -> None:
        from docx.shared import Pt

        normal = self.doc.styles["Normal"]
        normal.font.name = FONT
        normal.font.size = Pt(BODY_PT)
        set_all_fonts(normal.element.get_or_add_rPr(), FONT)
        normal.paragraph_format.space_after = Pt(6)
        normal.paragraph_format.line_spacing = 1.1

    def save(self, handle: Any) -> None:
        self.doc.save(handle)

    # ---- paragraph shapes ------------------------------------------------------------------------------------

    def para(self, text: str = "", *, bold: bool = False, italic: bool = False, align: str = "justify",
             size: float | None = None, indent: bool = False, container: Any = None) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Mm, Pt

        paragraph = container.add_paragraph() if container is not None else self.end.insert_paragraph_before()
        paragraph.alignment = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
                               "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}[align]
        if indent:
            paragraph.paragraph_format.first_line_indent = Mm(10)
        if text:
            run = paragraph.add_run(text)
            run.bold, run.italic = bold or None, italic or None
            if size:
                run.font.size = Pt(size)
        return paragraph

    def lines(self, container: Any, texts: Iterable[str], **style: Any) -> None:
        """Several centred lines in a table cell, the cell's empty first paragraph reused."""
        first = container.paragraphs[0]
        for index, text in enumerate(texts):
            paragraph = first if index == 0 else container.add_paragraph()
            self._shape(paragraph, text, **style)

    @staticmethod
    def _shape(paragraph: Any, text: str, *, bold: bool = False, italic: bool = False, underline: bool = False,
               size: float = BODY_PT, align: str = "center") -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Pt

        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if align == "center" else WD_ALIGN_PARAGRAPH.LEFT
        paragraph.paragraph_format.space_after = Pt(0)
        run = paragraph.add_run(text)
        run.bold, run.italic, run.underline = bold or None, italic or None, underline or None
        run.font.size = Pt(size)

    def table(self, rows: int, cols: int) -> Any:
        table = self.doc.add_table(rows=rows, cols=cols)
        self.end._p.addprevious(table._tbl)   # moved into place (see ``self.end``)
        table.autofit = False
        return table

    def borderless(self, rows: int, widths_mm: tuple[float, ...]) -> Any:
        from docx.shared import Mm

        table = self.table(rows, len(widths_mm))
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=True):
                cell.width = Mm(width)
        return table

    # ---- the parts of the report ------------------------------------------------------------------------------

    def heading(self) -> None:
        data = self.data
        table = self.borderless(2, (62, 103))
        left, right = table.rows[0].cells
        self.lines(left, issuer(data).split("\n"), bold=True, size=13)
        left.add_paragraph()
        self._shape(left.paragraphs[-1], data.t("number"), size=13)
        self.lines(right, [data.t("national_1")], bold=True, size=12)
        self._shape(right.add_paragraph(), data.t("national_2"), bold=True, underline=True, size=13)
        self.lines(table.rows[1].cells[1], [place_date(data)], italic=True, size=13)

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
        data = self.data
        markers = [data.media_marker(r) for r in rows if r.media_kind]
        text = group.representative or markers[0]
        kinds = ", ".join(dict.fromkeys(data.kind_label(item.kind) for item in group.items))
        hamlets = ", ".join(data.hamlet_name(h) for h in group.hamlets) or "—"
        paragraph = self.para(f"- {text} ", indent=True)
        paragraph.add_run(f"({data.t('group_meta', count=data.number(group.count), kinds=kinds, hamlets=hamlets)})"
                          ).italic = True
        self.para(data.t("group_names", names=self._names(rows)), size=12, indent=True)
        if markers and group.representative:
            listed = markers[:MAX_MARKERS] + ([data.t("names_more", count=len(markers) - MAX_MARKERS)]
                                              if len(markers) > MAX_MARKERS else [])
            self.para(data.t("attachments", markers=", ".join(listed)), size=12, indent=True)

    def _names(self, rows: list[ReportRow]) -> str:
        data = self.data
        people = list(dict.fromkeys((data.person(r), data.hamlet_name(r.hamlet_id)) for r in rows))
        shown = ", ".join(data.t("name_with_hamlet", name=name, hamlet=hamlet) if hamlet else name
                          for name, hamlet in people[:MAX_NAMES])
        more = len(people) - MAX_NAMES
        return f"{shown} {data.t('names_more', count=data.number(more))}" if more > 0 else shown

    def summary_section(self, numeral: str) -> None:
        from docx.shared import Mm

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
            picture = self.para(align="center")
            picture.add_run().add_picture(io.BytesIO(chart), width=Mm(150))

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

    def grid(self, header: list[str], body: list[list[str]], widths_mm: tuple[float, ...]) -> None:
        """A bordered table; header and last (total) row in bold."""
        from docx.shared import Mm

        table = self.table(len(body) + 1, len(header))
        table.style = "Table Grid"
        table.autofit = False
        for index, values in enumerate([header, *body]):
            bold = index == 0 or index == len(body)
            for column, (cell, value) in enumerate(zip(table.rows[index].cells, values, strict=True)):
                cell.width = Mm(widths_mm[column])
                self._shape(cell.paragraphs[0], value, bold=bold, size=TABLE_PT,
                            align="left" if column == 1 and index else "center")
        self.para()

    def outstanding_section(self, numeral: str) -> None:
        data = self.data
        self.para(f"{numeral}. {data.t('section_outstanding')}", bold=True, align="left")
        waiting = data.outstanding
        if not waiting:
            self.para(data.t("outstanding_none"), indent=True)
            return
        self.para(data.t("outstanding_intro", count=data.number(len(waiting))), indent=True)
        for row in waiting[:MAX_OUTSTANDING]:
            who = data.t("name_with_hamlet", name=data.person(row), hamlet=data.hamlet_name(row.hamlet_id))
            text = shorten(row.content or "", 160) or data.media_marker(row)
            self.para(data.t("outstanding_item", code=row.code, who=who, topic=data.topic_name(row.topic_id),
                             text=text, status=data.status_label(row.status)), size=12, indent=True)
        if len(waiting) > MAX_OUTSTANDING:
            self.para(data.t("outstanding_more", count=data.number(len(waiting) - MAX_OUTSTANDING)), italic=True,
                      indent=True)

    def closing(self) -> None:
        self.para(self.data.t("closing"), indent=True)

    def signature(self) -> None:
        data = self.data
        table = self.borderless(1, (80, 85))
        left, right = table.rows[0].cells
        recipients = data.settings.report.recipients or data.t("recipients_default").split("\n")
        self.lines(left, [data.t("recipients_label")], bold=True, italic=True, size=12, align="left")
        for line in recipients:
            self._shape(left.add_paragraph(), line, size=11, align="left")
        title = (data.settings.report.signer_title or data.t("signer_default")).split("\n")
        self.lines(right, [data.t("on_behalf"), *title], bold=True, size=13)
        for _ in range(4):
            right.add_paragraph()
        if data.settings.report.signer_name:
            self._shape(right.add_paragraph(), data.settings.report.signer_name, bold=True, size=13)


def set_all_fonts(rpr: Any, font: str) -> None:
    """Name the font for every script range Word distinguishes, so no part of the text falls back to Calibri."""
    from docx.oxml.ns import qn

    fonts = rpr.get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), font)


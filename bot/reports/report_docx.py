"""The committee report as a Word document laid out per Nghị định 30/2020/NĐ-CP (administrative documents).

Heading table (the issuing body in full, "ỦY BAN NHÂN DÂN" / "XÃ ...", with a short rule under it, and the number
level with the place and date; the national title and motto right), the kind "BÁO CÁO" and its summary centred in
bold, Times New Roman 13 pt on A4 with 20/20/30/15 mm margins, page numbers from page 2 at the top centre, sections
per field (I., II., ...) and topic (1., 2., ...) naming the agency that answers, similar questions merged
(``bot.digest.grouping``) with their count, kind, hamlets and every household with its receipt code, the hamlet ×
topic table and chart, what is still unanswered (after the dialogue only, by agency and topic), then "Nơi nhận:" and
the signature block, kept on one page.

Why the XML below: LibreOffice, Google Docs and WPS lay a table out by its grid (``w:tblGrid``), not by each cell's
width, so every table gets its grid and a fixed layout; repeated header rows and rows that never split keep long
tables readable. python-docx has no public call for these, so they are set with ``OxmlElement`` on the elements
reached through public attributes (``Document.element``), never through a private one.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.core.text import shorten
from bot.core.vntime import vn_datetime
from bot.digest.charts import questions_chart_png
from bot.digest.grouping import Group
from bot.reports.report_data import Progress, ReportData, no_progress
from bot.reports.report_files import private_output
from bot.reports.working_papers import PaperLine, groups_by_topic, households, papers
from storage.reports import ReportRow

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 11
MAX_OUTSTANDING = 200     # unanswered entries listed one by one; the Excel file has the rest
MAX_PAPER_NAMES = 50      # households named under one question of a working paper; the workbook's sheet has all
MAX_MATRIX_HAMLETS = 8    # more hamlets than this do not fit across a portrait A4 page
TEXT_WIDTH_MM = 165       # A4 less the 30 and 15 mm side margins
CHART_MAX_HEIGHT_MM = 200  # the chart always fits a page with its section title
TWIPS_PER_MM = 56.7
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


class _Document:
    """A python-docx document with the few paragraph shapes an administrative report uses."""

    def __init__(self, data: ReportData) -> None:
        from docx import Document

        self.data = data
        self.doc = Document()
        self._page()
        self._fonts()
        self._properties()
        self._page_numbers()
        # Everything is inserted before this last paragraph: python-docx's add_paragraph looks for the section
        # properties at the end of the body each time (quadratic in long documents); inserting before a known
        # paragraph is constant time. It also gives the closing table the paragraph Word requires after it.
        self.end = self.doc.add_paragraph()
        self.end_element = self.doc.element.body[-2]  # the paragraph just added, before the section properties
        self._tiny(self.end)

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

    def _properties(self) -> None:
        """Author, date, title and language: without them Word marks every Vietnamese word misspelt."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        props = self.doc.core_properties
        props.author = props.last_modified_by = " ".join(issuer_lines(self.data))
        props.created = props.modified = self.data.generated_at.replace(tzinfo=None)
        props.title = f"{self.data.t('kind')} {self.data.t('title')}"
        props.language = "vi-VN"
        props.revision = 1
        rpr = self.doc.styles["Normal"].element.get_or_add_rPr()
        lang = OxmlElement("w:lang")
        for attribute in ("w:val", "w:eastAsia", "w:bidi"):
            lang.set(qn(attribute), "vi-VN")
        rpr.append(lang)

    def _page_numbers(self) -> None:
        """The page number at the top centre from page 2 on (NĐ 30); the first page has none."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Pt

        section = self.doc.sections[0]
        section.different_first_page_header_footer = True
        header = section.header
        header.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph = header.part.element.find(qn("w:p"))
        for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
            run = OxmlElement("w:r")
            if kind:
                element = OxmlElement("w:fldChar")
                element.set(qn("w:fldCharType"), kind)
            else:
                element = OxmlElement("w:instrText" if text == " PAGE " else "w:t")
                element.set(qn("xml:space"), "preserve")
                element.text = text
            run.append(element)
            paragraph.append(run)
        header.paragraphs[0].runs[0].font.size = Pt(BODY_PT)

    @staticmethod
    def _tiny(paragraph: Any) -> None:
        """The paragraph Word requires after a closing table, made 1 pt high so it never spills to a blank page."""
        from docx.shared import Pt

        paragraph.paragraph_format.space_before = paragraph.paragraph_format.space_after = Pt(0)
        paragraph.paragraph_format.line_spacing = Pt(1)
        paragraph.add_run().font.size = Pt(1)

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

    def table(self, rows: int, widths_mm: tuple[float, ...], *, header_rows: int = 0) -> Any:
        """A table of fixed column widths that every word processor lays out alike (see the module docstring):
        its grid says the widths, its rows never split across pages, its first ``header_rows`` repeat on each."""
        from docx.shared import Mm

        table = self.doc.add_table(rows=rows, cols=len(widths_mm))
        element = self.doc.element.body[-2]       # the table just added, before the section properties
        self.end_element.addprevious(element)     # moved into place (see ``self.end``)
        table.autofit = False
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=True):
                cell.width = Mm(width)
        _fix_grid(element, widths_mm)
        for index, row in enumerate(element.iterchildren(_tag("w:tr"))):
            _row_property(row, "w:cantSplit")
            if index < header_rows:
                _row_property(row, "w:tblHeader")
        return table

    def borderless(self, rows: int, widths_mm: tuple[float, ...]) -> Any:
        return self.table(rows, widths_mm)

    # ---- the parts of the report ------------------------------------------------------------------------------

    def heading(self) -> None:
        """NĐ 30's heading: the issuing body (its last line with a short rule under it) and the national title
        side by side; the number level with the place and date."""
        from docx.shared import Mm

        data = self.data
        table = self.borderless(2, (70, 95))
        left, right = table.rows[0].cells
        self.lines(left, issuer_lines(data), bold=True, size=13)
        rule = left.add_paragraph()
        self._shape(rule, "", size=2)
        rule.paragraph_format.left_indent = rule.paragraph_format.right_indent = Mm(22)
        _short_rule(self.end_element.getprevious())
        self.lines(right, [data.t("national_1")], bold=True, size=12)
        self._shape(right.add_paragraph(), data.t("national_2"), bold=True, underline=True, size=13)
        number, when = table.rows[1].cells
        self.lines(number, [data.t("number")], size=13)
        self.lines(when, [place_date(data)], italic=True, size=13)

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
        paragraph.add_run(f"({data.t('group_meta', count=data.number(group.count), kinds=kinds, hamlets=hamlets)})"
                          ).italic = True
        self.para(data.t("group_names", names=self._names(rows)), size=12, indent=True)

    def _names(self, rows: list[ReportRow]) -> str:
        """Every household of the group with its hamlet and receipt code: an agency can answer each one."""
        data = self.data
        return "; ".join(data.t("name_hamlet_code", name=data.person(r), hamlet=data.hamlet_name(r.hamlet_id) or "—",
                                code=f"{r.code}, {data.media_label(r.media_kind).lower()}" if r.media_kind else r.code)
                         for r in rows)

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
            width, height = _png_size(chart)
            width_mm = min(150.0, CHART_MAX_HEIGHT_MM * width / height)  # tall charts shrink to fit the page
            picture = self.para(align="center")
            picture.add_run().add_picture(io.BytesIO(chart), width=Mm(width_mm))

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

    def grid(self, header: list[str], body: list[list[str]], widths_mm: tuple[float, ...], *,
             total_row: bool = True, left: tuple[int, ...] = (1,)) -> None:
        """A bordered table; header (repeated on every page) and last (total) row in bold."""
        table = self.table(len(body) + 1, widths_mm, header_rows=1)
        table.style = "Table Grid"
        for index, (row, values) in enumerate(zip(table.rows, [header, *body], strict=True)):  # rows[i]: O(n) each
            bold = index == 0 or (total_row and index == len(body))
            for column, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
                self._shape(cell.paragraphs[0], value, bold=bold, size=TABLE_PT,
                            align="left" if column in left and index else "center")
        self.para()

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


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG header."""
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _tag(name: str) -> str:
    from docx.oxml.ns import qn

    return qn(name)


def _fix_grid(table: Any, widths_mm: tuple[float, ...]) -> None:
    """The table's grid, total width and fixed layout, from the column widths."""
    from docx.oxml import OxmlElement

    twips = [round(width * TWIPS_PER_MM) for width in widths_mm]
    for column, width in zip(table.find(_tag("w:tblGrid")).iterchildren(_tag("w:gridCol")), twips, strict=True):
        column.set(_tag("w:w"), str(width))
    width = table.find(_tag("w:tblPr")).find(_tag("w:tblW"))  # python-docx writes one; the layout is autofit=False
    if width is None:
        width = OxmlElement("w:tblW")
        table.find(_tag("w:tblPr")).insert(1, width)
    width.set(_tag("w:w"), str(sum(twips)))
    width.set(_tag("w:type"), "dxa")


def _row_property(row: Any, name: str) -> None:
    """Set a row property (``w:cantSplit``, ``w:tblHeader``) on a ``w:tr`` element."""
    from docx.oxml import OxmlElement

    properties = row.find(_tag("w:trPr"))
    if properties is None:
        properties = OxmlElement("w:trPr")
        row.insert(0, properties)
    if properties.find(_tag(name)) is None:
        properties.append(OxmlElement(name))


# What may follow ``w:pBdr`` inside ``w:pPr`` (the schema's order): the border goes before the first of them.
_AFTER_BORDER = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
                 "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
                 "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc")


def _short_rule(table: Any) -> None:
    """A short line under the issuing body: a bottom border on the (indented, 2 pt) last paragraph of the first
    cell."""
    from docx.oxml import OxmlElement

    cell = table.find(_tag("w:tr")).find(_tag("w:tc"))
    properties = cell.findall(_tag("w:p"))[-1].find(_tag("w:pPr"))
    border, bottom = OxmlElement("w:pBdr"), OxmlElement("w:bottom")
    for attribute, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(_tag(attribute), value)
    border.append(bottom)
    following = next((child for child in properties if child.tag in {_tag(name) for name in _AFTER_BORDER}), None)
    if following is None:
        properties.append(border)
    else:
        following.addprevious(border)


def set_all_fonts(rpr: Any, font: str) -> None:
    """Name the font for every script range Word distinguishes, so no part of the text falls back to Calibri."""
    from docx.oxml.ns import qn

    fonts = rpr.get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), font)


"""An administrative document as Nghị định 30/2020/NĐ-CP lays it out, for python-docx: A4 with 20/20/30/15 mm
margins, Times New Roman 13 pt, the page number at the top centre from page 2, the heading (issuing body with a
short rule, national title and motto, number level with the place and date) and the signature block.

The committee report and the paper invitations are built on it.

Why the XML below: LibreOffice, Google Docs and WPS lay a table out by its grid (``w:tblGrid``), not by each cell's
width, so every table gets its grid and a fixed layout; repeated header rows and rows that never split keep long
tables readable. python-docx has no public call for these, so they are set with ``OxmlElement`` on the elements
reached through public attributes (``Document.element``), never through a private one.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from datetime import datetime
from typing import Any

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 11
TEXT_WIDTH_MM = 165       # A4 less the 30 and 15 mm side margins
TWIPS_PER_MM = 56.7


class AdminDocument:
    """A python-docx document with the few paragraph shapes an administrative document uses."""

    """A python-docx document with the few paragraph shapes an administrative report uses."""

    def __init__(self, *, author: str, created: datetime, title: str, page_numbers: bool = True) -> None:
        """``page_numbers``: from page 2 on (a report); a file of one-page letters (invitations) has none."""
        from docx import Document

        self.doc = Document()
        self._page()
        self._fonts()
        self._properties(author, created, title)
        if page_numbers:
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

    def _properties(self, author: str, created: datetime, title: str) -> None:
        """Author, date, title and language: without them Word marks every Vietnamese word misspelt."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        props = self.doc.core_properties
        props.author = props.last_modified_by = author
        props.created = props.modified = created.replace(tzinfo=None)
        props.title = title
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
            run = add_text(paragraph, text)
            if bold:
                run.bold = True
            if italic:
                run.italic = True
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
        run = add_text(paragraph, text)
        if bold:
            run.bold = True
        if italic:
            run.italic = True
        if underline:
            run.underline = True
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

    def grid(self, header: list[str], body: list[list[str]], widths_mm: tuple[float, ...], *,
             total_row: bool = True, left: tuple[int, ...] = (1,)) -> None:
        """A bordered table; header (repeated on every page) and last (total) row in bold.

        Built as one piece of WordprocessingML parsed once: python-docx's per-cell calls cost about half a
        millisecond a cell, and an agency's working paper of 50,000 households has thousands of cells."""
        from docx.oxml import parse_xml
        from docx.oxml.ns import nsdecls

        twips = [round(width * TWIPS_PER_MM) for width in widths_mm]
        rows = []
        for index, values in enumerate([header, *body]):
            bold = index == 0 or (total_row and index == len(body))
            properties = "<w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>" if index == 0 else \
                "<w:trPr><w:cantSplit/></w:trPr>"
            cells = "".join(_cell_xml(value, width, bold=bold, left=column in left and index > 0)
                            for column, (value, width) in enumerate(zip(values, twips, strict=True)))
            rows.append(f"<w:tr>{properties}{cells}</w:tr>")
        columns = "".join(f'<w:gridCol w:w="{width}"/>' for width in twips)
        table = parse_xml(
            f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="{self.doc.styles["Table Grid"].style_id}"/>'
            f'<w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
            f'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>{columns}</w:tblGrid>{"".join(rows)}</w:tbl>')
        self.end_element.addprevious(table)
        self.para()

    def picture(self, png: bytes, *, width_mm: float, max_height_mm: float) -> Any:
        """A centred picture of ``width_mm`` at most, shrunk so that it is never taller than ``max_height_mm``."""
        from docx.shared import Mm

        width, height = png_size(png)
        paragraph = self.para(align="center")
        paragraph.add_run().add_picture(io.BytesIO(png), width=Mm(min(width_mm, max_height_mm * width / height)))
        return paragraph

    # ---- the heading and the signature (NĐ 30) ----------------------------------------------------------------

    def heading(self, issuer: list[str], national: tuple[str, str], number: str, place_date: str, *,
                widths_mm: tuple[float, float] = (70, 95), issuer_pt: float = 13) -> None:
        """NĐ 30's heading: the issuing body (its last line with a short rule under it) and the national title
        side by side; the number level with the place and date."""
        from docx.shared import Mm

        table = self.borderless(2, widths_mm)
        left, right = table.rows[0].cells
        self.lines(left, issuer, bold=True, size=issuer_pt)
        rule = left.add_paragraph()
        self._shape(rule, "", size=2)
        rule.paragraph_format.left_indent = rule.paragraph_format.right_indent = Mm(22)
        _short_rule(self.end_element.getprevious())
        self.lines(right, [national[0]], bold=True, size=12)
        self._shape(right.add_paragraph(), national[1], bold=True, underline=True, size=13)
        number_cell, when = table.rows[1].cells
        self.lines(number_cell, [number], size=13)
        self.lines(when, [place_date], italic=True, size=13)

    def signature(self, recipients_label: str, recipients: list[str], title: list[str], name: str) -> None:
        """"Nơi nhận:" on the left, the signer's title, room to sign and the name on the right (one table row,
        which never splits across pages)."""
        table = self.borderless(1, (80, 85))
        left, right = table.rows[0].cells
        self.lines(left, [recipients_label], bold=True, italic=True, size=12, align="left")
        for line in recipients:
            self._shape(left.add_paragraph(), line, size=11, align="left")
        self.lines(right, title, bold=True, size=13)
        for _ in range(4):
            right.add_paragraph()
        if name:
            self._shape(right.add_paragraph(), name, bold=True, size=13)


def _cell_xml(value: str, width: int, *, bold: bool, left: bool) -> str:
    """One table cell: its width, a paragraph without space after, left or centred, 11 pt, bold or not; line
    breaks kept."""
    from xml.sax.saxutils import escape

    runs = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in value.split("\n"))
    style = f'<w:rPr>{"<w:b/>" if bold else ""}<w:sz w:val="{TABLE_PT * 2}"/></w:rPr>'
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr><w:p><w:pPr><w:spacing w:after="0"/>'
            f'<w:jc w:val="{"left" if left else "center"}"/></w:pPr><w:r>{style}{runs}</w:r></w:p></w:tc>')


def add_text(paragraph: Any, text: str) -> Any:
    """``paragraph.add_run(text)``, fast for plain text: python-docx reads the text one character at a time (to turn
    tabs and line breaks into elements), which is most of the time of a report naming 50,000 households. A text
    without them becomes its ``w:t`` element at once."""
    if "\t" in text or "\n" in text or "\r" in text:
        return paragraph.add_run(text)
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    element = OxmlElement("w:t")
    element.text = text
    if text != text.strip():
        element.set(qn("xml:space"), "preserve")
    run.element.append(element)
    return run


def png_size(png: bytes) -> tuple[int, int]:
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


"""The paper invitation ("Giấy mời") a hamlet head hands each household: one A4 page per hamlet.

Seed 000: "Ban nhân dân các ấp mời thành viên hộ nghèo, hộ cận nghèo đến dự buổi đối thoại". So the issuing body is
the hamlet's board, under its commune (NĐ 30 allows the parent body's name abbreviated: "UBND XÃ TÂN THUẬN TÂY" /
"BAN NHÂN DÂN ẤP TÂN HẬU"). The page says when and where (or "sẽ thông báo sau"), how many seats the hamlet has,
what to bring, and how to send a question beforehand: a QR code and a short link that open the bot with the hamlet
already chosen (``t.me/<bot>?start=<hamlet id>``, the deep link ``/start`` understands). The name is left blank
("Ông/Bà: ……") for the hamlet head to write in; the file holds nobody's personal data.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.core.config import Settings, Unit
from bot.core.i18n import t
from bot.core.qr import qr_png
from bot.core.vntime import vn_date
from bot.dialogues.service import when_text
from bot.reports.admin_docx import AdminDocument
from bot.reports.report_files import private_output
from storage import Database
from storage.dialogues import Dialogue

QR_MM = 38
ISSUER_CHARS_12PT = 25    # capitals in bold 12 pt that fit the heading's 72 mm column (longer: smaller)


@dataclass(frozen=True, slots=True)
class HamletInvitation:
    hamlet: Unit
    commune: Unit | None       # the unit the hamlet belongs to (None for a top-level hamlet)
    seats: int | None


@dataclass(frozen=True, slots=True)
class Invitations:
    settings: Settings
    dialogue: Dialogue
    hamlets: list[HamletInvitation]
    bot_username: str | None
    generated_at: datetime
    lang: str

    def t(self, key: str, **values: object) -> str:
        return t(f"invitation.{key}", self.lang, **values)

    def link(self, hamlet: Unit) -> str | None:
        """The short link printed under the QR code (the code itself holds the same with ``https://``)."""
        return f"t.me/{self.bot_username}?start={hamlet.id}" if self.bot_username else None


def invitations_for(settings: Settings, dialogue: Dialogue, quotas: dict[str, int], *, hamlet_id: str | None,
                    bot_username: str | None, now: datetime, lang: str) -> Invitations:
    """The hamlets taking part (those with a quota, in the config's order), or the one asked for; an unknown
    hamlet raises ``KeyError`` with the hamlet id."""
    order = [unit for unit in settings.hamlets() if unit.id in quotas]
    if hamlet_id is not None:
        order = [unit for unit in order if unit.id == hamlet_id]
        if not order:
            raise KeyError(hamlet_id)
    pages = []
    for unit in order:
        path = settings.unit_path(unit.id)
        pages.append(HamletInvitation(unit, path[-2] if len(path) > 1 else None, quotas.get(unit.id)))
    return Invitations(settings, dialogue, pages, bot_username, now, lang)


def write_invitations_docx(data: Invitations, path: Path) -> Path:
    doc = _InvitationDocument(data)
    for index, page in enumerate(data.hamlets):
        doc.page(page, first=index == 0)
    with private_output(path) as handle:
        doc.save(handle)
    return path


def _in_sentence(title: str) -> str:
    """"Đối thoại với công dân ..." inside a sentence: "Dự buổi đối thoại với công dân ..." (a name such as
    "Hội nghị Tân Thuận Tây" keeps its capitals: only a capital followed by a small letter is lowered)."""
    words = title.split(" ", 1)
    first = words[0]
    if len(first) > 1 and first[0].isupper() and first[1:].islower() and len(words) > 1 and words[1][:1].islower():
        return first.lower() + " " + words[1]
    return title


def _kind_lowered(unit: Unit) -> str:
    """"Xã Tân Thuận Tây" inside a sentence: "xã Tân Thuận Tây"."""
    if unit.kind and unit.name.lower().startswith(unit.kind.lower() + " "):
        return unit.kind.lower() + unit.name[len(unit.kind):]
    return unit.name


def _without_kind(unit: Unit) -> str:
    """"Xã Tân Thuận Tây" → "Tân Thuận Tây" (the place before the date)."""
    if unit.kind and unit.name.lower().startswith(unit.kind.lower() + " "):
        return unit.name[len(unit.kind) + 1:]
    return unit.name


class _InvitationDocument(AdminDocument):
    def __init__(self, data: Invitations) -> None:
        super().__init__(author=data.settings.units[0].name, created=data.generated_at,
                         title=data.t("file_title", title=data.dialogue.title), page_numbers=False)
        self.data = data

    def page(self, page: HamletInvitation, *, first: bool) -> None:
        data, hamlet = self.data, page.hamlet
        commune = page.commune or hamlet
        if not first:  # a 1 pt paragraph opening the page: each hamlet's invitation on its own page
            opener = self.para()
            opener.paragraph_format.page_break_before = True
            self._tiny(opener)
        issuer = [data.t("parent", commune=commune.name.upper()), data.t("issuer", hamlet=hamlet.name.upper())]
        self.heading(issuer, (t("report.national_1", data.lang), t("report.national_2", data.lang)),
                     data.t("number"), self._place_date(commune), widths_mm=(72, 93),
                     issuer_pt=max(9.0, min(12.0, 12.0 * ISSUER_CHARS_12PT / max(map(len, issuer)))))
        self.para()
        self.para(data.t("kind"), bold=True, align="center", size=15)
        self.para(data.t("about", title=_in_sentence(data.dialogue.title)), bold=True, align="center", size=13)
        self.para(data.t("invites", hamlet=hamlet.name), indent=True)
        self.para(data.t("guest"), bold=True, indent=True)
        self.para(data.t("household", hamlet=hamlet.name, commune=_kind_lowered(commune)), indent=True)
        self.para(data.t("when", when=when_text(data.dialogue, data.settings, data.lang)), bold=True, indent=True)
        self.para(data.t("where", where=data.dialogue.place or t("dialogues.place_tba", data.lang)), bold=True,
                  indent=True)
        if page.seats:
            self.para(data.t("seats", hamlet=hamlet.name, seats=page.seats), indent=True)
        self._bring()
        self._ask(hamlet)
        self.para(data.t("closing"), indent=True).paragraph_format.keep_with_next = True
        kind = (hamlet.kind or t("invitation.signer_default", "vi", kind="")).upper().strip()
        title = data.settings.invitation.signer_title or data.t("signer_default", kind=kind)
        self.signature(data.t("recipients_label"), data.t("recipients", kind=hamlet.kind or kind).split("\n"),
                       [data.t("on_behalf", kind=kind), *title.split("\n")], "")

    def _place_date(self, commune: Unit) -> str:
        local = self.data.generated_at.astimezone(self.data.settings.tz)
        day = f"{local.day:02d}" if local.day < 10 else str(local.day)
        month = f"{local.month:02d}" if local.month < 3 else str(local.month)
        place = self.data.settings.report.place or _without_kind(commune)
        return t("report.place_date", self.data.lang, place=place, day=day, month=month, year=local.year)

    def _bring(self) -> None:
        data = self.data
        self.para(data.t("bring_label"), bold=True, indent=True).paragraph_format.keep_with_next = True
        for line in data.settings.invitation.bring or data.t("bring_default").split("\n"):
            self.para(f"- {line}", indent=True)

    def _ask(self, hamlet: Unit) -> None:
        """A framed box: the QR code on the left, how to send a question on the right."""
        from docx.shared import Mm

        data = self.data
        link = data.link(hamlet)
        box = self.table(1, (QR_MM + 6, 165 - QR_MM - 6))
        box.style = "Table Grid"
        code_cell, text_cell = box.rows[0].cells
        if link:
            code_cell.paragraphs[0].add_run().add_picture(_qr(f"https://{link}"), width=Mm(QR_MM))
        lines = [(data.t("ask_title"), True)]
        if link:
            lines += [(data.t("ask_scan"), False), (link, True)]
        else:
            lines += [(data.t("ask_command"), False), (f"/start {hamlet.id}", True)]
        lines.append((data.t("ask_preset"), False))
        if data.settings.invitation.zalo:
            lines.append((data.t("ask_zalo", zalo=data.settings.invitation.zalo), False))
        if data.dialogue.deadline is not None:
            deadline = vn_date(data.dialogue.deadline, data.settings.tz)
            lines.append((data.t("ask_deadline", deadline=deadline), True))
        lines.append((data.t("ask_help"), False))
        for index, (text, bold) in enumerate(lines):
            paragraph = text_cell.paragraphs[0] if index == 0 else text_cell.add_paragraph()
            self._shape(paragraph, text, bold=bold, size=13 if index == 0 else 12, align="left")
        self.para()


def _qr(url: str) -> io.BytesIO:
    return io.BytesIO(qr_png(url, scale=10))


async def make_invitations(db: Database, settings: Settings, dialogue_id: str, path: Path, *,
                           hamlet_id: str | None, bot_username: str | None, now: datetime,
                           lang: str | None = None) -> int:
    """Write the invitations of a dialogue (or of one of its hamlets) to ``path``; returns the number of pages.
    Unknown dialogue or hamlet: ``DialogueError``. Read in one snapshot, written off the event loop."""
    from bot.dialogues.service import DialogueError
    from storage import dialogues as repo

    lang = lang or settings.bot.language
    async with db.reading() as conn:
        dialogue = await repo.get_dialogue(conn, dialogue_id)
        quotas = await repo.quotas(conn, dialogue_id) if dialogue else {}
    if dialogue is None:
        raise DialogueError("dialogues.unknown", id=dialogue_id)
    try:
        data = invitations_for(settings, dialogue, quotas, hamlet_id=hamlet_id, bot_username=bot_username,
                               now=now, lang=lang)
    except KeyError:
        raise DialogueError("invitation.unknown_hamlet", id=dialogue_id, hamlet=hamlet_id,
                            known=", ".join(quotas)) from None
    await asyncio.to_thread(write_invitations_docx, data, path)
    return len(data.hamlets)


def file_name(dialogue_id: str, hamlet_id: str | None) -> str:
    return f"giay-moi-{dialogue_id}{'-' + hamlet_id if hamlet_id else ''}.docx"

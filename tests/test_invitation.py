"""The paper invitation per hamlet ("Giấy mời"): ``doithoai invitation`` and ``/invitation``.

What a household holds in its hand: when and where (or "sẽ thông báo sau"), how many seats its hamlet has, what to
bring, and a QR code and short link that open the bot with its hamlet already chosen. How the pages print is in
``tests/test_invitation_pages.py``.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document

from bot.cli import main
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.qr import qr_png
from storage import Database
from tests.support import Household
from tests.test_report_cli import config  # noqa: F401 - the report tests' commune and its config
from tests.test_report_data import DIALOGUE, Commune

ORGANIZER = "2004"
BOT = "doithoai_tantt_bot"
HAMLETS = {"tan-dan": "Ấp Tân Dân", "tan-hung": "Ấp Tân Hùng", "tan-chu": "Ấp Tân Chủ", "tan-hau": "Ấp Tân Hậu"}


def invitation(config: Path, *args: str) -> tuple[int, str]:  # noqa: F811
    result = CliRunner().invoke(main, ["invitation", "--dialogue", DIALOGUE, *args, "--config", str(config)])
    return result.exit_code, result.output


def page_texts(path: Path) -> list[str]:
    """The text of each invitation (the paragraphs and table cells between two page breaks)."""
    from docx.oxml.ns import qn

    pages: list[list[str]] = [[]]
    for element in Document(path).element.body.iter(qn("w:p")):
        properties = element.find(qn("w:pPr"))
        if properties is not None and properties.find(qn("w:pageBreakBefore")) is not None and pages[-1]:
            pages.append([])
        text = "".join(node.text or "" for node in element.iter(qn("w:t")))
        if text:
            pages[-1].append(text)
    return ["\n".join(page) for page in pages]


def pictures(path: Path) -> list[bytes]:
    """The pictures of the file in the order they were added (word/media/image1.png, image2.png, ...)."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.startswith("word/media/")]
        return [archive.read(n) for n in sorted(names, key=lambda n: int(re.sub(r"\D", "", n) or 0))]


def test_every_hamlet_taking_part_gets_its_own_page_with_its_seats_and_link(config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "giay-moi.docx"

    code, output = invitation(config, "--out", str(out), "--bot-username", f"@{BOT}")

    assert code == 0, output
    assert f"Đã ghi 4 giấy mời vào {out}" in output
    pages = page_texts(out)
    assert len(pages) == 4
    seats = {"tan-dan": 10, "tan-hung": 10, "tan-chu": 10, "tan-hau": 20}
    for page, (hamlet_id, name) in zip(pages, HAMLETS.items(), strict=True):
        assert page.count("GIẤY MỜI") == 1
        assert f"BAN NHÂN DÂN {name.upper()}" in page and "UBND XÃ TÂN THUẬN TÂY" in page
        assert f"Ban nhân dân {name} trân trọng kính mời:" in page
        assert f"{name} có {seats[hamlet_id]} chỗ." in page
        assert f"t.me/{BOT}?start={hamlet_id}" in page
        assert "Thời gian: 15 giờ 30 phút, Chủ nhật, ngày 20/6/2027." in page
        assert "Địa điểm: Trung tâm Văn hóa - Học tập cộng đồng xã Tân Thuận Tây." in page
        assert "Hạn gửi câu hỏi: 15/6/2027." in page
        assert "Căn cước công dân." in page


def test_each_qr_code_holds_its_hamlets_link(config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "giay-moi.docx"
    invitation(config, "--out", str(out), "--bot-username", BOT)

    expected = [qr_png(f"https://t.me/{BOT}?start={hamlet}", scale=10) for hamlet in HAMLETS]
    assert pictures(out) == expected


def test_one_hamlet_alone_and_an_unknown_hamlet_is_explained(config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "tan-hau.docx"
    code, output = invitation(config, "--hamlet", "tan-hau", "--out", str(out), "--bot-username", BOT)
    assert code == 0, output
    assert len(page_texts(out)) == 1 and "ẤP TÂN HẬU" in page_texts(out)[0]

    code, output = invitation(config, "--hamlet", "tan-xyz", "--out", str(tmp_path / "x.docx"))
    assert code == 1
    assert 'không có ấp "tan-xyz"' in output and "tan-hau" in output
    assert not (tmp_path / "x.docx").exists()


def test_without_the_bots_name_the_page_says_what_to_type_and_the_officer_is_told(
        config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "giay-moi.docx"

    code, output = invitation(config, "--out", str(out))

    assert code == 0
    assert t("invitation.no_bot_username") in output
    assert "/start tan-dan" in page_texts(out)[0] and pictures(out) == []


def test_the_file_is_readable_by_its_owner_only_and_goes_to_a_folder_given(config: Path, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "in"
    folder.mkdir()
    code, _ = invitation(config, "--out", str(folder), "--bot-username", BOT)
    written = folder / f"giay-moi-{DIALOGUE}.docx"
    assert code == 0 and written.is_file()
    assert written.stat().st_mode & 0o077 == 0


async def test_a_time_not_yet_fixed_reads_to_be_announced(database: Database, settings: Settings,
                                                          tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.reports.invitation import make_invitations
    from storage import dialogues as repo

    await Commune(database, settings).setup()
    async with database.transaction() as conn:
        await repo.update_dialogue(conn, DIALOGUE, "2027-05-01T00:00:00+00:00", starts_at=None, place="")
    out = tmp_path / "giay-moi.docx"

    pages = await make_invitations(database, settings, DIALOGUE, out, hamlet_id="tan-hau", bot_username=BOT,
                                   now=datetime(2027, 5, 1, tzinfo=UTC))

    text = page_texts(out)[0]
    assert pages == 1
    assert "Thời gian: sẽ thông báo sau." in text and "Địa điểm: sẽ thông báo sau." in text
    assert "Hạn gửi câu hỏi" not in text


async def test_the_printed_link_opens_the_form_with_the_hamlet_chosen(
        engine: Engine, database: Database, settings: Settings, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.reports.invitation import make_invitations

    await Commune(database, settings).setup()
    out = tmp_path / "giay-moi.docx"
    await make_invitations(database, settings, DIALOGUE, out, hamlet_id="tan-chu", bot_username=BOT,
                           now=datetime(2027, 5, 1, tzinfo=UTC))
    [link] = re.findall(rf"t\.me/{BOT}\?start=(\S+)", page_texts(out)[0])
    household = Household(engine, "7001")

    await household.command("start", link)              # what Telegram sends when the link or the QR is opened
    await household.tap("yes")
    await household.type("Đặng Thị Mến")

    async with database.reading() as conn:
        async with conn.execute("SELECT hamlet_id FROM persons WHERE full_name = 'Đặng Thị Mến'") as cur:
            assert [tuple(row) for row in await cur.fetchall()] == [("tan-chu",)]


# ---- /invitation in the chat --------------------------------------------------------------------------------------


@pytest.fixture
async def commune(database: Database, settings: Settings, grant) -> Commune:
    await grant(ORGANIZER, "organizer")
    return await Commune(database, settings).setup()


async def invitation_rows(database: Database) -> list[dict]:
    async with database.reading() as conn:
        async with conn.execute("SELECT dedupe_key, chat_id, payload FROM outbox WHERE dedupe_key LIKE 'invitation:%'"
                                " ORDER BY id") as cur:
            return [{"key": r[0], "chat_id": r[1], **json.loads(r[2])} for r in await cur.fetchall()]


async def test_an_organizer_gets_the_invitations_as_a_word_file_in_the_chat(
        engine: Engine, database: Database, commune: Commune) -> None:
    replies = await Household(engine, ORGANIZER).command("invitation", f"{DIALOGUE} Tân Hậu")

    assert [r.text for r in replies] == [t("invitation.preparing", id=DIALOGUE)]
    [row] = await invitation_rows(database)
    assert row["chat_id"] == ORGANIZER and row["document_name"] == f"giay-moi-{DIALOGUE}-tan-hau.docx"
    assert row["text"].startswith("📨 Giấy mời dự") and "1 trang" in row["text"]
    document = Path(row["document_path"])
    assert "ẤP TÂN HẬU" in page_texts(document)[0]
    assert document.stat().st_mode & 0o077 == 0  # noqa: ASYNC240 - a test's one look at the file


async def test_a_household_asking_for_invitations_is_told_it_is_not_available(
        engine: Engine, database: Database, commune: Commune) -> None:
    replies = await Household(engine, "1001").command("invitation")

    assert t("staff.not_available") in [r.text for r in replies]
    assert await invitation_rows(database) == []

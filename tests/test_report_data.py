"""What the committee report reads: the entries of the dialogue's hamlets; withdrawn ones only counted.

``Commune`` here fills the database the way the form does (persons, then their submissions) and is shared by the
other report tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.cli.runtime import seed_dialogues
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.dialogues.service import DialogueSpec, create
from bot.reports.report_data import load_report
from storage import Database, answers, people, submissions

DIALOGUE = "tan-thuan-tay-2027"          # config.example.toml: Tân Dân 10, Tân Hùng 10, Tân Chủ 10, Tân Hậu 20
SENT_AT = "2027-06-02T01:30:00+00:00"   # 08:30 on 2 June, local time
NOW = datetime(2027, 6, 10, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    name: str
    hamlet: str
    topic: str
    content: str | None
    media: str | None = None
    status: str = "new"
    answer: str | None = None
    category: str = "poor"


ENTRIES = (
    Entry("Nguyễn Văn Bình", "tan-hau", "y-te", "Xin hỏi khi nào được cấp thẻ bảo hiểm y tế ạ?"),
    Entry("Trần Thị Lan", "tan-dan", "y-te", "Cho tôi hỏi thẻ BHYT năm nay bao giờ có vậy?", category="near_poor"),
    Entry("Lê Văn Tám", "tan-hung", "vay-ho-ngheo", "Thủ tục vay vốn hộ nghèo cần giấy tờ gì?", status="later"),
    Entry("Phạm Thị Hoa", "tan-chu", "y-te", None, media="voice"),
    Entry("Võ Văn Kiệt", "tan-hau", "dao-tao-nghe", "=1+2 tôi muốn học nghề sửa xe máy", media="photo",
          status="answered", answer="Đăng ký tại Trung tâm Giáo dục nghề nghiệp huyện."),
    Entry("Đỗ Thị Mai", "tan-dan", "khac", "Đề nghị sửa đường đất vào ấp Tân Dân", status="withdrawn"),
)


class Commune:
    """Households of Tân Thuận Tây and what they sent, written straight to the database."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.codes: dict[str, str] = {}      # household name → code of its entry

    async def setup(self, entries: tuple[Entry, ...] = ENTRIES) -> Commune:
        await seed_dialogues(self.db, self.settings, FrozenClock(datetime(2027, 5, 1, tzinfo=UTC)))
        for number, entry in enumerate(entries, start=1):
            await self.add(number, entry)
        return self

    async def add(self, number: int, entry: Entry) -> str:
        field_id = self.settings.topic(entry.topic)[0].id  # type: ignore[index]
        async with self.db.transaction() as conn:
            person = await people.create_person_with_identity(
                conn, channel="telegram", external_id=str(5000 + number), chat_id=str(5000 + number),
                display_name=None, language="vi", now=SENT_AT)
            await people.update_profile(conn, person.id, full_name=entry.name, hamlet_id=entry.hamlet,
                                        category=entry.category, phone=f"09123456{number:02d}")
            sub = await submissions.create_submission(
                conn, person_id=person.id, hamlet_id=entry.hamlet, category=entry.category, kind="question",
                field_id=field_id, topic_id=entry.topic, content=entry.content, media_kind=entry.media,
                media_file_id="file-1" if entry.media else None, channel="telegram", now=SENT_AT)
            if entry.answer:
                await answers.set_answer(conn, sub.id, entry.answer, entry.status, SENT_AT)
            elif entry.status != "new":
                await answers.set_status(conn, sub.id, entry.status)
        self.codes[entry.name] = sub.code
        return sub.code


async def test_the_report_holds_the_dialogues_entries_and_only_counts_the_withdrawn_ones(
        database: Database, settings: Settings) -> None:
    commune = await Commune(database, settings).setup()

    data = await load_report(database, settings, DIALOGUE, now=NOW)

    assert [r.person_name for r in data.rows] == [e.name for e in ENTRIES if e.status != "withdrawn"]
    assert data.withdrawn == 1
    assert data.households == 5
    assert data.hamlet_ids == ["tan-dan", "tan-hung", "tan-chu", "tan-hau"]
    assert data.per_hamlet == {"tan-dan": 1, "tan-hung": 1, "tan-chu": 1, "tan-hau": 2}
    assert data.per_topic["y-te"] == 3 and data.per_topic["khac"] == 0
    assert [r.code for r in data.outstanding] == [commune.codes[n] for n in ("Nguyễn Văn Bình", "Trần Thị Lan",
                                                                             "Lê Văn Tám", "Phạm Thị Hoa")]


async def test_a_dialogue_of_one_hamlet_reports_only_that_hamlets_households(
        database: Database, settings: Settings) -> None:
    await Commune(database, settings).setup()
    async with database.transaction() as conn:
        await create(conn, settings, DialogueSpec(id="tan-hau-rieng", title="Đối thoại riêng ấp Tân Hậu",
                                                  starts_at=None, place="", quotas={"tan-hau": 20}), NOW)

    data = await load_report(database, settings, "tan-hau-rieng", now=NOW)

    assert {r.person_name for r in data.rows} == {"Nguyễn Văn Bình", "Võ Văn Kiệt"}


async def test_labels_are_the_words_officers_read(database: Database, settings: Settings) -> None:
    await Commune(database, settings).setup()

    data = await load_report(database, settings, DIALOGUE, now=NOW)
    voice = next(r for r in data.rows if r.media_kind == "voice")

    assert data.media_marker(voice) == f"[Tin nhắn thoại — mã {voice.code}]"
    assert data.hamlet_name("tan-hau") == "Ấp Tân Hậu"
    assert data.status_label("later") == "Sẽ trả lời sau"
    assert data.kind_label("question") == "Câu hỏi"
    assert data.number(50000) == "50.000"

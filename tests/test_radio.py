"""The commune loudspeaker script: numbers, times and dates as Vietnamese read them aloud (seed 000)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.broadcast import radio
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.dialogues import service as dialogues
from bot.dialogues.service import DialogueSpec
from storage import Database

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(("number", "spoken"), [
    (0, "không"), (1, "một"), (4, "bốn"), (5, "năm"), (10, "mười"), (11, "mười một"), (15, "mười lăm"),
    (20, "hai mươi"), (21, "hai mươi mốt"), (25, "hai mươi lăm"), (50, "năm mươi"), (55, "năm mươi lăm"),
    (100, "một trăm"), (101, "một trăm linh một"), (105, "một trăm linh năm"), (110, "một trăm mười"),
    (115, "một trăm mười lăm"), (121, "một trăm hai mươi mốt"), (1000, "một nghìn"),
    (2005, "hai nghìn không trăm linh năm"), (2023, "hai nghìn không trăm hai mươi ba"),
    (15_000, "mười lăm nghìn"), (1_500_000, "một triệu năm trăm nghìn"),
    (1_000_005, "một triệu không trăm linh năm"), (2_000_000_000, "hai tỷ"),
])
def test_numbers_follow_the_reading_rules(number: int, spoken: str) -> None:
    assert radio.spell_number(number) == spoken


def test_the_seed_time_is_read_in_full() -> None:
    moment = datetime(2023, 6, 20, 8, 30, tzinfo=UTC)
    assert radio.spell_datetime(moment, TZ) == ("mười lăm giờ ba mươi phút, thứ ba, ngày hai mươi tháng sáu năm"
                                                " hai nghìn không trăm hai mươi ba")
    assert radio.spell_datetime(datetime(2027, 4, 5, 0, 0, tzinfo=UTC), TZ) == (
        "bảy giờ, thứ hai, ngày mùng năm tháng tư năm hai nghìn không trăm hai mươi bảy")


@pytest.mark.parametrize(("text", "spoken"), [
    ("Đối thoại lúc 15:30 ngày 20/6/2023.",
     "Đối thoại lúc mười lăm giờ ba mươi phút ngày hai mươi tháng sáu năm hai nghìn không trăm hai mươi ba."),
    ("Họp lúc 7h30, 15 giờ 05 phút hoặc 8g", "Họp lúc bảy giờ ba mươi phút, mười lăm giờ năm phút hoặc tám giờ"),
    ("Ấp Tân Hậu 20 hộ, Tân Dân 10 hộ", "Ấp Tân Hậu hai mươi hộ, Tân Dân mười hộ"),
    ("Gọi 0912 345 678 hoặc 0912.345.678", "Gọi không chín một hai, ba bốn năm, sáu bảy tám hoặc không chín một hai,"
                                           " ba bốn năm, sáu bảy tám"),
    ("Vay tới 100.000.000 đồng, lãi 0,55%/tháng",
     "Vay tới một trăm triệu đồng, lãi không phẩy năm mươi lăm phần trăm/tháng"),
    ("Họp vào thứ 4, tháng 4", "Họp vào thứ tư, tháng tư"),
    ("📢 Xem bản đồ: https://maps.app.goo.gl/abc. Xin cảm ơn!", "Xem bản đồ. Xin cảm ơn!"),
    ("Rộng 2 ha, 3-4 người", "Rộng hai ha, ba-bốn người"),
], ids=["seed time", "clock forms", "seats", "phones", "money and rates", "ordinals", "links and emoji", "not time"])
def test_free_text_is_spelled_out_for_reading_aloud(text: str, spoken: str) -> None:
    assert radio.spell_text(text) == spoken


async def test_the_dialogue_script_says_title_time_place_meaning_and_who_is_invited(
    database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    spec = DialogueSpec(id="tan-thuan-tay-2023", title="Đối thoại với công dân về chính sách giảm nghèo, lao động,"
                        " việc làm năm 2023", starts_at=datetime(2023, 6, 20, 8, 30, tzinfo=UTC),
                        place="Trung tâm Văn hóa - Học tập cộng đồng xã", status="open",
                        quotas={"tan-dan": 10, "tan-hung": 10, "tan-chu": 10, "tan-hau": 20})
    async with database.transaction() as conn:
        await dialogues.create(conn, settings, spec, clock())
        script = await radio.dialogue_script(conn, settings, "tan-thuan-tay-2023")
    paragraphs = script.split("\n\n")
    assert paragraphs[0] == "Loa phát thanh xã Tân Thuận Tây xin thông báo."
    assert paragraphs[2] == (
        "Ủy ban nhân dân xã tổ chức buổi Đối thoại với công dân về chính sách giảm nghèo, lao động, việc làm năm hai"
        " nghìn không trăm hai mươi ba. Thời gian: mười lăm giờ ba mươi phút, thứ ba, ngày hai mươi tháng sáu năm"
        " hai nghìn không trăm hai mươi ba. Địa điểm: Trung tâm Văn hóa - Học tập cộng đồng xã.")
    assert paragraphs[3].startswith("Buổi đối thoại là dịp để hộ nghèo, hộ cận nghèo, hộ mới thoát nghèo")
    assert paragraphs[4] == ("Ban nhân dân các ấp mời đại diện năm mươi hộ đến dự: ấp Tân Dân mười hộ, ấp Tân Hùng"
                             " mười hộ, ấp Tân Chủ mười hộ, ấp Tân Hậu hai mươi hộ. Kính mời bà con đến đúng giờ.")
    assert "trước ngày mười lăm tháng sáu năm hai nghìn không trăm hai mươi ba" in paragraphs[5]
    assert paragraphs[-1].startswith("Loa phát thanh xã Tân Thuận Tây vừa thông báo về thời gian tổ chức và ý nghĩa")
    assert not any(ch.isdigit() for ch in script)


async def test_a_dialogue_without_a_time_says_it_will_be_announced(database: Database, settings: Settings,
                                                                   clock: FrozenClock) -> None:
    spec = DialogueSpec(id="cum-1", title="Đối thoại cụm 1", starts_at=None, place="", quotas={"tan-hau": 6})
    async with database.transaction() as conn:
        await dialogues.create(conn, settings, spec, clock())
        script = await radio.dialogue_script(conn, settings, "cum-1")
    assert "Thời gian: sẽ thông báo sau. Địa điểm: sẽ thông báo sau." in script
    assert "Đối thoại cụm một" in script and "ấp Tân Hậu sáu hộ" in script


def test_a_broadcast_script_opens_and_closes_with_the_commune_loudspeaker(settings: Settings) -> None:
    script = radio.broadcast_script(settings, "Kính mời 50 hộ dự đối thoại lúc 15:30 ngày 20/6/2023.")
    assert script.split("\n\n") == [
        "Loa phát thanh xã Tân Thuận Tây xin thông báo.",
        "Kính thưa bà con,",
        "Kính mời năm mươi hộ dự đối thoại lúc mười lăm giờ ba mươi phút ngày hai mươi tháng sáu năm hai nghìn không"
        " trăm hai mươi ba.",
        "Loa phát thanh xã Tân Thuận Tây vừa phát xong thông báo. Xin cảm ơn bà con đã chú ý lắng nghe.",
    ]

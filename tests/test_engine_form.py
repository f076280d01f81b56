"""The request form as a household lives it, driven straight into the engine on a real SQLite file."""

from __future__ import annotations

import asyncio
import unicodedata
from pathlib import Path

import pytest

from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.types import InputKind
from storage import Database
from tests.support import Household

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL


async def rows(engine: Engine, sql: str, *params: object) -> list[tuple]:
    async with engine.db.reading() as conn, conn.execute(sql, params) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def test_first_contact_shows_welcome_and_consent_and_stores_no_personal_data(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    assert "xóa được bất cứ lúc nào" in hh.text
    assert hh.labels == ["✅ Tôi đồng ý", "❌ Không đồng ý", "📄 Xem chi tiết"]
    await hh.tap("details")
    assert "Nghị định 13/2023" in hh.text and "/forget" in hh.text
    assert hh.labels == ["✅ Tôi đồng ý", "❌ Không đồng ý"]
    assert await rows(engine, "SELECT full_name, consent_at FROM persons") == [(None, None)]


async def test_anything_before_consent_only_repeats_the_consent_question(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.type("Nguyễn Văn Bình")
    assert hh.labels == ["✅ Tôi đồng ý", "❌ Không đồng ý", "📄 Xem chi tiết"]
    assert await rows(engine, "SELECT full_name FROM persons") == [(None,)]


async def test_declining_consent_deletes_everything_about_the_person(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("no")
    assert "không lưu thông tin" in hh.text
    assert await rows(engine, "SELECT COUNT(*) FROM persons") == [(0,)]
    assert await rows(engine, "SELECT COUNT(*) FROM identities") == [(0,)]


async def test_household_goes_from_start_to_a_stored_submission_with_a_receipt_code(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    assert "Ông/bà muốn gửi gì?" in hh.text
    await hh.ask("Khi nào hộ cận nghèo được cấp thẻ bảo hiểm y tế?")
    assert "DT-0001" in hh.text
    stored = await rows(engine, "SELECT code, kind, field_id, topic_id, content, hamlet_id, category, status"
                                " FROM submissions")
    assert stored == [("DT-0001", "question", "giam-ngheo", "y-te",
                       "Khi nào hộ cận nghèo được cấp thẻ bảo hiểm y tế?", "tan-hau", "poor", "new")]
    assert await rows(engine, "SELECT full_name, hamlet_id, category FROM persons") == [
        ("Nguyễn Văn Bình", "tan-hau", "poor")]


async def test_returning_household_goes_straight_to_the_question(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.ask("Câu hỏi thứ nhất về y tế")
    await hh.tap("done")
    await hh.command("start")
    assert "Chào mừng ông/bà Nguyễn Văn Bình quay lại" in hh.text
    assert hh.prompt.text == "Ông/bà muốn gửi gì?"
    await hh.ask("Câu hỏi thứ hai về nhà ở", topic="t:nha-o")
    assert "DT-0002" in hh.text


async def test_offer_to_add_another_after_submitting(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.ask("Câu hỏi thứ nhất")
    assert hh.labels[:2] == ["➕ Hỏi tiếp về Y tế, thẻ bảo hiểm y tế", "📝 Hỏi việc khác"]
    await hh.tap("another")
    assert hh.prompt.text == "Ông/bà muốn gửi gì?"


async def test_deep_link_preselects_the_hamlet_and_skips_that_step(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start", "tan-hung")
    await hh.tap("yes")
    await hh.type("Trần Thị Hoa")
    assert hh.prompt.text == "Hộ của ông/bà thuộc loại nào?"
    assert await rows(engine, "SELECT hamlet_id FROM persons") == [("tan-hung",)]


async def test_deep_link_with_unknown_or_malformed_payload_is_ignored(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start", "'; DROP TABLE persons; --")
    await hh.tap("yes")
    await hh.type("Trần Thị Hoa")
    assert "Xin chọn ấp" in hh.prompt.text


async def test_back_returns_to_the_previous_step_at_every_step(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("yes")
    assert "⬅️ Quay lại" in hh.labels  # the name step too
    await hh.tap("back")
    assert t("form.consent") in hh.prompt.text
    await hh.tap("yes")
    await hh.type("Lê Văn Tám")
    assert "⬅️ Quay lại" in hh.labels
    await hh.tap("back")
    assert hh.prompt.text.startswith("Họ và tên")
    await hh.type("Lê Văn Tám")
    await hh.pick("Tân Chủ")
    await hh.tap("back")
    assert "Xin chọn ấp" in hh.prompt.text
    await hh.pick("Tân Chủ")
    await hh.tap("c:near_poor")
    await hh.tap("back")
    assert hh.prompt.text == "Hộ của ông/bà thuộc loại nào?"
    await hh.tap("c:near_poor")
    await hh.tap("skip")
    for kind_step in ("k:opinion", "f:lao-dong-viec-lam", "t:dao-tao-nghe"):
        await hh.tap(kind_step)
    await hh.tap("back")
    assert hh.prompt.text.startswith("Lĩnh vực Lao động - việc làm")
    await hh.tap("back")
    assert hh.prompt.text == "Thuộc lĩnh vực nào?"
    await hh.tap("back")
    assert hh.prompt.text == "Ông/bà muốn gửi gì?"
    await hh.tap("back")
    assert hh.prompt.text == t("form.ask_menu")


async def test_cancel_drops_the_question_being_written_but_keeps_the_profile(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:petition")
    await hh.tap("f:giam-ngheo")
    await hh.command("cancel")
    assert "Đã hủy câu hỏi đang viết" in hh.text
    assert hh.prompt.text == t("form.ask_menu")
    assert await rows(engine, "SELECT COUNT(*) FROM submissions") == [(0,)]
    assert await rows(engine, "SELECT full_name FROM persons") == [("Nguyễn Văn Bình",)]


async def test_cancel_during_identification_pauses_and_start_resumes_the_same_step(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("yes")
    await hh.type("Phạm Văn Sang")
    await hh.tap("cancel")
    assert "Đã tạm dừng" in hh.text
    await hh.command("start")
    assert "Xin chọn ấp" in hh.prompt.text


async def test_empty_and_whitespace_only_text_get_a_clear_answer(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.tap("f:khac")
    await hh.tap("t:khac")
    for blank in ("", "   \n\t  ", "\u200b\u200b"):
        await hh.type(blank)
        assert "Tin nhắn đang trống" in hh.text
        assert hh.prompt.text.startswith("Xin gõ nội dung")


async def test_ten_thousand_characters_get_the_limit_and_the_step_is_kept(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.tap("f:khac")
    await hh.tap("t:khac")
    await hh.type("ạ" * 10_000)
    assert "10.000 ký tự, quá giới hạn 3.000 ký tự" in hh.text
    assert hh.prompt.text.startswith("Xin gõ nội dung")
    await hh.type("Nội dung ngắn gọn hơn")
    assert hh.prompt.text.startswith("Xin kiểm tra lại phiếu")


async def test_composed_and_decomposed_vietnamese_are_stored_nfc_and_matched_alike(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("yes")
    await hh.type(unicodedata.normalize("NFD", "Nguyễn Thị Hậu"))
    await hh.type(unicodedata.normalize("NFD", "Ấp Tân Hậu"))
    assert hh.prompt.text == "Hộ của ông/bà thuộc loại nào?"
    assert await rows(engine, "SELECT full_name, hamlet_id FROM persons") == [("Nguyễn Thị Hậu", "tan-hau")]


async def test_typed_option_without_accents_picks_it(engine: Engine) -> None:
    hh = Household(engine, channel="console")
    await hh.command("start")
    await hh.type("1")
    await hh.type("Võ Văn Kiệt")
    await hh.type("tan hau")
    assert await rows(engine, "SELECT hamlet_id FROM persons") == [("tan-hau",)]


async def test_emoji_in_a_question_are_kept(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.ask("Nhà tôi bị dột 🏠🌧️ mong được hỗ trợ 🙏")
    assert await rows(engine, "SELECT content FROM submissions") == [("Nhà tôi bị dột 🏠🌧️ mong được hỗ trợ 🙏",)]


async def test_a_tap_on_an_old_keyboard_is_recognised_and_changes_nothing(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    old_version = hh.version
    await hh.tap("k:question")
    await hh.tap("k:petition", version=old_version)
    assert "tin nhắn cũ" in hh.text
    assert hh.prompt.text == "Thuộc lĩnh vực nào?"


@pytest.mark.parametrize("value", ["submit", "t:nha-o", "u:tan-dan", "x" * 60, ""])
async def test_forged_callback_data_is_answered_kindly_and_changes_nothing(engine: Engine, value: str) -> None:
    hh = Household(engine)
    await hh.identify()
    before = await rows(engine, "SELECT step, data FROM conversations")
    await hh.tap(value)
    assert "Xin chọn một trong các nút" in hh.text
    assert await rows(engine, "SELECT step, data FROM conversations") == before
    assert await rows(engine, "SELECT COUNT(*) FROM submissions") == [(0,)]


async def test_two_taps_on_submit_at_once_make_one_submission(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.tap("f:giam-ngheo")
    await hh.tap("t:nha-o")
    await hh.type("Xin hỗ trợ sửa nhà")
    version = hh.version
    first, second = await asyncio.gather(hh.tap("submit", version), hh.tap("submit", version))
    assert await rows(engine, "SELECT COUNT(*) FROM submissions") == [(1,)]
    texts = [r.text for r in first + second]
    assert sum("DT-0001" in t for t in texts) == 1
    assert any("tin nhắn cũ" in t for t in texts)


async def test_voice_note_is_accepted_as_content_and_stored_by_file_id(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.tap("f:giam-ngheo")
    await hh.tap("t:y-te")
    await hh.send(InputKind.MEDIA, media_kind="voice", media_id="AwACAgUAAxkBAAIB")
    assert "🎤 (tin nhắn thoại)" in hh.prompt.text
    await hh.tap("submit")
    assert await rows(engine, "SELECT media_kind, media_file_id, content FROM submissions") == [
        ("voice", "AwACAgUAAxkBAAIB", None)]


async def test_photo_with_caption_keeps_both(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:petition")
    await hh.tap("f:giam-ngheo")
    await hh.tap("t:nuoc-sach")
    await hh.send(InputKind.MEDIA, media_kind="photo", media_id="AgACAgUAAx", text="Giếng nước bị ô nhiễm")
    await hh.tap("submit")
    assert await rows(engine, "SELECT media_kind, content FROM submissions") == [("photo", "Giếng nước bị ô nhiễm")]


async def test_media_at_a_choice_step_gets_a_kind_answer_and_the_step_again(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("yes")
    await hh.type("Nguyễn Văn Bình")
    await hh.pick("Tân Hậu")
    await hh.send(InputKind.MEDIA, media_kind="photo", media_id="x")
    assert t("form.media_not_here") in hh.text  # identification is not finished: nothing to ask yet
    assert hh.prompt.text == t("form.ask_category")


@pytest.mark.parametrize(("kind", "key", "opening"), [
    (InputKind.UNSUPPORTED, "form.unsupported", "Xin lỗi, bot chưa đọc được loại tin nhắn này"),
    (InputKind.EDITED, "form.edited_ignored", "Bot không đọc tin nhắn đã sửa."),
])
async def test_stickers_locations_documents_and_edits_get_a_kind_answer(engine: Engine, kind: InputKind, key: str,
                                                                       opening: str) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.send(kind, text="")
    assert hh.replies[0].text == t(key) and t(key).startswith(opening)
    assert hh.prompt.text == "Thuộc lĩnh vực nào?"


async def test_a_command_in_the_middle_of_a_step_keeps_the_step(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.tap("f:giam-ngheo")
    await hh.command("help")
    assert "/myquestions" in hh.text
    assert hh.prompt.text.startswith("Lĩnh vực Giảm nghèo")
    await hh.command("xyz")
    assert 'Không có lệnh "/xyz"' in hh.text
    assert hh.prompt.text.startswith("Lĩnh vực Giảm nghèo")


async def test_edit_from_review_changes_one_part_and_returns_to_review(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.tap("f:giam-ngheo")
    await hh.tap("t:y-te")
    await hh.type("Nội dung ban đầu")
    await hh.tap("edit")
    await hh.tap("content")
    await hh.type("Nội dung đã sửa lại")
    assert "Nội dung đã sửa lại" in hh.prompt.text
    await hh.tap("edit")
    await hh.tap("kind")
    await hh.tap("k:proposal")
    assert "💡 Đề xuất" in hh.prompt.text
    await hh.tap("edit")
    await hh.tap("topic")
    await hh.tap("f:lao-dong-viec-lam")
    await hh.tap("t:vay-viec-lam")
    assert "Vay vốn giải quyết việc làm" in hh.prompt.text
    await hh.tap("submit")
    assert await rows(engine, "SELECT kind, topic_id, content FROM submissions") == [
        ("proposal", "vay-viec-lam", "Nội dung đã sửa lại")]


@pytest.mark.parametrize("typed", ["0912345678", "+84 912 345 678", "84912345678", "0912.345.678", "091-234-5678"])
async def test_typed_phone_in_common_forms_is_stored_normalised(engine: Engine, typed: str) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("yes")
    await hh.type("Nguyễn Văn Bình")
    await hh.pick("Tân Dân")
    await hh.tap("c:poor")
    await hh.type(typed)
    assert await rows(engine, "SELECT phone, phone_verified FROM persons") == [("0912345678", 0)]


async def test_a_wrong_phone_number_is_refused_and_the_step_kept(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("yes")
    await hh.type("Nguyễn Văn Bình")
    await hh.pick("Tân Dân")
    await hh.tap("c:poor")
    await hh.type("012345")
    assert "chưa đúng số di động" in hh.text
    await hh.send(InputKind.CONTACT, phone="+84 387 654 321")
    assert await rows(engine, "SELECT phone, phone_verified FROM persons") == [("0387654321", 1)]
    assert hh.replies[0].remove_keyboard


async def test_myquestions_lists_own_submissions_with_status_and_nobody_elses(engine: Engine) -> None:
    binh, hoa = Household(engine, "1"), Household(engine, "2")
    await binh.identify()
    await binh.ask("Câu hỏi của ông Bình")
    await hoa.identify(name="Trần Thị Hoa", hamlet="Tân Dân")
    await hoa.ask("Câu hỏi của bà Hoa")
    await hoa.command("myquestions")
    assert "Câu hỏi của bà Hoa" in hoa.text and "Đã tiếp nhận" in hoa.text
    assert "ông Bình" not in hoa.text


async def test_forget_deletes_personal_data_and_keeps_anonymous_counts(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.ask("Nội dung có tên tuổi riêng")
    await hh.command("forget")
    await hh.tap("yes")
    assert "Đã xóa thông tin cá nhân" in hh.text
    assert await rows(engine, "SELECT COUNT(*) FROM persons") == [(0,)]
    assert await rows(engine, "SELECT person_id, content, topic_id, hamlet_id, status FROM submissions") == [
        (None, None, "y-te", "tan-hau", "withdrawn")]
    await hh.command("start")
    assert hh.labels == ["✅ Tôi đồng ý", "❌ Không đồng ý", "📄 Xem chi tiết"]


async def test_forget_can_be_called_off(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.command("forget")
    await hh.tap("no")
    assert "vẫn được giữ" in hh.text
    assert hh.prompt.text == "Ông/bà muốn gửi gì?"


async def test_profile_can_be_changed_from_the_menu(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("back")
    await hh.tap("profile")
    await hh.type("Nguyễn Văn Bình Minh")
    await hh.pick("Tân Dân")
    await hh.tap("c:escaped")
    await hh.tap("skip")
    assert hh.prompt.text == t("form.ask_menu")
    assert await rows(engine, "SELECT full_name, hamlet_id, category FROM persons") == [
        ("Nguyễn Văn Bình Minh", "tan-dan", "escaped")]


async def test_a_restart_mid_form_resumes_at_the_same_step(settings: Settings, tmp_path: Path,
                                                            clock: FrozenClock) -> None:
    path = tmp_path / "restart.sqlite3"
    async with Database(path) as db:
        hh = Household(build_engine(settings, db, clock=clock))
        await hh.identify()
        await hh.tap("k:question")
        await hh.tap("f:giam-ngheo")
        version = hh.version
    async with Database(path) as db:
        engine = build_engine(settings, db, clock=clock)
        hh = Household(engine)
        await hh.tap("t:vay-ho-ngheo", version=version)
        await hh.type("Thủ tục vay vốn hộ nghèo thế nào?")
        await hh.tap("submit")
        assert await rows(engine, "SELECT code, topic_id FROM submissions") == [("DT-0001", "vay-ho-ngheo")]


async def test_district_with_several_communes_drills_down_to_the_hamlet(tmp_path: Path, clock: FrozenClock) -> None:
    """Seed 002: cluster 1 of the district, three communes, each with its hamlets."""
    settings = Settings.model_validate({
        "units": [{"id": "huyen", "name": "Huyện", "children": [
            {"id": "thuong-thoi-tien", "name": "Thị trấn Thường Thới Tiền", "kind": "xã",
             "children": [{"id": "khom-1", "name": "Khóm 1", "kind": "khóm"}]},
            {"id": "thuong-phuoc-1", "name": "Xã Thường Phước 1", "kind": "xã",
             "children": [{"id": "ap-1", "name": "Ấp 1", "kind": "ấp"}, {"id": "ap-2", "name": "Ấp 2"}]},
        ]}],
        "fields": [{"id": "giam-ngheo", "name": "Giảm nghèo", "topics": [{"id": "y-te", "name": "Y tế"}]}],
    })
    async with Database(tmp_path / "d.sqlite3") as db:
        hh = Household(build_engine(settings, db, clock=clock))
        await hh.command("start")
        await hh.tap("yes")
        await hh.type("Nguyễn Văn An")
        assert hh.prompt.text == "Ông/bà ở đâu? Xin chọn xã:"
        await hh.pick("Thường Phước 1")
        assert hh.prompt.text == "Ông/bà ở đâu? Xin chọn ấp:"
        await hh.tap("back")
        assert hh.prompt.text == "Ông/bà ở đâu? Xin chọn xã:"
        await hh.pick("Thường Phước 1")
        await hh.pick("Ấp 2")
        assert hh.prompt.text == "Hộ của ông/bà thuộc loại nào?"


async def test_mydata_shows_everything_kept_about_the_household(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.ask("Câu hỏi về thẻ bảo hiểm y tế")
    await hh.command("mydata")
    assert "Nguyễn Văn Bình" in hh.text and "Ấp Tân Hậu" in hh.text and "Hộ nghèo" in hh.text
    assert "Câu hỏi về thẻ bảo hiểm y tế" in hh.text

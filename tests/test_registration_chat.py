"""Registration and organizer commands in the chat, driven into the engine on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock
from bot.core.config import Settings, load_settings
from bot.core.engine import Engine
from bot.core.types import InputKind
from bot.dialogues import service as dialogues
from bot.staff import roles
from storage import Database
from storage import dialogues as repo
from tests.support import Household

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
DIALOGUE = "tan-thuan-tay-2027"


@pytest.fixture
def settings() -> Settings:
    return load_settings(EXAMPLE)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2027, 6, 1, 2, 0, tzinfo=UTC))


@pytest.fixture
async def engine(settings: Settings, clock: FrozenClock, tmp_path: Path):
    async with Database(tmp_path / "reg.sqlite3") as db:
        async with db.transaction() as conn:
            await dialogues.seed_from_config(conn, settings, clock())
        yield build_engine(settings, db, clock=clock)


async def organizer(engine: Engine, user_id: str = "9001", role: str = "organizer") -> Household:
    async with engine.db.transaction() as conn:
        await roles.grant(conn, "telegram", user_id, role, "Cán bộ VH-XH", "2027-06-01T00:00:00+00:00")
    return Household(engine, user_id)


NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Võ Văn Em"]


async def registered_household(engine: Engine, user_id: str, hamlet: str = "Tân Hậu") -> Household:
    hh = Household(engine, user_id)
    await hh.identify(name=NAMES[int(user_id) % len(NAMES)], hamlet=hamlet)
    await hh.tap("back")
    await hh.tap("dialogue")
    await hh.tap("register")
    return hh


async def outbox_texts(engine: Engine) -> list[str]:
    import json

    async with engine.db.reading() as conn, conn.execute("SELECT payload FROM outbox ORDER BY id") as cur:
        return [json.loads(r[0])["text"] for r in await cur.fetchall()]


async def test_household_sees_time_and_place_and_registers_with_a_code_and_qr(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("back")
    await hh.tap("dialogue")
    assert "15 giờ 30 phút, Chủ nhật, ngày 20/6/2027" in hh.prompt.text
    assert "Ấp Tân Hậu còn 20/20 chỗ" in hh.prompt.text
    await hh.tap("register")
    confirmation = hh.replies[0]
    assert "Mã đăng ký:" in confirmation.text
    assert confirmation.qr.startswith("DOITHOAI-CHECKIN:")
    assert "✅ Ông/bà đã đăng ký" in hh.prompt.text


async def test_registration_is_offered_right_after_a_submission(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.ask("Khi nào có thẻ bảo hiểm y tế?")
    assert "📅 Đăng ký dự đối thoại" in hh.labels
    await hh.pick("Đăng ký dự")
    await hh.tap("register")
    assert "Mã đăng ký" in hh.text


async def test_full_hamlet_puts_household_on_waitlist_in_the_chat(engine: Engine, settings: Settings) -> None:
    async with engine.db.transaction() as conn:
        await dialogues.set_quota(conn, settings, DIALOGUE, "tan-dan", 1, engine.clock())
    await registered_household(engine, "1", "Tân Dân")
    second = await registered_household(engine, "2", "Tân Dân")
    assert "danh sách chờ, thứ 1" in second.text


async def test_cant_come_button_on_a_reminder_frees_the_seat_for_the_waitlist(engine: Engine,
                                                                              settings: Settings) -> None:
    async with engine.db.transaction() as conn:
        await dialogues.set_quota(conn, settings, DIALOGUE, "tan-dan", 1, engine.clock())
    first = await registered_household(engine, "1", "Tân Dân")
    await registered_household(engine, "2", "Tân Dân")
    async with engine.db.reading() as conn:
        seat = (await repo.registrations(conn, DIALOGUE, "registered"))[0]
    await first.tap(f"att:{seat.id}:no", version=0)
    assert "chỗ đã được nhường" in first.text
    texts = await outbox_texts(engine)
    assert any("Đã có chỗ cho ông/bà" in t for t in texts)


async def test_a_forged_attendance_tap_cannot_cancel_someone_elses_seat(engine: Engine) -> None:
    victim = await registered_household(engine, "1")
    attacker = await registered_household(engine, "2")
    async with engine.db.reading() as conn:
        victim_reg = await repo.find_registration(conn, DIALOGUE, 1)
    await attacker.tap(f"att:{victim_reg.id}:no", version=0)
    assert "Xin chọn một trong các nút" in attacker.text
    async with engine.db.reading() as conn:
        assert (await repo.registration_by_id(conn, victim_reg.id)).status == "registered"
    assert victim.user_id == "1"


async def test_attend_and_absent_commands_work_without_buttons(engine: Engine) -> None:
    hh = await registered_household(engine, "1")
    await hh.command("attend")
    assert "Hẹn gặp ông/bà" in hh.text
    await hh.command("absent")
    assert "không đến được" in hh.text


async def test_household_can_cancel_its_registration(engine: Engine) -> None:
    hh = await registered_household(engine, "1")
    await hh.tap("leave")
    await hh.tap("yes")
    assert "Đã hủy đăng ký" in hh.text
    assert "còn 20/20 chỗ" in hh.prompt.text


async def test_roster_dialogue_matches_by_household_code_and_tells_the_unmatched_whom_to_ask(
        engine: Engine) -> None:
    async with engine.db.transaction() as conn:
        await repo.update_dialogue(conn, DIALOGUE, "2027-06-01T00:00:00+00:00", requires_roster=1)
        await conn.execute(
            "INSERT INTO roster_entries (dialogue_id, household_code, full_name, hamlet_id, category, phone,"
            " imported_at) VALUES (?, 'TTT-001', 'Nguyễn Văn Bình', 'tan-hau', 'poor', '0912345678', 'x')",
            (DIALOGUE,))
    hh = Household(engine)
    await hh.identify()
    await hh.tap("back")
    await hh.tap("dialogue")
    await hh.tap("register")
    assert "Xin nhập mã hộ" in hh.prompt.text
    await hh.type("TTT-999")
    assert "Không tìm thấy mã hộ" in hh.text and "Công chức Văn hóa - Xã hội" in hh.text
    await hh.type("ttt-001")
    assert "Mã đăng ký" in hh.text


async def test_a_verified_phone_on_the_roster_registers_without_asking(engine: Engine) -> None:
    async with engine.db.transaction() as conn:
        await repo.update_dialogue(conn, DIALOGUE, "2027-06-01T00:00:00+00:00", requires_roster=1)
        await conn.execute(
            "INSERT INTO roster_entries (dialogue_id, household_code, full_name, hamlet_id, category, phone,"
            " imported_at) VALUES (?, 'TTT-001', 'Nguyễn Văn Bình', 'tan-hau', 'poor', '0912345678', 'x')",
            (DIALOGUE,))
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("yes")
    await hh.type("Nguyễn Văn Bình")
    await hh.pick("Tân Hậu")
    await hh.tap("c:poor")
    await hh.send(InputKind.CONTACT, phone="+84912345678")
    await hh.tap("back")
    await hh.tap("dialogue")
    await hh.tap("register")
    assert "Mã đăng ký" in hh.text


@pytest.mark.parametrize("command", ["settime", "setplace", "setquota", "newdialogue", "opendialogue",
                                     "closedialogue", "canceldialogue", "roster", "checkin", "dialogues",
                                     "attendance"])
async def test_a_household_typing_an_organizer_command_gets_not_available(engine: Engine, command: str) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.command(command, "tan-thuan-tay-2027 15:30 21/6/2027")
    assert "chỉ dành cho cán bộ" in hh.text
    async with engine.db.reading() as conn:
        dialogue = await repo.get_dialogue(conn, DIALOGUE)
    assert dialogue.status == "open" and dialogue.starts_at == datetime(2027, 6, 20, 8, 30, tzinfo=UTC)


async def test_an_officer_cannot_change_a_dialogue_but_can_check_in(engine: Engine) -> None:
    officer = await organizer(engine, "9002", role="officer")
    await officer.command("settime", "15:30 21/6/2027")
    assert "chỉ dành cho cán bộ" in officer.text
    await officer.command("checkin", "ABCDEF")
    assert "Không có mã đăng ký" in officer.text


async def test_organizer_sets_time_place_and_quota_and_registered_households_are_told(engine: Engine) -> None:
    await registered_household(engine, "1")
    org = await organizer(engine)
    await org.command("settime", "8 giờ ngày 21/6/2027")
    assert "8 giờ, thứ Hai, ngày 21/6/2027" in org.text
    await org.command("setplace", "Hội trường UBND xã Tân Thuận Tây | https://maps.app.goo.gl/abc")
    await org.command("setquota", "Tân Hậu 25")
    assert "Ấp Tân Hậu: 1/25" in (await _dialogues_text(org))
    texts = await outbox_texts(engine)
    assert any("Thay đổi thời gian" in t for t in texts) and any("Hội trường UBND" in t for t in texts)


async def _dialogues_text(org: Household) -> str:
    await org.command("dialogues")
    return org.text


@pytest.mark.parametrize(("args", "answer"), [
    ("15:30 20/6/2020", "đã qua"), ("ngày mai", "Không đọc được thời gian"),
])
async def test_bad_times_are_refused_clearly(engine: Engine, args: str, answer: str) -> None:
    org = await organizer(engine)
    await org.command("settime", args)
    assert answer in org.text


@pytest.mark.parametrize(("args", "answer"), [
    ("Tân Hậu 0", "từ 1 trở lên"), ("Tân Hậu -3", "từ 1 trở lên"), ("Ấp Không Có 5", "Không có ấp"),
    ("Tân Hậu nhiều", "Cách dùng"),
])
async def test_bad_quotas_are_refused_clearly(engine: Engine, args: str, answer: str) -> None:
    org = await organizer(engine)
    await org.command("setquota", args)
    assert answer in org.text


async def test_empty_place_is_refused(engine: Engine) -> None:
    org = await organizer(engine)
    await org.command("setplace", "   ")
    assert "không được để trống" in org.text


async def test_organizer_creates_a_cluster_dialogue_from_the_chat(engine: Engine) -> None:
    org = await organizer(engine)
    await org.command("newdialogue", "cum-1 Đối thoại chính sách giảm nghèo cụm 1")
    await org.command("opendialogue", "cum-1")
    assert "chưa có ấp nào" in org.text
    await org.command("setquota", "cum-1 tan-dan 6")
    await org.command("settime", "cum-1 sau")
    await org.command("setplace", "cum-1 Trung tâm VHHTCĐ xã Thường Phước 2")
    await org.command("opendialogue", "cum-1")
    assert "đang nhận đăng ký" in org.text and "sẽ thông báo sau" in org.text


async def test_check_in_at_the_door_by_code_or_qr_text_and_a_second_time(engine: Engine) -> None:
    hh = await registered_household(engine, "1")
    code = hh.replies[0].qr
    officer = await organizer(engine, "9002", role="officer")
    await officer.type(code)
    assert "✅ Đã điểm danh: Trần Thị Bình — Ấp Tân Hậu" in officer.text
    await officer.command("checkin", code.split(":")[1])
    assert "đã điểm danh lúc" in officer.text
    await officer.command("attendance")
    assert "Ấp Tân Hậu: 1/20 hộ đăng ký, 0 chờ, 1 đã đến" in officer.text


async def test_forget_gives_the_seat_to_the_waitlist(engine: Engine, settings: Settings) -> None:
    async with engine.db.transaction() as conn:
        await dialogues.set_quota(conn, settings, DIALOGUE, "tan-dan", 1, engine.clock())
    first = await registered_household(engine, "1", "Tân Dân")
    await registered_household(engine, "2", "Tân Dân")
    await first.command("forget")
    await first.tap("yes")
    async with engine.db.reading() as conn:
        seated = await repo.registrations(conn, DIALOGUE, "registered")
    assert len(seated) == 1
    assert any("Đã có chỗ cho ông/bà" in t for t in await outbox_texts(engine))

"""Dialogue rules on a real SQLite file: seats within quotas, the waitlist, check-in, and change notices."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.config import Settings, load_settings, parse_settings
from bot.dialogues import service as dialogues
from bot.dialogues.service import CheckIn, DialogueError, DialogueSpec
from storage import Database, people
from storage import dialogues as repo

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
NOW = datetime(2023, 6, 1, 1, 0, tzinfo=UTC)
START = datetime(2023, 6, 20, 8, 30, tzinfo=UTC)  # 15:30 in Asia/Ho_Chi_Minh
SEED_000 = {"tan-dan": 10, "tan-hung": 10, "tan-chu": 10, "tan-hau": 20}


@pytest.fixture
def settings() -> Settings:
    return load_settings(EXAMPLE)


@pytest.fixture
async def db(tmp_path: Path):
    async with Database(tmp_path / "dialogues.sqlite3") as database:
        yield database


async def open_seed_000(db: Database, settings: Settings, quotas: dict[str, int] | None = None) -> repo.Dialogue:
    spec = DialogueSpec(id="tan-thuan-tay-2023", title="Đối thoại chính sách giảm nghèo năm 2023", starts_at=START,
                        place="Trung tâm VHHTCĐ xã Tân Thuận Tây", quotas=quotas or SEED_000, status="open")
    async with db.transaction() as conn:
        return await dialogues.create(conn, settings, spec, NOW)


async def household(db: Database, n: int, hamlet: str = "tan-hau") -> int:
    async with db.transaction() as conn:
        person = await people.create_person_with_identity(
            conn, channel="telegram", external_id=str(n), chat_id=str(n), display_name=None, language="vi",
            now="2023-06-01T00:00:00+00:00")
        await people.set_consent(conn, person.id, "2023-06-01T00:00:00+00:00")
        await people.update_profile(conn, person.id, full_name=f"Hộ số {n}", hamlet_id=hamlet, category="poor")
        return person.id


async def register(db: Database, dialogue: repo.Dialogue, person_id: int, hamlet: str = "tan-hau"):
    async with db.transaction() as conn:
        return await dialogues.register(conn, dialogue, person_id, hamlet, NOW)


async def outbox(db: Database) -> list[tuple[str, str]]:
    async with db.reading() as conn, conn.execute("SELECT dedupe_key, payload FROM outbox ORDER BY id") as cur:
        return [(row[0], json.loads(row[1])["text"]) for row in await cur.fetchall()]


async def test_seed_000_dialogue_has_fifty_seats_in_four_hamlets(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings)
    async with db.reading() as conn:
        counts = await dialogues.seats(conn, dialogue.id)
    assert [(c.hamlet_id, c.quota) for c in counts] == list(SEED_000.items())
    assert "Tổng: 0/50 hộ đăng ký" in dialogues.seats_table(counts, settings, "vi")


async def test_fifty_households_racing_for_the_last_seat_get_one_seat(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings, {"tan-hau": 20})
    for n in range(19):
        await register(db, dialogue, await household(db, n))
    racers = [await household(db, 100 + n) for n in range(50)]
    results = await asyncio.gather(*(register(db, dialogue, p) for p in racers))
    assert sum(r.status == "registered" for r in results) == 1
    assert sum(r.status == "waitlisted" for r in results) == 49
    async with db.reading() as conn:
        assert await repo.count_registered(conn, dialogue.id, "tan-hau") == 20


async def test_registering_twice_keeps_the_first_registration(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings)
    person = await household(db, 1)
    first = await register(db, dialogue, person)
    again = await register(db, dialogue, person)
    assert again.id == first.id and again.code == first.code


async def test_full_hamlet_puts_household_on_waitlist_and_a_freed_seat_promotes_it(
        db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings, {"tan-dan": 1})
    seated = await register(db, dialogue, await household(db, 1, "tan-dan"), "tan-dan")
    waiting = await register(db, dialogue, await household(db, 2, "tan-dan"), "tan-dan")
    assert (seated.status, waiting.status) == ("registered", "waitlisted")
    async with db.transaction() as conn:
        promoted = await dialogues.cancel(conn, settings, seated, NOW)
    assert [p.id for p in promoted] == [waiting.id]
    async with db.reading() as conn:
        assert (await repo.registration_by_id(conn, waiting.id)).status == "registered"
    sent = await outbox(db)
    assert len(sent) == 1 and sent[0][0].startswith(f"promoted:{waiting.id}:")
    assert "Đã có chỗ cho ông/bà" in sent[0][1] and waiting.code in sent[0][1]


async def test_cant_come_frees_the_seat_for_the_waitlist(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings, {"tan-dan": 1})
    seated = await register(db, dialogue, await household(db, 1, "tan-dan"), "tan-dan")
    waiting = await register(db, dialogue, await household(db, 2, "tan-dan"), "tan-dan")
    async with db.transaction() as conn:
        promoted = await dialogues.answer_attendance(conn, settings, seated, False, NOW)
    assert [p.id for p in promoted] == [waiting.id]


async def test_a_larger_quota_moves_the_waitlist_up(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings, {"tan-dan": 1})
    await register(db, dialogue, await household(db, 1, "tan-dan"), "tan-dan")
    waiting = [await register(db, dialogue, await household(db, n, "tan-dan"), "tan-dan") for n in (2, 3, 4)]
    async with db.transaction() as conn:
        promoted = await dialogues.set_quota(conn, settings, dialogue.id, "tan-dan", 3, NOW)
    assert [p.id for p in promoted] == [waiting[0].id, waiting[1].id]


@pytest.mark.parametrize("quota", [0, -5])
async def test_quota_zero_or_negative_is_refused(db: Database, settings: Settings, quota: int) -> None:
    dialogue = await open_seed_000(db, settings)
    with pytest.raises(DialogueError) as caught:
        async with db.transaction() as conn:
            await dialogues.set_quota(conn, settings, dialogue.id, "tan-dan", quota, NOW)
    assert "từ 1 trở lên" in caught.value.text("vi")
    async with db.reading() as conn:
        assert (await repo.quotas(conn, dialogue.id))["tan-dan"] == 10


async def test_a_time_in_the_past_and_an_empty_place_are_refused(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings)
    with pytest.raises(DialogueError, match="already passed"):
        async with db.transaction() as conn:
            await dialogues.set_time(conn, settings, dialogue.id, datetime(2023, 5, 1, tzinfo=UTC), NOW)
    with pytest.raises(DialogueError, match="must not be empty"):
        async with db.transaction() as conn:
            await dialogues.set_place(conn, settings, dialogue.id, "   ", None, NOW)
    async with db.reading() as conn:
        kept = await repo.get_dialogue(conn, dialogue.id)
    assert (kept.starts_at, kept.place) == (START, "Trung tâm VHHTCĐ xã Tân Thuận Tây")


async def test_time_and_place_changes_tell_registered_households_once(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings)
    await register(db, dialogue, await household(db, 1))
    new_time = datetime(2023, 6, 21, 1, 0, tzinfo=UTC)
    for _ in range(2):
        async with db.transaction() as conn:
            await dialogues.set_time(conn, settings, dialogue.id, new_time, NOW)
    async with db.transaction() as conn:
        await dialogues.set_place(conn, settings, dialogue.id, "Hội trường UBND xã", "https://maps.app.goo.gl/x", NOW)
    sent = await outbox(db)
    assert len(sent) == 2
    assert "Thay đổi thời gian" in sent[0][1] and "8 giờ, thứ Tư, ngày 21/6/2023" in sent[0][1]
    assert "Hội trường UBND xã" in sent[1][1] and "https://maps.app.goo.gl/x" in sent[1][1]


async def test_announcing_a_time_that_was_to_be_announced_tells_households(db: Database, settings: Settings) -> None:
    spec = DialogueSpec(id="cum-1", title="Đối thoại cụm 1", starts_at=None, place="Trung tâm VHHTCĐ xã Thường Phước 2",
                        quotas={"tan-dan": 6}, status="open")
    async with db.transaction() as conn:
        dialogue = await dialogues.create(conn, settings, spec, NOW)
    assert dialogues.when_text(dialogue, settings, "vi") == "sẽ thông báo sau"
    await register(db, dialogue, await household(db, 1, "tan-dan"), "tan-dan")
    async with db.transaction() as conn:
        await dialogues.set_time(conn, settings, "cum-1", START, NOW)
    assert "15 giờ 30 phút, thứ Ba, ngày 20/6/2023" in (await outbox(db))[0][1]


async def test_cancelling_a_dialogue_tells_registered_and_waiting_households(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings, {"tan-dan": 1})
    await register(db, dialogue, await household(db, 1, "tan-dan"), "tan-dan")
    await register(db, dialogue, await household(db, 2, "tan-dan"), "tan-dan")
    async with db.transaction() as conn:
        await dialogues.set_status(conn, settings, dialogue.id, "cancelled", NOW)
    sent = await outbox(db)
    assert len(sent) == 2 and all("đã bị hủy" in text for _, text in sent)
    with pytest.raises(DialogueError):
        async with db.transaction() as conn:
            await dialogues.set_status(conn, settings, dialogue.id, "open", NOW)


async def test_registration_needs_an_open_dialogue(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings)
    async with db.transaction() as conn:
        closed = await dialogues.set_status(conn, settings, dialogue.id, "closed", NOW)
    with pytest.raises(DialogueError, match="not taking registrations"):
        await register(db, closed, await household(db, 1))


async def test_check_in_by_code_or_qr_text_once(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings)
    reg = await register(db, dialogue, await household(db, 1))
    async with db.transaction() as conn:
        first = await dialogues.check_in(conn, f"doithoai-checkin:{reg.code.lower()}", "officer-1", START)
        second = await dialogues.check_in(conn, reg.code, "officer-1", START)
        wrong = await dialogues.check_in(conn, "ZZZZZZ", "officer-1", START)
    assert (first[0], second[0], wrong[0]) == (CheckIn.OK, CheckIn.ALREADY, CheckIn.UNKNOWN)
    async with db.reading() as conn:
        counts = await dialogues.seats(conn, dialogue.id)
    assert [c.checked_in for c in counts if c.hamlet_id == "tan-hau"] == [1]


async def test_a_waitlisted_household_cannot_check_in(db: Database, settings: Settings) -> None:
    dialogue = await open_seed_000(db, settings, {"tan-dan": 1})
    await register(db, dialogue, await household(db, 1, "tan-dan"), "tan-dan")
    waiting = await register(db, dialogue, await household(db, 2, "tan-dan"), "tan-dan")
    async with db.transaction() as conn:
        result, _ = await dialogues.check_in(conn, waiting.code, "officer-1", START)
    assert result is CheckIn.NOT_SEATED


def test_seed_002_clusters_give_six_seats_to_every_hamlet_of_their_communes() -> None:
    settings = parse_settings({
        "units": [
            {"id": "thuong-phuoc-1", "name": "Xã Thường Phước 1", "kind": "xã",
             "children": [{"id": f"tp1-ap-{i}", "name": f"Ấp {i}"} for i in range(1, 5)]},
            {"id": "thuong-phuoc-2", "name": "Xã Thường Phước 2", "kind": "xã",
             "children": [{"id": f"tp2-ap-{i}", "name": f"Ấp {i}"} for i in range(1, 5)]},
        ],
        "fields": [{"id": "giam-ngheo", "name": "Giảm nghèo", "topics": [{"id": "y-te", "name": "Y tế"}]}],
        "dialogues": [{"id": "cum-1", "title": "Đối thoại chính sách giảm nghèo năm 2020 — cụm 1",
                       "place": "Trung tâm Văn hóa - Học tập cộng đồng xã Thường Phước 2", "requires_roster": True,
                       "units": ["thuong-phuoc-1", "thuong-phuoc-2"], "seats_per_hamlet": 6}],
    })
    dialogue = settings.dialogues[0]
    assert dialogue.starts_at is None
    quotas = settings.dialogue_quotas(dialogue)
    assert len(quotas) == 8 and set(quotas.values()) == {6}

"""Broadcasts on a real SQLite file: audiences, exclusions, the preview, confirming once, schedules, the tally.

Seed 000: xã Tân Thuận Tây, hamlets Tân Dân, Tân Hùng, Tân Chủ, Tân Hậu; the dialogue of the example config.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.broadcast import service as broadcast
from bot.broadcast.jobs import BroadcastJobs
from bot.broadcast.service import Audience, BroadcastError
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.events import OUTBOX_QUEUED, Events
from bot.core.i18n import t
from bot.core.types import Message
from bot.dialogues import service as dialogues
from bot.outbox.enqueue import Priority, Queued, Recipient, enqueue_many
from storage import Database, outbox
from storage import dialogues as dialogue_repo
from storage.submissions import create_submission
from tests.test_broadcast_support import add_household, add_organizer, notices, outbox_rows

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL

DIALOGUE = "tan-thuan-tay-2027"
TEXT = "Kính mời bà con dự buổi đối thoại chính sách giảm nghèo lúc 15:30 ngày 20/6/2027 tại Trung tâm VHHTCĐ xã."


@pytest.fixture
async def commune(database: Database, settings: Settings, clock: FrozenClock) -> Database:
    """Households of every kind: who is in which audience is known by their chat id."""
    now = clock()
    async with database.transaction() as conn:
        await dialogues.seed_from_config(conn, settings, now)
        people = {}
        for chat_id, hamlet, category in ((101, "tan-hau", "poor"), (102, "tan-hau", "poor"),
                                          (103, "tan-hau", "poor"), (104, "tan-hau", "poor"),
                                          (201, "tan-dan", "near_poor"), (202, "tan-dan", "near_poor"),
                                          (301, "tan-hung", "escaped")):
            people[chat_id] = await add_household(conn, chat_id, now, hamlet=hamlet, category=category)
        await add_household(conn, 401, now, consent=False)               # never agreed: never written to
        await add_household(conn, 402, now, blocked=True)                # blocked the bot
        gone = await add_household(conn, 403, now)
        await conn.execute("UPDATE persons SET active = 0 WHERE id = ?", (gone,))
        for chat_id, status in ((101, "registered"), (102, "registered"), (201, "waitlisted")):
            await dialogue_repo.insert_registration(
                conn, dialogue_id=DIALOGUE, person_id=people[chat_id], hamlet_id="tan-hau", status=status,
                code=f"CODE{chat_id}", roster_id=None, now="2023-06-15T02:00:00+00:00")
        await create_submission(conn, person_id=people[101], hamlet_id="tan-hau", category="poor", kind="question",
                                field_id="giam-ngheo", topic_id="y-te", content="Thẻ BHYT?", media_kind=None,
                                media_file_id=None, channel="telegram", now="2023-06-15T02:00:00+00:00")
    return database


async def compose(db: Database, now: datetime, audience: str, text: str = TEXT, *, creator: int | None = None,
                  when: datetime | None = None, **content: str) -> int:
    async with db.transaction() as conn:
        broadcast_id = await broadcast.new_draft(conn, created_by="test", creator_person_id=creator, now=now)
        await broadcast.edit(conn, broadcast_id, text=text, **content)
        await conn.execute("UPDATE broadcasts SET audience = ? WHERE id = ?", (Audience.parse(audience).to_json(),
                                                                                broadcast_id))
        await broadcast.set_time(conn, broadcast_id, when, now)
    return broadcast_id


async def send(db: Database, settings: Settings, now: datetime, audience: str, text: str = TEXT,
               **kwargs: object) -> int:
    broadcast_id = await compose(db, now, audience, text, **kwargs)  # type: ignore[arg-type]
    async with db.transaction() as conn:
        await broadcast.confirm(conn, settings, broadcast_id, now)
    return broadcast_id


async def chats(db: Database, broadcast_id: int) -> list[str]:
    return [chat for chat, _, _ in await outbox_rows(db, f"broadcast:{broadcast_id}")]


# ---- audiences ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("audience", "expected"), [
    ("everyone", ["101", "102", "103", "104", "201", "202", "301"]),
    ("hamlet:tan-hau", ["101", "102", "103", "104"]),
    ("hamlet:tan-thuan-tay", ["101", "102", "103", "104", "201", "202", "301"]),   # a commune: all its hamlets
    ("category:near_poor", ["201", "202"]),
    ("category:near-poor", ["201", "202"]),
    (f"dialogue:{DIALOGUE}", ["101", "102"]),
    ("waitlist", ["201"]),
    (f"waitlist:{DIALOGUE}", ["201"]),
    ("no-question", ["102", "103", "104", "201", "202", "301"]),
])
async def test_each_audience_reaches_its_consented_active_households(
    commune: Database, settings: Settings, clock: FrozenClock, audience: str, expected: list[str],
) -> None:
    broadcast_id = await send(commune, settings, clock(), audience)
    assert await chats(commune, broadcast_id) == expected


@pytest.mark.parametrize("audience", ["", "all", "hamlet", "hamlet:", "category:rich", "everyone:tan-hau",
                                      "dialogue:nope", "hamlet:tan-binh"])
async def test_an_unknown_audience_is_refused_and_nothing_is_queued(
    commune: Database, settings: Settings, clock: FrozenClock, audience: str,
) -> None:
    with pytest.raises(BroadcastError):
        async with commune.transaction() as conn:
            broadcast_id = await broadcast.new_draft(conn, created_by="test", creator_person_id=None, now=clock())
            await broadcast.set_audience(conn, settings, broadcast_id, Audience.parse(audience))
    async with commune.reading() as conn:
        assert (await outbox.tally(conn))["pending"] == 0


async def test_preview_counts_who_gets_it_and_who_is_left_out(commune: Database, settings: Settings,
                                                              clock: FrozenClock) -> None:
    first = await send(commune, settings, clock(), "hamlet:tan-hau")
    second = await compose(commune, clock(), "everyone")               # the same text again, to everyone
    async with commune.reading() as conn:
        preview = await broadcast.preview(conn, settings, await broadcast.require(conn, second))
    assert preview == broadcast.Preview(recipients=3, already=4, blocked=1)   # Tân Dân, Tân Hùng; 402 blocked
    async with commune.transaction() as conn:
        await broadcast.confirm(conn, settings, second, clock())
    assert await chats(commune, second) == ["201", "202", "301"]
    assert len(await chats(commune, first)) == 4


async def test_a_different_announcement_goes_to_those_who_had_the_first(commune: Database, settings: Settings,
                                                                         clock: FrozenClock) -> None:
    await send(commune, settings, clock(), "hamlet:tan-hau")
    other = await send(commune, settings, clock(), "hamlet:tan-hau", text="Lịch đối thoại đổi sang 8 giờ sáng.")
    assert await chats(commune, other) == ["101", "102", "103", "104"]


async def test_households_receive_exactly_the_text_and_the_photo(commune: Database, settings: Settings,
                                                                 clock: FrozenClock) -> None:
    broadcast_id = await send(commune, settings, clock(), "category:escaped", photo="AgACAgUAAxkBAAIB-photo")
    [(chat, status, payload)] = await outbox_rows(commune, f"broadcast:{broadcast_id}")
    message = Message.from_json(payload)
    assert (chat, status, message.text, message.photo) == ("301", "pending", TEXT, "AgACAgUAAxkBAAIB-photo")
    async with commune.reading() as conn, conn.execute("SELECT priority FROM outbox WHERE chat_id = '301'") as cur:
        assert (await cur.fetchone())[0] == Priority.BROADCAST


# ---- confirming once -------------------------------------------------------------------------------------------


async def test_confirming_twice_sends_once(commune: Database, settings: Settings, clock: FrozenClock) -> None:
    broadcast_id = await send(commune, settings, clock(), "everyone")
    with pytest.raises(BroadcastError) as refused:
        async with commune.transaction() as conn:
            await broadcast.confirm(conn, settings, broadcast_id, clock())
    assert refused.value.key == "broadcast.already_confirmed"
    assert len(await chats(commune, broadcast_id)) == 7


async def test_an_audience_of_nobody_is_refused_and_nothing_is_queued(commune: Database, settings: Settings,
                                                                       clock: FrozenClock) -> None:
    broadcast_id = await compose(commune, clock(), "category:other")
    with pytest.raises(BroadcastError) as refused:
        async with commune.transaction() as conn:
            await broadcast.confirm(conn, settings, broadcast_id, clock())
    assert refused.value.key == "broadcast.nobody"
    assert "Không có gì được gửi" in refused.value.text("vi")
    async with commune.reading() as conn:
        assert (await broadcast.require(conn, broadcast_id)).status == "draft"
        assert sum((await outbox.tally(conn)).values()) == 0


@pytest.mark.parametrize(("text", "key"), [("", "broadcast.empty"), ("  \n\u200b ", "broadcast.empty"),
                                           ("a" * 4097, "broadcast.too_long"), ("🙏" * 2049, "broadcast.too_long")])
def test_empty_or_too_long_text_is_refused(text: str, key: str) -> None:
    with pytest.raises(BroadcastError) as refused:
        broadcast.check_text(text)
    assert refused.value.key == key


def test_too_long_text_says_its_length_and_the_limit() -> None:
    with pytest.raises(BroadcastError) as refused:
        broadcast.check_text("🙏" * 2049)   # 2,049 characters but 4,098 UTF-16 units, as Telegram counts
    assert "4.098" in refused.value.text("vi") and "4.096" in refused.value.text("vi")
    assert broadcast.check_text("a" * 4096) == "a" * 4096


def test_a_photo_over_ten_megabytes_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "hop-dan.jpg"
    with big.open("wb") as file:
        file.truncate(10 * 1024 * 1024 + 1)
    with pytest.raises(BroadcastError) as refused:
        broadcast.check_file(big, photo=True)
    assert refused.value.key == "broadcast.file_too_large" and "10,0 MB" in refused.value.text("vi")
    small = tmp_path / "loa.png"
    small.write_bytes(b"\x89PNG fake")
    assert broadcast.check_file(small, photo=True) == small.resolve()
    with pytest.raises(BroadcastError):
        broadcast.check_file(tmp_path / "ke-hoach.pdf", photo=True)


# ---- schedules ----------------------------------------------------------------------------------------------------


async def test_a_scheduled_broadcast_is_queued_when_due_and_only_once(commune: Database, settings: Settings,
                                                                      clock: FrozenClock) -> None:
    events = Events()
    woken: list[str] = []
    events.subscribe(OUTBOX_QUEUED, lambda: woken.append("queued"))
    jobs = BroadcastJobs(commune, settings, events, clock)
    broadcast_id = await send(commune, settings, clock(), "hamlet:tan-hau", when=clock() + timedelta(hours=2))
    async with commune.reading() as conn:
        assert (await broadcast.require(conn, broadcast_id)).status == "scheduled"
    assert await chats(commune, broadcast_id) == []

    assert (await jobs.tick()).released == 0
    clock.advance(hours=2)
    assert (await jobs.tick()).released == 1
    assert (await jobs.tick()).released == 0
    assert await chats(commune, broadcast_id) == ["101", "102", "103", "104"]
    assert woken


async def test_a_time_in_the_past_is_refused(commune: Database, clock: FrozenClock) -> None:
    with pytest.raises(BroadcastError) as refused:
        await compose(commune, clock(), "everyone", when=clock() - timedelta(minutes=1))
    assert refused.value.key == "broadcast.time_in_past"


async def test_a_cancelled_schedule_never_goes(commune: Database, settings: Settings, clock: FrozenClock) -> None:
    broadcast_id = await send(commune, settings, clock(), "everyone", when=clock() + timedelta(hours=1))
    async with commune.transaction() as conn:
        assert await broadcast.cancel(conn, broadcast_id) == 0
    clock.advance(hours=2)
    await BroadcastJobs(commune, settings, Events(), clock).tick()
    assert await chats(commune, broadcast_id) == []


async def test_cancelling_while_sending_skips_what_was_not_sent(commune: Database, settings: Settings,
                                                                clock: FrozenClock) -> None:
    broadcast_id = await send(commune, settings, clock(), "everyone")
    async with commune.transaction() as conn:
        assert await broadcast.cancel(conn, broadcast_id) == 7
        found = await broadcast.report(conn, await broadcast.require(conn, broadcast_id))
    assert (found.waiting, found.not_sent, found.row.status) == (0, 7, "cancelled")
    with pytest.raises(BroadcastError):
        async with commune.transaction() as conn:
            await broadcast.cancel(conn, broadcast_id)


# ---- following: progress and the tally -------------------------------------------------------------------------


async def settle(db: Database, broadcast_id: int, chat_ids: list[str], status: str, error: str | None = None) -> None:
    """What the sender would record for these chats."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE outbox SET status = ?, last_error = ? WHERE group_key = ? AND chat_id = ?",
            [(status, error, f"broadcast:{broadcast_id}", chat) for chat in chat_ids])


async def test_the_organizer_is_told_the_progress_then_the_tally_once(commune: Database, settings: Settings,
                                                                      clock: FrozenClock) -> None:
    async with commune.transaction() as conn:
        organizer = await add_organizer(conn, clock())
        for chat_id in range(501, 509):
            await add_household(conn, chat_id, clock(), hamlet="tan-chu")
    broadcast_id = await send(commune, settings, clock(), "hamlet:tan-chu", creator=organizer)
    jobs = BroadcastJobs(commune, settings, Events(), clock)

    await settle(commune, broadcast_id, ["501", "502"], "sent")
    await jobs.tick()
    await jobs.tick()
    await settle(commune, broadcast_id, ["503", "504", "505"], "sent")
    await jobs.tick()
    assert await notices(commune, "9001") == [
        t("broadcast.progress", id=broadcast_id, handled=2, count=8, percent=25, delivered=2),
        t("broadcast.progress", id=broadcast_id, handled=5, count=8, percent=50, delivered=5),
    ]
    await settle(commune, broadcast_id, ["506"], "blocked", "Forbidden: bot was blocked by the user")
    await settle(commune, broadcast_id, ["507"], "failed", "Bad Request: chat not found")
    await settle(commune, broadcast_id, ["508"], "uncertain", "interrupted while sending")
    assert (await jobs.tick()).finished == 1
    assert (await jobs.tick()).finished == 0

    told = await notices(commune, "9001")
    assert len(told) == 3
    tally = told[-1]
    assert tally.startswith(f"📊 Thông báo #{broadcast_id} — đã gửi xong")
    for line in ("✅ Đã nhận: 5", "🚫 Đã chặn bot: 1", "⚠️ Gửi không được: 1", "• Bad Request: chat not found: 1",
                 "❔ Chưa rõ đã nhận hay chưa"):
        assert line in tally
    async with commune.reading() as conn:
        row = await broadcast.require(conn, broadcast_id)
    assert row.status == "done" and row.finished_at is not None


async def test_the_list_shows_each_broadcast_with_its_tally(commune: Database, settings: Settings,
                                                            clock: FrozenClock) -> None:
    broadcast_id = await send(commune, settings, clock(), "hamlet:tan-hau")
    await settle(commune, broadcast_id, ["101", "102", "103"], "sent")
    await settle(commune, broadcast_id, ["104"], "blocked")
    async with commune.reading() as conn:
        row = await broadcast.require(conn, broadcast_id)
        line = broadcast.summary(row, await broadcast.report(conn, row), settings, "vi")
    assert line.startswith(f"#{broadcast_id} — đang gửi — 9 giờ, thứ Năm, ngày 15/6/2023")
    assert "🏘 Hộ ở Ấp Tân Hậu: 3/4 đã nhận, 1 chặn bot, 0 lỗi, 0 chưa rõ" in line


# ---- the outbox in bulk -----------------------------------------------------------------------------------------


async def test_enqueue_many_queues_new_keys_and_leaves_old_ones(database: Database, clock: FrozenClock) -> None:
    message = Message("Thông báo chung")
    rows = [Queued(f"bulk:{n}", Recipient(None, "telegram", str(n)), "broadcast", message, Priority.BROADCAST,
                   clock(), group_key="bulk") for n in range(10_000)]
    async with database.transaction() as conn:
        assert await enqueue_many(conn, rows) == 10_000
        assert await enqueue_many(conn, [*rows[:10], Queued("bulk:new", Recipient(None, "telegram", "1"),
                                                            "broadcast", message, Priority.BROADCAST, clock())]) == 1
        assert (await outbox.tally(conn, "bulk"))["pending"] == 10_000
        async with conn.execute("SELECT payload FROM outbox WHERE dedupe_key = 'bulk:9999'") as cur:
            assert json.loads((await cur.fetchone())[0])["text"] == "Thông báo chung"

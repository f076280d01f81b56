"""Reminders of time and place on a real SQLite file: planned from the database, sent once, re-planned on change.

Seed 000: the dialogue of Tân Thuận Tây at 15 giờ 30 phút, thứ Ba, ngày 20/6/2023 (08:30 UTC), 50 seats.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.clock import FrozenClock, iso, system_clock
from bot.core.config import Settings, load_settings
from bot.core.events import DIALOGUE_CHANGED, OUTBOX_QUEUED, Events
from bot.core.types import Choice, Message
from bot.dialogues import service as dialogues
from bot.dialogues.reminders import ReminderScheduler, plan, run_wave
from bot.dialogues.service import DialogueSpec
from storage import Database
from storage.dialogues import Dialogue, Registration
from storage.people import create_person_with_identity, set_consent, update_profile
from storage.submissions import create_submission

BOTH_BACKENDS = True  # conftest: each test that takes `settings` runs on SQLite and on PostgreSQL

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DIALOGUE_ID = "tan-thuan-tay-2023"
STARTS = datetime(2023, 6, 20, 15, 30, tzinfo=TZ)
PLACE = "Trung tâm Văn hóa - Học tập cộng đồng xã Tân Thuận Tây"
QUOTAS = {"tan-dan": 10, "tan-hung": 10, "tan-chu": 10, "tan-hau": 20}
JUNE_1 = datetime(2023, 6, 1, 8, 0, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2023, 6, day, hour, minute, tzinfo=UTC)


def spec(**changes: object) -> DialogueSpec:
    values: dict = {"id": DIALOGUE_ID, "title": "Đối thoại chính sách giảm nghèo, lao động, việc làm năm 2023",
                    "starts_at": STARTS, "place": PLACE, "quotas": QUOTAS, "status": "open",
                    "map_url": "https://maps.example/ttt"}
    return DialogueSpec(**{**values, **changes})


class Commune:
    """A database with the seed dialogue, households that register, and a way to restart the reminder scheduler."""

    def __init__(self, db: Database, settings: Settings, clock: FrozenClock) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.events = Events()
        self.queued_events = 0
        self.events.subscribe(OUTBOX_QUEUED, self._count)
        self.schedulers: list[ReminderScheduler] = []
        self.households = 0

    def _count(self) -> None:
        self.queued_events += 1

    async def create(self, **changes: object) -> Dialogue:
        async with self.db.transaction() as conn:
            return await dialogues.create(conn, self.settings, spec(**changes), self.clock())

    async def household(self, hamlet: str = "tan-hau", language: str = "vi", dialogue_id: str = DIALOGUE_ID,
                        ) -> Registration:
        self.households += 1
        n = self.households
        async with self.db.transaction() as conn:
            now = iso(self.clock())
            person = await create_person_with_identity(conn, channel="telegram", external_id=str(1000 + n),
                                                       chat_id=str(1000 + n), display_name=None, language=language,
                                                       now=now)
            await update_profile(conn, person.id, full_name=f"Hộ số {n}", hamlet_id=hamlet, category="poor")
            await set_consent(conn, person.id, now)
            dialogue = await dialogues.require(conn, dialogue_id)
            return await dialogues.register(conn, dialogue, person.id, hamlet, self.clock())

    async def start(self, clock: object = None) -> ReminderScheduler:
        """A new scheduler on the same database file: what the bot does after a restart."""
        for old in self.schedulers:
            stop(old)
        scheduler = ReminderScheduler(self.db, self.settings, self.events, clock or self.clock,  # type: ignore[arg-type]
                                      scheduler=AsyncIOScheduler(timezone=self.settings.tz))  # a new process's
        self.schedulers.append(scheduler)
        await scheduler.start()
        return scheduler

    async def changed(self, change: str, *args: object) -> None:
        async with self.db.transaction() as conn:
            await getattr(dialogues, change)(conn, self.settings, DIALOGUE_ID, *args, self.clock())
        await self.events.emit(DIALOGUE_CHANGED, DIALOGUE_ID)

    async def outbox(self, kind: str) -> list[tuple[str, int, Message]]:
        async with self.db.reading() as conn, conn.execute(
            "SELECT dedupe_key, person_id, payload FROM outbox WHERE kind = ? ORDER BY id", (kind,)
        ) as cur:
            return [(row[0], row[1], Message.from_json(row[2])) for row in await cur.fetchall()]

    async def reminded(self) -> dict[int, list[str]]:
        """person id → the "when" line of each reminder they got, in order."""
        got: dict[int, list[str]] = {}
        for _, person_id, message in await self.outbox("reminder"):
            got.setdefault(person_id, []).append(message.text.splitlines()[0])
        return got


def stop(scheduler: ReminderScheduler) -> None:
    """What the runtime does at stop: the reminders leave, then the process's APScheduler stops."""
    scheduler.shutdown()
    if scheduler.scheduler.running:
        scheduler.scheduler.shutdown(wait=False)


@pytest.fixture
def settings() -> Settings:
    return load_settings(ROOT / "config.example.toml")


@pytest.fixture
async def commune(tmp_path: Path, settings: Settings) -> AsyncIterator[Commune]:
    async with Database(tmp_path / "r.sqlite3") as db:
        town = Commune(db, settings, FrozenClock(JUNE_1))
        yield town
        for scheduler in town.schedulers:
            stop(scheduler)


def seed_dialogue(**changes: object) -> Dialogue:
    values: dict = {"id": DIALOGUE_ID, "title": "Đối thoại", "starts_at": STARTS, "place": PLACE, "map_url": None,
                    "status": "open", "deadline_days": 5, "reminder_minutes": [4320, 1440, 120],
                    "requires_roster": False, "contact": ""}
    return Dialogue(**{**values, **changes})


# ---- plan(): pure ----------------------------------------------------------------------------------------------

def test_plan_puts_reminders_at_each_offset_and_the_nudge_a_day_before_the_deadline() -> None:
    waves = plan(seed_dialogue(), JUNE_1)
    assert [(w.kind, w.offset_minutes, w.fire_at) for w in waves] == [
        ("nudge", 1440, utc(14, 8, 30)),       # deadline 15:30 on 15/6 local, one day earlier
        ("reminder", 4320, utc(17, 8, 30)),
        ("reminder", 1440, utc(19, 8, 30)),
        ("reminder", 120, utc(20, 6, 30)),
    ]
    assert all(w.fire_at.tzinfo is UTC and not w.due(JUNE_1) for w in waves)
    assert waves[1].job_key == f"reminder:{DIALOGUE_ID}:4320:20230620T0830Z"
    assert waves[0].job_key == f"nudge:{DIALOGUE_ID}:20230615T0830Z"


def test_plan_sends_a_missed_reminder_now_but_only_the_latest_and_nothing_once_begun() -> None:
    down_for_days = plan(seed_dialogue(), utc(19, 10))
    assert [(w.offset_minutes, w.due(utc(19, 10))) for w in down_for_days] == [(1440, True), (120, False)]
    assert plan(seed_dialogue(), utc(20, 8, 30)) == []
    assert plan(seed_dialogue(), utc(20, 9)) == []


def test_plan_nudges_now_between_the_nudge_time_and_the_deadline_and_never_after() -> None:
    nudges = [w for w in plan(seed_dialogue(), utc(15, 2)) if w.kind == "nudge"]
    assert len(nudges) == 1 and nudges[0].due(utc(15, 2))
    assert [w for w in plan(seed_dialogue(), utc(15, 8, 30)) if w.kind == "nudge"] == []


@pytest.mark.parametrize("dialogue", [
    seed_dialogue(starts_at=None), seed_dialogue(status="cancelled"), seed_dialogue(status="draft"),
    seed_dialogue(status="held"),
], ids=["time-tba", "cancelled", "draft", "held"])
def test_plan_has_nothing_without_a_time_or_for_a_dialogue_not_open_or_closed(dialogue: Dialogue) -> None:
    assert plan(dialogue, JUNE_1) == []


def test_a_closed_dialogue_still_reminds_the_registered() -> None:
    assert len(plan(seed_dialogue(status="closed"), JUNE_1)) == 4


# ---- sending -----------------------------------------------------------------------------------------------------

async def test_each_household_gets_each_reminder_exactly_once_across_reruns_and_restarts(commune: Commune) -> None:
    await commune.create()
    first = [await commune.household(h) for h in ("tan-dan", "tan-hung", "tan-hau")]
    await commune.start()
    assert await commune.outbox("reminder") == []
    commune.clock.now = utc(17, 8, 30)
    await commune.start()                                   # restart exactly at the 3-day mark
    await commune.start()                                   # and once more
    late = await commune.household("tan-chu")               # registers after the 3-day wave
    for wave in plan(await _dialogue(commune), commune.clock()):
        await run_wave(commune.db, commune.settings, wave, commune.clock(), commune.events)
    commune.clock.now = utc(19, 8, 30)
    scheduler = await commune.start()
    await scheduler.replan_all()                            # the periodic safety re-plan
    commune.clock.now = utc(20, 6, 30)
    await commune.start()

    reminded = await commune.reminded()
    three_days, tomorrow, two_hours = ("🔔 Còn 3 ngày nữa", "🔔 Ngày mai", "🔔 Còn 2 giờ nữa")
    for reg in first:
        assert [line.split(" là ")[0] for line in reminded[reg.person_id]] == [three_days, tomorrow, two_hours]
    assert [line.split(" là ")[0] for line in reminded[late.person_id]] == [tomorrow, two_hours]
    keys = [key for key, _, _ in await commune.outbox("reminder")]
    assert len(keys) == len(set(keys)) == 3 * 3 + 2
    assert commune.queued_events == 3


async def test_the_reminder_gives_time_and_place_as_vietnamese_write_them_with_attendance_buttons(
        commune: Commune) -> None:
    await commune.create()
    reg = await commune.household()
    english = await commune.household(language="en")
    commune.clock.now = utc(17, 8, 30)
    await commune.start()
    by_person = {person_id: message for _, person_id, message in await commune.outbox("reminder")}
    message = by_person[reg.person_id]
    assert message.text.startswith("🔔 Còn 3 ngày nữa là buổi đối thoại")
    assert "15 giờ 30 phút, thứ Ba, ngày 20/6/2023" in message.text
    assert PLACE in message.text and "https://maps.example/ttt" in message.text and reg.code in message.text
    assert message.choices == (Choice(f"att:{reg.id}:yes", "✅ Tôi sẽ đến"),
                               Choice(f"att:{reg.id}:no", "❌ Tôi không đến được"))
    assert by_person[english.person_id].text.startswith("🔔 The dialogue you registered for is in 3 days.")
    assert by_person[english.person_id].choices[1].label == "❌ I can't come"


async def test_a_reminder_missed_while_the_bot_was_down_is_sent_at_start(commune: Commune) -> None:
    await commune.create()
    reg = await commune.household()
    commune.clock.now = utc(19, 10)                          # down from before the 3-day mark until after the 1-day
    scheduler = await commune.start()
    assert (await commune.reminded())[reg.person_id] == ["🔔 Ngày mai là buổi đối thoại ông/bà đã đăng ký tham dự."]
    assert [w.offset_minutes for w in scheduler.planned()] == [120]


async def test_a_reminder_missed_while_down_is_skipped_once_the_dialogue_has_begun(commune: Commune) -> None:
    await commune.create()
    await commune.household()
    commune.clock.now = utc(20, 8, 45)
    scheduler = await commune.start()
    assert await commune.outbox("reminder") == []
    assert scheduler.planned() == []


async def test_a_household_that_cannot_come_gets_no_further_reminders(commune: Commune) -> None:
    await commune.create()
    staying, leaving = await commune.household(), await commune.household()
    commune.clock.now = utc(17, 8, 30)
    await commune.start()
    async with commune.db.transaction() as conn:
        await dialogues.answer_attendance(conn, commune.settings, leaving, False, commune.clock())
    commune.clock.now = utc(19, 8, 30)
    await commune.start()
    reminded = await commune.reminded()
    assert len(reminded[staying.person_id]) == 2 and len(reminded[leaving.person_id]) == 1


async def test_a_household_that_answered_yes_keeps_getting_reminders(commune: Commune) -> None:
    await commune.create()
    reg = await commune.household()
    async with commune.db.transaction() as conn:
        await dialogues.answer_attendance(conn, commune.settings, reg, True, commune.clock())
    commune.clock.now = utc(19, 8, 30)
    await commune.start()
    assert len((await commune.reminded())[reg.person_id]) == 1


async def test_the_nudge_goes_only_to_households_that_sent_no_question(commune: Commune) -> None:
    await commune.create()
    regs = [await commune.household("tan-dan") for _ in range(11)]
    assert regs[-1].status == "waitlisted"
    asked = regs[0]
    async with commune.db.transaction() as conn:
        await create_submission(conn, person_id=asked.person_id, hamlet_id="tan-dan", category="poor",
                                kind="question", field_id="giam-ngheo", topic_id="y-te", content="Thẻ BHYT?",
                                media_kind=None, media_file_id=None, channel="telegram", now=iso(commune.clock()))
    commune.clock.now = utc(14, 9)
    await commune.start()
    commune.clock.now = utc(15, 8)
    await commune.start()
    nudges = await commune.outbox("nudge")
    assert sorted(p for _, p, _ in nudges) == sorted(r.person_id for r in regs[1:])
    assert "trước 15 giờ 30 phút, thứ Năm, ngày 15/6/2023" in nudges[0][2].text


async def test_no_nudge_after_the_deadline(commune: Commune) -> None:
    await commune.create()
    await commune.household()
    commune.clock.now = utc(16, 9)
    await commune.start()
    assert await commune.outbox("nudge") == []


# ---- re-planning ---------------------------------------------------------------------------------------------------

async def test_a_time_change_replans_the_reminders_and_reminds_again_for_the_new_time(commune: Commune) -> None:
    await commune.create()
    reg = await commune.household()
    commune.clock.now = utc(17, 8, 30)
    scheduler = await commune.start()
    old_keys = {w.job_key for w in scheduler.planned()}
    await commune.changed("set_time", datetime(2023, 6, 27, 15, 30, tzinfo=TZ))
    waves = scheduler.planned(DIALOGUE_ID)
    assert [(w.kind, w.fire_at) for w in waves] == [
        ("nudge", utc(21, 8, 30)), ("reminder", utc(24, 8, 30)), ("reminder", utc(26, 8, 30)),
        ("reminder", utc(27, 6, 30))]
    assert not old_keys & {w.job_key for w in waves}
    assert {j.id for j in scheduler.scheduler.get_jobs()} == {w.job_key for w in waves} | {"reminders:safety"}
    commune.clock.now = utc(24, 8, 30)
    await commune.start()
    assert len((await commune.reminded())[reg.person_id]) == 2      # 3 days before the old and the new time


async def test_setting_a_time_that_was_to_be_announced_creates_the_jobs(commune: Commune) -> None:
    await commune.create(starts_at=None)
    await commune.household()
    scheduler = await commune.start()
    assert scheduler.planned() == []
    await commune.changed("set_time", STARTS)
    assert [w.fire_at for w in scheduler.planned() if w.kind == "reminder"] == [
        utc(17, 8, 30), utc(19, 8, 30), utc(20, 6, 30)]


async def test_a_cancelled_dialogue_has_no_jobs_and_sends_no_reminders(commune: Commune) -> None:
    await commune.create()
    await commune.household()
    scheduler = await commune.start()
    assert len(scheduler.planned()) == 4
    await commune.changed("set_status", "cancelled")
    assert scheduler.planned() == []
    assert [j.id for j in scheduler.scheduler.get_jobs()] == ["reminders:safety"]
    commune.clock.now = utc(19, 8, 30)
    await commune.start()
    assert await commune.outbox("reminder") == []


async def test_a_stale_wave_is_not_sent_after_the_time_changed(commune: Commune) -> None:
    await commune.create()
    await commune.household()
    stale = plan(await _dialogue(commune), JUNE_1)[1]
    async with commune.db.transaction() as conn:
        await dialogues.set_time(conn, commune.settings, DIALOGUE_ID, datetime(2023, 6, 27, 15, 30, tzinfo=TZ),
                                 commune.clock())
    assert await run_wave(commune.db, commune.settings, stale, utc(17, 8, 30), commune.events) == 0
    assert await commune.outbox("reminder") == []


async def test_the_real_scheduler_fires_a_wave_when_it_is_due(commune: Commune) -> None:
    now = system_clock()
    starts = now + timedelta(minutes=120, seconds=0.2)      # the 2-hour reminder is due in 0.2 s of real time
    async with commune.db.transaction() as conn:
        await dialogues.create(conn, commune.settings, spec(starts_at=starts, reminder_minutes=[120]), now)
    reg = await commune.household()
    scheduler = await commune.start(clock=system_clock)
    assert [w.kind for w in scheduler.planned()] == ["reminder"]
    for _ in range(30):
        if await commune.outbox("reminder"):
            break
        await asyncio.sleep(0.05)
    [(_key, person_id, message)] = await commune.outbox("reminder")
    assert person_id == reg.person_id and message.text.startswith("🔔 Còn 2 giờ nữa")
    assert scheduler.planned() == []


async def _dialogue(commune: Commune) -> Dialogue:
    async with commune.db.reading() as conn:
        return await dialogues.require(conn, DIALOGUE_ID)



async def test_a_failing_wave_is_logged_and_never_raises_into_the_scheduler(
        commune: Commune, caplog: pytest.LogCaptureFixture) -> None:
    await commune.create()
    scheduler = await commune.start()
    async with commune.db.transaction() as conn:   # a broken database: the wave's first query fails
        await conn.execute("ALTER TABLE jobs_done RENAME TO jobs_done_lost")

    await scheduler._fire(scheduler.planned()[0])
    assert "failed" in caplog.text and "no such table: jobs_done" in caplog.text

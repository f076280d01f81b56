"""What several workers on one PostgreSQL rely on, each shown with two ``PgDatabase`` objects (two workers' pools)
on one throwaway database: a household's turns one after the other, seats within the quota, outbox rows claimed by
one worker only, one shared send line, one leader."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.config import Settings
from bot.dialogues import service as dialogues
from bot.dialogues.service import DialogueSpec
from storage import outbox, people
from storage.conversations import load_session_for_turn
from storage.outbox import NewRow
from storage.pg import PgDatabase

NOW = datetime(2027, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
async def two_workers(pg_url: str) -> AsyncIterator[tuple[PgDatabase, PgDatabase]]:
    first, second = PgDatabase(pg_url, worker="worker-1"), PgDatabase(pg_url, worker="worker-2")
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


async def _speaker_turn(db: PgDatabase, entered: asyncio.Event, release: asyncio.Event | None) -> float:
    async def load(conn):
        return await load_session_for_turn(conn, "telegram", "77")

    async with db.turn(load) as (conn, _, _):
        entered.set()
        if release is not None:
            await release.wait()
        else:
            return time.monotonic()
        await people.create_person_with_identity(conn, channel="telegram", external_id="77", chat_id="77",
                                                 display_name=None, language="vi", now=NOW.isoformat())
    return time.monotonic()


async def test_two_workers_take_one_households_turns_one_after_the_other(two_workers) -> None:
    first, second = two_workers
    entered_first, entered_second, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
    one = asyncio.create_task(_speaker_turn(first, entered_first, release))
    await entered_first.wait()
    other = asyncio.create_task(_speaker_turn(second, entered_second, None))
    await asyncio.sleep(0.3)
    assert not entered_second.is_set()  # the second update waits for the first turn of the same household
    release.set()
    committed = await one
    assert await other >= committed
    async with second.reading() as conn:  # and it saw the person the first turn created: no second person
        assert len(await conn.execute_fetchall("SELECT id FROM persons")) == 1


async def test_seats_hold_under_registrations_on_two_workers_at_once(two_workers, settings: Settings) -> None:
    first, second = two_workers
    async with first.transaction() as conn:
        dialogue = await dialogues.create(conn, settings, DialogueSpec(
            id="mot-cho", title="Một chỗ", starts_at=NOW + timedelta(days=3), place="Nhà văn hóa",
            quotas={"tan-hau": 1}, status="open"), NOW, check_time=False)
        ids = [(await people.create_person_with_identity(
            conn, channel="telegram", external_id=str(n), chat_id=str(n), display_name=None, language="vi",
            now=NOW.isoformat())).id for n in (1, 2)]

    async def register(db: PgDatabase, person_id: int) -> str:
        async with db.transaction() as conn:
            registration = await dialogues.register(conn, dialogue, person_id, "tan-hau", NOW)
            await asyncio.sleep(0.2)  # both inside their transaction at once
            return registration.status

    statuses = await asyncio.gather(register(first, ids[0]), register(second, ids[1]))
    assert sorted(statuses) == ["registered", "waitlisted"]


async def test_two_workers_claim_different_outbox_rows(two_workers) -> None:
    first, second = two_workers
    async with first.transaction() as conn:
        await outbox.insert_many(conn, [NewRow(f"k{n}", "telegram", str(n), None, "test", 5, "{}", NOW.isoformat(),
                                               None, NOW.isoformat()) for n in range(20)])

    async def claim(db: PgDatabase) -> set[str]:
        async with db.transaction() as conn:
            claimed = await outbox.claim_due(conn, now=NOW.isoformat(), limit=5, channel="telegram",
                                             read=lambda payload: payload, worker=db.worker)
            await asyncio.sleep(0.2)  # hold the claim while the other worker claims
            return {row.chat_id for row, _ in claimed.rows}

    mine, theirs = await asyncio.gather(claim(first), claim(second))
    assert len(mine) == len(theirs) == 5 and not mine & theirs


async def test_rows_of_a_live_worker_are_not_marked_uncertain_by_another(two_workers) -> None:
    first, second = two_workers
    async with first.transaction() as conn:
        await outbox.insert_many(conn, [NewRow("k", "telegram", "1", None, "test", 5, "{}", NOW.isoformat(), None,
                                               NOW.isoformat())])
        await outbox.claim_due(conn, now=NOW.isoformat(), limit=1, channel="telegram", read=str, worker=first.worker)
    async with second.transaction() as conn:  # a worker starting up while the first one is sending
        assert await outbox.recover_in_flight(conn) == 0
    await first.close()                       # the first worker is gone: its row was in flight
    async with second.transaction() as conn:
        assert await outbox.recover_in_flight(conn) == 1


async def test_the_send_line_is_shared_by_every_worker(two_workers) -> None:
    first, second = two_workers
    moments = []
    for db in (first, second, first, second):
        async with db.transaction() as conn:
            moments.append(time.monotonic() + await outbox.take_send_slot(conn, "telegram", 0.1))
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert all(gap == pytest.approx(0.1, abs=0.02) for gap in gaps), gaps  # one line: 0.1 s apart, whoever asks


async def test_one_leader_and_another_takes_over_when_it_is_gone(two_workers) -> None:
    first, second = two_workers
    lead, follow = first.leadership(), second.leadership()
    assert await lead.try_lead() and not await follow.try_lead()
    assert await lead.holds() and not await follow.holds()
    await lead.close()  # the leader's connection ends (a stopped or killed worker)
    assert await follow.try_lead() and await follow.holds()
    await follow.close()

"""Handled-update ids are kept a week (a redelivery after a crash comes within minutes), then forgotten: read in a
snapshot and deleted by key a few hundred per transaction, since the table has no index on time (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli.runtime import PRUNE_BATCH, Services
from bot.core.clock import FrozenClock, iso
from bot.core.config import Settings
from storage import Database
from storage.conversations import first_delivery

NOW = datetime(2027, 6, 1, 2, 0, tzinfo=UTC)


async def test_ids_handled_over_a_week_ago_are_forgotten_in_batches_and_recent_ones_kept(
        settings: Settings, tmp_path: Path) -> None:
    old = 2 * PRUNE_BATCH + 3  # three transactions' worth
    async with Database(tmp_path / "p.sqlite3") as db:
        async with db.transaction() as conn:
            for n in range(old):
                assert await first_delivery(conn, "telegram", str(n), iso(NOW - timedelta(days=8)))
            for n in range(5):
                assert await first_delivery(conn, "zalo", f"z{n}", iso(NOW - timedelta(days=6)))
        services = Services(settings, db, clock=FrozenClock(NOW))
        assert await services.prune_events() == old
        assert await services.prune_events() == 0
        async with db.transaction() as conn:
            assert await first_delivery(conn, "telegram", "0", iso(NOW)), "a forgotten id is new again"
            assert not await first_delivery(conn, "zalo", "z0", iso(NOW)), "a recent id is still remembered"

"""Shared by the broadcast tests: households and an organizer written straight into a real database."""

from __future__ import annotations

import json
from datetime import datetime

from bot.core.clock import iso
from bot.staff import roles
from storage import Connection, Database
from storage.people import create_person_with_identity, mark_blocked, set_consent, update_profile

ORGANIZER_ID = "9001"   # Phạm Thanh Sang, who signed the plan of seed 000


async def add_household(conn: Connection, chat_id: int | str, now: datetime, *, hamlet: str = "tan-hau",
                        category: str = "poor", name: str = "Nguyễn Văn Bình", consent: bool = True,
                        blocked: bool = False, language: str = "vi") -> int:
    """A household that talked to the bot on Telegram (its chat id is its user id); returns its person id."""
    person = await create_person_with_identity(conn, channel="telegram", external_id=str(chat_id),
                                               chat_id=str(chat_id), display_name=name, language=language,
                                               now=iso(now))
    await update_profile(conn, person.id, full_name=name, hamlet_id=hamlet, category=category)
    if consent:
        await set_consent(conn, person.id, iso(now))
    if blocked:
        await mark_blocked(conn, "telegram", str(chat_id), iso(now))
    return person.id


async def add_households(db: Database, now: datetime, first: int, count: int, **kwargs: object) -> list[int]:
    async with db.transaction() as conn:
        return [await add_household(conn, first + n, now, **kwargs) for n in range(count)]  # type: ignore[arg-type]


async def add_organizer(conn: Connection, now: datetime, user_id: str = ORGANIZER_ID) -> int:
    """Phạm Thanh Sang: an organizer who has talked to the bot (agreed, hamlet Tân Dân); returns the person id."""
    person_id = await add_household(conn, user_id, now, hamlet="tan-dan", category="other", name="Phạm Thanh Sang")
    await roles.grant(conn, "telegram", user_id, "organizer", "Phạm Thanh Sang", iso(now))
    return person_id


async def outbox_rows(db: Database, group_key: str) -> list[tuple[str, str, str]]:
    """(chat id, status, payload) of a group's outbox rows, by chat."""
    async with db.reading() as conn, conn.execute(
        "SELECT chat_id, status, payload FROM outbox WHERE group_key = ? ORDER BY CAST(chat_id AS INTEGER)",
        (group_key,),
    ) as cur:
        return [tuple(row) for row in await cur.fetchall()]  # type: ignore[misc]


async def notices(db: Database, chat_id: str) -> list[str]:
    """The texts queued for one chat outside any group (progress notices, tallies), oldest first."""
    async with db.reading() as conn, conn.execute(
        "SELECT dedupe_key, payload FROM outbox WHERE chat_id = ? AND group_key IS NULL ORDER BY id", (chat_id,),
    ) as cur:
        rows = await cur.fetchall()
    return [json.loads(payload)["text"] for _, payload in rows]

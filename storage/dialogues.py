"""Dialogues, their hamlets and quotas, registrations and the eligibility roster (SQL only; rules live in bot/)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.db import Connection

_DIALOGUE_COLS = ("id, title, starts_at, place, map_url, status, deadline_days, reminder_minutes, requires_roster,"
                  " contact")
_REG_COLS = ("id, dialogue_id, person_id, hamlet_id, status, code, attending, roster_id, created_at,"
             " checked_in_at")
_ROSTER_COLS = "id, dialogue_id, household_code, full_name, hamlet_id, category, phone"
_ROSTER_BATCH = 5000


@dataclass(slots=True)
class Dialogue:
    id: str
    title: str
    starts_at: datetime | None
    place: str
    map_url: str | None
    status: str
    deadline_days: int
    reminder_minutes: list[int]
    requires_roster: bool
    contact: str

    @property
    def deadline(self) -> datetime | None:
        """When the compiled questions go to the organisers (seed 002: five days before)."""
        return self.starts_at - timedelta(days=self.deadline_days) if self.starts_at else None


@dataclass(slots=True)
class Registration:
    id: int
    dialogue_id: str
    person_id: int
    hamlet_id: str
    status: str
    code: str
    attending: str | None
    roster_id: int | None
    created_at: str
    checked_in_at: str | None


@dataclass(slots=True)
class SeatCount:
    hamlet_id: str
    quota: int
    registered: int
    waitlisted: int
    checked_in: int


@dataclass(slots=True)
class RosterEntry:
    id: int
    dialogue_id: str
    household_code: str
    full_name: str
    hamlet_id: str
    category: str | None
    phone: str | None


def _dialogue(row: Any) -> Dialogue:
    return Dialogue(
        id=row[0], title=row[1], starts_at=datetime.fromisoformat(row[2]) if row[2] else None, place=row[3],
        map_url=row[4], status=row[5], deadline_days=row[6], reminder_minutes=json.loads(row[7]),
        requires_roster=bool(row[8]), contact=row[9],
    )


def _registration(row: Any) -> Registration:
    return Registration(*row)


async def insert_dialogue(conn: Connection, d: Dialogue, now: str) -> None:
    await conn.execute(
        f"INSERT INTO dialogues ({_DIALOGUE_COLS}, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (d.id, d.title, d.starts_at.isoformat() if d.starts_at else None, d.place, d.map_url, d.status,
         d.deadline_days, json.dumps(d.reminder_minutes), int(d.requires_roster), d.contact, now, now),
    )


async def get_dialogue(conn: Connection, dialogue_id: str) -> Dialogue | None:
    async with conn.execute(f"SELECT {_DIALOGUE_COLS} FROM dialogues WHERE id = ?", (dialogue_id,)) as cur:
        row = await cur.fetchone()
    return _dialogue(row) if row else None


async def list_dialogues(conn: Connection, statuses: tuple[str, ...] | None = None) -> list[Dialogue]:
    sql = f"SELECT {_DIALOGUE_COLS} FROM dialogues"
    params: tuple = ()
    if statuses:
        sql += f" WHERE status IN ({', '.join('?' * len(statuses))})"
        params = statuses
    async with conn.execute(sql + " ORDER BY starts_at IS NULL, starts_at, id", params) as cur:
        return [_dialogue(row) for row in await cur.fetchall()]


async def dialogues_for_hamlet(conn: Connection, hamlet_id: str, statuses: tuple[str, ...]) -> list[Dialogue]:
    marks = ", ".join("?" * len(statuses))
    async with conn.execute(
        f"SELECT {', '.join('d.' + c.strip() for c in _DIALOGUE_COLS.split(','))} FROM dialogues d"
        f" JOIN dialogue_hamlets h ON h.dialogue_id = d.id WHERE h.hamlet_id = ? AND d.status IN ({marks})"
        " ORDER BY d.starts_at IS NULL, d.starts_at",
        (hamlet_id, *statuses),
    ) as cur:
        return [_dialogue(row) for row in await cur.fetchall()]


async def update_dialogue(conn: Connection, dialogue_id: str, now: str, **values: object) -> None:
    allowed = {"title", "starts_at", "place", "map_url", "status", "deadline_days", "requires_roster", "contact",
               "reminder_minutes"}
    if set(values) - allowed:
        raise ValueError(f"not dialogue columns: {sorted(set(values) - allowed)}")
    assignments = ", ".join(f"{col} = ?" for col in values)
    await conn.execute(f"UPDATE dialogues SET {assignments}, updated_at = ? WHERE id = ?",
                       (*values.values(), now, dialogue_id))


async def set_quota(conn: Connection, dialogue_id: str, hamlet_id: str, quota: int) -> None:
    await conn.execute(
        "INSERT INTO dialogue_hamlets (dialogue_id, hamlet_id, quota) VALUES (?, ?, ?)"
        " ON CONFLICT(dialogue_id, hamlet_id) DO UPDATE SET quota = excluded.quota",
        (dialogue_id, hamlet_id, quota),
    )


async def quotas(conn: Connection, dialogue_id: str) -> dict[str, int]:
    async with conn.execute(
        "SELECT hamlet_id, quota FROM dialogue_hamlets WHERE dialogue_id = ? ORDER BY rowid", (dialogue_id,)
    ) as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


async def seat_counts(conn: Connection, dialogue_id: str) -> list[SeatCount]:
    async with conn.execute(
        "SELECT h.hamlet_id, h.quota,"
        " COUNT(r.id) FILTER (WHERE r.status = 'registered'),"
        " COUNT(r.id) FILTER (WHERE r.status = 'waitlisted'),"
        " COUNT(r.id) FILTER (WHERE r.checked_in_at IS NOT NULL)"
        " FROM dialogue_hamlets h LEFT JOIN registrations r"
        " ON r.dialogue_id = h.dialogue_id AND r.hamlet_id = h.hamlet_id"
        " WHERE h.dialogue_id = ? GROUP BY h.hamlet_id, h.quota, h.rowid ORDER BY h.rowid",
        (dialogue_id,),
    ) as cur:
        return [SeatCount(*row) for row in await cur.fetchall()]


async def hold_seats(conn: Connection, dialogue_id: str, hamlet_id: str) -> int | None:
    """The hamlet's quota, its row locked until the transaction ends (PostgreSQL: several workers register side by
    side, and seats are counted one registration at a time; SQLite's write lock does it already). None when the
    hamlet is not in the dialogue."""
    lock = " FOR UPDATE" if conn.dialect == "postgresql" else ""
    rows = await conn.execute_fetchall(
        f"SELECT quota FROM dialogue_hamlets WHERE dialogue_id = ? AND hamlet_id = ?{lock}", (dialogue_id, hamlet_id))
    return int(rows[0][0]) if rows else None


async def count_registered(conn: Connection, dialogue_id: str, hamlet_id: str) -> int:
    async with conn.execute(
        "SELECT COUNT(*) FROM registrations WHERE dialogue_id = ? AND hamlet_id = ? AND status = 'registered'",
        (dialogue_id, hamlet_id),
    ) as cur:
        return int((await cur.fetchall())[0][0])


async def find_registration(conn: Connection, dialogue_id: str, person_id: int) -> Registration | None:
    async with conn.execute(
        f"SELECT {_REG_COLS} FROM registrations WHERE dialogue_id = ? AND person_id = ?", (dialogue_id, person_id)
    ) as cur:
        row = await cur.fetchone()
    return _registration(row) if row else None


async def registration_by_id(conn: Connection, registration_id: int) -> Registration | None:
    async with conn.execute(f"SELECT {_REG_COLS} FROM registrations WHERE id = ?", (registration_id,)) as cur:
        row = await cur.fetchone()
    return _registration(row) if row else None


async def registration_by_code(conn: Connection, code: str) -> Registration | None:
    async with conn.execute(f"SELECT {_REG_COLS} FROM registrations WHERE code = ?", (code,)) as cur:
        row = await cur.fetchone()
    return _registration(row) if row else None


async def registrations_of_person(conn: Connection, person_id: int) -> list[Registration]:
    async with conn.execute(
        f"SELECT {_REG_COLS} FROM registrations WHERE person_id = ? ORDER BY id", (person_id,)
    ) as cur:
        return [_registration(row) for row in await cur.fetchall()]


async def registrations(conn: Connection, dialogue_id: str, status: str) -> list[Registration]:
    async with conn.execute(
        f"SELECT {_REG_COLS} FROM registrations WHERE dialogue_id = ? AND status = ? ORDER BY id",
        (dialogue_id, status),
    ) as cur:
        return [_registration(row) for row in await cur.fetchall()]


async def first_waitlisted(conn: Connection, dialogue_id: str, hamlet_id: str) -> Registration | None:
    async with conn.execute(
        f"SELECT {_REG_COLS} FROM registrations WHERE dialogue_id = ? AND hamlet_id = ? AND status = 'waitlisted'"
        " ORDER BY created_at, id LIMIT 1",
        (dialogue_id, hamlet_id),
    ) as cur:
        row = await cur.fetchone()
    return _registration(row) if row else None


async def insert_registration(
    conn: Connection, *, dialogue_id: str, person_id: int, hamlet_id: str, status: str, code: str,
    roster_id: int | None, now: str,
) -> Registration:
    cur = await conn.execute(
        "INSERT INTO registrations (dialogue_id, person_id, hamlet_id, status, code, roster_id, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (dialogue_id, person_id, hamlet_id, status, code, roster_id, now, now),
    )
    new_id = int((await cur.fetchall())[0][0])
    return Registration(new_id, dialogue_id, person_id, hamlet_id, status, code, None, roster_id, now, None)


async def update_registration(conn: Connection, registration_id: int, now: str, **values: object) -> None:
    allowed = {"status", "attending", "hamlet_id", "roster_id", "checked_in_at", "checked_in_by", "created_at"}
    if set(values) - allowed:
        raise ValueError(f"not registration columns: {sorted(set(values) - allowed)}")
    assignments = ", ".join(f"{col} = ?" for col in values)
    await conn.execute(f"UPDATE registrations SET {assignments}, updated_at = ? WHERE id = ?",
                       (*values.values(), now, registration_id))


async def code_exists(conn: Connection, code: str) -> bool:
    async with conn.execute("SELECT 1 FROM registrations WHERE code = ?", (code,)) as cur:
        return await cur.fetchone() is not None


async def roster_match(
    conn: Connection, dialogue_id: str, *, phone: str | None = None, household_code: str | None = None,
) -> RosterEntry | None:
    if phone:
        sql, value = "phone = ?", phone
    elif household_code:
        sql, value = "lower(household_code) = lower(?)", household_code  # ASCII case, as NOCASE
    else:
        return None
    async with conn.execute(
        "SELECT id, dialogue_id, household_code, full_name, hamlet_id, category, phone FROM roster_entries"
        f" WHERE dialogue_id = ? AND {sql} ORDER BY id LIMIT 1",
        (dialogue_id, value),
    ) as cur:
        row = await cur.fetchone()
    return RosterEntry(*row) if row else None


async def roster_size(conn: Connection, dialogue_id: str) -> int:
    async with conn.execute("SELECT COUNT(*) FROM roster_entries WHERE dialogue_id = ?", (dialogue_id,)) as cur:
        return int((await cur.fetchall())[0][0])


async def roster_entries(conn: Connection, dialogue_id: str) -> list[RosterEntry]:
    async with conn.execute(
        f"SELECT {_ROSTER_COLS} FROM roster_entries WHERE dialogue_id = ?", (dialogue_id,),
    ) as cur:
        return [RosterEntry(*row) for row in await cur.fetchall()]


async def roster_page(conn: Connection, dialogue_id: str, after_id: int, limit: int) -> list[RosterEntry]:
    """Up to ``limit`` roster entries with an id above ``after_id``, in id order (to read a large roster in short
    reads)."""
    async with conn.execute(
        f"SELECT {_ROSTER_COLS} FROM roster_entries WHERE dialogue_id = ? AND id > ? ORDER BY id LIMIT ?",
        (dialogue_id, after_id, limit),
    ) as cur:
        return [RosterEntry(*row) for row in await cur.fetchall()]


async def upsert_roster(conn: Connection, dialogue_id: str,
                        rows: Sequence[tuple[str, str, str, str | None, str | None]], now: str) -> None:
    """Rows of (household code, name, hamlet, category, phone), matched on (dialogue, household code)."""
    sql = ("INSERT INTO roster_entries (dialogue_id, household_code, full_name, hamlet_id, category, phone,"
           " imported_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dialogue_id, household_code) DO UPDATE SET"
           " full_name = excluded.full_name, hamlet_id = excluded.hamlet_id, category = excluded.category,"
           " phone = excluded.phone, imported_at = excluded.imported_at")
    for start in range(0, len(rows), _ROSTER_BATCH):
        await conn.executemany(sql, [(dialogue_id, code, *values, now)
                                     for code, *values in rows[start:start + _ROSTER_BATCH]])

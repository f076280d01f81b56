"""The desk's read-only views for dialogues, the door, the roster, announcements and the overview (SQL only): who
registered with their names, what each reminder wave did, roster search, a broadcast's outcome per channel, question
counts. Who may see which hamlet is decided in bot/ and the page, not here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Connection


@dataclass(frozen=True, slots=True)
class Registrant:
    id: int
    hamlet_id: str
    status: str
    code: str
    attending: str | None
    created_at: str
    checked_in_at: str | None
    full_name: str | None
    phone: str | None
    roster_id: int | None


@dataclass(frozen=True, slots=True)
class RosterHit:
    id: int
    household_code: str
    full_name: str
    hamlet_id: str
    category: str | None
    phone: str | None
    registration: str | None   # the household's registration status, when it registered


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


async def registrants(conn: Connection, dialogue_id: str, hamlets: Sequence[str]) -> list[Registrant]:
    """The dialogue's registrations in these hamlets, seated first, then the waitlist in its order."""
    if not hamlets:
        return []
    async with conn.execute(
        "SELECT r.id, r.hamlet_id, r.status, r.code, r.attending, r.created_at, r.checked_in_at, p.full_name,"
        " p.phone, r.roster_id FROM registrations r LEFT JOIN persons p ON p.id = r.person_id"
        f" WHERE r.dialogue_id = ? AND r.hamlet_id IN ({_marks(hamlets)})"
        " ORDER BY r.hamlet_id, CASE r.status WHEN 'registered' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END,"
        " r.created_at, r.id",
        (dialogue_id, *hamlets),
    ) as cur:
        return [Registrant(*row) for row in await cur.fetchall()]


async def wave_outcomes(conn: Connection, dialogue_id: str) -> dict[str, dict[str, int]]:
    """For every reminder or nudge wave of the dialogue already queued: its messages by status."""
    found: dict[str, dict[str, int]] = {}
    async with conn.execute(
        "SELECT dedupe_key, status FROM outbox WHERE dedupe_key LIKE ? OR dedupe_key LIKE ?",
        (f"reminder:{dialogue_id}:%", f"nudge:{dialogue_id}:%"),
    ) as cur:
        for key, status in await cur.fetchall():
            wave = key.rsplit(":", 1)[0]
            counts = found.setdefault(wave, {})
            counts[status] = counts.get(status, 0) + 1
    return found


async def waves_done(conn: Connection, dialogue_id: str) -> dict[str, str]:
    """The dialogue's waves marked done (job key → when)."""
    async with conn.execute(
        "SELECT job_key, done_at FROM jobs_done WHERE job_key LIKE ? OR job_key LIKE ? ORDER BY done_at",
        (f"reminder:{dialogue_id}:%", f"nudge:{dialogue_id}:%"),
    ) as cur:
        return {key: at for key, at in await cur.fetchall()}


async def roster_search(conn: Connection, dialogue_id: str, *, limit: int, after_id: int = 0
                        ) -> list[RosterHit]:
    """A page of the roster (by id), each entry with the registration that used it, if any."""
    async with conn.execute(
        "SELECT e.id, e.household_code, e.full_name, e.hamlet_id, e.category, e.phone,"
        " (SELECT r.status FROM registrations r WHERE r.roster_id = e.id AND r.dialogue_id = e.dialogue_id"
        "  ORDER BY r.status = 'cancelled', r.id DESC LIMIT 1)"
        " FROM roster_entries e WHERE e.dialogue_id = ? AND e.id > ? ORDER BY e.id LIMIT ?",
        (dialogue_id, after_id, limit),
    ) as cur:
        return [RosterHit(*row) for row in await cur.fetchall()]


async def by_channel(conn: Connection, group_key: str) -> dict[str, dict[str, int]]:
    """A broadcast's messages by channel, then by status."""
    found: dict[str, dict[str, int]] = {}
    async with conn.execute(
        "SELECT channel, status, COUNT(*) FROM outbox WHERE group_key = ? GROUP BY channel, status", (group_key,)
    ) as cur:
        for channel, status, count in await cur.fetchall():
            found.setdefault(channel, {})[status] = count
    return found


async def question_counts(conn: Connection, hamlets: Sequence[str], column: str) -> dict[str, int]:
    """Submissions (not withdrawn) from these hamlets, counted by ``column`` (field_id, topic_id or hamlet_id)."""
    if column not in ("field_id", "topic_id", "hamlet_id") or not hamlets:
        return {}
    async with conn.execute(
        f"SELECT {column}, COUNT(*) FROM submissions WHERE status != 'withdrawn'"
        f" AND hamlet_id IN ({_marks(hamlets)}) GROUP BY {column}",
        tuple(hamlets),
    ) as cur:
        return {key: count for key, count in await cur.fetchall() if key}


async def unanswered_by_topic(conn: Connection, hamlets: Sequence[str]) -> dict[str, int]:
    """Questions still waiting for an answer (new, later, forwarded) by topic."""
    if not hamlets:
        return {}
    async with conn.execute(
        "SELECT topic_id, COUNT(*) FROM submissions WHERE status IN ('new', 'later', 'forwarded')"
        f" AND hamlet_id IN ({_marks(hamlets)}) GROUP BY topic_id",
        tuple(hamlets),
    ) as cur:
        return {key: count for key, count in await cur.fetchall() if key}

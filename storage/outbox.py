"""The outbox table: put rows in, claim what is due, record how each send went, count what happened.

Rows are queued through ``bot.outbox.enqueue``. Storage knows no message model: a row carries its payload as the
JSON text it is stored as, and times come in as ISO strings (``bot.core.clock.iso``); reading a payload back is the
sender's business (``claim_due`` takes its reader). A row's life: ``pending`` → ``sending`` (claimed, one attempt
counted) → ``sent`` | ``pending`` again (retry later) | ``failed`` | ``blocked``; a pending row for a chat whose
identity blocked the bot becomes ``skipped`` when claimed; a row found in ``sending`` at start-up was being sent
when the process died and becomes ``uncertain`` — it is never sent again, because a household must not get the
same reminder twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from storage.db import Connection

T = TypeVar("T")
STATUSES = ("pending", "sending", "sent", "failed", "blocked", "uncertain", "skipped")
OVERFETCH = 2  # claim reads this many rows per wanted row: a chat's rows beyond its first are passed over


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    channel: str
    chat_id: str
    person_id: int | None
    kind: str
    priority: int
    payload: str  # the JSON text as stored
    attempts: int  # including the attempt this claim is for
    group_key: str | None
    dedupe_key: str = ""
    fields: str | None = None  # JSON of the values a platform template (ZNS) is filled from


@dataclass(slots=True)
class Claim(Generic[T]):
    rows: list[tuple[OutboxRow, T]] = field(default_factory=list)  # each row with what its payload reads as
    skipped: int = 0   # rows for blocked chats, set aside as 'skipped'
    broken: int = 0    # rows whose payload could not be read, set to 'failed'


class NewRow(NamedTuple):
    dedupe_key: str
    channel: str
    chat_id: str
    person_id: int | None
    kind: str
    priority: int
    payload: str
    not_before: str
    group_key: str | None
    created_at: str
    fields: str | None = None


_INSERT = (
    "INSERT OR IGNORE INTO outbox (dedupe_key, channel, chat_id, person_id, kind, priority, payload,"
    " not_before, group_key, created_at, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def insert(conn: Connection, row: NewRow) -> bool:
    """False when a row with this key is there already (it is left as it was)."""
    cur = await conn.execute(_INSERT, row)
    return cur.rowcount == 1


# PostgreSQL: the rows as arrays in one statement, so that its answer counts the new ones (asyncpg's executemany
# counts nothing).
_INSERT_ARRAYS = (
    "INSERT INTO outbox (dedupe_key, channel, chat_id, person_id, kind, priority, payload, not_before, group_key,"
    " created_at, fields) SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::int[],"
    " ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) ON CONFLICT DO NOTHING"
)


async def insert_many(conn: Connection, rows: Sequence[NewRow]) -> int:
    """Many rows in one statement; returns how many were new."""
    if conn.dialect == "postgresql":
        if not rows:
            return 0
        cur = await conn.execute(_INSERT_ARRAYS, [list(column) for column in zip(*rows, strict=True)])
        return cur.rowcount
    before = conn.total_changes
    await conn.executemany(_INSERT, rows)
    return conn.total_changes - before


async def claim_due(
    conn: Connection, *, now: str, limit: int, channel: str, read: Callable[[str], T | None],
    busy: Collection[str] = (), worker: str | None = None,
) -> Claim[T]:
    """Mark up to ``limit`` due rows of a channel as being sent, most urgent first, at most one per chat.

    ``read`` turns a payload into what the sender sends, or None when it cannot be read: such a row is marked
    failed at once (counted as ``broken``) and takes no place. ``busy`` are chat ids that must not get a message
    now (one is in flight, or the chat was written to less than its interval ago): their rows stay pending and
    never hold up other chats. ``worker`` names the claiming process (several share a PostgreSQL database).
    Must run in a write transaction.
    """
    claim: Claim[T] = Claim()
    excluded = set(busy)
    priority = await _next_priority(conn, channel, None)
    while priority is not None and len(claim.rows) < limit:
        wanted = (limit - len(claim.rows)) * OVERFETCH
        found = await _due_rows(conn, channel, priority, now, wanted, excluded)
        for raw in found:
            await _take(conn, raw, claim, excluded, limit, read)
        if len(found) < wanted:  # this priority has nothing more that may go now
            priority = await _next_priority(conn, channel, priority)
    await _mark_sending(conn, [row.id for row, _ in claim.rows], now, worker)
    return claim


async def _take(
    conn: Connection, raw: Any, claim: Claim[T], excluded: set[str], limit: int, read: Callable[[str], T | None],
) -> None:
    if raw["blocked"]:
        await _set_status(conn, raw["id"], "skipped", "blocked", from_status="pending")
        claim.skipped += 1
        return
    if raw["chat_id"] in excluded or len(claim.rows) >= limit:
        return
    content = read(raw["payload"])
    if content is None:
        await _set_status(conn, raw["id"], "failed", "unreadable payload", from_status="pending")
        claim.broken += 1
        return
    excluded.add(raw["chat_id"])
    claim.rows.append((_row(raw), content))


async def _next_priority(conn: Connection, channel: str, after: int | None) -> int | None:
    """The next priority with pending rows (an index seek: priorities are few, rows may be many)."""
    sql = "SELECT MIN(priority) FROM outbox WHERE channel = ? AND status = 'pending'"
    params: tuple[object, ...] = (channel,)
    if after is not None:
        sql, params = sql + " AND priority > ?", (channel, after)
    async with conn.execute(sql, params) as cur:
        (value,) = await cur.fetchone()
    return value


async def _due_rows(
    conn: Connection, channel: str, priority: int, now: str, limit: int, excluded: Collection[str],
) -> list[Any]:
    postgres = conn.dialect == "postgresql"
    sql = (
        "SELECT o.id, o.channel, o.chat_id, o.person_id, o.kind, o.priority, o.payload, o.attempts, o.group_key,"
        " o.dedupe_key, o.fields,"
        " EXISTS (SELECT 1 FROM identities i WHERE i.channel = o.channel AND i.chat_id = o.chat_id"
        " AND i.blocked_at IS NOT NULL) AS blocked"
        f" FROM outbox o {'' if postgres else 'INDEXED BY outbox_claim'}"
        " WHERE o.channel = ? AND o.status = 'pending' AND o.priority = ? AND o.not_before <= ?"
    )
    if excluded:
        sql += f" AND o.chat_id NOT IN ({_marks(excluded)})"
    sql += " ORDER BY o.not_before, o.id LIMIT ?"
    if postgres:  # several workers claim side by side: a row another one is claiming is skipped, never shared
        sql += " FOR UPDATE OF o SKIP LOCKED"
    async with conn.execute(sql, (channel, priority, now, *excluded, limit)) as cur:
        return list(await cur.fetchall())


def _row(raw: Any) -> OutboxRow:
    return OutboxRow(
        id=raw["id"], channel=raw["channel"], chat_id=raw["chat_id"], person_id=raw["person_id"], kind=raw["kind"],
        priority=raw["priority"], payload=raw["payload"], attempts=raw["attempts"] + 1, group_key=raw["group_key"],
        dedupe_key=raw["dedupe_key"], fields=raw["fields"],
    )


async def _mark_sending(conn: Connection, ids: list[int], now: str, worker: str | None) -> None:
    if ids:
        await conn.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_at = ?, claimed_by = ?"
            f" WHERE id IN ({_marks(ids)}) AND status = 'pending'",
            (now, worker, *ids),
        )


async def mark_sent(conn: Connection, row_id: int, now: str, *, route: str | None = None,
                    platform_msg_id: str | None = None) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL, route = COALESCE(?, route),"
        " platform_msg_id = COALESCE(?, platform_msg_id) WHERE id = ? AND status = 'sending'",
        (now, route, platform_msg_id or None, row_id),
    )


async def mark_waiting(conn: Connection, row_id: int, not_before: str, error: str, *,
                       route: str | None = "wait") -> None:
    """No way to reach the chat now: back to pending, the attempt not counted, looked at again at ``not_before``.
    Route 'wait' (outside the interaction window) also goes as soon as the household writes (``note_inbound``)."""
    await conn.execute(
        "UPDATE outbox SET status = 'pending', route = ?, not_before = ?, last_error = ?,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = ? AND status = 'sending'",
        (route, not_before, error, row_id),
    )


async def mark_retry(conn: Connection, row_id: int, not_before: str, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ? WHERE id = ? AND status = 'sending'",
        (not_before, error, row_id),
    )


async def mark_blocked(conn: Connection, row_id: int, error: str = "blocked") -> None:
    await _set_status(conn, row_id, "blocked", error)


async def mark_failed(conn: Connection, row_id: int, error: str) -> None:
    await _set_status(conn, row_id, "failed", error)


async def _set_status(
    conn: Connection, row_id: int, status: str, error: str, *, from_status: str = "sending",
) -> None:
    await conn.execute(
        "UPDATE outbox SET status = ?, last_error = ? WHERE id = ? AND status = ?", (status, error, row_id, from_status)
    )


async def in_flight_window(conn: Connection) -> tuple[str, str] | None:
    """When the rows now in 'sending' were claimed (first, last), or None if there are none."""
    async with conn.execute(
        "SELECT MIN(claimed_at), MAX(claimed_at), COUNT(*) FROM outbox WHERE status = 'sending'"
    ) as cur:
        first, last, count = await cur.fetchone()
    return (first or "?", last or "?") if count else None


_GONE = (
    "UPDATE outbox SET status = 'uncertain', last_error = 'interrupted while sending' WHERE status = 'sending'"
)
# PostgreSQL: a worker's connections carry its name (storage.pg.WORKER): its rows are left alone while it lives.
_GONE_WORKERS = (
    f"{_GONE} AND (claimed_by IS NULL OR claimed_by NOT IN"
    " (SELECT application_name FROM pg_stat_activity WHERE datname = current_database()))"
)


async def recover_in_flight(conn: Connection) -> int:
    """Rows a dead process left in 'sending' may or may not have arrived: never resend them. At start-up, and (with
    several workers) on the leader every minute: only the rows of workers that are gone."""
    cur = await conn.execute(_GONE_WORKERS if conn.dialect == "postgresql" else _GONE)
    return cur.rowcount


_PACE = (
    "UPDATE send_pace SET next_at = GREATEST(next_at, extract(epoch FROM clock_timestamp())) + ?"
    " WHERE channel = ? RETURNING next_at - ? - extract(epoch FROM clock_timestamp())"
)


async def take_send_slot(conn: Connection, channel: str, interval: float) -> float:
    """The next free moment on the channel's shared line (one send per ``interval`` seconds across every worker,
    by the database server's clock): seconds to wait before sending (0 when it is free now). PostgreSQL only."""
    await conn.execute("INSERT INTO send_pace (channel) VALUES (?) ON CONFLICT DO NOTHING", (channel,))
    rows = await conn.execute_fetchall(_PACE, (interval, channel, interval))
    return max(0.0, float(rows[0][0]))


async def next_due(conn: Connection, channel: str) -> datetime | None:
    """The earliest not_before of a pending row on this channel (may be in the past)."""
    async with conn.execute(
        "SELECT MIN(not_before) FROM outbox WHERE channel = ? AND status = 'pending'", (channel,)
    ) as cur:
        (value,) = await cur.fetchone()
    return datetime.fromisoformat(value) if value else None


async def tally(conn: Connection, group_key: str | None = None) -> dict[str, int]:
    """Rows by status, every status present (0 when none): of one group (a broadcast, a wave) or of all rows."""
    where, params = ("WHERE group_key = ?", (group_key,)) if group_key is not None else ("", ())
    async with conn.execute(f"SELECT status, COUNT(*) FROM outbox {where} GROUP BY status", params) as cur:
        found = {status: count for status, count in await cur.fetchall()}
    return {status: found.get(status, 0) for status in STATUSES}


async def tally_by_group(conn: Connection) -> dict[str, dict[str, int]]:
    """Rows by status for every group key (rows without a group are left out)."""
    groups: dict[str, dict[str, int]] = {}
    async with conn.execute(
        "SELECT group_key, status, COUNT(*) FROM outbox WHERE group_key IS NOT NULL GROUP BY group_key, status"
    ) as cur:
        for group_key, status, count in await cur.fetchall():
            groups.setdefault(group_key, dict.fromkeys(STATUSES, 0))[status] = count
    return groups


async def unsent_payloads(conn: Connection) -> list[str]:
    """The payloads of the rows still to go out (pending, or being sent now)."""
    async with conn.execute("SELECT payload FROM outbox WHERE status IN ('pending', 'sending')") as cur:
        return [row[0] for row in await cur.fetchall()]


async def get_row_status(conn: Connection, key: str) -> tuple[str, int, str | None] | None:
    """(status, attempts, last_error) of the row with this de-duplication key."""
    async with conn.execute("SELECT status, attempts, last_error FROM outbox WHERE dedupe_key = ?", (key,)) as cur:
        row = await cur.fetchone()
    return (row[0], row[1], row[2]) if row else None


# ---- the interaction window (channels where a household's message opens a window for free replies) ---------------


@dataclass(frozen=True, slots=True)
class Window:
    last_inbound_at: str  # ISO time the household last wrote
    sent_since: int       # messages sent to it since


async def note_inbound(conn: Connection, channel: str, chat_id: str, now: str) -> int:
    """The household wrote: its window opens again (count reset) and its waiting rows are due now; returns how
    many rows were waiting."""
    await conn.execute(
        "INSERT INTO outbox_windows (channel, chat_id, last_inbound_at, sent_since) VALUES (?, ?, ?, 0)"
        " ON CONFLICT(channel, chat_id) DO UPDATE SET last_inbound_at = excluded.last_inbound_at, sent_since = 0",
        (channel, chat_id, now),
    )
    cur = await conn.execute(
        "UPDATE outbox SET route = NULL, not_before = ? WHERE channel = ? AND chat_id = ? AND route = 'wait'"
        " AND status = 'pending'",
        (now, channel, chat_id),
    )
    return cur.rowcount


async def note_sent(conn: Connection, channel: str, chat_id: str, count: int = 1) -> None:
    """``count`` messages went to the chat inside its window."""
    await conn.execute(
        "UPDATE outbox_windows SET sent_since = sent_since + ? WHERE channel = ? AND chat_id = ?",
        (count, channel, chat_id),
    )


async def close_window(conn: Connection, channel: str, chat_id: str, spent: int) -> None:
    """The platform said the window is used up (a send refused for it): count it as spent."""
    await conn.execute(
        "UPDATE outbox_windows SET sent_since = CASE WHEN sent_since > ? THEN sent_since ELSE ? END"
        " WHERE channel = ? AND chat_id = ?",
        (spent, spent, channel, chat_id),
    )


async def window(conn: Connection, channel: str, chat_id: str) -> Window | None:
    async with conn.execute(
        "SELECT last_inbound_at, sent_since FROM outbox_windows WHERE channel = ? AND chat_id = ?", (channel, chat_id)
    ) as cur:
        row = await cur.fetchone()
    return Window(row[0], row[1]) if row else None


async def count_route_since(conn: Connection, channel: str, route: str, since: str) -> int:
    """Rows of a channel sent by ``route`` since ``since`` (the proactive messages of this month)."""
    async with conn.execute(
        "SELECT COUNT(*) FROM outbox WHERE channel = ? AND route = ? AND status = 'sent' AND sent_at >= ?",
        (channel, route, since),
    ) as cur:
        return int((await cur.fetchone())[0])


async def mark_delivered(conn: Connection, now: str, *, platform_msg_id: str = "", key: str = "") -> bool:
    """A delivery receipt: the row sent as ``platform_msg_id`` (or with this de-duplication key) arrived."""
    if platform_msg_id:
        cur = await conn.execute(
            "UPDATE outbox SET delivered_at = COALESCE(delivered_at, ?) WHERE platform_msg_id = ?",
            (now, platform_msg_id),
        )
        if cur.rowcount:
            return True
    if key:
        cur = await conn.execute(
            "UPDATE outbox SET delivered_at = COALESCE(delivered_at, ?) WHERE dedupe_key = ? AND status = 'sent'",
            (now, key),
        )
        return cur.rowcount > 0
    return False


async def tally_routes(conn: Connection, group_key: str | None = None) -> dict[str, int]:
    """Rows by the route they took (sent) or wait for (pending, 'wait'); rows without a route are left out."""
    where = "route IS NOT NULL AND (status = 'sent' OR (status = 'pending' AND route = 'wait'))"
    params: tuple[object, ...] = ()
    if group_key is not None:
        where, params = where + " AND group_key = ?", (group_key,)
    async with conn.execute(f"SELECT route, COUNT(*) FROM outbox WHERE {where} GROUP BY route", params) as cur:
        return {route: count for route, count in await cur.fetchall()}


def _marks(values: Collection[object]) -> str:
    return ", ".join("?" for _ in values)

"""The web desk's queries (SQL only): the filtered, paged list of submissions, its text search index, the officers'
group overrides and the marks of paper forms. Who may see what is decided in bot/ (``Scope``), not here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from storage.db import Connection
from storage.records import Submission

_COLS = (
    "s.id, s.code, s.person_id, s.hamlet_id, s.category, s.kind, s.field_id, s.topic_id, s.content, s.media_kind,"
    " s.media_file_id, s.channel, s.status, s.answer, s.created_at"
)
INDEX_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Where:
    """Each tuple narrows the list (empty: no condition); ``any_of`` is the scope's "fields or topics" (both empty:
    every topic); ``text`` is already folded (accents and case gone)."""

    hamlets: tuple[str, ...] | None = None     # None: any; () : none at all
    scope_fields: tuple[str, ...] = ()
    scope_topics: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    topics: tuple[str, ...] | None = None      # None: any; () : none at all
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    text: str = ""
    since: str = ""
    extra_hamlets: tuple[str, ...] | None = None  # a second hamlet condition (a dialogue's hamlets)


@dataclass(frozen=True, slots=True)
class Row:
    submission: Submission
    name: str | None
    paper: bool


@dataclass(slots=True)
class Page:
    rows: list[Row] = field(default_factory=list)
    total: int = 0


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _conditions(where: Where) -> tuple[str, list[object]]:
    parts: list[str] = []
    params: list[object] = []

    def within(column: str, values: tuple[str, ...] | None) -> None:
        if values is None:
            return
        if not values:
            parts.append("0")
            return
        parts.append(f"{column} IN ({_marks(values)})")
        params.extend(values)

    within("s.hamlet_id", where.hamlets)
    within("s.hamlet_id", where.extra_hamlets)
    if where.scope_fields and where.scope_topics:
        parts.append(f"(s.field_id IN ({_marks(where.scope_fields)}) OR s.topic_id IN ({_marks(where.scope_topics)}))")
        params.extend([*where.scope_fields, *where.scope_topics])
    else:
        within("s.field_id", where.scope_fields or None)
        within("s.topic_id", where.scope_topics or None)
    within("s.field_id", where.fields or None)
    within("s.topic_id", where.topics)
    within("s.status", where.statuses or None)
    within("s.kind", where.kinds or None)
    if where.since:
        parts.append("s.created_at >= ?")
        params.append(where.since)
    if where.text:
        parts.append("s.id IN (SELECT submission_id FROM submission_search WHERE folded LIKE ? ESCAPE '\\')")
        escaped = where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{escaped}%")
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


async def page(conn: Connection, where: Where, *, offset: int, limit: int) -> Page:
    """Newest first; the total counts every match."""
    sql_where, params = _conditions(where)
    async with conn.execute(f"SELECT COUNT(*) FROM submissions s{sql_where}", params) as cur:
        total = int((await cur.fetchone())[0])
    async with conn.execute(  # the page's ids from the index alone, then those rows only
        f"SELECT {_COLS}, p.full_name, pe.submission_id IS NOT NULL FROM submissions s"
        " LEFT JOIN persons p ON p.id = s.person_id LEFT JOIN paper_entries pe ON pe.submission_id = s.id"
        f" WHERE s.id IN (SELECT s.id FROM submissions s{sql_where} ORDER BY s.id DESC LIMIT ? OFFSET ?)"
        " ORDER BY s.id DESC", [*params, limit, offset],
    ) as cur:
        rows = [Row(Submission(*raw[:15]), raw[15], bool(raw[16])) for raw in await cur.fetchall()]
    return Page(rows, total)


async def matching(conn: Connection, where: Where, limit: int) -> list[Row]:
    """Every match, oldest first, up to ``limit`` (the grouped view)."""
    sql_where, params = _conditions(where)
    async with conn.execute(
        f"SELECT {_COLS}, p.full_name, pe.submission_id IS NOT NULL FROM submissions s"
        " LEFT JOIN persons p ON p.id = s.person_id LEFT JOIN paper_entries pe ON pe.submission_id = s.id"
        f"{sql_where} ORDER BY s.id LIMIT ?", [*params, limit],
    ) as cur:
        return [Row(Submission(*raw[:15]), raw[15], bool(raw[16])) for raw in await cur.fetchall()]


# ---- the text search index -------------------------------------------------------------------------------------


async def unindexed(conn: Connection) -> bool:
    async with conn.execute(
        "SELECT EXISTS (SELECT 1 FROM submissions WHERE content IS NOT NULL"
        " AND id > COALESCE((SELECT MAX(submission_id) FROM submission_search), 0))") as cur:
        return bool((await cur.fetchone())[0])


async def index_new(conn: Connection, fold: Callable[[str], str]) -> int:
    """Fold the words of the submissions above the highest indexed one (in batches); how many were added."""
    added = 0
    while True:
        async with conn.execute(
            "SELECT id, content FROM submissions WHERE content IS NOT NULL"
            " AND id > COALESCE((SELECT MAX(submission_id) FROM submission_search), 0) ORDER BY id LIMIT ?",
            (INDEX_BATCH,),
        ) as cur:
            batch = await cur.fetchall()
        if not batch:
            return added
        await conn.executemany("INSERT INTO submission_search (submission_id, folded) VALUES (?, ?)"
                               " ON CONFLICT (submission_id) DO UPDATE SET folded = excluded.folded",
                               [(row[0], fold(row[1])) for row in batch])
        added += len(batch)


# ---- group overrides ---------------------------------------------------------------------------------------------


async def overrides(conn: Connection) -> dict[int, str]:
    """submission id → its group key, for every submission an officer placed by hand."""
    async with conn.execute("SELECT submission_id, group_key FROM group_overrides") as cur:
        return {int(row[0]): str(row[1]) for row in await cur.fetchall()}


async def set_group(conn: Connection, submission_ids: Sequence[int], group_key: str, who: str, now: str) -> None:
    await conn.executemany(
        "INSERT INTO group_overrides (submission_id, group_key, set_by, set_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (submission_id) DO UPDATE SET group_key = excluded.group_key, set_by = excluded.set_by,"
        " set_at = excluded.set_at", [(sid, group_key, who, now) for sid in submission_ids])


# ---- paper forms -------------------------------------------------------------------------------------------------


async def mark_paper(conn: Connection, submission_id: int, entered_by: str, now: str, source: str) -> None:
    await conn.execute("INSERT INTO paper_entries (submission_id, entered_by, entered_at, source) VALUES (?, ?, ?, ?)",
                       (submission_id, entered_by, now, source))


async def paper_mark(conn: Connection, submission_id: int) -> tuple[str, str, str] | None:
    """(entered by, when, paper or phone) of a submission typed in by an officer; None for the others."""
    async with conn.execute("SELECT entered_by, entered_at, source FROM paper_entries WHERE submission_id = ?",
                            (submission_id,)) as cur:
        row = await cur.fetchone()
    return (row[0], row[1], row[2]) if row else None


async def history(conn: Connection, code: str, limit: int = 50) -> list[tuple[str, str, str, str | None, str]]:
    """The audit rows about one submission, oldest first: (at, actor, action, role, detail)."""
    async with conn.execute(
        "SELECT at, actor_channel || ':' || actor_id, action, role, detail FROM audit_log WHERE target = ?"
        " ORDER BY id LIMIT ?", (code, limit)) as cur:
        return [(r[0], r[1], r[2], r[3], r[4]) for r in await cur.fetchall()]


async def audit_page(conn: Connection, *, action: str, actor: str, target: str, offset: int, limit: int
                     ) -> tuple[list[tuple[int, str, str, str, str | None, str, str | None, str]], int]:
    """Audit rows newest first, filtered by action, actor ("telegram:123") and target (substring)."""
    parts, params = [], []
    if action:
        parts.append("action = ?")
        params.append(action)
    if actor:
        parts.append("actor_channel || ':' || actor_id = ?")
        params.append(actor)
    if target:
        parts.append("target LIKE ?")
        params.append(f"%{target}%")
    where = (" WHERE " + " AND ".join(parts)) if parts else ""
    async with conn.execute(f"SELECT COUNT(*) FROM audit_log{where}", params) as cur:
        total = int((await cur.fetchone())[0])
    async with conn.execute(
        f"SELECT id, at, actor_channel, actor_id, role, action, target, detail FROM audit_log{where}"
        " ORDER BY id DESC LIMIT ? OFFSET ?", [*params, limit, offset]) as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    return rows, total  # type: ignore[return-value]

"""Copying one database into another, table by table (``doithoai migrate-db``: SQLite to PostgreSQL as a commune
grows, or the other way).

Both ends are opened (so migrated) by the caller; their schemas are then the same version. The target must hold
no row of the tables copied. Tables are copied parents first (a table after every table its foreign keys point
at), rows in batches, all in ONE transaction on the target: a copy that fails leaves the target empty, and it can
simply be run again. ``schema_migrations`` is not copied: the target keeps the record of its own migrations (its
dialect's). PostgreSQL's identity sequences are moved past the copied ids, so the next row gets a fresh id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from storage.dialect import POSTGRESQL, SQLITE

BATCH = 1000  # rows read and written together
NOT_COPIED = frozenset({"schema_migrations"})
Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in the table)


class Store(Protocol):
    """What this module needs of a database: ``storage.Database`` or the PostgreSQL one (same face)."""

    dialect: str

    def transaction(self) -> Any: ...

    def reading(self) -> Any: ...


class CopyRefused(Exception):
    """The copy was not started: ``reason`` is ``target_not_empty`` or ``schema_differs``; ``detail`` names the
    tables or migrations concerned."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class CopyFailed(Exception):
    """A table could not be written (a row the target's constraints refuse): the target's transaction was rolled
    back, so it is as empty as before. ``detail`` is the database's first line (no values of the rows in it)."""

    def __init__(self, table: str, detail: str) -> None:
        super().__init__(f"{table}: {detail}")
        self.table, self.detail = table, detail


@dataclass(frozen=True, slots=True)
class Counted:
    table: str
    source: int
    target: int

    @property
    def equal(self) -> bool:
        return self.source == self.target


# ---- what a database holds ------------------------------------------------------------------------------------


async def _rows(conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await conn.execute_fetchall(sql, tuple(params))]


async def table_names(conn: Any, dialect: str) -> list[str]:
    """Every table of ours (SQLite's own and PostgreSQL's catalogues left out), by name."""
    if dialect == SQLITE:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name"
    else:
        sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
               " AND table_type = 'BASE TABLE' ORDER BY table_name")
    return [row[0] for row in await _rows(conn, sql)]


async def references(conn: Any, dialect: str, tables: Sequence[str]) -> dict[str, set[str]]:
    """For each table, the other tables its foreign keys point at."""
    found: dict[str, set[str]] = {table: set() for table in tables}
    if dialect == SQLITE:
        for table in tables:
            rows = await _rows(conn, 'SELECT "table" FROM pragma_foreign_key_list(?)', (table,))
            found[table].update(row[0] for row in rows)
    else:
        rows = await _rows(conn, "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
                                 " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace")
        for child, parent in rows:
            if child in found:
                found[child].add(parent.strip('"'))
    for table, parents in found.items():
        parents.discard(table)  # a row pointing at its own table: rows are copied in their stored order
    return found


def parents_first(points_at: dict[str, set[str]]) -> list[str]:
    """The tables ordered so that each comes after every table it points at (by name where free to choose)."""
    ordered: list[str] = []
    placed: set[str] = set()
    waiting = dict(sorted(points_at.items()))
    while waiting:
        ready = [table for table, parents in waiting.items() if parents <= placed | (parents - points_at.keys())]
        if not ready:
            raise ValueError(f"foreign keys go round in a circle among {sorted(waiting)}")
        for table in ready:
            ordered.append(table)
            placed.add(table)
            del waiting[table]
    return ordered


async def tables_in_order(conn: Any, dialect: str) -> list[str]:
    """The tables to copy, parents before children (persons before identities...)."""
    tables = [table for table in await table_names(conn, dialect) if table not in NOT_COPIED]
    return parents_first(await references(conn, dialect, tables))


async def columns(conn: Any, dialect: str, table: str) -> dict[str, str]:
    """A table's columns in order, with their declared type (lower case)."""
    if dialect == SQLITE:
        rows = await _rows(conn, "SELECT name, lower(type) FROM pragma_table_info(?) ORDER BY cid", (table,))
    else:
        rows = await _rows(conn, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema"
                                 " = current_schema() AND table_name = ? ORDER BY ordinal_position", (table,))
    return {name: kind for name, kind in rows}


async def row_count(conn: Any, table: str) -> int:
    return (await _rows(conn, f'SELECT count(*) FROM "{table}"'))[0][0]


async def migration_numbers(conn: Any) -> list[int]:
    return [row[0] for row in await _rows(conn, "SELECT number FROM schema_migrations ORDER BY number")]


# ---- the copy -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    tables: list[str]
    columns: dict[str, list[str]]           # the columns copied, per table
    converters: dict[str, list[Callable[[Any], Any] | None]]
    rows: dict[str, int]                    # the source's rows, per table


async def plan(source: Store, target: Store) -> Plan:
    """What will be copied, or ``CopyRefused`` when the target is not an empty database of the same version."""
    async with source.reading() as conn:
        tables = await tables_in_order(conn, source.dialect)
        source_columns = {table: await columns(conn, source.dialect, table) for table in tables}
        rows = {table: await row_count(conn, table) for table in tables}
        source_migrations = await migration_numbers(conn)
    async with target.reading() as conn:
        present = set(await table_names(conn, target.dialect))
        missing = [table for table in tables if table not in present]
        if missing:
            raise CopyRefused("schema_differs", ", ".join(missing))
        target_migrations = await migration_numbers(conn)
        if target_migrations != source_migrations:
            raise CopyRefused("schema_differs", _migrations_differ(source_migrations, target_migrations))
        target_columns = {table: await columns(conn, target.dialect, table) for table in tables}
        full = [table for table in tables if await row_count(conn, table)]
    for table in tables:
        _implicit_rowid(source.dialect, source_columns[table], target.dialect, target_columns[table])
    if full:
        raise CopyRefused("target_not_empty", ", ".join(full))
    lacking = [f"{table}.{name}" for table in tables for name in source_columns[table]
               if name not in target_columns[table]]
    if lacking:
        raise CopyRefused("schema_differs", ", ".join(lacking))
    copied = {table: list(source_columns[table]) for table in tables}
    converters = {table: [_converter(target.dialect, target_columns[table][name]) for name in copied[table]]
                  for table in tables}
    return Plan(tables, copied, converters, rows)


def _implicit_rowid(source_dialect: str, source: dict[str, str], target_dialect: str, target: dict[str, str]) -> None:
    """A table read in insertion order has SQLite's hidden ``rowid`` and, on PostgreSQL, a column of that name
    (``storage.dialect.ROWID_TABLES``): the order is kept by copying one into the other."""
    if "rowid" in target and "rowid" not in source and source_dialect == SQLITE:
        source["rowid"] = "integer"
    if "rowid" in source and "rowid" not in target and target_dialect == SQLITE:
        target["rowid"] = "integer"


def _migrations_differ(source: list[int], target: list[int]) -> str:
    only_source = sorted(set(source) - set(target))
    only_target = sorted(set(target) - set(source))
    return f"source only {only_source}, target only {only_target}"


def _converter(dialect: str, kind: str) -> Callable[[Any], Any] | None:
    """SQLite keeps a truth value as 0/1: a PostgreSQL boolean column wants True/False."""
    if dialect == POSTGRESQL and kind == "boolean":
        return lambda value: None if value is None else bool(value)
    return None


async def copy_rows(source: Store, target: Store, plan: Plan, *, batch: int = BATCH,
                    progress: Progress | None = None) -> None:
    """Copy every planned table, in order and in batches, in one transaction on the target; then move PostgreSQL's
    identity sequences past the copied ids."""
    async with source.reading() as reader, target.transaction() as writer:
        for table in plan.tables:
            try:
                await _copy_table(reader, writer, target.dialect, table, plan, batch, progress)
            except Exception as exc:  # any database's error: the transaction is rolled back on the way out
                raise CopyFailed(table, (str(exc) or type(exc).__name__).splitlines()[0]) from exc
        if target.dialect == POSTGRESQL:
            await reset_sequences(writer, plan.tables)


async def _copy_table(reader: Any, writer: Any, dialect: str, table: str, plan: Plan, batch: int,
                      progress: Progress | None) -> None:
    names = plan.columns[table]
    quoted = ", ".join(f'"{name}"' for name in names)
    overriding = " OVERRIDING SYSTEM VALUE" if dialect == POSTGRESQL else ""  # ids kept, identity or not
    insert = f'INSERT INTO "{table}" ({quoted}){overriding} VALUES ({", ".join("?" * len(names))})'
    converters = plan.converters[table]
    total, done = plan.rows[table], 0
    if progress:
        progress(table, 0, total)
    async with reader.execute(f'SELECT {quoted} FROM "{table}"') as cursor:
        while rows := await cursor.fetchmany(batch):
            await writer.executemany(insert, [_converted(row, converters) for row in rows])
            done += len(rows)
            if progress:
                progress(table, done, max(total, done))


def _converted(row: Sequence[Any], converters: list[Callable[[Any], Any] | None]) -> tuple[Any, ...]:
    return tuple(value if convert is None else convert(value) for value, convert in zip(row, converters, strict=True))


async def reset_sequences(conn: Any, tables: Sequence[str]) -> None:
    """Each identity (or serial) column's sequence continues after the largest id copied (at 1 when none was)."""
    rows = await _rows(conn, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema ="
                             " current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')")
    for table, column in rows:
        if table not in tables:
            continue
        await conn.execute(f"SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max(\"{column}\"), 1),"
                           f' max("{column}") IS NOT NULL) FROM "{table}"', (f'"{table}"', column))


async def counts(source: Store, target: Store, tables: Sequence[str]) -> list[Counted]:
    """Rows per table on both ends, read after the copy."""
    async with source.reading() as conn:
        before = {table: await row_count(conn, table) for table in tables}
    async with target.reading() as conn:
        after = {table: await row_count(conn, table) for table in tables}
    return [Counted(table, before[table], after[table]) for table in tables]


async def copy_database(source: Store, target: Store, *, batch: int = BATCH,
                        progress: Progress | None = None) -> list[Counted]:
    """Copy everything from ``source`` into the empty ``target``; the rows per table on both ends, afterwards."""
    planned = await plan(source, target)
    await copy_rows(source, target, planned, batch=batch, progress=progress)
    return await counts(source, target, planned.tables)
